"""Trailing time-window statistics per service, vectorized.

A row's window holds the rows of the same service whose timestamp lies in ``(t - window, t]``,
the row itself and every row sharing its timestamp included, nothing later. Rows that share a
timestamp therefore see the same window whatever their order, so the features do not depend on
the order of the input. Everything is computed in (service, timestamp) order with one sort,
window bounds come from ``np.searchsorted`` and sums from prefix sums or pandas' windowed
kernels; results are returned in input order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer

# Column order of :func:`time_context`'s result (plus "counted" when it is asked to count).
TIME_CONTEXT = ("time_since_last_log", "logs_in_window", "rt_mean", "rt_std", "rt_median",
                "error_rate", "log_volume")

# Below this many rows a plain loop beats pandas' fixed cost (the online, one-log path).
SMALL_BATCH = 64


@dataclass(frozen=True)
class Windows:
    """Rows in (service, timestamp) order and, per sorted row, its window ``[start, end)``."""

    order: np.ndarray
    start: np.ndarray
    end: np.ndarray
    logs_in_window: np.ndarray  # all services, input order


def trailing_windows(ts: np.ndarray, groups: np.ndarray, window_ns: int) -> Windows:
    """Window bounds for every row; ``ts`` in ns, ``groups`` non-negative integer service codes.

    Timestamps are replaced by their rank among all timestamps (how many are <= t), which keeps
    every comparison the windows need and lets (service, rank) pack into one int64 key, so all
    services are searched in a single ``searchsorted`` instead of a loop per service.
    """
    n = len(ts)
    all_sorted = np.sort(ts)
    rank_now = np.searchsorted(all_sorted, ts, side="right")
    rank_before = np.searchsorted(all_sorted, ts - window_ns, side="right")
    stride = np.int64(n + 1)
    key = groups.astype(np.int64) * stride + rank_now
    order = np.argsort(key, kind="stable")
    key_sorted = key[order]
    start = np.searchsorted(key_sorted, (groups.astype(np.int64) * stride + rank_before)[order], side="right")
    end = np.searchsorted(key_sorted, key_sorted, side="right")
    return Windows(order, start, end, rank_now - rank_before)


def _gaps(ts_sorted: np.ndarray, groups_sorted: np.ndarray, first_gap_s: float) -> np.ndarray:
    """Seconds since the previous log of the same service (0 when another shares the timestamp)."""
    n = len(ts_sorted)
    gap = np.full(n, first_gap_s)
    same = groups_sorted[1:] == groups_sorted[:-1]
    step = np.diff(ts_sorted) / 1e9
    gap[1:][same] = step[same]
    tied_next = np.zeros(n, dtype=bool)
    tied_next[:-1] = same & (step == 0)
    gap[tied_next] = 0.0  # the first of a group of equal timestamps is not earlier than the rest
    return gap


class _Bounds(BaseIndexer):
    """Hands precomputed window bounds to pandas' rolling kernels."""

    def get_window_bounds(self, num_values: int = 0, min_periods: int | None = None,
                          center: bool | None = None, closed: str | None = None,
                          step: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.start, self.end


def _rt_stats(rt_sorted: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Mean, population std and median of the observed (non-NaN) values of each window.

    NaN where a window has no observed value. pandas' kernels are linear (mean, std with
    compensated sums) or n log w (median, skip list); the loop is for a handful of rows.
    """
    n = len(rt_sorted)
    out = np.full((n, 3), np.nan)
    if n <= SMALL_BATCH:
        for i in range(n):
            values = rt_sorted[start[i]:end[i]]
            values = values[~np.isnan(values)]
            if len(values):
                out[i] = values.mean(), values.std(), np.median(values)
        return out
    rolling = pd.Series(rt_sorted).rolling(_Bounds(start=start, end=end), min_periods=1)
    out[:, 0] = rolling.mean().to_numpy()
    out[:, 1] = rolling.std(ddof=0).to_numpy()
    out[:, 2] = rolling.median().to_numpy()
    return out


def time_context(ts: np.ndarray, groups: np.ndarray, rt: np.ndarray, is_error: np.ndarray,
                 window_ns: int, rt_fill: float, counted: np.ndarray | None = None) -> np.ndarray:
    """The time-dependent features of every row, in input order (columns: :data:`TIME_CONTEXT`,
    then, given ``counted`` (one bool per row), how many rows of the window are ``counted``).

    ``rt`` holds NaN for missing response times: the window statistics use the observed ones,
    and a window without any takes ``rt_fill`` as mean and median and 0 as std. The first log of
    a service has no previous one; its gap is the window length (it was quiet at least that long
    as far as the input can tell).
    """
    n = len(ts)
    win = trailing_windows(ts, groups, window_ns)
    order, start, end = win.order, win.start, win.end
    sorted_block = np.empty((n, 7 if counted is None else 8))
    sorted_block[:, 0] = _gaps(ts[order], groups[order], window_ns / 1e9)
    volume = (end - start).astype(np.float64)
    errors = np.concatenate(([0], np.cumsum(is_error[order], dtype=np.int64)))
    stats = _rt_stats(rt[order], start, end)
    stats[:, 1][np.isnan(stats[:, 1])] = 0.0
    stats[np.isnan(stats)] = rt_fill
    sorted_block[:, 2:5] = stats
    sorted_block[:, 5] = (errors[end] - errors[start]) / volume
    sorted_block[:, 6] = volume
    if counted is not None:
        hits = np.concatenate(([0], np.cumsum(counted[order], dtype=np.int64)))
        sorted_block[:, 7] = hits[end] - hits[start]
    out = np.empty_like(sorted_block)
    out[order] = sorted_block
    out[:, 1] = win.logs_in_window
    return out
