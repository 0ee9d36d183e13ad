"""Patterns of a series: stable, trending (direction, significance) or volatile; the detected
periodicity with its strength; and plain-language insights.

Rule (docs/forecasting.md): on daily means, a trend is either one least-squares line over the
window or a line from a start day on, flat before it (the start that fits best; its p-value is
multiplied by the number of start days tried, Bonferroni, and a line through the days from the
start on must be significant too, which a step is not); the more significant of the two counts.
A p-value under ``alpha`` and a change since the start of at least ``min_change`` of the mean
level is ``trending``: a ramp that began four days ago is found and dated, not averaged away
over the month. Otherwise, a series whose residual (after its daily/weekly profile) has a robust
coefficient of variation above ``volatile_cv`` is ``volatile``; otherwise ``stable``. Seasonal
strength is Hyndman's ``max(0, 1 - var(remainder) / var(season + remainder))`` of the hour-of-day
(and hour-of-week) profile; a periodicity counts from ``min_strength``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analytics_pipeline.core.forecasting.regular import RegularSeries

ALPHA, MIN_CHANGE, VOLATILE_CV, MIN_STRENGTH = 0.01, 0.10, 0.5, 0.3
MIN_TREND_DAYS = 4  # daily means from a trend's start on: fewer cannot tell a ramp from a bad day


@dataclass(frozen=True)
class Pattern:
    pattern: str               # stable | trending | volatile
    direction: str | None      # up | down | None
    slope_per_day: float
    p_value: float
    periodicity: str           # daily | weekly | none
    strength: float
    since: pd.Timestamp | None  # where a trend starts (see :func:`fit_trend`)


@dataclass(frozen=True)
class Trend:
    slope_per_day: float
    p_value: float   # corrected for the choice of the start day
    start: int       # index of the daily mean the trend starts from (0: the whole window)


def fit_trend(days: np.ndarray) -> Trend:
    """The trend of daily means: one line over the window, or "flat, then a line" from the start
    day that fits best, whichever is more significant (see the module docstring)."""
    n = len(days)
    if n < 3:
        return Trend(0.0, 1.0, 0)
    x = np.arange(n, dtype=float)
    whole = stats.linregress(x, days)
    starts = range(1, max(n - MIN_TREND_DAYS + 1, 1))
    best: tuple[float, float, float, int] | None = None  # (sse, slope, p, start)
    for start in starts:
        hinge = np.maximum(x - start, 0.0)
        fit = stats.linregress(hinge, days)
        sse = float(np.sum((days - fit.intercept - fit.slope * hinge) ** 2))
        if best is None or sse < best[0] - 1e-12 * max(best[0], 1.0):
            best = (sse, float(fit.slope), float(fit.pvalue), start)
    p_whole = float(whole.pvalue) if np.isfinite(whole.pvalue) else 1.0
    if best is None:
        return Trend(float(whole.slope), p_whole, 0)
    _, slope, p_hinge, start = best
    # A step (flat, then one high day) also fits a late hinge; a ramp is a line from its start on.
    segment = float(stats.linregress(x[start:], days[start:]).pvalue)
    p_hinge = max(p_hinge * len(starts), segment)
    p_hinge = min(1.0, p_hinge) if np.isfinite(p_hinge) else 1.0
    if p_hinge < p_whole:
        return Trend(slope, p_hinge, start)
    return Trend(float(whole.slope), p_whole, 0)


def _strength(values: pd.Series, key: np.ndarray) -> float:
    detrended = values - values.rolling(len(np.unique(key)), center=True, min_periods=1).mean()
    season = detrended.groupby(key).transform("mean")
    remainder = detrended - season
    total = np.nanvar(detrended.to_numpy(dtype=float))
    return float(max(0.0, 1 - np.nanvar(remainder.to_numpy(dtype=float)) / total)) if total > 0 else 0.0


def detect_pattern(reg: RegularSeries) -> Pattern:
    """The pattern of a regular series (see the module docstring for the rule)."""
    values = reg.series
    observed = values.dropna()
    if len(observed) < 3 or np.ptp(observed.to_numpy()) == 0:
        return Pattern("stable", None, 0.0, 1.0, "none", 0.0, None)
    daily_strength = _strength(values, np.asarray(values.index.hour * 60 + values.index.minute)) \
        if reg.period > 1 and len(values) >= 2 * reg.period else 0.0
    weekly_strength = _strength(values, np.asarray(values.index.dayofweek * 1440 + values.index.hour * 60
                                                   + values.index.minute)) \
        if reg.weekly and reg.period > 1 and len(values) >= 2 * reg.weekly else 0.0
    # The weekly profile contains the daily one: it names the period only when it explains clearly more.
    periodicity, strength = ("weekly", weekly_strength) if weekly_strength >= max(MIN_STRENGTH, daily_strength + 0.1) \
        else ("daily", daily_strength) if daily_strength >= MIN_STRENGTH else ("none", max(daily_strength, weekly_strength))
    days = observed.groupby(observed.index.floor("D")).mean()
    trend = fit_trend(days.to_numpy(dtype=float))
    slope, p_value = trend.slope_per_day, trend.p_value
    level = float(np.abs(observed).mean()) or 1.0
    change = abs(slope) * max(len(days) - 1 - trend.start, 1) / level
    if p_value < ALPHA and change >= MIN_CHANGE:
        direction = "up" if slope > 0 else "down"
        # A whole-window trend starts at its extreme daily mean (the first day may be a noisy one).
        since = days.index[trend.start] if trend.start else days.idxmin() if direction == "up" else days.idxmax()
        return Pattern("trending", direction, slope, p_value, periodicity, strength, since)
    profile = values.groupby(np.asarray(values.index.hour)).transform("mean") if reg.period > 1 else observed.mean()
    residual = (values - profile).dropna()
    scale = float(np.median(np.abs(observed))) or level
    cv = 1.4826 * float(np.median(np.abs(residual - residual.median()))) / scale
    return Pattern("volatile" if cv > VOLATILE_CV else "stable", None, slope, p_value, periodicity, strength, None)


def _amount(metric: str, value: float) -> str:
    if metric == "error_share":
        return f"{value * 100:.2g} points"
    if metric.startswith("latency"):
        return f"{value:,.3g} ms"
    return f"{value:,.3g}"


def insights(label: str, metric: str, pattern: Pattern, history: pd.Series, forecast: pd.DataFrame) -> str:
    """Two or three sentences a person can act on, joined by '; '."""
    sentences = []
    if pattern.pattern == "trending":
        verb = "rising" if pattern.direction == "up" else "falling"
        since = f" since {pattern.since:%a %d %b}" if pattern.since is not None else ""
        sentences.append(f"{label} {verb} {_amount(metric, abs(pattern.slope_per_day))} a day{since} "
                         f"(p={pattern.p_value:.1g})")
    elif pattern.pattern == "volatile":
        sentences.append(f"{label} is volatile: hour-to-hour swings beyond its usual daily shape")
    else:
        sentences.append(f"{label} is stable")
    if pattern.periodicity != "none":
        peak_hour = history.groupby(history.index.hour).mean().idxmax()
        sentences.append(f"{pattern.periodicity} cycle (strength {pattern.strength:.2f}), busiest around "
                         f"{int(peak_hour):02d}:00 UTC")
    if len(forecast) and history.notna().any():
        peak = forecast.loc[forecast["mean"].idxmax()]
        recent = history.iloc[-len(forecast):].max()
        change = f", {(peak['mean'] / recent - 1) * 100:+.0f}% on the last week's peak" if recent > 0 else ""
        sentences.append(f"next peak {_amount(metric, float(peak['mean']))} expected {peak['timestamp']:%a %H:%M}{change}")
    return "; ".join(sentences)
