"""Training and holdout evaluation of a log anomaly Pipeline (featurizer + detector).

Pure functions on DataFrames, used by the Dagster assets, the ``train`` CLI and notebooks.
"""
from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from analytics_pipeline.core.detection.evaluation import evaluate, score_separation
from analytics_pipeline.core.detection.explain import log_profile
from analytics_pipeline.core.detection.pipelines import AUTO, TrainingConfig, build_pipeline
from analytics_pipeline.core.detection.reference import TrainingReference, build_reference
from analytics_pipeline.core.detection.severity import score_profile


MIN_EXPECTED_RATE = 0.001


class InsufficientDataError(ValueError):
    """The window holds too few logs to train on."""


def time_split(logs: pd.DataFrame, test_size: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The last ``test_size`` of the window (by time) is held out; no shuffling, no leakage."""
    ordered = logs.sort_values("timestamp", kind="stable").reset_index(drop=True)
    cut = int(round(len(ordered) * (1 - test_size)))
    return ordered.iloc[:cut].reset_index(drop=True), ordered.iloc[cut:].reset_index(drop=True)


def anomaly_scores(pipeline: Pipeline, logs: pd.DataFrame) -> np.ndarray:
    """Scores in [0, 1], higher = more anomalous, for each log (in input order)."""
    return pipeline[-1].anomaly_score(pipeline[:-1].transform(logs))


def holdout_labels(holdout: pd.DataFrame) -> np.ndarray | None:
    """Ground truth of the holdout (NaN where unknown), or None when it has no labels at all."""
    labels = holdout["label"].to_numpy(dtype="float64") if "label" in holdout else None
    return None if labels is None or np.isnan(labels).all() else labels


def holdout_metrics(pipeline: Pipeline, holdout: pd.DataFrame) -> tuple[dict[str, Any], np.ndarray]:
    """Evaluation on the holdout (labels where present) plus the gate's separation figure."""
    scores = anomaly_scores(pipeline, holdout)
    threshold = float(pipeline[-1].threshold_)
    labels = holdout_labels(holdout)
    metrics = evaluate(labels, scores, threshold)
    metrics["separation"] = score_separation(scores, scores > threshold)
    metrics["threshold"] = threshold
    return metrics, scores


@dataclass(frozen=True)
class HoldoutEvaluation:
    """How a trained pipeline did on the later part of its window, which it never saw.

    ``metrics`` are :func:`holdout_metrics`' (the promotion gate reads f1, roc_auc, anomaly_rate
    and separation); ``fingerprint`` identifies the held-out rows, so that the champion is judged
    on exactly the same ones (:func:`holdout_of`).
    """

    metrics: dict[str, Any]
    rows: int
    test_size: float
    fingerprint: str


def holdout_of(logs: pd.DataFrame, holdout: HoldoutEvaluation) -> pd.DataFrame:
    """The held-out rows of ``logs`` that ``holdout`` was measured on; ValueError when ``logs``
    is not the window the model was trained on (its later part differs)."""
    _, rows = time_split(logs, holdout.test_size)
    if len(rows) != holdout.rows or data_hash(rows) != holdout.fingerprint:
        raise ValueError(f"these logs are not the window the challenger was trained on: the holdout has "
                         f"{len(rows)} rows (fingerprint {data_hash(rows)}), training held out {holdout.rows} "
                         f"({holdout.fingerprint}); re-run training for this partition")
    return rows


def model_size_bytes(pipeline: Pipeline) -> int:
    """Size of the pipeline as saved (joblib, compress=3, as exported and logged)."""
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=3)
    return buffer.getbuffer().nbytes


