"""From a detector's raw anomaly score to what operators read: score, severity, confidence.

Raw Isolation Forest scores s(x) = 2^(-E(h(x))/c(n)) of flagged rows bunch up in ~0.45-0.85, so
fixed bands on them would call many anomalies "normal". The published ``anomaly_score`` is
therefore a monotone, piecewise-linear calibration of the raw score, learned at training time
from the training rows' raw scores (:meth:`Calibration.fit`). Severity measures how far a log
lies beyond normal traffic, in units of normal traffic's own spread ``s`` = p90 - p50 of the
training scores (the bulk of any window, so a few percent of incidents in training do not move
it). Its knots:

====================================  ==========  ===============================================
raw score                             calibrated  meaning
====================================  ==========  ===============================================
0                                     0.0
median training row (p50)             0.3
threshold ``threshold_``              0.6         decision boundary (the training p90 with the
                                                  default contamination of 10%, i.e. p50 + 1 s)
p50 + 2 s                             0.7         low below, medium above
p50 + 3 s                             0.8         high above
p50 + 4 s                             0.9         critical above
1                                     1.0
====================================  ==========  ===============================================

Earlier versions placed the upper knots at training quantiles (top 1/10, 1/100, 1/1000 of the
flagged share). Training windows hold incidents, so those quantiles were the incidents
themselves and a later incident of the same size could never be "high": on synthetic weeks
every real incident came out "low" or "medium". Measured with the default model on a later
synthetic week, the spread bands put latency spikes and cascading failures at critical, error
bursts at high, creeping latency at medium, and most false alarms at low. Stored models keep
the knots they were trained with.

Severity bands are half-open on the calibrated score: normal <= 0.6 < low <= 0.7 < medium <= 0.8
< high <= 0.9 < critical. Because the threshold is a knot mapped to 0.6 (and enforced exactly),
``anomaly_score > 0.6`` iff ``raw_score > threshold_`` iff ``is_anomaly``: every anomaly has a
severity other than normal, every normal row is "normal". A knot on the wrong side of the
threshold (a stricter contamination puts the threshold above p50 + 2 s: the bands below it merge
into "low") or that coincides with another is dropped, which keeps the mapping monotone. The
spread is at most a fifth of the way from p50 to 1 (also when p90 = p50, all normal rows scoring
alike), so p50 + 4 s stays below 1 and every band stays reachable: the distance- and rank-based
detectors spread normal rows over much of [0, 1] (one-class SVM and LOF map p50 to 0.1 and their
threshold to 0.5). A model without a stored calibration gets the linear map 0 -> 0,
threshold -> 0.6, 1 -> 1.

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
# Training rows scored for the calibration and the profile's quantiles (p99.99 from 20 rows).
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
        median, p90 = (float(q) for q in np.quantile(scores, [0.5, 0.9]))
        # Capped so that p50 + 4 s stays below 1, the top of the raw scale: detectors whose
        # normal rows spread wide (one-class SVM, LOF, the ensemble's CDF scores) keep every band.
        spread = min(p90 - median if p90 > median else math.inf, (1.0 - median) / 5)
        knots = [(0.0, 0.0), (median, 0.3), (threshold, BOUNDARY)]
        knots += [(median + k * spread, edge) for k, edge in zip((2, 3, 4), BANDS[1:])] + [(1.0, 1.0)]
        return cls._from_knots(knots, threshold)

    @classmethod
    def from_knots(cls, upper: list[tuple[float, float]], train_scores: np.ndarray, threshold: float) -> "Calibration":
        """Given knots above the threshold (the detector's own severity scale), with 0 -> 0, the
        training median -> 0.3 and the threshold -> 0.6 below them."""
        scores = np.asarray(train_scores, dtype=np.float64)
        median = float(np.median(scores)) if scores.size else threshold / 2
        knots = [(0.0, 0.0), (median, 0.3), (threshold, BOUNDARY), *upper, (1.0, 1.0)]
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
        "calibration": (Calibration.fit(scores, threshold) if detector.severity_knots() is None
                        else Calibration.from_knots(detector.severity_knots(), scores, threshold)).as_dict(),
    }
