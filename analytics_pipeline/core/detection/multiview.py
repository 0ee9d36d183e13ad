"""The default detector: every view the data offers, each judged against its own normal.

A log can be anomalous in different ways, and real systems show some and not others (BGL has no
latency at all; a new failure mode shows in what the logs say, not how fast they come). Four views,
each read from the featurizer's output (``LogFeaturizer(novelty_channels=True)``):

========  ==========================================================================  ============
view      evidence                                                                    fires when
========  ==========================================================================  ============
health    Isolation Forest on the service's last 5 minutes: mean and median latency   z > 3
          (scaled within the service) and error share. Robust z = (s - p50) / s90,
          s the forest's score, p50 and s90 = p90 - p50 from the training rows.
content   Isolation Forest on what the log says: level, service slot, TF-IDF of the   z > 3
          masked template; robust z as for health.
novelty   severity x word novelty: how new the words of the template are (0..1,      > 0.6
          core.features.novelty) times 1.0 CRITICAL, 0.8 ERROR, 0.6 WARN, 0.4 INFO,
          0.2 DEBUG: a severe line made mostly of words training never saw.
burst     rare-template burst: -log10 P of that many rare-template logs in the        > 6
          service's window under its training rate (core.features.novelty).          (p < 1e-6)
========  ==========================================================================  ============

Past the health boundary, a window whose latency (per-service robust scaled: IQRs above the service's
median) exceeds ``latency_scale`` (4) IQRs counts that many times over: an isolation score
saturates, a latency of 25x normal should still read critical.

Each view's evidence is divided by its boundary (so 1 means "at the boundary") and the log's raw
anomaly score is ``r / (1 + r)`` for the largest ratio ``r``: a log is anomalous when any view's
evidence is past its boundary (``contamination="auto"``, ``threshold_`` = 0.5). Severity follows the
same scale: low up to 20% past the boundary, medium to 40%, high to twice the boundary, critical
beyond (for health, robust z of 3, 3.6, 4.2 and 6). A float
``contamination`` instead sets the threshold at that quantile of the training scores (the seed's
0.1 flags 10% of a window). The boundaries are the documented rule, not fitted to labels: robust z
of 3 is three spreads of normal traffic past its median (the severity bands continue at 4, 5, ...);
robust statistics keep a few percent of incidents in the training window from setting the scale.

Views degrade gracefully: columns that are constant in training (no response times: the latency
columns hold the imputed value; one service; one template) are left out of their view's forest, and
a view left with no varying column, or whose forest scores every training row alike, is off (its
evidence is 0): a missing view neither dominates nor dilutes the others. When nine windows in ten
score alike (no latency, and few errors), the spread is p99 - p50 (failing that, the standard
deviation of the scores).
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from analytics_pipeline.core.detection.base import BaseDetector, subsample
from analytics_pipeline.core.detection.forest import IsolationForestDetector

VIEWS: tuple[str, ...] = ("health", "content", "novelty", "burst")
# Evidence over the boundary where medium, high and critical begin (low starts at 1).
SEVERITY_STEPS: tuple[float, ...] = (1.2, 1.4, 2.0)
# Weight of each level (DEBUG..CRITICAL, core.logs.schema.LEVELS order) in the novelty view.
SEVERITY_WEIGHTS: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0)
# Training rows scored to learn each view's p50 and p90 and the flagged share: plenty for quantiles.
_CALIBRATION_ROWS = 200_000
# Two random directions: a row's columns projected on them tell repeated rows apart (see below).
_DIRECTIONS = np.random.default_rng(20261202).standard_normal((512, 2))
_BLOCK_ROWS = 1 << 16


def _distinct_rows(X: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(first row of each distinct row, code of each row), or None when most rows are distinct.

    Logs repeat: the content view's columns (level, service, template) take a few thousand distinct
    values over a million logs, so scoring each distinct row once is far cheaper. Rows are grouped by
    their projections on two random directions (float64): different rows share both only by a
    coincidence of measure zero, and identical rows that happen to round differently merely form two
    groups, which score alike.
    """
    if X.shape[0] < 1_000 or X.shape[1] > len(_DIRECTIONS):
        return None
    keys = np.empty((X.shape[0], 2))
    for lo in range(0, X.shape[0], _BLOCK_ROWS):
        keys[lo:lo + _BLOCK_ROWS] = X[lo:lo + _BLOCK_ROWS].astype(np.float64) @ _DIRECTIONS[:X.shape[1]]
    codes, uniques = pd.factorize(keys[:, 0] + 1j * keys[:, 1])
    if len(uniques) > X.shape[0] // 4:
        return None
    first = np.full(len(uniques), -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(X.shape[0])[::-1]
    return first, codes


class MultiViewDetector(BaseDetector):
    """Health, content, novelty and burst views combined by their strongest evidence (see module)."""

    _dtype = np.float32  # the featurizer's output; float64 would copy a window's matrix for nothing

    def __init__(self, health_columns: Sequence[int] = (), content_columns: Sequence[int] = (),
                 level_columns: Sequence[int] = (), novelty_column: int | None = None,
                 burst_column: int | None = None, latency_columns: Sequence[int] = (),
                 latency_scale: float = 20.0, health_z: float = 3.0, content_z: float = 3.0,
                 novelty_threshold: float = 0.6, burst_threshold: float = 6.0,
                 contamination: float | str = "auto", n_estimators: int = 100,
                 max_samples: int | float | str = "auto", random_state: int | None = 42,
                 n_jobs: int | None = -1) -> None:
        self.health_columns = health_columns
        self.content_columns = content_columns
        self.level_columns = level_columns
        self.novelty_column = novelty_column
        self.burst_column = burst_column
        self.latency_columns = latency_columns
        self.latency_scale = latency_scale
        self.health_z = health_z
        self.content_z = content_z
        self.novelty_threshold = novelty_threshold
        self.burst_threshold = burst_threshold
        self.contamination = contamination
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X: Any, y: Any = None) -> "MultiViewDetector":
        """Fit the forest views on X (y is ignored), learn their normal spread and the threshold."""
        self._check_params()
        X = self._validate_fit_input(X)
        self.forests_: dict[str, tuple[list[int], IsolationForestDetector, float, float]] = {}
        calibration = X[subsample(X.shape[0], _CALIBRATION_ROWS, self.random_state)]
        constant = X.min(axis=0) == X.max(axis=0)
        for view, columns in (("health", self.health_columns), ("content", self.content_columns)):
            varying = [c for c in columns if not constant[c]]
            if not varying:
                continue
            # Each tree grows on max_samples (256) rows, so a random 200k of the training rows
            # serve as well as all of them, for a fraction of the copying. contamination="auto":
            # sklearn then skips scoring every row for an offset this detector does not use.
            forest = IsolationForestDetector(n_estimators=self.n_estimators, max_samples=self.max_samples,
                                             contamination="auto", random_state=self.random_state,
                                             n_jobs=self.n_jobs).fit(calibration[:, varying])
            scores = _forest_scores(forest, calibration[:, varying])
            p50, p90, p99 = (float(q) for q in np.quantile(scores, [0.5, 0.9, 0.99]))
            # Most windows can be alike (no latency, and no error in nine windows out of ten): the
            # spread is then p99 - p50, or the scores' standard deviation; a forest that scores
            # every row alike has nothing to say.
            spread = next((d for d in (p90 - p50, p99 - p50, float(np.std(scores))) if d > 0), 0.0)
            if spread > 0:
                self.forests_[view] = (varying, forest, p50, spread)
        self.views_ = [v for v in VIEWS if v in self.forests_ or self._column(v) is not None]
        train = self.anomaly_score(calibration)
        self.threshold_ = 0.5 if self.contamination == "auto" else float(np.quantile(train, 1 - self.contamination))
        self.offset_ = -self.threshold_
        self.flagged_share_ = float(np.mean(train > self.threshold_)) if len(train) else 0.0
        self.n_train_samples_ = X.shape[0]
        return self

    def evidence(self, X: Any) -> np.ndarray:
        """Each view's evidence over its boundary, one column per :data:`VIEWS` (0 when off)."""
        X = self._check_X(X)
        out = np.zeros((X.shape[0], len(VIEWS)))
        if X.shape[0] == 0:
            return out
        for view, (columns, forest, p50, spread) in self.forests_.items():
            z = (_forest_scores(forest, X[:, columns]) - p50) / spread
            out[:, VIEWS.index(view)] = z / (self.health_z if view == "health" else self.content_z)
        if "health" in self.forests_ and self.latency_columns:
            # A forest's score saturates once a window is isolated; how slow it is does not. Past the
            # boundary, a window latency of k IQRs above the service's median (the scaled latency
            # columns) counts as k / latency_scale times the boundary, so severity reflects it.
            health = out[:, 0]
            slow = X[:, list(self.latency_columns)].max(axis=1) / self.latency_scale
            out[:, 0] = np.where(health > 1, np.maximum(health, slow), health)
        if self.novelty_column is not None:
            severity = X[:, list(self.level_columns)] @ np.asarray(SEVERITY_WEIGHTS) if self.level_columns else 1.0
            out[:, VIEWS.index("novelty")] = severity * X[:, self.novelty_column] / self.novelty_threshold
        if self.burst_column is not None:
            out[:, VIEWS.index("burst")] = X[:, self.burst_column] / self.burst_threshold
        return out

    def severity_knots(self) -> list[tuple[float, float]]:
        """Medium, high and critical at 1.2, 1.4 and 2 times the boundary's evidence (in raw units)."""
        at_threshold = self.threshold_ / (1.0 - self.threshold_)  # the evidence the threshold stands for
        return [(r * at_threshold / (1.0 + r * at_threshold), edge)
                for r, edge in zip(SEVERITY_STEPS, (0.7, 0.8, 0.9))]

    def _score_samples(self, X: np.ndarray) -> np.ndarray:
        strongest = np.maximum(self.evidence(X).max(axis=1), 0.0)
        return -(strongest / (1.0 + strongest))

    def _to_anomaly(self, scores: np.ndarray) -> np.ndarray:
        return -scores

    def _column(self, view: str) -> int | None:
        return {"novelty": self.novelty_column, "burst": self.burst_column}.get(view)

    def _check_params(self) -> None:
        if self.contamination != "auto" and (isinstance(self.contamination, str)
                                             or not 0 < self.contamination <= 0.5):
            raise ValueError(f'contamination must be "auto" or a share in (0, 0.5], got {self.contamination!r}.')
        for name in ("health_z", "content_z", "novelty_threshold", "burst_threshold", "latency_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}.")
        if self.level_columns and len(self.level_columns) != len(SEVERITY_WEIGHTS):
            raise ValueError(f"level_columns must name the {len(SEVERITY_WEIGHTS)} level one-hot columns.")


def _forest_scores(forest: IsolationForestDetector, X: np.ndarray) -> np.ndarray:
    """The forest's anomaly scores of X, each distinct row scored once."""
    distinct = _distinct_rows(X)
    if distinct is None:
        return forest.anomaly_score(X)
    first, codes = distinct
    return forest.anomaly_score(X[first])[codes]
