"""Alert material: the anomalous rows of scored logs, checked and put in one shape.

Scored logs come from the ``scored_logs`` asset (a frame with core.scoring.scorer.COLUMNS) or
from a file that ``analytics-pipeline detect`` wrote (JSON records, timestamps as ISO text, an
``error`` for records it could not score). Only rows with ``is_anomaly`` are alert material.
Alerting relies on ``timestamp``, ``service``, ``message`` (its masked template),
``anomaly_type``, ``severity`` and ``anomaly_score``, nothing else the detector produces.

A row that breaks this contract never stops the others: it is set aside and counted by reason
(:data:`REASONS`). A missing ``log_id`` becomes ``row-<position>``; a missing ``anomaly_type``
becomes ``unknown``; a missing or invalid severity is derived from ``anomaly_score`` when that
is a valid score, else the row is set aside.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from analytics_pipeline.core.detection.severity import BOUNDARY, SEVERITIES, severities
from analytics_pipeline.core.features.text import as_text

ANOMALY_COLUMNS: tuple[str, ...] = (
    "log_id", "timestamp", "service", "message", "severity", "anomaly_score", "anomaly_type",
)
ALERT_SEVERITIES: tuple[str, ...] = SEVERITIES[1:]  # "normal" is never an anomaly's severity
UNKNOWN_TYPE = "unknown"
_READ = (*ANOMALY_COLUMNS, "is_anomaly", "error")  # every field alerting reads
REASONS: tuple[str, ...] = ("not_a_document", "scoring_error", "bad_is_anomaly", "bad_timestamp", "missing_service",
                            "bad_severity")


@dataclass(frozen=True)
class AnomalyBatch:
    """The anomalies of a batch of scored rows (:data:`ANOMALY_COLUMNS`, in time order), what
    the rest was (``normal`` rows, rows ``set_aside`` per reason), and every service the rows
    came from, normal ones included (the names alerting looks for in messages)."""

    anomalies: pd.DataFrame
    received: int = 0
    normal: int = 0
    set_aside: Mapping[str, int] = field(default_factory=dict)
    services: tuple[str, ...] = ()

    def merge(self, other: "AnomalyBatch") -> "AnomalyBatch":
        set_aside = dict(self.set_aside)
        for reason, count in other.set_aside.items():
            set_aside[reason] = set_aside.get(reason, 0) + count
        frames = [f for f in (self.anomalies, other.anomalies) if len(f)] or [self.anomalies]
        merged = pd.concat(frames, ignore_index=True).sort_values("timestamp", kind="stable")
        return AnomalyBatch(merged.reset_index(drop=True), self.received + other.received,
                            self.normal + other.normal, set_aside, tuple(sorted({*self.services, *other.services})))


def empty_anomalies() -> pd.DataFrame:
    """A frame with :data:`ANOMALY_COLUMNS` and no rows."""
    return pd.DataFrame({
        "log_id": pd.Series(dtype=object), "timestamp": pd.Series(dtype="datetime64[ns, UTC]"),
        "service": pd.Series(dtype=object), "message": pd.Series(dtype=object),
        "severity": pd.Series(dtype=object), "anomaly_score": pd.Series(dtype=float),
        "anomaly_type": pd.Series(dtype=object)})


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame[name] if name in frame else pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _is_anomaly(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(flagged, valid): booleans, and 0/1 numbers, are valid; anything else is not."""
    if values.dtype == bool:
        return values.to_numpy(), np.ones(len(values), dtype=bool)
    objects = values.to_numpy(dtype=object)
    valid = np.fromiter((isinstance(v, (bool, np.bool_)) or (isinstance(v, (int, float, np.integer, np.floating))
                                                               and v in (0, 1)) for v in objects), bool, len(objects))
    flagged = valid & np.fromiter((bool(v) if ok else False for v, ok in zip(objects, valid)), bool, len(objects))
    return flagged, valid


def _timestamps(values: pd.Series) -> pd.Series:
    """UTC timestamps; anything unparseable (or not ISO 8601 text) becomes NaT."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC")
    if values.dtype.kind == "M":
        return values.dt.tz_localize("UTC")
    objects = values.astype(object)
    text = objects.map(lambda v: isinstance(v, str))
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    if text.any():
        out[text] = pd.to_datetime(objects[text], utc=True, errors="coerce", format="ISO8601")
    stamps = objects.map(lambda v: isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "tzinfo"))
    if stamps.any():
        out[stamps] = pd.to_datetime(objects[stamps], utc=True, errors="coerce")
    return out


def _severities(severity: pd.Series, score: pd.Series) -> pd.Series:
    """The given severity when it is an anomaly's; else the band of a valid ``anomaly_score``."""
    given = severity.where(severity.isin(ALERT_SEVERITIES))
    scores = pd.to_numeric(score, errors="coerce")
    derivable = given.isna() & scores.between(0, 1) & (scores > BOUNDARY)
    if derivable.any():
        given[derivable] = severities(scores[derivable].to_numpy())
    return given


