"""The registered MLflow model: a pyfunc around the scikit-learn Pipeline, and its request schema.

Raw log records go in (:data:`INPUT_SCHEMA`), one row of results per record comes out.
``mlflow models serve -m models:/log-anomaly-detector@champion`` serves exactly this class;
core.lifecycle.runs logs it with the signature defined here.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

from analytics_pipeline.core.detection.model_files import load_model_file
from analytics_pipeline.core.scoring.scorer import COLUMNS, score_records, scoring_context

INPUT_SCHEMA = Schema([
    ColSpec("string", "timestamp"),
    ColSpec("string", "level"),
    ColSpec("string", "service"),
    ColSpec("string", "message"),
    ColSpec("double", "response_time", required=False),
    ColSpec("double", "status_code", required=False),
    ColSpec("string", "log_id", required=False),
])

# on_error: "reject" answers a request holding any invalid record with HTTP 400 naming it;
# "flag" scores the valid records and returns the reason in each invalid record's "error".
ON_ERROR = ("reject", "flag")
PARAMS_SCHEMA = ParamSchema([ParamSpec("on_error", "string", ON_ERROR[0])])

_MAX_LISTED_ERRORS = 20


class LogAnomalyModel(mlflow.pyfunc.PythonModel):
    """Loads ``pipeline.joblib`` and ``model_metadata.json`` from the model's artifacts."""

    def load_context(self, context: Any) -> None:
        self.pipeline = load_model_file(context.artifacts["pipeline"])
        with open(context.artifacts["metadata"]) as f:
            self.metadata = json.load(f)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return score_records_frame(self.pipeline, self.metadata, model_input, params or {})


def score_records_frame(pipeline: Any, metadata: Mapping[str, Any], records: pd.DataFrame,
                        params: Mapping[str, Any] | None) -> pd.DataFrame:
    """The served model's predict: one JSON-ready row per raw record, ``COLUMNS`` + ``error``.

    ``params["on_error"]``: "reject" (default) refuses a request holding any invalid record with an
    ``MlflowException`` (INVALID_PARAMETER_VALUE: HTTP 400) naming each record and field; "flag"
    scores the valid records and sets ``error`` ("field: reason") on the others.
    """
    on_error = (params or {}).get("on_error", ON_ERROR[0])
    if on_error not in ON_ERROR:
        raise MlflowException(f"on_error must be one of {', '.join(ON_ERROR)}, got {on_error!r}",
                              error_code=INVALID_PARAMETER_VALUE)
    context = scoring_context(pipeline, metadata)
    version = metadata.get("version", metadata.get("run_id"))
    results = score_records(pipeline, context, records.reset_index(drop=True), version)
    bad = [(i, r["error"]) for i, r in enumerate(results) if r["error"] is not None]
    if bad and on_error == "reject":
        listed = "; ".join(f"record {i}: {error}" for i, error in bad[:_MAX_LISTED_ERRORS])
        more = f"; and {len(bad) - _MAX_LISTED_ERRORS} more" if len(bad) > _MAX_LISTED_ERRORS else ""
        raise MlflowException(
            f"{len(bad)} of {len(results)} records are invalid ({listed}{more}); fix them, or pass "
            "params={'on_error': 'flag'} to score the valid ones", error_code=INVALID_PARAMETER_VALUE)
    return pd.DataFrame({c: pd.Series([r[c] for r in results], dtype=object) for c in (*COLUMNS, "error")})
