"""Model quality, speed and size: the default production configuration against the recommended one.

- Synthetic hold-out weeks: per seed, one 37-day stream at the production rate (1M logs per 30
  days) from ``synthetic.generate_logs`` (about 3% of the logs belong to injected, labelled
  incidents). The pipeline is fitted on the first 30 days and scores the following 7, which it
  never saw. Precision, recall, F1 and FPR are at the model's own threshold, micro-averaged over
  the weeks (confusion counts summed); ROC-AUC is the mean over the weeks. The configuration was
  chosen on other seeds (7, 11, 23). Quick: one seed, 200k logs per 30 days, which leaves fewer
  logs per service window and so weaker figures: they are reported, not held against the goals.
- BGL: ``bgl_2k.jsonl`` (2,000 real BlueGene/L lines, labelled): first 70% by time to train, last
  30% to test; ROC-AUC next to the rule "level is ERROR or worse" as the peer figure.
- Speed and size: featurize + train (``Pipeline.fit``) of 50k logs (best of 3, in process) and of
  the 30-day window (each seed in a fresh spawned process; its peak RSS includes generating the
  37 days of logs), and the joblib size of the whole fitted Pipeline.

Labels are only used to evaluate (and were used to choose among configurations), never to fit.

Usage: python bench/bench_quality.py [--quick]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from analytics_pipeline.core.logs import schema  # noqa: E402
from analytics_pipeline.core.detection.evaluation import evaluate  # noqa: E402
from analytics_pipeline.core.detection.training import (  # noqa: E402
    PRESETS, build_pipeline, holdout_metrics, model_size_bytes, time_split,
)
from analytics_pipeline.synthetic.generator import generate_logs  # noqa: E402
from bench_features import RATE_PER_MINUTE, synthetic_logs  # noqa: E402
from common import Figure, main, run_isolated, timed  # noqa: E402

BGL_PATH = Path(__file__).resolve().parents[2] / "shared" / "data" / "bgl_2k.jsonl"
START = pd.Timestamp("2024-03-04", tz="UTC")  # a Monday
TRAIN_DAYS, HOLDOUT_DAYS = 30, 7
SEEDS = (101, 202, 303, 404, 505)
QUICK_RATE = 200_000 / (TRAIN_DAYS * 24 * 60)

# What the seed documented on its own data; the goal is to beat each (FPR: to stay below it).
SEED_FIGURES = {"precision": 0.87, "recall": 0.82, "f1": 0.84, "false_positive_rate": 0.03, "roc_auc": 0.92}
GOAL_BGL_AUC = 0.90
GOAL_50K_S, GOAL_WINDOW_S, GOAL_PEAK_MB, GOAL_MODEL_MB = 3.0, 30.0, 2048.0, 2.3

CONFIGS = PRESETS


def build(name: str) -> Pipeline:
    """The unfitted Pipeline of a named configuration (core.detection.training.PRESETS)."""
    return build_pipeline(CONFIGS[name])


def holdout_week(name: str, seed: int, logs_per_minute: float) -> dict[str, Any]:
    """In a fresh process: fit on 30 days of a stream, evaluate on the 7 days that follow."""
    logs = generate_logs(START, START + pd.Timedelta(days=TRAIN_DAYS + HOLDOUT_DAYS),
                         logs_per_minute=logs_per_minute, seed=seed)
    later = (logs["timestamp"] >= START + pd.Timedelta(days=TRAIN_DAYS)).to_numpy()
    train, week = logs[~later].reset_index(drop=True), logs[later].reset_index(drop=True)
    del logs
    pipeline = build(name)
    t0 = time.perf_counter()
    pipeline.fit(train)
    fit_s = time.perf_counter() - t0
    metrics, _ = holdout_metrics(pipeline, week)
    return {"fit_s": fit_s, "train_rows": len(train), "model_bytes": model_size_bytes(pipeline),
            **{k: metrics[k] for k in ("tp", "fp", "fn", "tn", "roc_auc", "f1")}}


def bgl_split() -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """BGL's first 70% (by time) and last 30%, or None when the shared file is absent."""
    if not BGL_PATH.exists():
        return None
    logs = schema.validate_frame(pd.read_json(BGL_PATH, lines=True, dtype=False)).logs
    return time_split(logs, 0.3)


def bgl_roc_auc(name: str, split: tuple[pd.DataFrame, pd.DataFrame]) -> float:
    train, test = split
    return holdout_metrics(build(name).fit(train), test)[0]["roc_auc"]