def anomalies_from_scored(scored: pd.DataFrame | Sequence[Mapping[str, Any]], first_row: int = 0) -> AnomalyBatch:
    """The anomalies of scored rows (a frame or records), checked; see the module docstring.

    ``first_row`` numbers the rows for ``row-<position>`` ids when a file is read in chunks.
    Raises ValueError when no row has an ``is_anomaly`` field: that is not scored output.
    """
    not_documents = 0
    if isinstance(scored, pd.DataFrame):
        # Only the fields alerting reads: scored frames also carry lists per row, costly to copy.
        frame = scored[[c for c in _READ if c in scored]].reset_index(drop=True)
    else:
        positions = [i for i, r in enumerate(scored) if isinstance(r, Mapping)]
        not_documents = len(scored) - len(positions)
        records = [scored[i] for i in positions]
        has_flag = any("is_anomaly" in r for r in records)
        frame = pd.DataFrame.from_records(records, columns=list(_READ) if has_flag else None)  # absent: None
        frame.index = pd.Index(positions, dtype=np.int64)  # row ids count from the input's rows
    if len(frame) and "is_anomaly" not in frame:
        raise ValueError("no is_anomaly field: expected scored logs (the scored_logs asset, or the output "
                         "of `analytics-pipeline detect FILE --output SCORED.jsonl`)")
    reasons = pd.Series(None, index=frame.index, dtype=object)
    error = _column(frame, "error").dropna()
    reasons[error.index[error.map(lambda v: isinstance(v, str) and bool(v)).to_numpy(bool)]] = "scoring_error"
    flagged, valid = _is_anomaly(_column(frame, "is_anomaly"))
    reasons[reasons.isna() & ~valid] = "bad_is_anomaly"
    normal = int((reasons.isna() & ~flagged).sum())
    keep = reasons.isna().to_numpy() & flagged
    rows = frame[keep]
    timestamps = _timestamps(_column(rows, "timestamp")).dt.floor("ms")  # what BSON dates keep
    service = _column(rows, "service")
    severity = _severities(_column(rows, "severity"), _column(rows, "anomaly_score"))
    row_reasons = pd.Series(None, index=rows.index, dtype=object)
    row_reasons[timestamps.isna()] = "bad_timestamp"
    row_reasons[row_reasons.isna() & ~service.map(lambda v: isinstance(v, str) and bool(v.strip()))] = "missing_service"
    row_reasons[row_reasons.isna() & severity.isna()] = "bad_severity"
    reasons[row_reasons.index] = row_reasons
    good = row_reasons.isna()
    rows = rows[good]
    log_id = _column(rows, "log_id")
    missing_id = log_id.isna()
    if missing_id.any():
        log_id = log_id.astype(object)
        log_id[missing_id] = [f"row-{first_row + i}" for i in rows.index[missing_id]]
    anomaly_type = _column(rows, "anomaly_type").map(lambda v: v if isinstance(v, str) and v else UNKNOWN_TYPE)
    anomalies = pd.DataFrame({
        "log_id": log_id.astype(object).map(str), "timestamp": timestamps[good],
        "service": service[good].astype(object).map(str.strip), "message": _column(rows, "message").map(as_text),
        "severity": severity[good].astype(object),
        "anomaly_score": pd.to_numeric(_column(rows, "anomaly_score"), errors="coerce").astype(float),
        "anomaly_type": anomaly_type.astype(object)})
    anomalies = anomalies.sort_values("timestamp", kind="stable").reset_index(drop=True)
    counts = {str(k): int(v) for k, v in reasons.dropna().value_counts().items()}
    if not_documents:
        counts["not_a_document"] = not_documents
    seen = _column(frame, "service").dropna().unique()
    services = tuple(sorted({v.strip() for v in seen if isinstance(v, str) and v.strip()}))
    return AnomalyBatch(anomalies if len(anomalies) else empty_anomalies(), len(frame) + not_documents, normal, counts,
                        services)
