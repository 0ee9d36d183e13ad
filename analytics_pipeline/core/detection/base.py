"""Anomaly detectors with one interface, following scikit-learn's estimator contract.

Every detector takes a numeric matrix X (for example the featurizer's output as the last step of a
``Pipeline``) and offers, once fitted:

- ``score_samples(X)``: sklearn convention, higher = more normal;
- ``decision_function(X)`` = ``score_samples(X) - offset_``, negative = anomaly;
- ``predict(X)``: 1 normal, -1 anomaly (``decision_function < 0``);
- ``anomaly_score(X)``: float64 in [0, 1], higher = more anomalous. A row is an anomaly exactly when
  its anomaly score is above ``threshold_`` (the decision boundary in anomaly-score units).

Calibration of ``anomaly_score``:

- Isolation Forest: the paper's s(x) = 2^(-E(h(x)) / c(n)), i.e. ``-IsolationForest.score_samples``.
- One-class SVM and LOF: a logistic map of the decision value, sigmoid(-decision / scale), so the
  decision boundary maps to 0.5 and the median training row to 0.1. It is strictly monotone, so it
  keeps the ranking (and resolution far beyond the training range) of the raw scores.
- Ensemble: each member's anomaly score is first turned into its empirical CDF over the training
  rows (the fraction of training rows that score lower), which puts the members on one scale; the
  ensemble score is their weighted average.
"""
from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from analytics_pipeline.core.detection.model_files import IncompatibleModelError, load_model_file

# Rows used to learn score calibrations: enough for stable quantiles, cheap for O(n_SV) scorers.
CALIBRATION_ROWS = 10_000


def subsample(n_rows: int, max_rows: int | None, random_state: Any) -> np.ndarray | slice:
    """Sorted random row indices (at most ``max_rows``), or all rows."""
    if max_rows is None or n_rows <= max_rows:
        return slice(None)
    rng = check_random_state(random_state)
    return np.sort(rng.choice(n_rows, size=max_rows, replace=False))


def _plain(value: Any) -> Any:
    """A parameter as JSON-friendly data (logged to MLflow, shown in Dagster metadata)."""
    if isinstance(value, (str, bool, int, float, type(None))):
        return value
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
        return list(value)
    return repr(value)


class BaseDetector(OutlierMixin, BaseEstimator):
    """The shared interface; subclasses implement fit, ``_score_samples`` and ``_to_anomaly``."""

    _dtype: type = np.float64

    def score_samples(self, X: Any) -> np.ndarray:
        """Normality of each row (higher = more normal)."""
        X = self._check_X(X)
        if X.shape[0] == 0:
            return np.empty(0)
        return self._score_samples(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """``score_samples - offset_``: negative = anomaly."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> np.ndarray:
        """1 for normal rows, -1 for anomalies."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def anomaly_score(self, X: Any) -> np.ndarray:
        """Anomaly score in [0, 1], higher = more anomalous (see the module docstring)."""
        return self._to_anomaly(self.score_samples(X))

    def severity_knots(self) -> list[tuple[float, float]] | None:
        """(raw score, calibrated score) knots above the threshold, when the detector's raw score has
        a scale of its own; None: core.detection.severity learns them from the training scores."""
        return None

    def get_model_info(self) -> dict[str, Any]:
        """Type, parameters and learned scalars (offset, threshold, training size) as plain data."""
        params = {k: _plain(v) for k, v in self.get_params(deep=False).items()}
        info: dict[str, Any] = {"type": type(self).__name__, "params": params,
                                "fitted": hasattr(self, "offset_")}
        for key, value in vars(self).items():
            if key.endswith("_") and not key.startswith("_") and isinstance(value, numbers.Number):
                info[key.rstrip("_")] = value.item() if isinstance(value, np.generic) else value
        return info

    def save(self, path: str | Path) -> Path:
        """Write the detector with joblib (zlib level 3: ~4x smaller, loads in milliseconds)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path, compress=3)
        return path

    @classmethod
    def load(cls, path: str | Path) -> BaseDetector:
        """Read a detector written by :meth:`save` (unpickling runs code: trusted files only)."""
        try:
            obj = load_model_file(path)
        except IncompatibleModelError:
            raise
        except Exception as exc:  # joblib/pickle raise many types for a file that is not theirs
            raise ValueError(f"{path} is not a saved detector: {exc!r}") from exc
        if not isinstance(obj, cls):
            raise TypeError(f"{path} holds a {type(obj).__name__}, not a {cls.__name__}.")
        return obj

    def _validate_fit_input(self, X: Any) -> np.ndarray:
        """sklearn's full checks at fit: 2D, numeric, finite; sets ``n_features_in_``."""
        return validate_data(self, X, dtype=self._dtype)

    def _check_X(self, X: Any) -> np.ndarray:
        """Checks at scoring time. sklearn's ``validate_data`` costs ~90 us per call, a tenth of
        the one-row latency budget, so plain arrays get the same checks done by hand."""
        check_is_fitted(self)
        if not isinstance(X, np.ndarray):
            # DataFrames, lists, sparse: the full checks, including feature-name consistency.
            return validate_data(self, X, dtype=self._dtype, reset=False, ensure_min_samples=0)
        if X.ndim != 2:
            raise ValueError(f"Expected a 2D array (n_samples, n_features), got shape {X.shape}. "
                             "Reshape your data, e.g. X.reshape(1, -1) for a single row.")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        X = X.astype(self._dtype, copy=False)
        if not np.isfinite(X).all():
            raise ValueError("Input X contains NaN or infinity; clean or impute the features "
                             "before scoring.")
        return X

    def _score_samples(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _to_anomaly(self, scores: np.ndarray) -> np.ndarray:
        raise NotImplementedError