def level_rule_roc_auc(test: pd.DataFrame) -> float:
    """ROC-AUC of the rule "level is ERROR or worse" (a 0/1 score)."""
    flagged = test["level"].isin(["ERROR", "CRITICAL"]).to_numpy(dtype=float)
    return evaluate(test["label"], flagged, 0.5)["roc_auc"]


def _synthetic_figures(name: str, weeks: list[dict[str, Any]], window: str, quick: bool) -> list[Figure]:
    """Goals hold at the production rate only: quick mode's sparser windows are reported, not judged."""
    tp, fp, fn, tn = (sum(w[k] for w in weeks) for k in ("tp", "fp", "fn", "tn"))
    values = {"precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1),
              "f1": 2 * tp / max(2 * tp + fp + fn, 1), "false_positive_rate": fp / max(fp + tn, 1),
              "roc_auc": float(np.mean([w["roc_auc"] for w in weeks]))}
    per_week = {"f1": [w["f1"] for w in weeks], "roc_auc": [w["roc_auc"] for w in weeks]}
    figures = []
    for key, value in values.items():
        below = key == "false_positive_rate"
        passed = value < SEED_FIGURES[key] if below else value > SEED_FIGURES[key]
        note = f"{len(weeks)} hold-out week(s), {window}"
        if key in per_week and len(weeks) > 1:
            note += f"; per week {min(per_week[key]):.3f}-{max(per_week[key]):.3f}"
        figures.append(Figure(f"{name}: synthetic hold-out {key.replace('_', ' ')}", value, "",
                              goal=f"{'<' if below else '>'} {SEED_FIGURES[key]:g} (seed)",
                              passed=None if quick else passed, note=note))
    fit_s = float(np.mean([w["fit_s"] for w in weeks]))
    peak_mb = max(w["peak_mb"] for w in weeks)
    rows = int(np.mean([w["train_rows"] for w in weeks]))
    figures += [
        Figure(f"{name}: featurize + train, 30-day window ({rows / 1e6:.2f}M logs)", fit_s, "s",
               goal=f"<= {GOAL_WINDOW_S:g} s (1M)", passed=None if quick else fit_s <= GOAL_WINDOW_S,
               note=f"mean of {len(weeks)} fresh process(es)"),
        Figure(f"{name}: peak RSS, generate + featurize + train + score the window", peak_mb, "MB",
               goal=f"<= {GOAL_PEAK_MB:g} MB (1M)", passed=None if quick else peak_mb <= GOAL_PEAK_MB,
               note="whole spawned process, generating 37 days of logs included"),
    ]
    return figures


def run(quick: bool = False) -> list[Figure]:
    seeds = SEEDS[:1] if quick else SEEDS
    rate = QUICK_RATE if quick else RATE_PER_MINUTE
    window = f"{rate * 24 * 60 * TRAIN_DAYS / 1e6:.2f}M logs per 30 days, seeds {', '.join(map(str, seeds))}"
    split = bgl_split()
    fifty_k = synthetic_logs(50_000, seed=1)
    figures: list[Figure] = []
    for name in CONFIGS:
        weeks = []
        for seed in seeds:
            week, _, peak_mb = run_isolated(holdout_week, name, seed, rate)
            weeks.append({**week, "peak_mb": peak_mb})
        figures += _synthetic_figures(name, weeks, window, quick)
        if split is not None:
            auc = bgl_roc_auc(name, split)
            figures.append(Figure(f"{name}: BGL ROC-AUC (last 30% by time)", auc, "",
                                  goal=f">= {GOAL_BGL_AUC:g}", passed=auc >= GOAL_BGL_AUC))
        _, fit_s = timed(lambda: build(name).fit(fifty_k), repeat=3)
        size_mb = max(w["model_bytes"] for w in weeks) / 2**20
        figures += [
            Figure(f"{name}: featurize + train, 50k logs", fit_s, "s", goal=f"<= {GOAL_50K_S:g} s",
                   passed=fit_s <= GOAL_50K_S, note="best of 3; the seed documented 45 s"),
            Figure(f"{name}: model size (whole Pipeline, joblib compress=3)", size_mb, "MB",
                   goal=f"<= {GOAL_MODEL_MB:g} MB", passed=size_mb <= GOAL_MODEL_MB,
                   note="fitted on the 30-day window"),
        ]
    if split is not None:
        figures.append(Figure('peer: rule "level is ERROR or worse", BGL ROC-AUC', level_rule_roc_auc(split[1]), "",
                              note="a fixed rule, no model; same test rows"))
    return figures


if __name__ == "__main__":
    main(run)