def data_hash(logs: pd.DataFrame) -> str:
    """A short fingerprint of the rows trained on (ids and times), for the run's tags."""
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(logs[["log_id", "timestamp"]], index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def feature_profile(matrix: np.ndarray, names: Any, logs: pd.DataFrame, *, detector: Any = None,
                    window: pd.Timedelta = pd.Timedelta("5min")) -> dict[str, Any]:
    """What "normal" looked like in training, for explanations and calibration: per-feature
    quantiles (min, p01, p05, p50, p95, p99, max), mean and std of the model's inputs;
    per-service response times in ms, error rates and log volume per rolling ``window`` by hour;
    the known message templates; and, given the fitted ``detector``, the distribution of the
    training rows' raw anomaly scores and the score calibration (core.severity)."""
    levels = [0.0, 0.01, 0.05, 0.5, 0.95, 0.99, 1.0]
    q = np.quantile(matrix, levels, axis=0) if len(matrix) else np.zeros((len(levels), matrix.shape[1]))
    rt = logs.groupby("service")["response_time"].quantile([0.5, 0.95]).unstack() \
        if logs["response_time"].notna().any() else pd.DataFrame()
    profile = {
        "feature_names": [str(n) for n in names],
        "p05": q[2].tolist(), "p50": q[3].tolist(), "p95": q[4].tolist(),
        "min": q[0].tolist(), "p01": q[1].tolist(), "p99": q[5].tolist(), "max": q[6].tolist(),
        "mean": matrix.mean(axis=0).tolist(), "std": matrix.std(axis=0).tolist(),
        "service_response_time_ms": {str(s): {"p50": float(r[0.5]), "p95": float(r[0.95])}
                                     for s, r in rt.iterrows() if np.isfinite(r[0.5])},
        "error_rate": float(logs["level"].isin(["ERROR", "CRITICAL"]).mean()) if len(logs) else 0.0,
        **log_profile(logs, window),
    }
    if detector is not None:
        profile["anomaly_score"] = score_profile(detector, matrix)
    return profile


@dataclass
class TrainedModel:
    """A fitted pipeline with what training learned about it (not yet logged or registered)."""

    pipeline: Pipeline
    config: TrainingConfig
    metrics: dict[str, Any]  # the holdout's, plus training time, model size and row counts
    holdout: HoldoutEvaluation
    holdout_scores: np.ndarray
    holdout_labels: np.ndarray | None
    train_rows: int
    data_hash: str
    profile: dict[str, Any]
    reference: TrainingReference | None = None  # the drift checks' baseline (core.detection.reference)

    @property
    def holdout_rows(self) -> int:
        return self.holdout.rows

    @property
    def expected_rate(self) -> float:
        """The anomaly share the model is meant to flag: its contamination, or with "auto" the share
        it flagged in its own training window (at least 0.1%, so that a ratio to it is defined)."""
        if self.config.contamination != AUTO:
            return float(self.config.contamination)
        return max(float(self.profile.get("anomaly_score", {}).get("flagged_share") or 0.0), MIN_EXPECTED_RATE)


def train(logs: pd.DataFrame, config: TrainingConfig = TrainingConfig()) -> TrainedModel:
    """Split by time, fit the pipeline on the earlier part, evaluate on the later part."""
    if len(logs) < config.min_training_samples:
        raise InsufficientDataError(
            f"the window holds {len(logs)} logs, fewer than min_training_samples="
            f"{config.min_training_samples}: not training (the champion is left untouched)")
    train_logs, holdout = time_split(logs, config.test_size)
    if len(holdout) == 0:
        raise InsufficientDataError("the holdout is empty: raise test_size or provide more logs")
    pipeline = build_pipeline(config)
    t0 = time.perf_counter()
    # Pipeline.fit, step by step, to keep the training matrix for the feature profile.
    matrix = pipeline[0].fit_transform(train_logs)
    pipeline[-1].fit(matrix)
    training_time = time.perf_counter() - t0
    metrics, scores = holdout_metrics(pipeline, holdout)
    evaluation = HoldoutEvaluation(dict(metrics), len(holdout), config.test_size, data_hash(holdout))
    metrics.update(training_time_s=training_time, model_size_bytes=model_size_bytes(pipeline),
                   train_rows=len(train_logs), holdout_rows=len(holdout))
    profile = feature_profile(matrix, pipeline[0].get_feature_names_out(), train_logs,
                              detector=pipeline[-1], window=pipeline[0].window_)
    reference = build_reference(matrix, pipeline[0].get_feature_names_out(), pipeline[-1])
    return TrainedModel(pipeline, config, metrics, evaluation, scores, holdout_labels(holdout), len(train_logs),
                        data_hash(train_logs), profile, reference)
