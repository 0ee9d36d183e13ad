"""Evaluation of anomaly scores: pure functions returning flat, stable metric dicts.

Conventions: scores are anomaly scores (higher = more anomalous) and a row is flagged when its score
is strictly above the threshold, as the detectors' ``predict`` does. Labels are 1 = anomaly,
0 = normal, NaN = unknown (ignored by the label metrics, kept for the score statistics).

:func:`evaluate` always returns the same keys. A value that is undefined for the input is ``None``:
a ratio whose denominator is 0 (precision when nothing is flagged, recall without anomalies, ...),
every label metric without labels, the ranking metrics (roc_auc, pr_auc, best_f1) unless both
classes are present, the score statistics for an empty input. Use :func:`loggable_metrics` to drop
them before ``mlflow.log_metrics``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

QUANTILES: dict[str, float] = {
    "score_p01": 0.01, "score_p05": 0.05, "score_p25": 0.25, "score_p50": 0.50,
    "score_p75": 0.75, "score_p95": 0.95, "score_p99": 0.99,
}

LABEL_METRICS: tuple[str, ...] = (
    "n_labelled", "label_positive_rate", "tp", "fp", "fn", "tn", "precision", "recall", "f1",
    "false_positive_rate", "roc_auc", "pr_auc", "best_f1", "best_f1_threshold",
)


def labelled(y_true: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All scores (float64), then the labels (int) and scores of the rows with a known label.

    Raises ValueError on non-finite scores, a length mismatch or labels other than 0/1/NaN.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if not np.isfinite(scores).all():
        raise ValueError("anomaly scores contain NaN or infinity.")
    if y_true is None:
        return scores, np.empty(0, dtype=int), np.empty(0)
    y = np.asarray(y_true, dtype=np.float64).ravel()
    if y.shape != scores.shape:
        raise ValueError(f"y_true has {y.size} rows but scores has {scores.size}.")
    known = ~np.isnan(y)
    if not np.isin(y[known], (0.0, 1.0)).all():
        raise ValueError("y_true must hold 0 (normal), 1 (anomaly) or NaN (unknown).")
    return scores, y[known].astype(int), scores[known]


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def evaluate(y_true: Any, anomaly_scores: Any, threshold: float) -> dict[str, float | None]:
    """Metrics of anomaly scores at ``threshold``; see the module docstring for None values.

    Always: n_samples, threshold, anomaly_rate (fraction flagged), score quantiles p01..p99. With
    labels: n_labelled, label_positive_rate, confusion counts tp/fp/fn/tn, precision, recall, f1,
    false_positive_rate at the threshold, roc_auc, pr_auc (average precision), and best_f1 over
    all thresholds with best_f1_threshold (rows scoring >= it are flagged, as in
    ``precision_recall_curve``).
    """
    scores, y, s = labelled(y_true, anomaly_scores)
    n = scores.size
    metrics: dict[str, float | None] = {"n_samples": float(n), "threshold": float(threshold)}
    metrics["anomaly_rate"] = float(np.mean(scores > threshold)) if n else None
    values = np.quantile(scores, list(QUANTILES.values())) if n else [None] * len(QUANTILES)
    metrics.update({k: None if v is None else float(v) for k, v in zip(QUANTILES, values)})
    metrics.update(dict.fromkeys(LABEL_METRICS))
    if y.size == 0:
        return metrics

    flagged = s > threshold
    tp = float(np.sum(flagged & (y == 1)))
    fp = float(np.sum(flagged & (y == 0)))
    fn = float(np.sum(~flagged & (y == 1)))
    tn = float(np.sum(~flagged & (y == 0)))
    metrics.update(
        n_labelled=float(y.size), label_positive_rate=float(y.mean()),
        tp=tp, fp=fp, fn=fn, tn=tn,
        precision=_ratio(tp, tp + fp), recall=_ratio(tp, tp + fn),
        f1=_ratio(2 * tp, 2 * tp + fp + fn), false_positive_rate=_ratio(fp, fp + tn),
    )
    if 0 < y.sum() < y.size:
        metrics["roc_auc"] = float(roc_auc_score(y, s))
        metrics["pr_auc"] = float(average_precision_score(y, s))
        precision, recall, thresholds = precision_recall_curve(y, s)
        # The last (precision=1, recall=0) point has no threshold.
        p, r = precision[:-1], recall[:-1]
        f1 = np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) > 0)
        best = int(np.argmax(f1))
        metrics["best_f1"] = float(f1[best])
        metrics["best_f1_threshold"] = float(thresholds[best])
    return metrics


def loggable_metrics(metrics: dict[str, float | None]) -> dict[str, float]:
    """The defined metrics only, as ``mlflow.log_metrics`` expects."""
    return {k: float(v) for k, v in metrics.items() if v is not None}


def precision_at_k(y_true: Any, scores: Any, k: int) -> float | None:
    """Fraction of anomalies among the ``k`` highest-scoring labelled rows.

    Unlabelled (NaN) rows are skipped; k larger than the labelled rows uses them all; ties at the
    cut keep the earlier rows. None when no row is labelled.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}.")
    _, y, s = labelled(y_true, scores)
    if y.size == 0:
        return None
    top = np.argsort(-s, kind="stable")[:k]
    return float(y[top].mean())


def score_separation(scores: np.ndarray, flagged: np.ndarray) -> float:
    """Standardized gap between the scores of flagged and unflagged logs (0 when undefined)."""
    scores = np.asarray(scores, dtype="float64")
    flagged = np.asarray(flagged, dtype=bool)
    std = float(scores.std())
    if std == 0 or flagged.all() or not flagged.any():
        return 0.0
    return float((scores[flagged].mean() - scores[~flagged].mean()) / std)
