"""The detectors by name: what configurations, the CLI and the launchpad choose from."""
from __future__ import annotations

from typing import Any

from analytics_pipeline.core.detection.base import BaseDetector
from analytics_pipeline.core.detection.distance import LocalOutlierFactorDetector, OneClassSVMDetector
from analytics_pipeline.core.detection.ensemble import EnsembleDetector
from analytics_pipeline.core.detection.forest import IsolationForestDetector
from analytics_pipeline.core.detection.multiview import MultiViewDetector

__all__ = ["DETECTOR_NAMES", "BaseDetector", "EnsembleDetector", "IsolationForestDetector",
           "LocalOutlierFactorDetector", "MultiViewDetector", "OneClassSVMDetector", "make_detector"]

DETECTOR_NAMES: tuple[str, ...] = (
    "multi_view", "isolation_forest", "one_class_svm", "local_outlier_factor", "ensemble",
)

_SINGLE_DETECTORS: dict[str, type[BaseDetector]] = {
    "multi_view": MultiViewDetector,
    "isolation_forest": IsolationForestDetector,
    "one_class_svm": OneClassSVMDetector,
    "local_outlier_factor": LocalOutlierFactorDetector,
}


def make_detector(name: str, **params: Any) -> BaseDetector:
    """A detector by name with the given parameters.

    ``"ensemble"`` without ``detectors`` builds Isolation Forest + LOF + one-class SVM weighted
    (0.5, 0.25, 0.25). Its LOF and SVM train on at most 10,000 and 5,000 rows: their scoring cost
    grows with the training set, and the forest carries most of the weight anyway.
    """
    if name == "ensemble":
        if "detectors" not in params:
            params["detectors"] = [
                ("isolation_forest", IsolationForestDetector()),
                ("local_outlier_factor", LocalOutlierFactorDetector(max_train_samples=10_000)),
                ("one_class_svm", OneClassSVMDetector(max_train_samples=5_000)),
            ]
            params.setdefault("weights", (0.5, 0.25, 0.25))
        return EnsembleDetector(**params)
    if name not in _SINGLE_DETECTORS:
        raise ValueError(f"Unknown detector {name!r}; valid names: {', '.join(DETECTOR_NAMES)}.")
    return _SINGLE_DETECTORS[name](**params)
