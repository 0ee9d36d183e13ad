"""Capacity: the probability that a series crosses its threshold within the horizon, and the
expected time of the first crossing, from simulated paths of the forecast distribution.

Paths are the mean plus the calibrated sigma times a normalized random walk
(``W_h / sqrt(h)``): each step has the forecast's marginal distribution, and neighbouring steps
move together the way forecast errors do, so "crosses at least once" is not inflated by
independent draws at every step. The expected first crossing is the mean first-crossing step
of the paths that cross (NaT when none does).
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


def crossing(forecast: pd.DataFrame, sigma: np.ndarray, threshold: float, current: float,
             paths: int = 1000, seed: int = 0) -> Crossing:
    """P(the series reaches ``threshold`` within the forecast) and the expected first crossing."""
    if not len(forecast):
        return Crossing(0.0, pd.NaT)
    stamps = pd.DatetimeIndex(forecast["timestamp"])
    if np.isfinite(current) and current >= threshold:
        return Crossing(1.0, stamps[0])
    draws = simulate_paths(forecast["mean"].to_numpy(dtype=float), sigma, paths, seed)
    above = draws >= threshold
    crossed = above.any(axis=1)
    if not crossed.any():
        return Crossing(0.0, pd.NaT)
    first = above[crossed].argmax(axis=1)
    step = stamps[1] - stamps[0] if len(stamps) > 1 else pd.Timedelta(hours=1)
    return Crossing(float(crossed.mean()), stamps[0] + step * float(first.mean()))
