"""System metrics of a host, sampled with psutil into the ``system_metrics`` collection.

One document per sample: ``host, timestamp, cpu, memory, disk, net_in, net_out, processes, load``
(percentages, bytes per second over the time since the previous sample, a count, and the
1-minute load average). :func:`system_series` turns a window of them into hourly series shaped
like :func:`~analytics_pipeline.core.metrics.series.service_metrics` (the host in ``service``).
"""
from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

import pandas as pd
import psutil
import pymongo
from pymongo.collection import Collection

from analytics_pipeline.core.metrics.series import FREQ, SYSTEM_METRICS, empty_metrics, hourly_index

SYSTEM_METRICS_COLLECTION = "system_metrics"


@dataclass
class SystemSampler:
    """Samples this host; network rates are over the time since the previous sample."""

    host: str = field(default_factory=socket.gethostname)
    disk_path: str = "/"
    _last_net: tuple[float, int, int] | None = None

    def __post_init__(self) -> None:
        psutil.cpu_percent(interval=None)  # primes the CPU counter: the next call measures since now
        self._last_net = self._net()

    @staticmethod
    def _net() -> tuple[float, int, int]:
        counters = psutil.net_io_counters()
        return time.monotonic(), counters.bytes_recv, counters.bytes_sent

    def sample(self) -> dict:
        now, received, sent = self._net()
        then, received0, sent0 = self._last_net or (now, received, sent)
        seconds = max(now - then, 1e-3)
        self._last_net = (now, received, sent)
        return {
            "host": self.host, "timestamp": datetime.now(timezone.utc),
            "cpu": float(psutil.cpu_percent(interval=None)),
            "memory": float(psutil.virtual_memory().percent),
            "disk": float(psutil.disk_usage(self.disk_path).percent),
            "net_in": max(received - received0, 0) / seconds, "net_out": max(sent - sent0, 0) / seconds,
            "processes": float(len(psutil.pids())),
            "load": float(psutil.getloadavg()[0]),
        }


def ensure_system_indexes(collection: Collection) -> None:
    collection.create_index([("timestamp", pymongo.ASCENDING), ("host", pymongo.ASCENDING)],
                            name="timestamp_1_host_1")


def collect(collection: Collection, interval_s: float, count: int | None,
            sampler: SystemSampler | None = None, sleep: Callable[[float], None] = time.sleep,
            on_sample: Callable[[dict], None] | None = None) -> int:
    """Insert ``count`` samples (forever when None), ``interval_s`` apart; the first comes after one
    interval so that CPU and network rates cover a full interval. Returns the samples written."""
    if interval_s <= 0:
        raise ValueError(f"interval must be positive, got {interval_s}")
    if count is not None and count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    ensure_system_indexes(collection)
    sampler = sampler or SystemSampler()
    written = 0
    while count is None or written < count:
        sleep(interval_s)
        doc = sampler.sample()
        collection.insert_one(doc)
        written += 1
        if on_sample:
            on_sample(doc)
    return written


def system_series(collection: Collection, start: datetime, end: datetime) -> pd.DataFrame:
    """Hourly means of each host's samples in [start, end), long format; hours without samples
    are gaps (NaN), never dropped. Empty when the window has no samples."""
    docs = list(collection.find({"timestamp": {"$gte": start, "$lt": end}}, {"_id": 0}))
    if not docs:
        return empty_metrics()
    samples = pd.DataFrame(docs)
    samples["timestamp"] = pd.to_datetime(samples["timestamp"], utc=True)
    index = hourly_index(start, end)
    frames = []
    for host, rows in samples.groupby("host", sort=True):
        hourly = rows.set_index("timestamp").sort_index()
        for metric in SYSTEM_METRICS:
            if metric not in hourly:
                continue
            values = pd.to_numeric(hourly[metric], errors="coerce").resample(FREQ).mean().reindex(index)
            frames.append(pd.DataFrame({"service": str(host), "metric": metric, "timestamp": index,
                                        "value": values.to_numpy(dtype=float)}))
    return pd.concat(frames, ignore_index=True) if frames else empty_metrics()
