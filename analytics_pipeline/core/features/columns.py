"""Logs (the canonical frame, dicts, or parsed values) as plain column arrays for the featurizer.

:func:`log_columns` takes what users and assets hand over; :func:`columns_of` takes values that
are already parsed (inference's validated rows), skipping pandas where it costs more than the rest.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from analytics_pipeline.core.features import rolling
from analytics_pipeline.core.logs.schema import LEVELS, normalize_level
from analytics_pipeline.core.logs.timestamps import parse_timestamp
from analytics_pipeline.core.features.text import as_text

REQUIRED_COLUMNS: tuple[str, ...] = ("timestamp", "level", "service", "message")
# Beyond these a value is not a measurement but garbage (schema rejects the same status codes);
# the bounds also keep every sum, square and scaled value finite in float32.
MAX_RESPONSE_MS = 1e9  # about 11.6 days
MAX_STATUS_CODE = 999
_NAT = np.iinfo(np.int64).min


@dataclass(frozen=True)
class LogColumns:
    """The columns the features need, as plain arrays (rows in input order)."""

    ts: np.ndarray       # int64 ns since the epoch, UTC
    level: np.ndarray    # int8 index into LEVELS, -1 for anything else
    service: np.ndarray  # int64 code per distinct service
    services: list[str]  # service name per code ("" when missing)
    message: np.ndarray  # object, raw values (see text.as_text)
    rt: np.ndarray       # float64 response time, NaN when missing or invalid
    sc: np.ndarray       # float64 status code, NaN when missing or invalid


def _timestamp_ns(value: Any) -> int:
    parsed = parse_timestamp(value)
    return parsed.value if isinstance(parsed, pd.Timestamp) else _NAT


def _timestamps(values: np.ndarray | pd.Series) -> np.ndarray:
    """UTC nanoseconds; naive values are taken as UTC, other values as schema.parse_timestamp."""
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, pd.DatetimeTZDtype):
        ns = pd.array(values).as_unit("ns").asi8
    elif dtype is not None and dtype.kind == "M":
        ns = np.asarray(values).astype("datetime64[ns]").view(np.int64)
    else:
        arr = np.asarray(values, dtype=object)
        if len(arr) <= rolling.SMALL_BATCH:
            ns = np.array([_timestamp_ns(v) for v in arr], dtype=np.int64)
        else:
            # Vectorized ISO 8601; digit strings are epochs to parse_timestamp, so they go below.
            iso = np.fromiter((isinstance(v, datetime) or (isinstance(v, str) and not
                               v.strip().replace(".", "", 1).isdigit()) for v in arr), bool, len(arr))
            ns = np.full(len(arr), _NAT, dtype=np.int64)
            ns[iso] = pd.to_datetime(arr[iso], utc=True, errors="coerce", format="ISO8601").as_unit("ns").asi8
            for i in np.flatnonzero(ns == _NAT):
                ns[i] = _timestamp_ns(arr[i])
    bad = np.flatnonzero(ns == _NAT)
    if len(bad):
        raise ValueError(f"timestamp: {len(bad)} missing or unparseable value(s), first at row {bad[0]}")
    return ns


def _level_code(value: Any) -> int:
    level = normalize_level(value) if isinstance(value, str) else None
    return LEVELS.index(level) if level else -1


def _encode(values: np.ndarray, encode: Any, dtype: Any) -> np.ndarray:
    """``encode`` applied to each value, once per distinct value on large inputs."""
    if len(values) <= rolling.SMALL_BATCH:
        return np.array([encode(v) for v in values], dtype=dtype)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return np.array([encode(v) for v in uniques], dtype=dtype)[codes]


def _factorize(values: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """``pd.factorize`` (codes in order of first appearance), by a dict on small inputs."""
    if len(values) > rolling.SMALL_BATCH:
        codes, uniques = pd.factorize(values)
        return codes.astype(np.int64), list(uniques)
    index: dict[Any, int] = {}
    codes = np.array([index.setdefault(v, len(index)) for v in values], dtype=np.int64)
    return codes, list(index)


def _numbers(values: np.ndarray) -> np.ndarray:
    """float64, NaN for what is not a finite number."""
    if values.dtype.kind in "fiub":
        out = values.astype(np.float64)
    else:
        out = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(np.float64)
    out[~np.isfinite(out)] = np.nan
    return out


def log_columns(logs: pd.DataFrame | Sequence[Mapping[str, Any]] | Mapping[str, Any] | LogColumns) -> LogColumns:
    """The canonical log frame, or log records (dicts), as :class:`LogColumns` (given ones as is).

    Only timestamp, level, service and message are required; response_time and status_code may
    be absent (missing values).
    """
    if isinstance(logs, LogColumns):
        return logs
    if isinstance(logs, Mapping):
        logs = [logs]
    if isinstance(logs, pd.DataFrame):
        frame = logs
        missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        column = lambda c: frame[c] if c in frame.columns else None  # noqa: E731
    elif isinstance(logs, Sequence) and all(isinstance(r, Mapping) for r in logs):
        records = logs
        missing = [c for c in REQUIRED_COLUMNS if records and not any(c in r for r in records)]
        column = lambda c: np.array([r.get(c) for r in records], dtype=object)  # noqa: E731
    else:
        raise TypeError(f"expected a log DataFrame or a list of log dicts, got {type(logs).__name__}")
    if missing:
        raise ValueError(f"logs are missing required column(s): {', '.join(missing)}")
    return columns_of(*(column(c) for c in (*REQUIRED_COLUMNS, "response_time", "status_code")))


def columns_of(timestamp: Any, level: Any, service: Any, message: Any,
               response_time: Any = None, status_code: Any = None) -> LogColumns:
    """:class:`LogColumns` from column values of one length (array-likes; None: all missing).

    Timestamps as in :func:`log_columns`; a ``datetime64[ns]`` array (UTC) is the cheapest.
    """
    n = len(timestamp)
    if n == 0:
        no_rows = np.zeros(0)
        return LogColumns(no_rows.astype(np.int64), no_rows.astype(np.int8), no_rows.astype(np.int64), [],
                          no_rows.astype(object), no_rows, no_rows)

    def numbers(values: Any) -> np.ndarray:
        return _numbers(np.full(n, np.nan) if values is None else np.asarray(values))

    rt = numbers(response_time)
    rt[(rt < 0) | (rt > MAX_RESPONSE_MS)] = np.nan
    sc = numbers(status_code)
    sc[(sc < 0) | (sc > MAX_STATUS_CODE)] = np.nan
    service_code, services = _factorize(_encode(np.asarray(service, dtype=object), as_text, object))
    return LogColumns(
        ts=_timestamps(timestamp),
        level=_encode(np.asarray(level, dtype=object), _level_code, np.int8),
        service=service_code,
        services=services,
        message=np.asarray(message, dtype=object),
        rt=rt,
        sc=sc,
    )
