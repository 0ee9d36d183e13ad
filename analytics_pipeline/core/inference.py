"""Scoring logs with a trained Pipeline: windows, served requests, and the notebook/service API.

- :func:`score_logs`: a validated log frame (a window) to one result row per log.
- :func:`score_records_frame`: the served model's ``predict`` (raw records, JSON-ready output).
- :class:`AnomalyDetector`: the champion from the registry or ``saved_models/``, one log or a batch.

Output columns (:data:`COLUMNS`): ``anomaly_score`` is the calibrated score and ``severity`` its
band (core.severity), ``raw_score`` the detector's own ``anomaly_score``, ``is_anomaly`` exactly
``raw_score > threshold_``, ``prediction`` 1 normal / -1 anomaly, ``confidence`` (core.severity);
``anomaly_type``, ``expected_value``, ``deviation``, ``contributors`` and ``recommended_actions``
explain anomalies (core.explain) and are None / empty lists for normal rows.

Rolling-window features only see the logs scored together, so a log scored alone (or first in its
batch) is judged without the traffic around it.
"""
from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

from analytics_pipeline.core.explain import Explainer
from analytics_pipeline.core.log_columns import LogColumns, columns_of
from analytics_pipeline.core.model_export import load_exported
from analytics_pipeline.core.record_validation import (
    NUMERIC_FIELDS, describe_error, error_field, nan_as_missing, validate_record,
)
from analytics_pipeline.core.schema import ValidationResult, validate_frame, validate_records
from analytics_pipeline.core.severity import Calibration, classify_severity, confidence, severities
from analytics_pipeline.core.tracking import CHAMPION, MODEL_NAME

__all__ = ["COLUMNS", "AnomalyDetector", "classify_severity", "score_logs", "score_records_frame"]

COLUMNS: tuple[str, ...] = (
    "log_id", "timestamp", "service", "level", "message", "anomaly_score", "raw_score", "is_anomaly",
    "prediction", "severity", "confidence", "anomaly_type", "expected_value", "deviation",
    "contributors", "recommended_actions", "detection_method", "model_version",
)
ON_ERROR = ("reject", "flag")

_NS_PER_HOUR = 3_600 * 10**9
_MAX_LISTED_ERRORS = 20
# Up to this many dicts, records are validated one by one (no pandas): faster for small batches.
_LEAN_BATCH = 256


@dataclass(frozen=True)
class _Context:
    """What scoring needs besides the pipeline, derived once per model."""

    threshold: float
    calibration: Calibration
    explainer: Explainer
    detection_method: str


_CONTEXTS: "weakref.WeakKeyDictionary[Any, tuple[Mapping[str, Any], _Context]]" = weakref.WeakKeyDictionary()


def _context(pipeline: Any, metadata: Mapping[str, Any]) -> _Context:
    """Cached per pipeline object (the served model calls once per request)."""
    cached = _CONTEXTS.get(pipeline)
    if cached is not None and cached[0] is metadata:
        return cached[1]
    profile = metadata.get("feature_profile")
    if not profile:
        raise ValueError("the model's metadata has no feature_profile (tracking.model_metadata writes it): "
                         "retrain or re-export the model")
    threshold = float(pipeline[-1].threshold_)
    context = _Context(threshold, Calibration.from_dict(profile.get("anomaly_score", {}).get("calibration"), threshold),
                       Explainer(pipeline[0], profile),
                       str(metadata.get("detection_method") or type(pipeline[-1]).__name__))
    _CONTEXTS[pipeline] = (metadata, context)
    return context


