"""Drift in MLflow: the reference a model version was trained with, and one run per checked week.

Training logs ``reference/training_reference.npz`` with every version (core.lifecycle.runs);
:func:`reference_of_version` reads it back. Each week's drift check is one run of the
``log-anomaly-monitoring`` experiment (beside the training experiment, so model comparisons stay
about models) named ``drift-<week>``, tagged with the week: metrics per week (verdict figures and
each feature's effect, ``effect.<feature>``) and the report as artifacts. :func:`effect_history`
reads the earlier weeks back, which calibrates the thresholds (core.monitoring.drift).
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient

from analytics_pipeline.core.detection.reference import REFERENCE_FILE, TrainingReference
from analytics_pipeline.core.lifecycle.runs import REFERENCE_DIR
from analytics_pipeline.core.monitoring.drift import DriftReport
from analytics_pipeline.core.registry_names import EXPERIMENT_NAME, MODEL_NAME

MONITORING_EXPERIMENT = "log-anomaly-monitoring"
_EFFECT = "effect."


class NoReferenceError(LookupError):
    """The model version was trained before training kept a reference: retrain to check drift."""


def reference_of_version(version: int) -> TrainingReference:
    """The training reference logged with ``version`` of the registered model."""
    run_id = MlflowClient().get_model_version(MODEL_NAME, str(version)).run_id
    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=f"{REFERENCE_DIR}/{REFERENCE_FILE}")
    except Exception:  # MLflow raises several types for a missing artifact
        raise NoReferenceError(f"{MODEL_NAME} v{version} (run {run_id}) has no {REFERENCE_DIR}/{REFERENCE_FILE}: "
                               "it was trained before training kept a drift reference; retrain it") from None
    return TrainingReference.from_bytes(Path(path).read_bytes())


def monitoring_experiment() -> str:
    """The monitoring experiment's id, created beside the training experiment's artifacts."""
    client = MlflowClient()
    found = client.get_experiment_by_name(MONITORING_EXPERIMENT)
    if found is not None:
        return found.experiment_id
    training = client.get_experiment_by_name(EXPERIMENT_NAME)
    location = f"{training.artifact_location.rstrip('/')}/monitoring" if training is not None else None
    return client.create_experiment(MONITORING_EXPERIMENT, artifact_location=location)


def _metric_name(feature: str) -> str:
    # MLflow metric names allow letters, digits, _ - . / and spaces; TF-IDF bigrams have spaces.
    return _EFFECT + "".join(c if c.isalnum() or c in "_-./ " else "_" for c in feature)


def drift_metrics(report: DriftReport) -> dict[str, float]:
    """The per-week figures logged to MLflow."""
    s = report.scores
    out = {"drifted_features": float(len(report.drifted)), "week_rows": float(report.week_rows),
           "score_psi": s.score_psi, "score_ks": s.score_ks, "anomaly_rate_week": s.week_rate,
           "anomaly_rate_training": s.training_rate, "anomaly_rate_ratio": min(s.rate_ratio, 1e6),
           "retraining_advised": float(report.retraining_advised)}
    out.update({_metric_name(r.feature): float(r.effect) for r in report.features.itertuples()})
    return out


def log_run(kind: str, partition: str, metrics: dict[str, float], artifacts: dict[str, str | bytes],
            tags: dict[str, Any] | None = None) -> str:
    """One finished run ``<kind>-<partition>`` in the monitoring experiment; returns its id.

    ``artifacts``: file name -> text or bytes, logged at the run's root.
    """
    with mlflow.start_run(experiment_id=monitoring_experiment(), run_name=f"{kind}-{partition}",
                          tags={"kind": kind, "partition": partition, **{k: str(v) for k, v in (tags or {}).items()}}) \
            as run, tempfile.TemporaryDirectory() as tmp:
        mlflow.log_metrics(metrics)
        for name, content in artifacts.items():
            path = Path(tmp) / name
            path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
            mlflow.log_artifact(str(path))
        return run.info.run_id


def log_drift(report: DriftReport, partition: str, markdown: str) -> str:
    """The week's drift check as a run: metrics, the feature table (JSON) and the Markdown report."""
    table = report.features.to_dict(orient="records")
    return log_run("drift", partition, drift_metrics(report), {
        "drift_features.json": json.dumps(table, default=float, indent=1), "drift_report.md": markdown},
        {"model_version": report.model_version, "verdict": report.verdict})


def effect_history(before: str, feature_names: tuple[str, ...], weeks: int = 12) -> pd.DataFrame:
    """Per-feature effects of the latest drift run of each earlier week (``partition < before``),
    for the features in ``feature_names``.

    Columns ``partition, feature, effect``; empty when there is no history.
    """
    names = {_metric_name(n): n for n in feature_names}
    # Tags only compare for equality in MLflow's filter language: the weeks are picked here.
    runs = MlflowClient().search_runs([monitoring_experiment()], filter_string="tags.kind = 'drift'",
                                      order_by=["start_time DESC"], max_results=1000)
    rows, seen = [], set()
    for run in sorted(runs, key=lambda r: r.data.tags.get("partition", ""), reverse=True):
        partition = run.data.tags.get("partition")
        if partition is None or partition >= before or partition in seen or len(seen) >= weeks:
            continue
        seen.add(partition)
        rows += [(partition, names[name], value) for name, value in run.data.metrics.items() if name in names]
    return pd.DataFrame(rows, columns=["partition", "feature", "effect"])
