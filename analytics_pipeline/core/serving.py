"""The registered MLflow model: a pyfunc around the scikit-learn Pipeline.

Raw log records go in (the signature in core.tracking), one row of results per record comes
out. ``mlflow models serve -m models:/log-anomaly-detector@champion`` serves exactly this class.
"""
from __future__ import annotations

import json
from typing import Any

import joblib
import mlflow.pyfunc
import pandas as pd


class LogAnomalyModel(mlflow.pyfunc.PythonModel):
    """Loads ``pipeline.joblib`` and ``model_metadata.json`` from the model's artifacts."""

    def load_context(self, context: Any) -> None:
        self.pipeline = joblib.load(context.artifacts["pipeline"])
        with open(context.artifacts["metadata"]) as f:
            self.metadata = json.load(f)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        from analytics_pipeline.core.inference import score_records_frame

        return score_records_frame(self.pipeline, self.metadata, model_input, params or {})
