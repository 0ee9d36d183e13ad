"""The log contract: validation and normalization of raw log documents.

Every input from outside (MongoDB documents, JSONL/Parquet files, inference requests) passes
through :func:`validate_records` or :func:`validate_columns`. Good documents come out as a
canonical DataFrame (:data:`LOG_COLUMNS`); bad ones are set aside with one reason each, counted
per reason, and never take a good one down with them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from analytics_pipeline.core.logs.documents import DOCUMENT_REASONS, RejectedRecord, document_problem, invalid_text_mask
from analytics_pipeline.core.logs.timestamps import parse_timestamps

LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL")

# Spellings seen in syslog, log4j, Python logging, journald and the Loghub sets (BGL, HDFS).
LEVEL_ALIASES: dict[str, str] = {
    "TRACE": "DEBUG", "DBG": "DEBUG", "FINE": "DEBUG", "FINER": "DEBUG", "FINEST": "DEBUG",
    "INFORMATION": "INFO", "INFORMATIONAL": "INFO", "NOTICE": "INFO", "I": "INFO",
    "WARNING": "WARN", "W": "WARN",
    "ERR": "ERROR", "SEVERE": "ERROR", "FAILURE": "ERROR", "E": "ERROR",
    "FATAL": "CRITICAL", "CRIT": "CRITICAL", "ALERT": "CRITICAL", "EMERG": "CRITICAL",
    "EMERGENCY": "CRITICAL", "PANIC": "CRITICAL",
}

MAX_MESSAGE_BYTES = 64 * 1024

# Canonical columns of a validated log frame, in order. ``label``/``incident_*`` are optional
# ground truth (synthetic and labelled sets); they are never used as features.
LOG_COLUMNS: tuple[str, ...] = (
    "log_id", "timestamp", "level", "service", "message",
    "response_time", "status_code", "label", "incident_id", "incident_type",
)

# Reasons a document is set aside; stable strings, used as metric and metadata keys.
REASONS: tuple[str, ...] = (
    "not_a_document", *DOCUMENT_REASONS, "missing_timestamp", "bad_timestamp", "timestamp_out_of_range",
    "missing_level", "bad_level_type", "unknown_level", "missing_service", "bad_service_type",
    "missing_message", "bad_message_type", "message_too_large", "bad_response_time", "nonfinite_number",
    "negative_response_time", "bad_status_code", "bad_label",
)


@dataclass
class ValidationResult:
    """Good rows as a canonical frame, plus the rejected rows' positions and reasons."""

    logs: pd.DataFrame
    rejected_positions: list[int] = field(default_factory=list)
    rejected_reasons: list[str] = field(default_factory=list)
    total: int = 0

    @property
    def bad_counts(self) -> dict[str, int]:
        """Rejections per reason (only reasons that occurred)."""
        return pd.Series(self.rejected_reasons, dtype=object).value_counts().to_dict()

    @property
    def n_bad(self) -> int:
        return len(self.rejected_reasons)

    @property
    def bad_ratio(self) -> float:
        return self.n_bad / self.total if self.total else 0.0

    def merge(self, other: "ValidationResult") -> "ValidationResult":
        """Concatenate two results (positions of ``other`` are shifted past ``self``)."""
        logs = pd.concat([self.logs, other.logs], ignore_index=True) if len(other.logs) else self.logs
        return ValidationResult(
            logs=logs,
            rejected_positions=self.rejected_positions + [p + self.total for p in other.rejected_positions],
            rejected_reasons=self.rejected_reasons + other.rejected_reasons,
            total=self.total + other.total,
        )


def empty_logs() -> pd.DataFrame:
    """A canonical, zero-row log frame with the right dtypes."""
    return pd.DataFrame({
        "log_id": pd.Series([], dtype=object),
        "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
        "level": pd.Series([], dtype=object),
        "service": pd.Series([], dtype=object),
        "message": pd.Series([], dtype=object),
        "response_time": pd.Series([], dtype="float64"),
        "status_code": pd.Series([], dtype="float64"),
        "label": pd.Series([], dtype="float64"),
        "incident_id": pd.Series([], dtype=object),
        "incident_type": pd.Series([], dtype=object),
    })


def normalize_level(value: str) -> str | None:
    """Map a level spelling to one of :data:`LEVELS`, or None when it is not a known level."""
    key = value.strip().upper()
    if key in LEVELS:
        return key
    return LEVEL_ALIASES.get(key)


