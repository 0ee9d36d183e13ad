"""Matrix runs: a grid of configurations trained on one window, as child runs of one parent."""
from __future__ import annotations

from dataclasses import replace
from itertools import product
from typing import Any, Mapping, Sequence

import mlflow
import pandas as pd

from analytics_pipeline.core.detection import training
from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.lifecycle.runs import log_training_run, training_run

SUMMARY_METRICS = ("f1", "roc_auc", "pr_auc", "precision", "recall", "false_positive_rate",
                   "anomaly_rate", "training_time_s", "model_size_bytes")


def grid(base: TrainingConfig, detectors: Sequence[str], contaminations: Sequence[float],
         n_estimators: Sequence[int]) -> list[TrainingConfig]:
    """Every combination; ``n_estimators`` only varies for tree-based detectors."""
    configs: list[TrainingConfig] = []
    seen: set[tuple] = set()
    for detector, contamination, trees in product(detectors, contaminations, n_estimators):
        if detector not in ("multi_view", "isolation_forest", "ensemble"):
            trees = base.n_estimators
        key = (detector, contamination, trees)
        if key not in seen:
            seen.add(key)
            configs.append(replace(base, detector=detector, contamination=contamination, n_estimators=trees))
    return configs


def run_matrix(logs: pd.DataFrame, configs: Sequence[TrainingConfig], tags: Mapping[str, Any],
               run_name: str) -> tuple[str, pd.DataFrame]:
    """Train each configuration as a nested run under one parent; returns (parent id, summary).

    The summary (one row per configuration, best F1 first when labelled, else best separation)
    is also logged to the parent run as ``matrix_summary.csv``.
    """
    if not configs:
        raise ValueError("the matrix is empty: give at least one detector, contamination and n_estimators")
    rows = []
    with training_run(run_name) as parent:
        mlflow.set_tags({**{k: str(v) for k, v in tags.items()}, "matrix": "parent"})
        mlflow.log_param("n_configurations", len(configs))
        for cfg in configs:
            name = f"{cfg.detector}-c{cfg.contamination}-n{cfg.n_estimators}"
            try:
                trained = training.train(logs, cfg)
            except ValueError as exc:
                rows.append({"configuration": name, "detector": cfg.detector, "error": str(exc)})
                continue
            run_id, _, _ = log_training_run(trained, logs, {**tags, "matrix": "child"}, run_name=name, nested=True)
            rows.append({"configuration": name, "detector": cfg.detector, "contamination": cfg.contamination,
                         "n_estimators": cfg.n_estimators, "run_id": run_id, "separation": trained.metrics["separation"],
                         **{k: trained.metrics.get(k) for k in SUMMARY_METRICS}})
        summary = pd.DataFrame(rows)
        rank_by = "f1" if "f1" in summary and summary["f1"].notna().any() else "separation"
        if rank_by in summary:
            summary = summary.sort_values(rank_by, ascending=False, na_position="last").reset_index(drop=True)
            best = summary.iloc[0]
            mlflow.set_tags({"best_configuration": best["configuration"], "ranked_by": rank_by})
            if pd.notna(best.get(rank_by)):
                mlflow.log_metric(f"best_{rank_by}", float(best[rank_by]))
        mlflow.log_text(summary.to_csv(index=False), "matrix_summary.csv")
    return parent.info.run_id, summary
