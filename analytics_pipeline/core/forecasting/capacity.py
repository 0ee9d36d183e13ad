"""Capacity: the probability that a series crosses its threshold within the horizon, and the
expected time of the first crossing, from simulated paths of the forecast distribution.

Paths are the mean plus the calibrated sigma times a normalized random walk
(``W_h / sqrt(h)``): each step has the forecast's marginal distribution, and neighbouring steps
move together the way forecast errors do, so "crosses at least once" is not inflated by
independent draws at every step. The expected first crossing is the mean first-crossing step
of the paths that cross (NaT when none does).

An objective judged over a window (a daily error share: an hour with 2 errors in 30 logs is not
an SLO breach) passes the observations before the forecast as ``recent``: the forecast mean becomes
its moving mean over ``len(recent) + 1`` steps, history included, and sigma shrinks by the square
root of that width, because the step-to-step noise of such a series is mostly the sampling noise
of a few logs an hour, independent from hour to hour.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Crossing:
    probability: float
    first_crossing: pd.Timestamp


def simulate_paths(mean: np.ndarray, sigma: np.ndarray, paths: int, seed: int) -> np.ndarray:
    """``paths`` x horizon draws of the forecast distribution (see the module docstring)."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.standard_normal((paths, len(mean))), axis=1) / np.sqrt(np.arange(1, len(mean) + 1))
    return mean[None, :] + sigma[None, :] * walk


def moving_mean(values: np.ndarray, recent: np.ndarray) -> np.ndarray:
    """The mean over the ``len(recent) + 1`` steps ending at each step of ``values`` (gaps in
    ``recent`` count as its mean)."""
    known = recent[np.isfinite(recent)]
    recent = np.where(np.isfinite(recent), recent, known.mean() if len(known) else 0.0)
    sums = np.concatenate([[0.0], np.cumsum(np.concatenate([recent, values]))])
    width = len(recent) + 1
    return (sums[width:] - sums[:-width]) / width


def crossing(forecast: pd.DataFrame, sigma: np.ndarray, threshold: float, current: float,
             paths: int = 1000, seed: int = 0, recent: np.ndarray | None = None) -> Crossing:
    """P(the series reaches ``threshold`` within the forecast) and the expected first crossing
    (``current``: the objective's value now; ``recent``: see the module docstring)."""
    if not len(forecast):
        return Crossing(0.0, pd.NaT)
    stamps = pd.DatetimeIndex(forecast["timestamp"])
    if np.isfinite(current) and current >= threshold:
        return Crossing(1.0, stamps[0])
    mean = forecast["mean"].to_numpy(dtype=float)
    if recent is not None and len(recent):
        mean, sigma = moving_mean(mean, np.asarray(recent, dtype=float)), sigma / np.sqrt(len(recent) + 1)
    draws = simulate_paths(mean, sigma, paths, seed)
    above = draws >= threshold
    crossed = above.any(axis=1)
    if not crossed.any():
        return Crossing(0.0, pd.NaT)
    first = above[crossed].argmax(axis=1)
    step = stamps[1] - stamps[0] if len(stamps) > 1 else pd.Timedelta(hours=1)
    return Crossing(float(crossed.mean()), stamps[0] + step * float(first.mean()))
