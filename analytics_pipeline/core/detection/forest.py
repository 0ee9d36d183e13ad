"""Isolation Forest with one interface (core.detection.base), scored by the compiled forest."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sklearn.ensemble import IsolationForest

from analytics_pipeline.core.detection.base import BaseDetector
from analytics_pipeline.core.detection.fast_forest import CompiledForest


class IsolationForestDetector(BaseDetector):
    """Isolation Forest (sklearn) scored through :class:`CompiledForest`.

    The compiled path returns exactly sklearn's scores and was faster at every batch size measured
    (1 row: 0.09 ms vs 5.8 ms; 100 rows: 0.4 ms vs 6.2 ms; 1M rows: ~1.4x on one thread), so it
    does all the scoring. ``n_jobs`` is used both for fitting and for scoring big batches.

    ``feature_weights`` (one non-negative integer per column, None = all 1) sets how often each
    column is offered to the forest's random choice of a split feature: the trees are grown on the
    columns repeated that many times, so 0 means never split on, and 2 twice as often as 1. The
    forest picks split features uniformly, so without weights every column gets the same share of
    the splits however little it says about faults; 50 TF-IDF columns then outvote the few
    columns where incidents show (see ``LogFeaturizer.health_weights``). The score stays the
    paper's s(x) of the forest grown; without weights the forest is exactly sklearn's.
    """

    _dtype = np.float32  # sklearn's trees compare float32 features

    def __init__(self, n_estimators: int = 100, max_samples: int | float | str = "auto",
                 contamination: float | str = 0.1, max_features: int | float = 1.0,
                 random_state: int | None = 42, n_jobs: int | None = -1,
                 feature_weights: Sequence[int] | None = None) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.contamination = contamination
        self.max_features = max_features
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.feature_weights = feature_weights

    def fit(self, X: Any, y: Any = None) -> IsolationForestDetector:
        """Fit the forest on X (y is ignored); the threshold follows ``contamination``."""
        X = self._validate_fit_input(X)
        # split_columns_: the column of X behind each column the trees see (None: X as it is).
        self.split_columns_ = self._split_columns(X.shape[1])
        self.estimator_ = IsolationForest(
            n_estimators=self.n_estimators, max_samples=self.max_samples,
            contamination=self.contamination, max_features=self.max_features,
            random_state=self.random_state, n_jobs=self.n_jobs,
        ).fit(X if self.split_columns_ is None else X[:, self.split_columns_])
        self.forest_ = CompiledForest.from_sklearn(self.estimator_, self.split_columns_, X.shape[1])
        self.offset_ = float(self.estimator_.offset_)
        self.threshold_ = -self.offset_
        self.n_train_samples_ = X.shape[0]
        return self

    def __getstate__(self) -> dict[str, Any]:
        # forest_ is derived from estimator_ and compiles in ~10 ms: leaving it out of the pickle
        # keeps model files (and MLflow artifacts) ~40% smaller.
        state = dict(super().__getstate__())  # may be the live __dict__ itself
        state.pop("forest_", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if "estimator_" in state:
            self.forest_ = CompiledForest.from_sklearn(
                self.estimator_, state.get("split_columns_"), state.get("n_features_in_"))

    def _split_columns(self, n_features: int) -> np.ndarray | None:
        if self.feature_weights is None:
            return None
        weights = np.asarray(self.feature_weights)
        if (weights.shape != (n_features,) or weights.dtype.kind not in "iuf"
                or not np.all((weights >= 0) & (weights == np.round(weights))) or not weights.sum() > 0):
            raise ValueError(f"feature_weights must be {n_features} non-negative integers, not all "
                             f"zero (one per column of X); got {self.feature_weights!r}.")
        return np.repeat(np.arange(n_features), weights.astype(np.int64))

    def _score_samples(self, X: np.ndarray) -> np.ndarray:
        return self.forest_.score_samples(X, n_jobs=self.n_jobs)

    def _to_anomaly(self, scores: np.ndarray) -> np.ndarray:
        return -scores