@dataclass(frozen=True)
class _Logs:
    """Canonical logs as arrays, and the same logs as the featurizer takes them."""

    source: pd.DataFrame | LogColumns
    log_id: list[Any]
    ts_ns: np.ndarray
    service: np.ndarray
    level: np.ndarray
    message: np.ndarray
    rt: np.ndarray
    sc: np.ndarray

    @classmethod
    def from_frame(cls, logs: pd.DataFrame) -> "_Logs":
        n = len(logs)
        ts = pd.DatetimeIndex(logs["timestamp"])
        numbers = [logs[c].to_numpy(np.float64) if c in logs else np.full(n, np.nan) for c in NUMERIC_FIELDS[:2]]
        return cls(logs, logs["log_id"].tolist() if "log_id" in logs else [None] * n,
                   (ts.tz_localize("UTC") if ts.tz is None else ts).as_unit("ns").asi8,
                   *(logs[c].to_numpy(object) for c in ("service", "level", "message")), *numbers)

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> "_Logs":
        """Rows from :func:`validate_record`; the featurizer gets them as columns, which skips
        its own parsing (pandas objects cost more than the rest for a few logs)."""
        ts_ns = np.array([r["timestamp"].value for r in rows], np.int64)
        columns = {name: np.array([r[name] for r in rows], dtype=object) for name in ("service", "level", "message")}
        rt, sc = (np.array([r[name] for r in rows], np.float64) for name in ("response_time", "status_code"))
        source = columns_of(ts_ns.view("datetime64[ns]"), columns["level"], columns["service"],
                            columns["message"], rt, sc)
        return cls(source, [r["log_id"] for r in rows], ts_ns, columns["service"], columns["level"],
                   columns["message"], rt, sc)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block.

    Results hold a few containers per log (lists, and dicts per contributor); allocating that many
    triggers repeated full collections over every object the process holds, which cost a third of
    a window's scoring time. Nothing built here forms reference cycles.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _score(pipeline: Any, context: _Context, logs: _Logs, model_version: Any) -> dict[str, Any]:
    """Every output column but ``timestamp``, as arrays/lists aligned with ``logs``."""
    n = len(logs.ts_ns)
    X = logs.source
    for _, step in pipeline.steps[:-1]:  # Pipeline.transform's routing costs ~0.1 ms per call
        X = step.transform(X)
    raw = pipeline[-1].anomaly_score(X)
    flagged = raw > context.threshold
    score = context.calibration(raw)
    anomaly_type = np.full(n, None, dtype=object)
    expected, deviation = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    contributors: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    actions: list[list[str]] = [[] for _ in range(n)]
    rows = np.flatnonzero(flagged)
    if len(rows):
        ts = logs.ts_ns[rows]
        found = context.explainer.explain(
            X[rows], logs.service[rows], logs.level[rows], logs.message[rows], logs.rt[rows], logs.sc[rows],
            hour=(ts // _NS_PER_HOUR) % 24, has_context=ts - logs.ts_ns.min() >= context.explainer.window_ns)
        anomaly_type[rows], expected[rows], deviation[rows] = found.anomaly_type, found.expected_value, found.deviation
        for i, c, a in zip(rows.tolist(), found.contributors, found.recommended_actions):
            contributors[i], actions[i] = c, a
    return {
        "log_id": logs.log_id, "service": logs.service, "level": logs.level, "message": logs.message,
        "anomaly_score": score, "raw_score": raw, "is_anomaly": flagged,
        "prediction": np.where(flagged, -1, 1), "severity": severities(score), "confidence": confidence(score),
        "anomaly_type": anomaly_type, "expected_value": expected, "deviation": deviation,
        "contributors": contributors, "recommended_actions": actions,
        "detection_method": context.detection_method, "model_version": model_version,
    }


def score_logs(pipeline: Any, metadata: Mapping[str, Any], logs: pd.DataFrame,
               model_version: int | str | None = None) -> pd.DataFrame:
    """Score a canonical, validated log frame (schema.validate_*): :data:`COLUMNS`, input order."""
    n = len(logs)
    with _gc_paused():
        columns = _score(pipeline, _context(pipeline, metadata), _Logs.from_frame(logs), model_version)
        columns["timestamp"] = pd.DatetimeIndex(logs["timestamp"])  # an Index: assigned by position
        for c in ("log_id", "contributors", "recommended_actions"):
            columns[c] = np.fromiter(columns[c], dtype=object, count=n)  # lists stay cells, not rows
        for c in ("detection_method", "model_version"):
            columns[c] = np.full(n, columns[c], dtype=object)
        return pd.DataFrame({c: columns[c] for c in COLUMNS}, index=pd.RangeIndex(n))


def _as_records(columns: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """Column arrays to JSON-ready dicts (python scalars, lists), one per row."""
    values = []
    for c in COLUMNS:
        v = columns[c]
        values.append(v.tolist() if isinstance(v, np.ndarray) else v if isinstance(v, list) else [v] * n)
    return [dict(zip(COLUMNS, row)) for row in zip(*values)]


def _iso(ts_ns: np.ndarray) -> list[str]:
    """ISO 8601 UTC strings with microseconds (as Python datetimes and BSON hold them)."""
    return [t + "+00:00" for t in np.datetime_as_string(ts_ns.view("datetime64[ns]"), unit="us").tolist()]


def _validated(records: pd.DataFrame | Sequence[Any]) -> tuple[_Logs, list[int], dict[int, tuple[str, Any]]]:
    """Good logs, their input positions, and (error, log_id) per bad position."""
    if isinstance(records, pd.DataFrame):
        frame = records.reset_index(drop=True)
        return _frame_result(validate_frame(frame), lambda i: frame.iloc[i].to_dict())
    records = [nan_as_missing(r) for r in records]
    if len(records) > _LEAN_BATCH:
        return _frame_result(validate_records(records), records.__getitem__)
    rows, good, errors = [], [], {}
    for i, record in enumerate(records):
        row, reason = validate_record(record)
        if reason is None:
            rows.append(row)
            good.append(i)
        else:
            errors[i] = describe_error(reason, record)
    return _Logs.from_rows(rows), good, errors


def _frame_result(result: ValidationResult, record: Any) -> tuple[_Logs, list[int], dict[int, tuple[str, Any]]]:
    errors = {i: describe_error(reason, record(i)) for i, reason in zip(result.rejected_positions, result.rejected_reasons)}
    return _Logs.from_frame(result.logs), [i for i in range(result.total) if i not in errors], errors


def _results(pipeline: Any, context: _Context, records: pd.DataFrame | Sequence[Any],
             model_version: Any) -> list[dict[str, Any]]:
    """One JSON-ready dict per record, in input order, with ``error`` (None when scored)."""
    with _gc_paused():
        logs, good, errors = _validated(records)
        columns = _score(pipeline, context, logs, model_version)
        columns["timestamp"] = _iso(logs.ts_ns)
        out: list[dict[str, Any]] = [{}] * (len(good) + len(errors))
        for i, result in zip(good, _as_records(columns, len(good))):
            out[i] = {**result, "error": None}
        for i, (error, log_id) in errors.items():
            out[i] = {**dict.fromkeys(COLUMNS), "log_id": log_id, "error": error,
                      "detection_method": context.detection_method, "model_version": model_version}
        return out


def score_records_frame(pipeline: Any, metadata: Mapping[str, Any], records: pd.DataFrame,
                        params: Mapping[str, Any] | None) -> pd.DataFrame:
    """The served model's predict: one JSON-ready row per raw record, :data:`COLUMNS` + ``error``.

    ``params["on_error"]``: "reject" (default) refuses a request holding any invalid record with an
    ``MlflowException`` (INVALID_PARAMETER_VALUE: HTTP 400) naming each record and field; "flag"
    scores the valid records and sets ``error`` ("field: reason") on the others.
    """
    on_error = (params or {}).get("on_error", "reject")
    if on_error not in ON_ERROR:
        raise MlflowException(f"on_error must be one of {', '.join(ON_ERROR)}, got {on_error!r}",
                              error_code=INVALID_PARAMETER_VALUE)
    context = _context(pipeline, metadata)
    version = metadata.get("version", metadata.get("run_id"))
    results = _results(pipeline, context, records.reset_index(drop=True), version)
    bad = [(i, r["error"]) for i, r in enumerate(results) if r["error"] is not None]
    if bad and on_error == "reject":
        listed = "; ".join(f"record {i}: {error}" for i, error in bad[:_MAX_LISTED_ERRORS])
        more = f"; and {len(bad) - _MAX_LISTED_ERRORS} more" if len(bad) > _MAX_LISTED_ERRORS else ""
        raise MlflowException(
            f"{len(bad)} of {len(results)} records are invalid ({listed}{more}); fix them, or pass "
            "params={'on_error': 'flag'} to score the valid ones", error_code=INVALID_PARAMETER_VALUE)
    return pd.DataFrame({c: pd.Series([r[c] for r in results], dtype=object) for c in (*COLUMNS, "error")})


# --- the Python API --------------------------------------------------------------------------------
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
        self._context = _context(pipeline, metadata)

    @classmethod
    def from_registry(cls, alias: str = CHAMPION, model_name: str = MODEL_NAME,
                      tracking_uri: str | None = None) -> "AnomalyDetector":
        """The version that ``alias`` points at in the MLflow registry."""
        previous = mlflow.get_tracking_uri()
        try:  # a given tracking_uri is used for this load only
            mlflow.set_tracking_uri(tracking_uri or previous)
            version = mlflow.MlflowClient().get_model_version_by_alias(model_name, alias)
            model = mlflow.pyfunc.load_model(f"models:/{model_name}/{version.version}").unwrap_python_model()
        finally:
            mlflow.set_tracking_uri(previous)
        return cls(pipeline=model.pipeline, metadata=model.metadata, model_version=int(version.version))

    @property
    def threshold(self) -> float:
        """The detector's threshold in raw anomaly-score units."""
        return self._context.threshold

    def detect_anomaly(self, log: Mapping[str, Any]) -> dict[str, Any]:
        """One log (a dict as in MongoDB or a request) to its result; ValueError names a bad field."""
        record = nan_as_missing(log)
        row, reason = validate_record(record)
        if reason is not None:
            field = error_field(reason, record) if isinstance(record, Mapping) else "record"
            got = record.get(field) if isinstance(record, Mapping) else record
            raise ValueError(f"invalid log record: field {field!r} ({reason}), got {repr(got)[:80]}")
        logs = _Logs.from_rows([row])
        columns = _score(self.pipeline, self._context, logs, self.model_version)
        columns["timestamp"] = _iso(logs.ts_ns)
        return _as_records(columns, 1)[0]

    def detect_batch(self, logs: Sequence[Mapping[str, Any]] | pd.DataFrame) -> list[dict[str, Any]]:
        """One result dict per input log, in order; an invalid log gets ``error`` ("field: reason")
        and None scores, and never stops the others."""
        return _results(self.pipeline, self._context, logs, self.model_version)

    def score_logs(self, logs: pd.DataFrame) -> pd.DataFrame:
        """:func:`score_logs` with this model (a validated frame, e.g. a window)."""
        return score_logs(self.pipeline, self.metadata, logs, self.model_version)