class _Rejector:
    """Collects the first reason per row; later checks skip rows already rejected."""

    def __init__(self, n: int) -> None:
        self.reason = np.full(n, None, dtype=object)

    def reject(self, mask: np.ndarray, reason: str) -> None:
        mask = mask & (self.reason == None)  # noqa: E711 (element-wise comparison)
        self.reason[mask] = reason

    @property
    def ok(self) -> np.ndarray:
        return self.reason == None  # noqa: E711


def _type_mask(arr: np.ndarray, kind: type | tuple[type, ...]) -> np.ndarray:
    return np.fromiter((isinstance(v, kind) for v in arr), dtype=bool, count=len(arr))


def _missing_mask(arr: np.ndarray) -> np.ndarray:
    return np.fromiter((v is None or v is pd.NA for v in arr), dtype=bool, count=len(arr))


def _numbers(arr: np.ndarray, rej: _Rejector, bad_reason: str) -> np.ndarray:
    """Optional numeric column: None stays missing (NaN out); NaN/inf and non-numbers are rejected."""
    n = len(arr)
    if arr.dtype.kind in "fiu":
        vals = arr.astype("float64")
        rej.reject(np.isinf(vals), "nonfinite_number")
        return vals
    missing = _missing_mask(arr)
    numeric = _type_mask(arr, (int, float, np.integer, np.floating)) & ~_type_mask(arr, (bool, np.bool_))
    rej.reject(~missing & ~numeric, bad_reason)
    vals = np.full(n, np.nan)
    idx = np.flatnonzero(numeric)
    vals[idx] = np.array([_as_float(arr[i]) for i in idx], dtype="float64")
    rej.reject(numeric & ~np.isfinite(vals), "nonfinite_number")
    return vals


