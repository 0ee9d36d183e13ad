"""Weekly partitions and the 30-day windows they read."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

WINDOW_DAYS = 30


def week_bounds(partition_key: str) -> tuple[datetime, datetime]:
    """A weekly partition key (the week's first day, ``YYYY-MM-DD``) to its [start, end) in UTC."""
    try:
        start = datetime.strptime(partition_key[:10], "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError as exc:
        raise ValueError(f"partition key {partition_key!r} is not a date like 2026-11-15") from exc
    return start, start + timedelta(days=7)


def window_for_partition(partition_key: str, days: int = WINDOW_DAYS) -> tuple[datetime, datetime]:
    """The ``days`` days that end where the partition's week ends: [end - days, end)."""
    if days < 1:
        raise ValueError(f"window days must be at least 1, got {days}")
    _, end = week_bounds(partition_key)
    return end - timedelta(days=days), end


def latest_complete_week(now: datetime | None = None, week_start_weekday: int = 6) -> str:
    """Key of the last week that has fully ended before ``now`` (weeks start on Sunday = 6)."""
    now = now or datetime.now(timezone.utc)
    today = pd.Timestamp(now).tz_convert("UTC").normalize()
    this_week_start = today - pd.Timedelta(days=(today.weekday() - week_start_weekday) % 7)
    return (this_week_start - pd.Timedelta(days=7)).strftime("%Y-%m-%d")
