"""Hourly series from logs (explicit zeros and gaps) and psutil samples into a real MongoDB server."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from analytics_pipeline.core.metrics.series import service_metrics, series_by_key
from analytics_pipeline.core.metrics.system import SYSTEM_METRICS_COLLECTION, collect, system_series

START = datetime(2026, 11, 1, tzinfo=timezone.utc)


def _logs() -> pd.DataFrame:
    stamps = pd.to_datetime([START + timedelta(minutes=m) for m in (5, 10, 20, 130)], utc=True)
    return pd.DataFrame({"timestamp": stamps, "service": ["api", "api", "api", "api"],
                         "level": ["INFO", "ERROR", "CRITICAL", "INFO"],
                         "response_time": [10.0, 20.0, None, 40.0]})


def test_empty_hours_are_zero_volume_and_gaps_for_shares_and_latencies():
    series = series_by_key(service_metrics(_logs(), START, START + timedelta(hours=4)))
    assert set(series) == {("api", m) for m in ("volume", "error_share", "latency_p50", "latency_p95", "latency_p99")}
    assert series[("api", "volume")].tolist() == [3.0, 0.0, 1.0, 0.0]
    share = series[("api", "error_share")]
    assert share.iloc[0] == 2 / 3 and share.iloc[2] == 0.0 and np.isnan(share.iloc[1]) and np.isnan(share.iloc[3])
    assert series[("api", "latency_p50")].iloc[0] == 15.0 and np.isnan(series[("api", "latency_p50")].iloc[1])
    assert len(series[("api", "latency_p99")]) == 4


def test_collect_metrics_writes_samples_that_become_hourly_series(mongo_db):
    collection = mongo_db[SYSTEM_METRICS_COLLECTION]
    assert collect(collection, 0.05, 3, sleep=lambda s: None) == 3
    docs = list(collection.find())
    assert len(docs) == 3 and {"host", "timestamp", "cpu", "memory", "disk", "net_in", "net_out", "processes",
                               "load"} <= set(docs[0])
    assert all(0 <= d["memory"] <= 100 and d["processes"] > 0 for d in docs)
    now = datetime.now(timezone.utc)
    frame = system_series(collection, now - timedelta(hours=3), now + timedelta(hours=1))
    assert set(frame["metric"]) == {"cpu", "memory", "disk", "net_in", "net_out", "processes", "load"}
    assert frame.groupby("metric").size().nunique() == 1 and len(frame) >= 7 * 4 and frame["value"].notna().any()
    assert system_series(collection, START, START + timedelta(hours=1)).empty
