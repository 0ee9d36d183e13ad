"""Regular hourly series per service from a window of logs, in one long frame.

The long frame (``service, metric, timestamp, value``) is what every consumer reads: the
``service_metrics`` asset stores it as Parquet, :func:`series_by_key` cuts it into ``pd.Series``.
Empty hours are explicit: volume 0, and a gap (NaN) for shares and latencies, which have no
value in an hour without logs; they are never dropped.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

SERVICE_METRICS: tuple[str, ...] = ("volume", "error_share", "latency_p50", "latency_p95", "latency_p99")
SYSTEM_METRICS: tuple[str, ...] = ("cpu", "memory", "disk", "net_in", "net_out", "processes", "load")
METRIC_COLUMNS: tuple[str, ...] = ("service", "metric", "timestamp", "value")
ERROR_LEVELS = ("ERROR", "CRITICAL")
FREQ = "h"
_QUANTILES = {"latency_p50": 0.50, "latency_p95": 0.95, "latency_p99": 0.99}


def empty_metrics() -> pd.DataFrame:
    """A long metrics frame with no rows and the right dtypes."""
    return pd.DataFrame({"service": pd.Series(dtype=str), "metric": pd.Series(dtype=str),
                         "timestamp": pd.Series(dtype="datetime64[ns, UTC]"), "value": pd.Series(dtype=float)})


def _utc(value: datetime) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")


def hourly_index(start: datetime, end: datetime) -> pd.DatetimeIndex:
    """Every whole hour that [start, end) touches, in UTC."""
    return pd.date_range(_utc(start).floor(FREQ), _utc(end).ceil(FREQ), freq=FREQ, inclusive="left")


def _long(service: str, metric: str, values: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"service": service, "metric": metric, "timestamp": values.index,
                         "value": values.to_numpy(dtype=float)})


def service_metrics(logs: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """Hourly volume, error share (ERROR + CRITICAL) and latency p50/p95/p99 per service.

    Latency series exist only for services that report ``response_time``; hours with logs but no
    response time are gaps too.
    """
    index = hourly_index(start, end)
    if logs.empty:
        return empty_metrics()
    logs = logs[(logs["timestamp"] >= index[0]) & (logs["timestamp"] < index[-1] + pd.Timedelta(hours=1))]
    hour = logs["timestamp"].dt.floor(FREQ)
    frames = []
    for service, rows in logs.groupby("service", sort=True):
        hours = hour.loc[rows.index]
        volume = rows.groupby(hours).size().reindex(index, fill_value=0).astype(float)
        errors = rows["level"].isin(ERROR_LEVELS).groupby(hours).sum().reindex(index, fill_value=0)
        share = (errors / volume.where(volume > 0)).astype(float)  # NaN where the hour had no logs
        frames += [_long(service, "volume", volume), _long(service, "error_share", share)]
        latency = pd.to_numeric(rows["response_time"], errors="coerce")
        if latency.notna().any():
            grouped = latency.groupby(hours)
            for metric, q in _QUANTILES.items():
                frames.append(_long(service, metric, grouped.quantile(q).reindex(index)))
    return pd.concat(frames, ignore_index=True)


def series_by_key(metrics: pd.DataFrame) -> dict[tuple[str, str], pd.Series]:
    """The long frame as one regular ``pd.Series`` (DatetimeIndex) per (service, metric)."""
    out: dict[tuple[str, str], pd.Series] = {}
    for (service, metric), rows in metrics.groupby(["service", "metric"], sort=True):
        series = rows.set_index("timestamp")["value"].sort_index()
        series = series[~series.index.duplicated(keep="last")]
        series.name = f"{service}/{metric}"
        out[(str(service), str(metric))] = series.astype(float)
    return out


def observed_share(series: pd.Series) -> float:
    """Share of the series' points that hold a value (1.0 = no gaps)."""
    return float(np.isfinite(series.to_numpy(dtype=float)).mean()) if len(series) else 0.0