def _as_float(value: Any) -> float:
    """A number as float; an integer beyond float range as infinity (then rejected as non-finite)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def validate_columns(columns: Mapping[str, Sequence[Any]], n: int,
                     nan_means_missing: frozenset[str] = frozenset()) -> ValidationResult:
    """Validate column-wise raw values (object arrays where None means "absent").

    ``nan_means_missing`` names numeric columns whose NaN is an absent value rather than a bad
    one (a pandas frame built from dicts cannot tell the two apart).
    """
    rej = _Rejector(n)

    def col(name: str) -> np.ndarray:
        if name not in columns:
            return np.full(n, None, dtype=object)
        v = columns[name]
        return v.to_numpy() if isinstance(v, pd.Series) else np.asarray(v, dtype=object) if not isinstance(v, np.ndarray) else v

    # Text that is not valid Unicode (an unpaired surrogate from JSON) cannot be stored or sent.
    texts = [col(name) for name in ("level", "service", "message", "log_id", "incident_id", "incident_type")]
    rej.reject(np.logical_or.reduce([invalid_text_mask(values) for values in texts]), "invalid_text")

    ts, ts_missing, ts_bad, ts_out = parse_timestamps(columns["timestamp"] if "timestamp" in columns else [None] * n)
    rej.reject(ts_missing, "missing_timestamp")
    rej.reject(ts_bad, "bad_timestamp")
    rej.reject(ts_out, "timestamp_out_of_range")

    level_raw = col("level").astype(object)
    rej.reject(_missing_mask(level_raw), "missing_level")
    is_str = _type_mask(level_raw, str)
    rej.reject(~is_str, "bad_level_type")
    uniq = {v: normalize_level(v) for v in set(level_raw[is_str].tolist())}
    level = np.array([uniq.get(v) if isinstance(v, str) else None for v in level_raw], dtype=object)
    rej.reject(is_str & (level == None), "unknown_level")  # noqa: E711

    service = col("service").astype(object)
    rej.reject(_missing_mask(service) | (service == ""), "missing_service")
    rej.reject(~_type_mask(service, str), "bad_service_type")

    message = col("message").astype(object)
    rej.reject(_missing_mask(message), "missing_message")
    msg_str = _type_mask(message, str)
    rej.reject(~msg_str, "bad_message_type")
    # Characters never exceed bytes, so only long strings need encoding to measure exactly.
    long_idx = [i for i in np.flatnonzero(msg_str) if len(message[i]) > MAX_MESSAGE_BYTES // 4
                and len(message[i].encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES]
    too_large = np.zeros(n, dtype=bool)
    too_large[long_idx] = True
    rej.reject(too_large, "message_too_large")

    def numeric(name: str, bad_reason: str) -> np.ndarray:
        raw = col(name)
        if name in nan_means_missing and raw.dtype.kind == "f":
            vals = raw.astype("float64")
            rej.reject(np.isinf(vals), "nonfinite_number")
            return vals
        return _numbers(raw, rej, bad_reason)

    rt = numeric("response_time", "bad_response_time")
    rej.reject(rt < 0, "negative_response_time")
    sc = numeric("status_code", "bad_status_code")
    rej.reject(~np.isnan(sc) & ((sc != np.round(sc)) | (sc < 0) | (sc > 999)), "bad_status_code")
    label = numeric("label", "bad_label")
    rej.reject(~np.isnan(label) & ~np.isin(label, (0.0, 1.0)), "bad_label")

    ok = rej.ok
    log_id = col("log_id")
    logs = pd.DataFrame({
        "log_id": [None if v is None else str(v) for v in log_id[ok]],
        "timestamp": ts[ok].reset_index(drop=True),
        "level": level[ok],
        "service": service[ok],
        "message": message[ok],
        "response_time": rt[ok],
        "status_code": sc[ok],
        "label": label[ok],
        "incident_id": _optional_str(col("incident_id"))[ok],
        "incident_type": _optional_str(col("incident_type"))[ok],
    })
    bad_pos = np.flatnonzero(~ok)
    return ValidationResult(
        logs=logs,
        rejected_positions=bad_pos.tolist(),
        rejected_reasons=rej.reason[bad_pos].tolist(),
        total=n,
    )


def _optional_str(arr: np.ndarray) -> np.ndarray:
    return np.array([None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in arr],
                    dtype=object)


def _object_array(values: list[Any]) -> np.ndarray:
    """1-D object array of ``values``; np.array would turn equal-length list values into 2-D."""
    return pd.Series(values, dtype=object).to_numpy()


def record_problem(record: Any) -> str | None:
    """The reason a record is rejected before its fields are judged: a placeholder for a line that
    failed to parse (core.logs.documents.RejectedRecord), not a mapping, or a document-level fault."""
    if isinstance(record, RejectedRecord):
        return record.reason
    if not isinstance(record, Mapping):
        return "not_a_document"
    problem = document_problem(record)
    return None if problem is None else problem[0]


def validate_records(records: Iterable[Any]) -> ValidationResult:
    """Validate a batch of raw documents (dicts, as from MongoDB, JSON lines or requests).

    A MongoDB ``_id`` (or a ``log_id`` field) becomes ``log_id``. Items that are not mappings
    are rejected as ``not_a_document``, document-level faults (core.logs.documents) with their reason.
    """
    records = list(records)
    early = [record_problem(r) for r in records]
    is_doc = [reason is None for reason in early]
    docs = [r for r, ok in zip(records, is_doc) if ok]
    names = ("timestamp", "level", "service", "message", "response_time", "status_code",
             "label", "incident_id", "incident_type")
    columns: dict[str, Any] = {k: _object_array([d.get(k) for d in docs]) for k in names}
    columns["log_id"] = _object_array([d.get("_id", d.get("log_id")) for d in docs])
    inner = validate_columns(columns, len(docs))
    if all(is_doc):
        return inner
    doc_pos = [i for i, ok in enumerate(is_doc) if ok]
    positions = [doc_pos[p] for p in inner.rejected_positions]
    reasons = list(inner.rejected_reasons)
    for i, reason in enumerate(early):
        if reason is not None:
            positions.append(i)
            reasons.append(reason)
    order = np.argsort(positions, kind="stable")
    return ValidationResult(
        logs=inner.logs,
        rejected_positions=[positions[i] for i in order],
        rejected_reasons=[reasons[i] for i in order],
        total=len(records),
    )


def validate_frame(frame: pd.DataFrame) -> ValidationResult:
    """Validate a DataFrame of logs (e.g. read from Parquet); NaN numbers count as absent."""
    columns = {c: frame[c] if frame[c].dtype.kind in "fiuM" else frame[c].astype(object).where(frame[c].notna(), None)
               for c in frame.columns}
    if "log_id" not in columns and "_id" in columns:
        columns["log_id"] = columns["_id"]
    return validate_columns(columns, len(frame),
                            nan_means_missing=frozenset({"response_time", "status_code", "label"}))
