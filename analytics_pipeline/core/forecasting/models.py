"""The candidate forecasters: seasonal naive (the baseline), Holt-Winters (additive daily season),
and MSTL (daily + weekly seasonality) with an AR(2) (ARIMA(2,0,0)) on the seasonally adjusted series.

Each takes a gap-free float array, the horizon and the seasonal periods, and returns a
:class:`ModelForecast`: the mean path, the model's own one-sigma per step, and its one-step
in-sample predictions. ``params`` from an earlier fit can be passed back to skip the
optimisation: the backtest optimises once, at its first origin, and only filters the later
origins and the final fit with those parameters (an optimiser run is most of a fit's cost).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from scipy import stats
from statsmodels.tsa.ar_model import AutoReg
from statsmodels.tsa.holtwinters import ExponentialSmoothing
from statsmodels.tsa.seasonal import MSTL

# Measured on 720 hourly points (a shared 2-core machine): MSTL 0.21 s, with STL's jumps (every
# 5th point smoothed, the rest interpolated) and one pass 0.015 s; ARIMA(1,1,1) by MLE 1.1 s,
# AR(2) by least squares (AutoReg) 0.003 s; damped Holt-Winters 0.31 s, without trend 0.05 s.
_STL_FAST = {"seasonal_jump": 5, "trend_jump": 5, "low_pass_jump": 5}
_AR_LAGS = 2


@dataclass(frozen=True)
class ModelForecast:
    """A model's forecast: mean and own sigma per step, one-step in-sample predictions, parameters."""

    mean: np.ndarray
    sigma: np.ndarray
    fitted: np.ndarray
    params: Any = None


def _residual_sigma(residuals: np.ndarray) -> float:
    finite = residuals[np.isfinite(residuals)]
    sigma = float(np.std(finite)) if len(finite) > 1 else 0.0
    return sigma if sigma > 0 else 1e-9


