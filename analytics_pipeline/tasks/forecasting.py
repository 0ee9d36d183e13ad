"""Forecast a metric file (the ``forecast`` command) and sample this host (``collect-metrics``)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd
from pymongo.collection import Collection

from analytics_pipeline.core.forecasting.anomalies import metric_anomalies
from analytics_pipeline.core.forecasting.config import DEFAULT_ANOMALY_LEVEL, ForecastConfig
from analytics_pipeline.core.forecasting.forecast import SeriesForecast, forecast_series
from analytics_pipeline.core.metrics.system import collect


def read_metric_file(path: Path) -> pd.Series:
    """A ``timestamp,value`` CSV (the NAB format) as a series; a clear error for anything else."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in ("timestamp", "value") if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: needs columns timestamp,value; missing {', '.join(missing)}")
    stamps = pd.to_datetime(frame["timestamp"], utc=True, errors="coerce")
    values = pd.to_numeric(frame["value"], errors="coerce")
    if stamps.isna().all():
        raise ValueError(f"{path}: no parsable timestamp in column 'timestamp'")
    series = pd.Series(values.to_numpy(dtype=float), index=pd.DatetimeIndex(stamps), name="value")
    return series[series.index.notna()]


def forecast_file(path: Path, horizon: int | None, output: Path | None,
                  anomalies_output: Path | None, level: float = DEFAULT_ANOMALY_LEVEL) -> tuple[SeriesForecast, int]:
    """Forecast the file's series; write the forecast (and the flagged points) as CSV."""
    series = read_metric_file(path)
    result = forecast_series(series, ForecastConfig(horizon=horizon))
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        result.forecast.to_csv(output, index=False)
    flagged = metric_anomalies(result.history, level)
    if anomalies_output is not None:
        anomalies_output.parent.mkdir(parents=True, exist_ok=True)
        flagged.to_csv(anomalies_output, index=False)
    return result, len(flagged)


def collect_metrics(collection: Collection, interval_s: float, count: int | None,
                    on_sample: Callable[[dict], None] | None = None) -> int:
    """Sample this host into ``system_metrics`` (see core.metrics.system.collect)."""
    return collect(collection, interval_s, count, on_sample=on_sample)
