"""The training reference a drift check compares a later week with: a random sample of the
training matrix and the detector's raw scores on it, saved as one small ``.npz`` file.

Per-feature quantiles (the model's ``feature_profile``) are too coarse for a two-sample test, and
the whole training matrix is too big to keep beside every version, so training keeps
:data:`REFERENCE_ROWS` random rows (taken after the rolling features were computed on the whole
training window, so they are exact). With 10,000 rows the null PSI of a 10-bin comparison is
about 0.001, far under any drift threshold, and a KS test detects a shift of ~0.03 in its statistic.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np

REFERENCE_ROWS = 10_000
REFERENCE_FILE = "training_reference.npz"


@dataclass(frozen=True)
class TrainingReference:
    """A sample of what a model was trained on: features, raw scores, and the flagged share."""

    feature_names: tuple[str, ...]
    matrix: np.ndarray         # (rows, features) float32, a uniform random sample of the training rows
    raw_scores: np.ndarray     # the detector's raw score of each sampled row
    threshold: float           # the detector's threshold_ (raw score > threshold is an anomaly)
    training_rows: int         # rows the sample was drawn from

    @property
    def flagged_share(self) -> float:
        return float(np.mean(self.raw_scores > self.threshold)) if self.raw_scores.size else 0.0

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, feature_names=np.asarray(self.feature_names, dtype=str), matrix=self.matrix,
                            raw_scores=self.raw_scores, threshold=np.float64(self.threshold),
                            training_rows=np.int64(self.training_rows))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "TrainingReference":
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return cls(tuple(str(n) for n in npz["feature_names"]), npz["matrix"], npz["raw_scores"],
                       float(npz["threshold"]), int(npz["training_rows"]))


def build_reference(matrix: np.ndarray, names: Any, detector: Any, rows: int = REFERENCE_ROWS,
                    seed: int = 0) -> TrainingReference:
    """At most ``rows`` random rows of the training ``matrix`` with ``detector``'s raw scores."""
    take = np.sort(np.random.default_rng(seed).permutation(len(matrix))[:rows]) if len(matrix) > rows \
        else np.arange(len(matrix))
    sample = np.asarray(matrix[take], dtype=np.float32)
    scores = detector.anomaly_score(matrix[take]) if len(take) else np.zeros(0)
    return TrainingReference(tuple(str(n) for n in names), sample, np.asarray(scores, dtype=np.float64),
                             float(detector.threshold_), int(len(matrix)))
