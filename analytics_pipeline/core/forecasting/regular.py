"""Turning any time series into the regular, gap-aware array the forecasters need."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class RegularSeries:
    """A series on a regular grid: gaps are NaN in ``series`` and interpolated in ``filled``."""

    series: pd.Series
    step: pd.Timedelta
    period: int            # steps per day (1 when the step is a day or longer)
    weekly: int | None     # steps per week, None when the step is longer than a day

    @property
    def filled(self) -> np.ndarray:
        values = self.series.interpolate(method="linear", limit_direction="both")
        return values.to_numpy(dtype=float)

    @property
    def observed(self) -> np.ndarray:
        return np.isfinite(self.series.to_numpy(dtype=float))


def infer_step(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The index's frequency, or the median spacing of its points when it has none."""
    if index.freq is not None:
        return pd.Timedelta(index.freq)
    if len(index) < 2:
        return pd.Timedelta(hours=1)
    spacing = pd.Series(index).diff().dropna()
    return pd.Timedelta(spacing.median())


def regularize(series: pd.Series) -> RegularSeries:
    """Sort, drop repeated timestamps (the last wins), put the points on the median-spacing grid
    (means of points that share a slot) so that a missing point is a visible gap."""
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ValueError("a series to forecast needs a DatetimeIndex")
    values = pd.to_numeric(series, errors="coerce").astype(float)
    values = values[~values.index.duplicated(keep="last")].sort_index()
    values = values.where(np.isfinite(values))
    step = infer_step(values.index)
    if step <= pd.Timedelta(0):
        raise ValueError("the series' timestamps do not advance")
    if values.index.freq is None and len(values) > 2:
        # Points "about every 5 minutes" that are often 10 apart would leave half the grid empty:
        # then the multiple of the median spacing nearest the spacings' upper quartile is the real
        # step (the quartile, not the mean: a few outages of days would blow the mean up).
        upper = pd.Series(values.index).diff().dropna().quantile(0.75)
        step = step * max(int(round(upper / step)), 1)
    if len(values) and values.index.freq is None:
        values = values.resample(step, origin=values.index[0]).mean()
    period = max(int(round(DAY / step)), 1) if step < DAY else 1
    weekly = int(round(7 * DAY / step)) if step <= DAY else None
    return RegularSeries(values, step, period, weekly)
