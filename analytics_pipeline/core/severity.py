"""From a detector's raw anomaly score to what operators read: score, severity, confidence.

Raw Isolation Forest scores s(x) = 2^(-E(h(x))/c(n)) of flagged rows bunch up in ~0.47-0.65, so
fixed bands on them would call almost every anomaly "normal" or "low". The published
``anomaly_score`` is therefore a monotone, piecewise-linear calibration of the raw score, learned
at training time from the training rows' raw scores (:meth:`Calibration.fit`). Its knots:

==============================================  ==========  =======================================
raw score (training distribution)               calibrated  meaning
==============================================  ==========  =======================================
0                                               0.0
median training row                             0.3
threshold ``threshold_`` (top share c)         0.6         decision boundary (c = 10% by default)
top c/10 of training rows                       0.7         c = 10%: training p99
top c/100 of training rows                      0.8         c = 10%: training p99.9
top c/1000 of training rows                     0.9         c = 10%: training p99.99
highest training score                          0.95        beyond: never seen in training
1                                               1.0
==============================================  ==========  =======================================

With the default contamination, "low" is the top 10% to 1% of training-like traffic, "medium" the
top 1% to 0.1%, "high" the top 0.1% to 0.01%, and "critical" rarer than 1 in 10,000 training logs
(and above 0.95: beyond anything seen in training).

Severity bands are half-open on the calibrated score: normal <= 0.6 < low <= 0.7 < medium <= 0.8
< high <= 0.9 < critical. Because the threshold is a knot mapped to 0.6 (and enforced exactly),
``anomaly_score > 0.6`` iff ``raw_score > threshold_`` iff ``is_anomaly``: every anomaly has a
severity other than normal, every normal row is "normal". Knots that coincide (tiny or degenerate
training sets) are dropped, which merges bands but keeps the mapping monotone. A model without a
stored calibration gets the linear map 0 -> 0, threshold -> 0.6, 1 -> 1.

``confidence`` is the certainty of the is_anomaly decision, from the calibrated score's distance
to the boundary: 0.5 at the threshold, rising linearly to 1.0 at a score of 1 (anomalies) or 0
(normal rows). It is a documented heuristic, not a probability.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

SEVERITIES: tuple[str, ...] = ("normal", "low", "medium", "high", "critical")
# Exclusive lower edges of low, medium, high and critical on the calibrated score.
BANDS: tuple[float, ...] = (0.6, 0.7, 0.8, 0.9)
BOUNDARY = BANDS[0]
_SEVERITY_ARRAY = np.asarray(SEVERITIES, dtype=object)
_ABOVE_BOUNDARY = math.nextafter(BOUNDARY, 1.0)
# Training rows scored for the calibration: 20 rows above the p99.99 knot.
CALIBRATION_ROWS = 200_000


def classify_severity(score: float) -> str:
    """Severity band of one calibrated anomaly score in [0, 1] (see the module docstring)."""
    if isinstance(score, bool) or not isinstance(score, (int, float, np.integer, np.floating)) \
            or not 0.0 <= score <= 1.0:
        raise ValueError(f"score must be a number in [0, 1], got {score!r}")
    return SEVERITIES[int(np.searchsorted(BANDS, score, side="left"))]


def severities(scores: np.ndarray) -> np.ndarray:
    """:func:`classify_severity` of every calibrated score (object array of names)."""
    return _SEVERITY_ARRAY[np.searchsorted(BANDS, scores, side="left")]


def confidence(scores: np.ndarray) -> np.ndarray:
    """Certainty of the decision: 0.5 at the boundary, 1.0 at either end of the scale."""
    margin = np.where(scores > BOUNDARY, (scores - BOUNDARY) / (1.0 - BOUNDARY),
                      (BOUNDARY - scores) / BOUNDARY)
    return 0.5 + 0.5 * np.clip(margin, 0.0, 1.0)


@dataclass(frozen=True)
class Calibration:
    """Piecewise-linear map from raw anomaly scores to calibrated ones (strictly increasing knots)."""

    raw: tuple[float, ...]
    calibrated: tuple[float, ...]
    threshold: float

    @classmethod
    def fit(cls, train_scores: np.ndarray, threshold: float) -> "Calibration":
        """Knots from the training rows' raw scores and the detector's threshold."""
        scores = np.asarray(train_scores, dtype=np.float64)
        if scores.size == 0:
            return cls.linear(threshold)
        share = max(float(np.mean(scores > threshold)), 1.0 / scores.size)
        upper = np.quantile(scores, [1 - share / 10, 1 - share / 100, 1 - share / 1000]).tolist()
        knots = [(0.0, 0.0), (float(np.median(scores)), 0.3), (threshold, BOUNDARY), (upper[0], 0.7),
                 (upper[1], 0.8), (upper[2], 0.9), (float(scores.max()), 0.95), (1.0, 1.0)]
        return cls._from_knots(knots, threshold)

    @classmethod
    def linear(cls, threshold: float) -> "Calibration":
        """The fallback: 0 -> 0, threshold -> 0.6, 1 -> 1."""
        return cls._from_knots([(0.0, 0.0), (threshold, BOUNDARY), (1.0, 1.0)], threshold)

    @classmethod
    def _from_knots(cls, knots: list[tuple[float, float]], threshold: float) -> "Calibration":
        # Keep the threshold knot; drop any other knot that would break strict monotonicity.
        below = [(x, y) for x, y in knots if y < BOUNDARY and x < threshold]
        above = [(x, y) for x, y in knots if y > BOUNDARY and x > threshold]
        kept = [(threshold, BOUNDARY)]
        for x, y in above:
            if x > kept[-1][0]:
                kept.append((x, y))
        head: list[tuple[float, float]] = []
        for x, y in below:
            if not head or x > head[-1][0]:
                head.append((x, y))
        kept = head + kept
        return cls(tuple(float(x) for x, _ in kept), tuple(float(y) for _, y in kept), float(threshold))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, threshold: float) -> "Calibration":
        """The stored calibration when it was built for ``threshold``, else :meth:`linear`."""
        if data and math.isclose(float(data.get("threshold", math.nan)), threshold, rel_tol=0, abs_tol=1e-12):
            return cls._from_knots(list(zip(data["raw"], data["calibrated"])), threshold)
        return cls.linear(threshold)

    def as_dict(self) -> dict[str, Any]:
        return {"raw": list(self.raw), "calibrated": list(self.calibrated), "threshold": self.threshold}

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated scores in [0, 1]; exactly > 0.6 where ``raw > threshold``."""
        out = np.interp(raw, self.raw, self.calibrated)
        # Rounding near the threshold knot must not move a row across the boundary.
        anomalous = raw > self.threshold
        return np.where(anomalous, np.maximum(out, _ABOVE_BOUNDARY), np.minimum(out, BOUNDARY))


def score_profile(detector: Any, train_matrix: np.ndarray) -> dict[str, Any]:
    """What the training rows' raw scores looked like, plus the calibration learned from them.

    At most :data:`CALIBRATION_ROWS` random rows are scored: enough for the tail knots, and
    bounded for detectors whose scoring cost grows with their training set (LOF, one-class SVM).
    """
    threshold = float(detector.threshold_)
    rows = np.sort(np.random.default_rng(0).permutation(len(train_matrix))[:CALIBRATION_ROWS]) \
        if len(train_matrix) > CALIBRATION_ROWS else slice(None)
    scores = detector.anomaly_score(train_matrix[rows]) if len(train_matrix) else np.zeros(0)
    levels = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p999": 0.999, "p9999": 0.9999, "max": 1.0}
    values = np.quantile(scores, list(levels.values())) if scores.size else [None] * len(levels)
    return {
        "rows": int(scores.size),
        "flagged_share": float(np.mean(scores > threshold)) if scores.size else None,
        "quantiles": {k: None if v is None else float(v) for k, v in zip(levels, values)},
        "calibration": Calibration.fit(scores, threshold).as_dict(),
    }
