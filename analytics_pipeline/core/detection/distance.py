"""Distance and kernel detectors (one-class SVM, Local Outlier Factor) with a logistic calibration."""
from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

from analytics_pipeline.core.detection.base import CALIBRATION_ROWS, BaseDetector, subsample

# The logistic calibration maps the median training row to sigmoid(-ln 9) = 0.1.
_MEDIAN_ANOMALY_LOGIT = np.log(9.0)


class _CalibratedDetector(BaseDetector):
    """A distance/kernel detector: standardized inputs, capped training set, logistic calibration.

    The 78 features mix milliseconds, flags and TF-IDF weights, so distances are meaningless
    without scaling; ``standardize=False`` skips it when the pipeline already scales. Fitting is
    quadratic in the rows, so at most ``max_train_samples`` random training rows are used.
    """

    def fit(self, X: Any, y: Any = None) -> _CalibratedDetector:
        """Fit on (a random subsample of) X; y is ignored."""
        X = self._validate_fit_input(X)
        X_fit = X[subsample(X.shape[0], self.max_train_samples, self.random_state)]
        self.scaler_ = StandardScaler().fit(X_fit) if self.standardize else None
        X_fit = self._scaled(X_fit)
        self.estimator_ = self._make_estimator().fit(X_fit)
        # Scoring costs O(rows x training rows); a subsample pins the quantiles just as well.
        rows = subsample(X_fit.shape[0], CALIBRATION_ROWS, self.random_state)
        train_scores = self.estimator_.score_samples(X_fit[rows])
        self.offset_ = self._offset(train_scores)
        spread = float(np.median(train_scores)) - self.offset_
        if not spread > 0:  # degenerate: the median row is not inside the boundary
            spread = float(np.std(train_scores)) or 1.0
        self.calibration_scale_ = spread / _MEDIAN_ANOMALY_LOGIT
        self.threshold_ = 0.5
        self.n_train_samples_ = X.shape[0]
        self.n_fit_samples_ = X_fit.shape[0]
        return self

    def _scaled(self, X: np.ndarray) -> np.ndarray:
        return X if self.scaler_ is None else self.scaler_.transform(X)

    def _score_samples(self, X: np.ndarray) -> np.ndarray:
        return self.estimator_.score_samples(self._scaled(X))

    def _to_anomaly(self, scores: np.ndarray) -> np.ndarray:
        return expit((self.offset_ - scores) / self.calibration_scale_)

    def _make_estimator(self) -> Any:
        raise NotImplementedError

    def _offset(self, train_scores: np.ndarray) -> float:
        """The decision boundary in ``score_samples`` units."""
        return float(np.ravel(self.estimator_.offset_)[0])


class OneClassSVMDetector(_CalibratedDetector):
    """One-class SVM; ``nu`` bounds the fraction of training rows outside the boundary, so it plays
    the role of ``contamination``."""

    def __init__(self, kernel: str = "rbf", nu: float = 0.1, gamma: str | float = "scale",
                 max_train_samples: int | None = 20_000, standardize: bool = True,
                 random_state: int | None = 42) -> None:
        self.kernel = kernel
        self.nu = nu
        self.gamma = gamma
        self.max_train_samples = max_train_samples
        self.standardize = standardize
        self.random_state = random_state

    def _make_estimator(self) -> OneClassSVM:
        return OneClassSVM(kernel=self.kernel, nu=self.nu, gamma=self.gamma)


class LocalOutlierFactorDetector(_CalibratedDetector):
    """Local Outlier Factor in novelty mode (scores new rows against the training rows).

    sklearn sets the offset from the leave-one-out LOF of the training rows, but scoring those rows
    again (this platform scores the window it trained on) counts each row as its own neighbour and
    flags fewer than ``contamination`` of them. The offset is therefore the ``contamination``
    quantile of novelty-mode scores of training rows ("auto" keeps sklearn's fixed -1.5).
    """

    def __init__(self, n_neighbors: int = 20, contamination: float | str = 0.1,
                 max_train_samples: int | None = 50_000, standardize: bool = True,
                 random_state: int | None = 42) -> None:
        self.n_neighbors = n_neighbors
        self.contamination = contamination
        self.max_train_samples = max_train_samples
        self.standardize = standardize
        self.random_state = random_state

    def _make_estimator(self) -> LocalOutlierFactor:
        return LocalOutlierFactor(n_neighbors=self.n_neighbors, contamination=self.contamination,
                                  novelty=True)

    def _offset(self, train_scores: np.ndarray) -> float:
        if self.contamination == "auto":
            return super()._offset(train_scores)
        return float(np.percentile(train_scores, 100.0 * self.contamination))
