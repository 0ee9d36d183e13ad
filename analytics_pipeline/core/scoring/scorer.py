"""Scoring logs with a trained Pipeline (featurizer + detector): the engine behind every path.

- :func:`score_logs`: a validated log frame (a window) to one result row per log.
- :func:`score_records`: raw records (dicts or a frame) to JSON-ready dicts, bad records flagged.
- :func:`score_record`: one raw record, the online path.

The served model (core.scoring.served_model) and :class:`~analytics_pipeline.core.scoring.detector.AnomalyDetector`
are thin layers over these.

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
from typing import Any

import numpy as np
import pandas as pd

from analytics_pipeline.core.detection.explain import Explainer
from analytics_pipeline.core.detection.multiview import VIEWS, MultiViewDetector
from analytics_pipeline.core.detection.severity import Calibration, confidence, severities
from analytics_pipeline.core.features.columns import LogColumns, columns_of
from analytics_pipeline.core.logs.record_validation import (
    NUMERIC_FIELDS, describe_error, error_field, nan_as_missing, validate_record,
)
from analytics_pipeline.core.logs.schema import ValidationResult, validate_frame, validate_records

COLUMNS: tuple[str, ...] = (
    "log_id", "timestamp", "service", "level", "message", "anomaly_score", "raw_score", "is_anomaly",
    "prediction", "severity", "confidence", "anomaly_type", "expected_value", "deviation",
    "contributors", "recommended_actions", "explanation", "detection_method", "model_version",
)

_NS_PER_HOUR = 3_600 * 10**9
# Up to this many dicts, records are validated one by one (no pandas): faster for small batches.
_LEAN_BATCH = 256


@dataclass(frozen=True)
class ScoringContext:
    """What scoring needs besides the pipeline, derived once per model."""

    threshold: float
    calibration: Calibration
    explainer: Explainer
    detection_method: str


_CONTEXTS: "weakref.WeakKeyDictionary[Any, tuple[Mapping[str, Any], ScoringContext]]" = weakref.WeakKeyDictionary()


def scoring_context(pipeline: Any, metadata: Mapping[str, Any]) -> ScoringContext:
    """What scoring needs besides the pipeline; cached per pipeline object (the served model
    asks once per request)."""
    cached = _CONTEXTS.get(pipeline)
    if cached is not None and cached[0] is metadata:
        return cached[1]
    profile = metadata.get("feature_profile")
    if not profile:
        raise ValueError("the model's metadata has no feature_profile (lifecycle.runs.model_metadata writes it): "
                         "retrain or re-export the model")
    threshold = float(pipeline[-1].threshold_)
    context = ScoringContext(threshold, Calibration.from_dict(profile.get("anomaly_score", {}).get("calibration"), threshold),
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


def _score(pipeline: Any, context: ScoringContext, logs: _Logs, model_version: Any) -> dict[str, Any]:
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
    explanation = np.full(n, None, dtype=object)
    contributors: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    actions: list[list[str]] = [[] for _ in range(n)]
    rows = np.flatnonzero(flagged)
    if len(rows):
        ts = logs.ts_ns[rows]
        detector = pipeline[-1]
        view = (np.asarray(VIEWS, dtype=object)[detector.evidence(X[rows]).argmax(axis=1)]
                if isinstance(detector, MultiViewDetector) else None)
        found = context.explainer.explain(
            X[rows], logs.service[rows], logs.level[rows], logs.message[rows], logs.rt[rows], logs.sc[rows],
            hour=(ts // _NS_PER_HOUR) % 24, has_context=ts - logs.ts_ns.min() >= context.explainer.window_ns,
            view=view)
        anomaly_type[rows], expected[rows], deviation[rows] = found.anomaly_type, found.expected_value, found.deviation
        explanation[rows] = found.explanation
        for i, c, a in zip(rows.tolist(), found.contributors, found.recommended_actions):
            contributors[i], actions[i] = c, a
    return {
        "log_id": logs.log_id, "service": logs.service, "level": logs.level, "message": logs.message,
        "anomaly_score": score, "raw_score": raw, "is_anomaly": flagged,
        "prediction": np.where(flagged, -1, 1), "severity": severities(score), "confidence": confidence(score),
        "anomaly_type": anomaly_type, "expected_value": expected, "deviation": deviation,
        "contributors": contributors, "recommended_actions": actions, "explanation": explanation,
        "detection_method": context.detection_method, "model_version": model_version,
    }


def score_logs(pipeline: Any, metadata: Mapping[str, Any], logs: pd.DataFrame,
               model_version: int | str | None = None) -> pd.DataFrame:
    """Score a canonical, validated log frame (schema.validate_*): :data:`COLUMNS`, input order."""
    n = len(logs)
    with _gc_paused():
        columns = _score(pipeline, scoring_context(pipeline, metadata), _Logs.from_frame(logs), model_version)
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


def score_records(pipeline: Any, context: ScoringContext, records: pd.DataFrame | Sequence[Any],
             model_version: Any) -> list[dict[str, Any]]:
    """One JSON-ready dict per record, in input order, with ``error`` ("field: reason", None
    when scored); an invalid record never stops the others."""
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


def score_record(pipeline: Any, context: ScoringContext, record: Any, model_version: Any) -> dict[str, Any]:
    """One raw record to its result (no ``error`` key); ValueError names a bad field."""
    record = nan_as_missing(record)
    row, reason = validate_record(record)
    if reason is not None:
        field = error_field(reason, record) if isinstance(record, Mapping) else "record"
        got = record.get(field) if isinstance(record, Mapping) else record
        raise ValueError(f"invalid log record: field {field!r} ({reason}), got {repr(got)[:80]}")
    logs = _Logs.from_rows([row])
    columns = _score(pipeline, context, logs, model_version)
    columns["timestamp"] = _iso(logs.ts_ns)
    return _as_records(columns, 1)[0]
