"""``AnomalyDetector``: the champion (or any trained model) for notebooks, scripts and services.

Output fields are :data:`~analytics_pipeline.core.scoring.scorer.COLUMNS`: ``anomaly_score`` is the
calibrated score and ``severity`` its band (core.detection.severity), ``raw_score`` the detector's
own score, ``is_anomaly`` exactly ``raw_score > threshold_``, ``prediction`` 1 normal / -1 anomaly,
``confidence``; ``anomaly_type``, ``expected_value``, ``deviation``, ``contributors`` and
``recommended_actions`` explain anomalies (core.detection.explain) and are None / empty lists for
normal rows.

Rolling-window features only see the logs scored together, so a log scored alone (or first in its
batch) is judged without the traffic around it.
"""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from analytics_pipeline.core.detection.severity import classify_severity
from analytics_pipeline.core.registry_names import CHAMPION, MODEL_NAME, model_uri
from analytics_pipeline.core.settings import get_settings
from analytics_pipeline.core.scoring.saved_models import load_exported
from analytics_pipeline.core.scoring.scorer import score_logs, score_record, score_records, scoring_context

_TRACKING_ENV = "MLFLOW_TRACKING_URI"


@contextmanager
def _tracking_store(uri: str) -> Iterator[None]:
    """MLflow pointed at ``uri`` inside the block, and exactly as before after it. mlflow also
    writes the URI to ``$MLFLOW_TRACKING_URI``, which the platform's settings read: restored too."""
    previous, previous_env = mlflow.get_tracking_uri(), os.environ.get(_TRACKING_ENV)
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        if previous_env is None:
            os.environ.pop(_TRACKING_ENV, None)
        else:
            os.environ[_TRACKING_ENV] = previous_env


class AnomalyDetector:
    """The champion (or any exported / trained model) for notebooks and services.

    ``AnomalyDetector("saved_models/")`` or a ``.joblib`` path loads the export with its checksum
    verified; :meth:`from_registry` loads a registry alias. ``detect_anomaly`` scores one log,
    ``detect_batch`` a list of dicts or a DataFrame (scored together, so rolling features see the
    whole batch). NaN in response_time, status_code or label means absent, as in a DataFrame row.
    """

    classify_severity = staticmethod(classify_severity)

    def __init__(self, model_path: str | Path | None = None, *, pipeline: Any = None,
                 metadata: Mapping[str, Any] | None = None, model_version: int | str | None = None) -> None:
        if model_path is not None:
            pipeline, metadata = load_exported(Path(model_path))
            model_version = metadata.get("version") if model_version is None else model_version
        if pipeline is None or metadata is None:
            raise ValueError("give a model_path, or both pipeline and metadata")
        self.pipeline, self.metadata, self.model_version = pipeline, metadata, model_version
        self._context = scoring_context(pipeline, metadata)

    @classmethod
    def from_registry(cls, alias: str = CHAMPION, model_name: str = MODEL_NAME,
                      tracking_uri: str | None = None) -> "AnomalyDetector":
        """The version that ``alias`` points at in the MLflow registry.

        The store is ``tracking_uri`` when given, else the platform's own (core.settings:
        ``$MLFLOW_TRACKING_URI``, or the project's ``mlruns/mlflow.db``), the one the pipeline
        writes, wherever the notebook or script runs from.
        """
        with _tracking_store(tracking_uri or get_settings().mlflow_tracking_uri):
            version = mlflow.MlflowClient().get_model_version_by_alias(model_name, alias)
            model = mlflow.pyfunc.load_model(model_uri(int(version.version), model_name)).unwrap_python_model()
        return cls(pipeline=model.pipeline, metadata=model.metadata, model_version=int(version.version))

    @property
    def threshold(self) -> float:
        """The detector's threshold in raw anomaly-score units."""
        return self._context.threshold

    def detect_anomaly(self, log: Mapping[str, Any]) -> dict[str, Any]:
        """One log (a dict as in MongoDB or a request) to its result; ValueError names a bad field."""
        return score_record(self.pipeline, self._context, log, self.model_version)

    def detect_batch(self, logs: Sequence[Mapping[str, Any]] | pd.DataFrame) -> list[dict[str, Any]]:
        """One result dict per input log, in order; an invalid log gets ``error`` ("field: reason")
        and None scores, and never stops the others."""
        return score_records(self.pipeline, self._context, logs, self.model_version)

    def score_logs(self, logs: pd.DataFrame) -> pd.DataFrame:
        """``scorer.score_logs`` with this model (a validated frame, e.g. a window)."""
        return score_logs(self.pipeline, self.metadata, logs, self.model_version)
