"""Metric anomalies: points outside a one-step-ahead forecast band (the Elastic way).

Each point is compared with what the model expected one step before it (Holt-Winters' in-sample
one-step predictions); the band's half-width is the 99th percentile of the absolute one-step
errors stretched by ``z(level) / z(0.99)``: for Gaussian errors that is ``z(level) * sigma`` (a 95%
band flags about 5% of normal points, the default 99.8% about 2 in 1,000), for the heavy tails
of real metrics it is wider than a MAD-based band, and anomalies rarer than 1% of the points do
not widen it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics_pipeline.core.forecasting.config import DEFAULT_ANOMALY_LEVEL
from analytics_pipeline.core.forecasting.intervals import z_value
from analytics_pipeline.core.forecasting.models import holt_winters, seasonal_naive, usable_candidates
from analytics_pipeline.core.forecasting.regular import RegularSeries, regularize

_TAIL = 0.99
ANOMALY_COLUMNS = ("timestamp", "value", "expected", "lo", "hi", "deviation")


def empty_anomalies() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="datetime64[ns, UTC]" if c == "timestamp" else float)
                         for c in ANOMALY_COLUMNS})


def _one_step(reg: RegularSeries) -> np.ndarray:
    filled = reg.filled
    if len(usable_candidates(len(filled), reg.period)) > 1:
        return holt_winters(filled, 1, reg.period).fitted
    return seasonal_naive(filled, 1, reg.period).fitted


def robust_sigma(errors: np.ndarray) -> float:
    """The Gaussian-equivalent sigma of the errors' 99th absolute percentile (see the module)."""
    errors = np.abs(errors[np.isfinite(errors)])
    if len(errors) < 2:
        return 0.0
    sigma = float(np.quantile(errors, _TAIL)) / z_value(_TAIL)
    return sigma if sigma > 0 else float(np.std(errors))


def one_step_band(reg: RegularSeries, level: float = DEFAULT_ANOMALY_LEVEL) -> pd.DataFrame:
    """Every observed point with its expected value, band and deviation (in sigmas)."""
    if not 0 < level < 1:
        raise ValueError(f"band level must be between 0 and 1, got {level}")
    values = reg.series.to_numpy(dtype=float)
    expected = _one_step(reg)
    errors = values - expected
    sigma = robust_sigma(errors)
    half = z_value(level) * sigma
    frame = pd.DataFrame({"timestamp": reg.series.index, "value": values, "expected": expected,
                          "lo": expected - half, "hi": expected + half,
                          "deviation": errors / sigma if sigma > 0 else np.where(errors == 0, 0.0, np.inf * np.sign(errors))})
    return frame[np.isfinite(values) & np.isfinite(expected)].reset_index(drop=True)


def metric_anomalies(series: pd.Series | RegularSeries, level: float = DEFAULT_ANOMALY_LEVEL) -> pd.DataFrame:
    """The points of ``series`` outside its one-step-ahead band at ``level``."""
    reg = series if isinstance(series, RegularSeries) else regularize(series)
    if reg.observed.sum() < 3:
        return empty_anomalies()
    band = one_step_band(reg, level)
    flagged = band[(band["value"] < band["lo"]) | (band["value"] > band["hi"])]
    return flagged.reset_index(drop=True) if len(flagged) else empty_anomalies()
