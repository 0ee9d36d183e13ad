"""Causes an operator should be told about, applied to generated logs from a given time on.

Each takes a frame from :func:`analytics_pipeline.synthetic.generator.generate_logs` and returns a
new one (time-ordered, the same columns): the report's tests give one week a cause and check that
the matching recommendation (or drift) appears, and that a week without one stays quiet.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

_NS_PER_S = 1_000_000_000


def _after(frame: pd.DataFrame, start: datetime, service: str | None = None) -> np.ndarray:
    mask = (frame["timestamp"] >= pd.Timestamp(start)).to_numpy()
    return mask & (frame["service"] == service).to_numpy() if service is not None else mask


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def shift_log_mix(frame: pd.DataFrame, start: datetime, service: str, factor: float, seed: int = 0) -> pd.DataFrame:
    """``service`` logs ``factor`` times as much from ``start`` on (copies of its own lines a few
    seconds apart), so the mix of services and messages shifts."""
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero(_after(frame, start, service))
    extra = frame.iloc[rng.choice(rows, size=int(round((factor - 1) * len(rows))), replace=True)].copy()
    extra["timestamp"] = extra["timestamp"] + pd.to_timedelta(rng.uniform(-30, 30, len(extra)), unit="s").floor("ms")
    extra["log_id"] = [f"mix-{seed}-{i}" for i in range(len(extra))]
    return _ordered(pd.concat([frame, extra[extra["timestamp"] >= pd.Timestamp(start)]], ignore_index=True))


def shift_latency(frame: pd.DataFrame, start: datetime, service: str, factor: float) -> pd.DataFrame:
    """Every response time of ``service`` multiplied by ``factor`` from ``start`` on (a slower release)."""
    out = frame.copy()
    rows = _after(out, start, service)
    out.loc[rows, "response_time"] = out.loc[rows, "response_time"] * factor
    return out


def creep_latency(frame: pd.DataFrame, start: datetime, service: str, per_day: float) -> pd.DataFrame:
    """Response times of ``service`` grow by ``per_day`` (a share) each day from ``start`` (a leak)."""
    out = frame.copy()
    rows = _after(out, start, service)
    days = (out.loc[rows, "timestamp"] - pd.Timestamp(start)).dt.total_seconds() / 86_400
    out.loc[rows, "response_time"] = out.loc[rows, "response_time"] * (1 + per_day * days)
    return out


def ramp_volume(frame: pd.DataFrame, start: datetime, service: str, per_day: float, seed: int = 0) -> pd.DataFrame:
    """``service`` logs more each day from ``start`` on (``per_day`` more of its usual volume per
    day, as copies of its own lines a few seconds apart): traffic growing towards capacity."""
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero(_after(frame, start, service))
    days = ((frame["timestamp"].iloc[rows] - pd.Timestamp(start)).dt.total_seconds() / 86_400).to_numpy()
    copies = rng.poisson(per_day * days)
    extra = frame.iloc[np.repeat(rows, copies)].copy()
    extra["timestamp"] = extra["timestamp"] + pd.to_timedelta(rng.uniform(-30, 30, len(extra)), unit="s").floor("ms")
    extra["log_id"] = [f"ramp-{seed}-{i}" for i in range(len(extra))]
    return _ordered(pd.concat([frame, extra[extra["timestamp"] >= pd.Timestamp(start)]], ignore_index=True))


def noisy_service(frame: pd.DataFrame, start: datetime, service: str, share: float = 0.05, factor: float = 30.0,
                  seed: int = 0) -> pd.DataFrame:
    """A random ``share`` of ``service``'s logs from ``start`` on, scattered over the time, take
    ``factor`` times as long: isolated blips that alert one by one and never form an incident."""
    rng = np.random.default_rng(seed)
    out = frame.copy()
    rows = np.flatnonzero(_after(out, start, service) & out["response_time"].notna().to_numpy())
    hit = rng.choice(rows, size=int(round(share * len(rows))), replace=False)
    out.loc[hit, "response_time"] = out.loc[hit, "response_time"].to_numpy() * factor
    return out


def pool_exhaustion(frame: pd.DataFrame, start: datetime, end: datetime, service: str, episodes: int = 5,
                    lines: int = 40, pool: int = 20, seed: int = 0) -> pd.DataFrame:
    """``episodes`` bursts (about 10 minutes each, spread over [start, end)) in which ``service``
    runs out of database connections: ``lines`` ERROR lines each, with up to 2x ``pool`` waiting."""
    rng = np.random.default_rng(seed)
    t0, t1 = pd.Timestamp(start).value, pd.Timestamp(end).value
    starts = t0 + (np.arange(episodes) + rng.uniform(0.2, 0.8, episodes)) * (t1 - t0) / episodes
    stamps = np.concatenate([s + np.sort(rng.uniform(0, 600, lines)) * _NS_PER_S for s in starts]).astype(np.int64)
    waiting = rng.integers(pool // 2, 2 * pool, len(stamps))
    burst = pd.DataFrame({
        "log_id": [f"pool-{seed}-{i}" for i in range(len(stamps))],
        "timestamp": pd.to_datetime(stamps, utc=True).floor("ms"),  # BSON dates hold milliseconds
        "level": "ERROR", "service": service,
        "message": [f"Connection pool exhausted for db-postgres (active={pool}, idle=0, waiting={w})" for w in waiting],
        "response_time": rng.uniform(1_000, 5_000, len(stamps)).round(1), "status_code": 503.0, "label": 1.0,
        "incident_id": None, "incident_type": None,
    })
    if "host" in frame:
        burst["host"] = frame.loc[frame["service"] == service, "host"].iloc[0]
    return _ordered(pd.concat([frame, burst[[c for c in frame.columns if c in burst]]], ignore_index=True))


DEMO_CAUSES = "repeated pool exhaustion in order-service and a noisy search-service"


def demo_week(frame: pd.DataFrame, start: datetime, end: datetime) -> pd.DataFrame:
    """The demo's week with causes the report should find (:data:`DEMO_CAUSES`), so that
    ``make demo`` ends with recommendations and their evidence, not an empty list."""
    week = frame[(frame["timestamp"] >= pd.Timestamp(start)) & (frame["timestamp"] < pd.Timestamp(end))]
    rest = frame.drop(week.index)
    week = noisy_service(week.reset_index(drop=True), start, "search-service")
    week = pool_exhaustion(week, start, end, "order-service", episodes=5)
    return _ordered(pd.concat([rest, week], ignore_index=True))
