"""Normal traffic: seasonal Poisson arrivals over the services of core templates, before rendering.

Traffic is a non-homogeneous Poisson process with diurnal and weekly seasonality; each service has
its own traffic share, latency distribution (lognormal) and dependencies
(:mod:`analytics_pipeline.synthetic.templates`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from analytics_pipeline.synthetic.templates import PODS_PER_SERVICE, SERVICE_INDEX, SERVICE_TEMPLATES, SERVICES

NS_PER_MS = 1_000_000
NS_PER_MIN = 60_000 * NS_PER_MS
N_SERVICES = len(SERVICES)
_SHARES = np.array([s.share for s in SERVICES]) / sum(s.share for s in SERVICES)
_MEDIAN = np.array([s.median_ms for s in SERVICES])
_SIGMA = np.array([s.sigma for s in SERVICES])
DEPS = [[SERVICE_INDEX[d] for d in s.deps] for s in SERVICES]
DEPENDENTS = [[j for j in range(N_SERVICES) if i in DEPS[j]] for i in range(N_SERVICES)]
# Services whose callers' lines can name them (the "dep" of a normal line): dependencies,
# or the callers for leaf services such as the database.
_PEERS = [d or DEPENDENTS[i] for i, d in enumerate(DEPS)]


def _daily_profile(hour: np.ndarray) -> np.ndarray:
    """Relative volume by UTC hour: night trough, morning and afternoon business peaks, evening tail."""
    bump = lambda mu, width: np.exp(-(((hour - mu) / width) ** 2))  # noqa: E731
    return 0.22 + 1.0 * bump(10.5, 2.8) + 0.85 * bump(15.0, 3.0) + 0.3 * bump(20.5, 2.0)


_WEEKLY = np.array([1.12, 1.15, 1.15, 1.12, 1.05, 0.55, 0.45])  # Monday .. Sunday
# Normalized so that logs_per_minute is the average rate over a whole week.
_WEEK_MEAN = float(np.mean(_daily_profile(np.arange(1440) / 60 + 1 / 120)) * _WEEKLY.mean())


def _rate_per_minute(minutes: np.ndarray, logs_per_minute: float) -> np.ndarray:
    hour = (minutes % 1440) / 60 + 1 / 120
    weekday = (minutes // 1440 + 3) % 7  # 1970-01-01 was a Thursday
    return logs_per_minute * _daily_profile(hour) * _WEEKLY[weekday] / _WEEK_MEAN


def to_ns(value: datetime) -> int:
    """Epoch nanoseconds; naive datetimes are taken as UTC, like BSON dates."""
    ts = pd.Timestamp(value)
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).value


@dataclass
class LogDraft:
    """Column arrays of logs before rendering (one row per log)."""

    ts: np.ndarray       # epoch ns, whole milliseconds
    service: np.ndarray
    tid: np.ndarray      # template id
    rt: np.ndarray       # base latency times incident multipliers (template factor comes last)
    peer: np.ndarray
    host: np.ndarray
    sev: np.ndarray
    inc: np.ndarray      # incident number, -1 for normal traffic

    @classmethod
    def draw(cls, ts: np.ndarray, service: np.ndarray, rng: np.random.Generator) -> "LogDraft":
        """Normal-traffic attributes for logs at ``ts`` from ``service``."""
        n = len(ts)
        tid = np.empty(n, dtype=np.int32)
        peer = np.empty(n, dtype=np.int32)
        for s in range(N_SERVICES):
            idx = np.flatnonzero(service == s)
            ids, p = SERVICE_TEMPLATES[s]
            tid[idx] = rng.choice(ids, len(idx), p=p)
            peer[idx] = np.asarray(_PEERS[s])[rng.integers(0, len(_PEERS[s]), len(idx))]
        rt = _MEDIAN[service] * np.exp(_SIGMA[service] * rng.standard_normal(n))
        return cls(ts, service, tid, rt, peer, rng.integers(0, PODS_PER_SERVICE, n).astype(np.int8),
                   np.zeros(n), np.full(n, -1, dtype=np.int32))

    def take(self, idx: np.ndarray) -> "LogDraft":
        return LogDraft(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))


def traffic(t0: int, t1: int, logs_per_minute: float, rng: np.random.Generator) -> LogDraft:
    """Normal traffic: Poisson counts per minute at the seasonal rate, uniform inside the minute."""
    minutes = np.arange(t0 // NS_PER_MIN, -(-t1 // NS_PER_MIN), dtype=np.int64)
    rate = _rate_per_minute(minutes, logs_per_minute)
    # Hour-to-hour wobble: real traffic is over-dispersed compared with a pure Poisson process.
    hours = (minutes - minutes[0]) // 60
    rate = rate * rng.lognormal(0.0, 0.08, int(hours[-1]) + 1)[hours]
    counts = rng.poisson(rate)
    ts = np.repeat(minutes * NS_PER_MIN, counts) + rng.integers(0, 60_000, int(counts.sum())) * NS_PER_MS
    ts = np.sort(ts[(ts >= t0) & (ts < t1)])
    service = rng.choice(N_SERVICES, len(ts), p=_SHARES).astype(np.int32)
    return LogDraft.draw(ts, service, rng)
