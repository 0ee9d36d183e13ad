"""Timestamps from outside: BSON dates, datetimes, ISO 8601 text, epoch numbers, one at a time or a column.

Every timestamp becomes a UTC ``pd.Timestamp`` in nanoseconds. Naive values (and strings without an
offset) are taken as UTC, as BSON dates are. What cannot be held in nanoseconds, before 1677-09-21 or
after 2262-04-11 (``9999-12-31T23:59:59Z`` is a real-world placeholder), is :data:`OUT_OF_RANGE`,
a reason of its own, never an exception.
"""
from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any, Sequence

import numpy as np
import pandas as pd

OUT_OF_RANGE = "out_of_range"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _epoch_to_timestamp(v: float) -> pd.Timestamp | None | str:
    """Epoch seconds, milliseconds, microseconds or nanoseconds, told apart by magnitude."""
    if not math.isfinite(v):
        return None
    a = abs(v)
    unit = "s" if a < 1e11 else "ms" if a < 1e14 else "us" if a < 1e17 else "ns"
    try:
        return pd.Timestamp(v, unit=unit, tz="UTC")
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        return OUT_OF_RANGE
    except ValueError:
        return None


def in_range(ts: pd.Timestamp) -> pd.Timestamp | str:
    """``ts`` in nanoseconds, or :data:`OUT_OF_RANGE` when nanoseconds cannot hold it."""
    try:
        return ts.as_unit("ns")
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        return OUT_OF_RANGE


def parse_timestamp(v: Any) -> pd.Timestamp | None | str:
    """One timestamp to a UTC Timestamp (nanoseconds); ``"missing"`` when absent, None when
    unparseable, :data:`OUT_OF_RANGE` when outside 1677-09-21 .. 2262-04-11.

    Naive datetimes and strings without an offset are taken as UTC (BSON dates are UTC).
    """
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return "missing"
    try:
        if isinstance(v, (datetime, pd.Timestamp, np.datetime64)):
            ts = pd.Timestamp(v)
            if ts is pd.NaT:
                return "missing"
            return in_range(ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC"))
        if isinstance(v, date):
            return in_range(pd.Timestamp(v, tz="UTC"))
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        return OUT_OF_RANGE
    if _is_number(v):
        try:
            return _epoch_to_timestamp(float(v))
        except OverflowError:  # an int beyond float range
            return OUT_OF_RANGE
    if isinstance(v, str):
        s = v.strip()
        if not s:
            return "missing"
        try:
            parsed = _epoch_to_timestamp(float(s)) if s.replace(".", "", 1).isdigit() else _parse_str(s)
        except (OverflowError, pd.errors.OutOfBoundsDatetime):
            return OUT_OF_RANGE
        except ValueError:
            return None
        return in_range(parsed) if isinstance(parsed, pd.Timestamp) else parsed
    return None


def _parse_str(s: str) -> pd.Timestamp:
    ts = pd.Timestamp(s)
    if pd.isna(ts):
        raise ValueError(s)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def parse_timestamps(values: Sequence[Any]) -> tuple[pd.Series, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorized fast path for the common shapes, element-wise fallback for the rest.

    Returns the parsed UTC series plus masks for missing, unparseable and out-of-range values.
    """
    n = len(values)
    s = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")
        out = out.dt.as_unit("ns")
        missing = out.isna().to_numpy()
        return out.reset_index(drop=True), missing, np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")  # naive UTC until the end
    missing = np.zeros(n, dtype=bool)
    bad = np.zeros(n, dtype=bool)
    out_of_range = np.zeros(n, dtype=bool)
    arr = s.to_numpy(dtype=object)
    is_str = np.fromiter((isinstance(v, str) for v in arr), dtype=bool, count=n)
    if is_str.any():
        # ISO 8601 strings of one shape parse in one vectorized call.
        parsed = pd.to_datetime(pd.Series(arr[is_str]), utc=True, errors="coerce", format="ISO8601")
        out[is_str] = parsed.dt.tz_localize(None).to_numpy().astype("datetime64[ns]")
    for i in np.flatnonzero(~is_str | np.isnat(out)):
        r = parse_timestamp(arr[i])
        if r is None:
            bad[i] = True
        elif isinstance(r, str):
            (out_of_range if r == OUT_OF_RANGE else missing)[i] = True
        else:
            out[i] = r.tz_localize(None).to_datetime64()
    return pd.Series(out).dt.tz_localize("UTC"), missing, bad, out_of_range
