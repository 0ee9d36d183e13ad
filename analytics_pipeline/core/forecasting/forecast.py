"""Forecast one series: choose the model by backtest MASE, calibrate its intervals, refit it on
the whole series, and return a :class:`SeriesForecast`.

Usable from a notebook on any ``pd.Series`` with a DatetimeIndex::

    result = forecast_series(series)            # 7 days at the series' own frequency
    result.forecast                              # timestamp, mean, lo_80, hi_80, lo_95, hi_95
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics_pipeline.core.forecasting.backtest import origins_for, run_backtest
from analytics_pipeline.core.forecasting.config import ForecastConfig
from analytics_pipeline.core.forecasting.intervals import Calibration, band_columns, calibrate
from analytics_pipeline.core.forecasting.models import (
    BASELINE, CANDIDATES, COMBINATION, MEMBERS, ModelForecast, combine, usable_candidates,
)
from analytics_pipeline.core.forecasting.regular import RegularSeries, regularize

NOT_ENOUGH_HISTORY = "not enough history"


@dataclass(frozen=True)
class SeriesForecast:
    """A series' forecast with its bands, the chosen model and how it did in the backtest.

    ``sigma`` is the calibrated one-sigma per step: the forecast distribution the capacity
    figures sample. ``scores`` holds every candidate's backtest MASE.
    """

    history: RegularSeries
    forecast: pd.DataFrame
    model: str
    mase: float
    naive_mase: float
    calibration: Calibration
    sigma: np.ndarray
    scores: dict[str, float] = field(default_factory=dict)
    backtest_horizon: int = 0
    note: str = ""

    @property
    def coverage(self) -> dict[float, float]:
        return self.calibration.coverage


def _horizon(reg: RegularSeries, config: ForecastConfig) -> int:
    if config.horizon is not None:
        return config.horizon
    return max(int(round(pd.Timedelta(days=config.horizon_days) / reg.step)), 1)


def _frame(reg: RegularSeries, mean: np.ndarray, sigma: np.ndarray, calibration: Calibration) -> pd.DataFrame:
    index = reg.series.index
    start = index[-1] + reg.step if len(index) else pd.Timestamp.now(tz="UTC").floor("h")
    stamps = pd.date_range(start, periods=len(mean), freq=reg.step)
    return pd.DataFrame({"timestamp": stamps, "mean": mean, **band_columns(mean, sigma, calibration)})


def _flat(reg: RegularSeries, horizon: int, config: ForecastConfig, note: str) -> SeriesForecast:
    """The last value carried forward, zero-width bands: for series with too little to learn from."""
    values = reg.series.dropna()
    last = float(values.iloc[-1]) if len(values) else 0.0
    mean, sigma = np.full(horizon, last), np.zeros(horizon)
    nothing = {level: float("nan") for level in config.levels}
    calibration = Calibration({level: 1.0 for level in config.levels}, nothing, dict(nothing))
    return SeriesForecast(reg, _frame(reg, mean, sigma, calibration), BASELINE, float("nan"), float("nan"),
                          calibration, sigma, {}, 0, note)


def _final_fit(name: str, filled: np.ndarray, horizon: int, reg: RegularSeries) -> ModelForecast:
    if name == COMBINATION:
        return combine([CANDIDATES[m](filled, horizon, reg.period, reg.weekly) for m in MEMBERS])
    return CANDIDATES[name](filled, horizon, reg.period, reg.weekly)


def forecast_series(series: pd.Series, config: ForecastConfig | None = None) -> SeriesForecast:
    """Forecast ``series`` ``config.horizon`` steps ahead (default: 7 days at its own frequency)."""
    config = config or ForecastConfig()
    reg = regularize(series)
    horizon = _horizon(reg, config)
    observed = reg.observed
    if observed.sum() < 3:
        return _flat(reg, horizon, config, f"{NOT_ENOUGH_HISTORY}: {int(observed.sum())} observed points")
    values = reg.series.to_numpy(dtype=float)[observed]
    if np.ptp(values) == 0:
        return _flat(reg, horizon, config, "constant series: its value carried forward")
    filled = reg.filled
    names = usable_candidates(len(filled), reg.period)
    step = config.origin_step or reg.period
    origins, backtest_horizon = origins_for(len(filled), horizon, config.origins, step, 2 * reg.period + 10)
    if not origins:
        return _flat(reg, horizon, config, f"{NOT_ENOUGH_HISTORY}: {len(filled)} points for a backtest")
    note = f"{NOT_ENOUGH_HISTORY} for seasonal models: seasonal naive" if len(names) == 1 else ""
    results = run_backtest(filled, observed, names, backtest_horizon, origins, reg.period, reg.weekly)
    scores = {name: r.score for name, r in results.items()}
    chosen = min(names, key=lambda name: (scores[name], name != BASELINE))
    best = results[chosen]
    calibration = calibrate(np.concatenate(best.standardized), np.concatenate(best.origin), config.levels,
                            config.coverage_tolerance)
    # The final fit is optimised afresh (for Holt-Winters 0.05 s): parameters from before a level
    # shift near the end would keep the forecast at the old level.
    final = _final_fit(chosen, filled, horizon, reg)
    # The widest level's scale shapes the distribution the capacity figures sample: tails matter there.
    sigma = final.sigma * calibration.scale[max(config.levels)]
    return SeriesForecast(reg, _frame(reg, final.mean, final.sigma, calibration), chosen, scores[chosen],
                          scores[BASELINE], calibration, sigma, scores, backtest_horizon, note)