def seasonal_naive(y: np.ndarray, horizon: int, period: int, weekly: int | None = None,
                   params: Any = None) -> ModelForecast:
    """Next season = last season; sigma from the seasonal differences, growing by season."""
    period = period if 1 <= period <= len(y) else 1
    last = y[-period:]
    mean = np.resize(last, horizon)
    sigma = _residual_sigma(y[period:] - y[:-period]) if len(y) > period else 1e-9
    steps = np.arange(horizon)
    fitted = np.concatenate([np.full(period, np.nan), y[:-period]]) if len(y) > period else np.full(len(y), np.nan)
    return ModelForecast(mean, sigma * np.sqrt(steps // period + 1), fitted)


def seasonal_profile(y: np.ndarray, horizon: int, period: int, weekly: int | None = None,
                     params: Any = None) -> ModelForecast:
    """The median of each position of the daily cycle over the last two weeks: on noisy series
    (error shares, tail latencies of small services) it beats carrying one noisy day forward, and
    the median, not the mean, is what minimises the absolute error of skewed, mostly-zero series."""
    days = min(len(y) // period, 14)
    recent = y[len(y) - days * period:].reshape(days, period)
    profile = np.median(recent, axis=0)  # whole days back from the end: the next step is the profile's first
    mean = np.resize(profile, horizon)
    fitted = np.full(len(y), np.nan)
    fitted[len(y) - days * period:] = np.tile(profile, days)
    sigma = _residual_sigma(y - fitted) * np.sqrt(1 + 1 / days)
    return ModelForecast(mean, np.full(horizon, sigma), fitted)


def profile_trend(y: np.ndarray, horizon: int, period: int, weekly: int | None = None,
                  params: Any = None) -> ModelForecast:
    """The daily shape (median of each position around its day's mean, last two weeks) on a
    straight line through the daily means (Theil-Sen: incident days do not bend it). Traffic
    growing towards capacity is carried forward as growth, which the season-only candidates
    cannot do; the backtest picks it only where a trend held out of sample."""
    days = min(len(y) // period, 14)
    if days < 3:
        return seasonal_profile(y, horizon, period, weekly, params)
    recent = y[len(y) - days * period:].reshape(days, period)
    day_means = recent.mean(axis=1)
    slope, intercept, _, _ = stats.theilslopes(day_means, np.arange(days))
    shape = np.median(recent - day_means[:, None], axis=0)
    # Each step's position in days, measured from the middle of the first recent day.
    position = (np.arange(horizon) - (period - 1) / 2) / period + days
    mean = intercept + slope * position + np.resize(shape, horizon)
    fitted = np.full(len(y), np.nan)
    past = (np.arange(days * period) - (period - 1) / 2) / period
    fitted[len(y) - days * period:] = intercept + slope * past + np.tile(shape, days)
    sigma = _residual_sigma(y - fitted) * np.sqrt(1 + 1 / days)
    return ModelForecast(mean, np.full(horizon, sigma), fitted)


def holt_winters(y: np.ndarray, horizon: int, period: int, weekly: int | None = None,
                 params: Any = None) -> ModelForecast:
    """Holt-Winters with an additive daily season and no trend, ETS(A,N,A) (heuristic initial
    states, so the optimiser sees only the two smoothing parameters; a trend term tripled the
    cost and lost the backtests it was meant to win)."""
    model = ExponentialSmoothing(y, seasonal="add", seasonal_periods=period, initialization_method="heuristic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = model.fit(**params, optimized=False) if params else model.fit()
    keys = ("smoothing_level", "smoothing_seasonal")
    found = {k: float(fit.params[k]) for k in keys}
    alpha, gamma = found["smoothing_level"], found["smoothing_seasonal"]
    fitted = np.asarray(fit.fittedvalues, dtype=float)
    sigma = _residual_sigma(y - fitted)
    steps = np.arange(horizon)  # ETS(A,N,A) variance multipliers (Hyndman et al. 2008, table 6.1)
    multiplier = 1 + steps * alpha ** 2 + (steps // period) * gamma * (2 * alpha + gamma)
    return ModelForecast(np.asarray(fit.forecast(horizon), dtype=float), sigma * np.sqrt(multiplier), fitted, found)


def mstl_ar(y: np.ndarray, horizon: int, period: int, weekly: int | None = None,
               params: Any = None) -> ModelForecast:
    """MSTL with the daily (and, given two weeks, the weekly) season; an AR(2) with a constant on
    the rest; each season carried forward as its last cycle."""
    periods = tuple(p for p in (period, weekly) if p and len(y) >= 2 * p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        decomposition = MSTL(y, periods=periods, iterate=1, stl_kwargs=_STL_FAST).fit()
        seasonal = np.asarray(decomposition.seasonal, dtype=float).reshape(len(y), -1)
        adjusted = y - seasonal.sum(axis=1)
        fit = AutoReg(adjusted, lags=_AR_LAGS, trend="c").fit()  # least squares: cheap enough to redo
        forecast = fit.get_prediction(start=len(y), end=len(y) + horizon - 1)
    ahead = sum(np.resize(seasonal[-p:, i], horizon) for i, p in enumerate(periods))
    fitted = np.full(len(y), np.nan)
    fitted[_AR_LAGS:] = np.asarray(fit.fittedvalues, dtype=float) + seasonal.sum(axis=1)[_AR_LAGS:]
    return ModelForecast(np.asarray(forecast.predicted_mean, dtype=float) + ahead,
                         np.asarray(forecast.se_mean, dtype=float), fitted)


Forecaster = Callable[..., ModelForecast]
BASELINE = "seasonal_naive"
CANDIDATES: dict[str, Forecaster] = {
    BASELINE: seasonal_naive,
    "seasonal_profile": seasonal_profile,
    "profile_trend": profile_trend,
    "holt_winters": holt_winters,
    "mstl_ar": mstl_ar,
}


# The mean of the three seasonal models' forecasts (and sigmas): forecast combination is the
# cheapest robust gain there is (no fit of its own: the backtest averages its members' forecasts).
COMBINATION = "combination"
MEMBERS = ("seasonal_profile", "holt_winters", "mstl_ar")


def combine(forecasts: list[ModelForecast]) -> ModelForecast:
    """The members' mean forecast, mean sigma and mean one-step predictions."""
    return ModelForecast(np.mean([f.mean for f in forecasts], axis=0), np.mean([f.sigma for f in forecasts], axis=0),
                         np.mean([f.fitted for f in forecasts], axis=0))


def usable_candidates(n: int, period: int) -> list[str]:
    """The models that ``n`` points can support: the seasonal ones need two full daily cycles."""
    names = [BASELINE]
    if period > 1 and n >= 2 * period + 10:
        names += [*MEMBERS, COMBINATION]
    return names
