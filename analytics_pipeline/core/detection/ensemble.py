"""Soft voting over detectors on one scale: each member's empirical CDF over its training rows."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sklearn.base import clone
from sklearn.utils.metaestimators import _BaseComposition

from analytics_pipeline.core.detection.base import CALIBRATION_ROWS, BaseDetector, subsample

# Grid of the empirical CDFs the ensemble keeps per member (a compact stand-in for all scores).
_CDF_LEVELS = np.linspace(0.0, 1.0, 1001)


class EnsembleDetector(_BaseComposition, BaseDetector):
    """Soft voting over detectors: weighted average of the members' empirical-CDF scores.

    Members are cloned and fitted on X. Each member's anomaly scores on (up to 10,000) training
    rows define its empirical CDF, kept as 1,001 quantiles; a row's ensemble score is the weighted
    average of the members' CDF values, in [0, 1]. The threshold is the (1 - contamination)
    quantile of the ensemble scores of those training rows. Nested parameters are grid-searchable
    (``isolation_forest__n_estimators``).
    """

    _required_parameters = ["detectors"]

    def __init__(self, detectors: Sequence[tuple[str, BaseDetector]],
                 weights: Sequence[float] | None = None, contamination: float = 0.1) -> None:
        self.detectors = detectors
        self.weights = weights
        self.contamination = contamination

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return self._get_params("detectors", deep=deep)

    def set_params(self, **params: Any) -> EnsembleDetector:
        self._set_params("detectors", **params)
        return self

    def fit(self, X: Any, y: Any = None) -> EnsembleDetector:
        """Fit every member on X, then learn the members' CDFs and the threshold; y is ignored."""
        if not self.detectors:
            raise ValueError("EnsembleDetector needs at least one (name, detector) pair.")
        names = [name for name, _ in self.detectors]
        self._validate_names(names)
        weights = np.ones(len(names)) if self.weights is None else np.asarray(self.weights, float)
        if weights.shape != (len(names),) or (weights < 0).any() or not weights.sum() > 0:
            raise ValueError(f"weights must be {len(names)} non-negative numbers, not all zero; "
                             f"got {self.weights!r}.")
        if isinstance(self.contamination, str) or not 0 < self.contamination <= 0.5:
            raise ValueError(f"contamination must be a float in (0, 0.5], "
                             f"got {self.contamination!r}.")
        X = self._validate_fit_input(X)
        self.detectors_ = [(name, clone(det).fit(X)) for name, det in self.detectors]
        self.weights_ = weights / weights.sum()
        X_cal = X[subsample(X.shape[0], CALIBRATION_ROWS, 0)]
        member_scores = [det.anomaly_score(X_cal) for _, det in self.detectors_]
        self.member_quantiles_ = np.stack([np.quantile(s, _CDF_LEVELS) for s in member_scores])
        self.threshold_ = float(np.quantile(self._combine(member_scores), 1 - self.contamination))
        self.offset_ = -self.threshold_
        self.n_train_samples_ = X.shape[0]
        return self

    @property
    def named_detectors_(self) -> dict[str, BaseDetector]:
        """The fitted members by name."""
        return dict(self.detectors_)

    def get_model_info(self) -> dict[str, Any]:
        info = super().get_model_info()
        info["params"]["detectors"] = [name for name, _ in self.detectors]
        if hasattr(self, "detectors_"):
            info["members"] = {name: det.get_model_info() for name, det in self.detectors_}
            info["weights"] = self.weights_.tolist()
        return info

    def _combine(self, member_scores: list[np.ndarray]) -> np.ndarray:
        cdfs = [np.interp(s, q, _CDF_LEVELS) for s, q in zip(member_scores, self.member_quantiles_)]
        return np.average(cdfs, axis=0, weights=self.weights_)

    def _score_samples(self, X: np.ndarray) -> np.ndarray:
        return -self._combine([det.anomaly_score(X) for _, det in self.detectors_])

    def _to_anomaly(self, scores: np.ndarray) -> np.ndarray:
        return -scores
