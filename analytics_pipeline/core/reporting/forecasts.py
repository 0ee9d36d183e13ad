"""Built-in rules on the forecasts (issue 13's ``WeeklyForecasts``): capacity scaling when a
forecast crosses capacity, performance tuning when a latency metric trends up significantly."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

import pandas as pd

from analytics_pipeline.core.forecasting.weekly import CAPACITY_COLUMNS, PATTERN_COLUMNS
from analytics_pipeline.core.reporting.evidence import WeekEvidence, forecast_frame, service_figures
from analytics_pipeline.core.reporting.recommendations import (
    OptimizationEngineConfig, OptimizationRecommendation, make,
)

MIN_CROSSING_PROBABILITY = 0.5
# The expected level must come near the capacity too: a crossing that only the bands' tails make
# likely (a heavy-tailed series with incident hours) is incident risk, which replicas do not fix;
# the report's capacity lines still show it.
NEAR_CAPACITY = 0.8
HEADROOM = 1.2          # recommended capacity: the forecast peak plus 20%
TREND_P_VALUE = 0.01
LATENCY_METRICS = ("latency_p50", "latency_p95", "latency_p99")
# What more capacity (replicas, quota, hardware) relieves. An error-share SLO is a reliability
# matter: its crossings show in the report's capacity lines, not as a scaling recommendation.
SCALABLE_METRICS = ("volume", *LATENCY_METRICS, "cpu", "memory", "disk", "load", "processes", "net_in", "net_out")


def _likely_crossings(week: WeekEvidence, config: OptimizationEngineConfig) -> pd.DataFrame:
    """Scalable series likely (>= MIN_CROSSING_PROBABILITY) to cross within the horizon, whose
    expected level comes near the capacity (NEAR_CAPACITY), most likely first."""
    capacity = forecast_frame(week.capacity, CAPACITY_COLUMNS, "capacity")
    horizon = pd.Timestamp(week.end) + timedelta(hours=config.prediction_horizon_hours)
    rows = capacity[capacity["metric"].isin(SCALABLE_METRICS)].copy()
    rows["crossing"] = pd.to_datetime(rows["first_crossing"], utc=True)
    rows = rows[(rows["probability"] >= MIN_CROSSING_PROBABILITY) & rows["crossing"].notna()
                & (rows["crossing"] <= horizon)
                & ((rows["forecast_peak"] >= NEAR_CAPACITY * rows["threshold"]) | (rows["current"] >= rows["threshold"]))]
    return rows.sort_values(["probability", "crossing"], ascending=[False, True])


def _scaling_values(row: object) -> tuple[str, str, str]:
    """(current value, recommended value, first step) for one crossing.

    A latency objective is not itself a capacity: the lever is more replicas so that it holds.
    For volume and host resources the new capacity covers the larger of the forecast peak and
    the old capacity (a crossing the bands make likely while the mean stays below), plus headroom.
    """
    if row.metric in LATENCY_METRICS:
        return (f"{row.metric} objective {row.threshold:,.0f} ms; forecast peak {row.forecast_peak:,.0f} ms",
                f"{row.metric} under {row.threshold:,.0f} ms all week (more replicas or a faster dependency)",
                f"Add {row.service} replicas (or fix its slowest dependency) before {row.crossing:%a %d %b}")
    target = math.ceil(max(row.forecast_peak, row.threshold) * HEADROOM)
    return (f"capacity {row.threshold:,.4g} {row.metric}",
            f"capacity {target:,} {row.metric} (max(forecast peak, capacity) + {HEADROOM - 1:.0%})",
            f"Add {row.service} replicas / quota to reach {target:,}")


def capacity_scaling(week: WeekEvidence, config: OptimizationEngineConfig,
                     created: datetime) -> list[OptimizationRecommendation]:
    """One recommendation per service with a likely crossing: its most likely one, the others as evidence."""
    out = []
    for service, rows in _likely_crossings(week, config).groupby("service", sort=False):
        row = next(rows.itertuples())
        already = math.isfinite(row.current) and row.current >= row.threshold
        current, recommended, first_step = _scaling_values(row)
        growth = 100.0 * (row.forecast_peak - row.current) / row.current if row.current else float("nan")
        also = [f"also {r.metric}: P(crossing {r.threshold:,.4g}) {r.probability:.0%}" for r in rows.iloc[1:].itertuples()]
        out.append(make(
            week.partition, created, config, category="capacity_scaling", component=str(service),
            title=(f"Scale {service}: {row.metric} is already above {row.threshold:,.4g}" if already else
                   f"Scale {service} before {row.metric} crosses {row.threshold:,.4g} "
                   f"({row.probability:.0%} by {row.crossing:%a %d %b})"),
            description=f"The {row.model} forecast of {service} {row.metric} peaks at {row.forecast_peak:,.4g} against "
                        f"{row.threshold:,.4g} (now {row.current:,.4g}); with its calibrated bands the probability of "
                        f"crossing is {row.probability:.0%}, first crossing expected {row.crossing:%Y-%m-%d %H:%M} UTC.",
            current_value=current, recommended_value=recommended,
            expected_improvement=100.0 * row.probability, confidence=float(row.probability),
            steps=(first_step, "Re-run the forecast after scaling; the crossing probability should drop"),
            effort="medium", risk="low",
            evidence=(f"forecast peak {row.forecast_peak:,.4g} vs {row.threshold:,.4g} ({row.model})",
                      f"P(crossing) {row.probability:.0%}, first crossing {row.crossing:%Y-%m-%d %H:%M}",
                      f"growth over the horizon {growth:+.0f}%" if math.isfinite(growth) else "no current level",
                      *also),
            metrics={"probability": row.probability, "forecast_peak": row.forecast_peak, "threshold": row.threshold,
                     "current": row.current}, key=str(row.metric)))
    return out


def performance_tuning(week: WeekEvidence, config: OptimizationEngineConfig,
                       created: datetime) -> list[OptimizationRecommendation]:
    """A latency metric with a significant upward trend (pattern 'trending', p < TREND_P_VALUE)."""
    patterns = forecast_frame(week.patterns, PATTERN_COLUMNS, "patterns")
    trending = patterns[patterns["metric"].isin(LATENCY_METRICS) & (patterns["pattern"] == "trending")
                        & (patterns["direction"] == "up") & (patterns["p_value"] < TREND_P_VALUE)]
    # One recommendation per service: its most significant latency trend.
    trending = trending.sort_values(["p_value", "slope_per_day"], ascending=[True, False]).drop_duplicates("service")
    figures = service_figures(week).set_index("service")
    out = []
    for row in trending.itertuples():
        level = float(figures.loc[row.service, row.metric]) if row.service in figures.index else float("nan")
        weekly = row.slope_per_day * 7
        growth = 100.0 * weekly / level if level and math.isfinite(level) else 0.0
        out.append(make(
            week.partition, created, config, category="performance_tuning", component=str(row.service),
            title=f"Find what slows {row.service}: {row.metric} rises {row.slope_per_day:+.1f} ms/day",
            description=f"{row.service} {row.metric} trends up by {row.slope_per_day:.2f} ms per day (p = {row.p_value:.1e}); "
                        f"at this week's level of {level:.0f} ms that is {growth:+.0f}% a week. {row.insight}",
            current_value=f"{row.metric} {level:.0f} ms, {row.slope_per_day:+.2f} ms/day",
            recommended_value=f"{row.metric} back to a flat trend at <= {level:.0f} ms",
            # 1 - p alone overstates it: a weak trend can be significant on many points, so the
            # confidence also grows with the effect (the week's growth as a share of the level).
            # (The pattern's `strength` is its seasonality's, which says nothing of the trend.)
            expected_improvement=growth,
            confidence=min(0.95, (1.0 - float(row.p_value)) * min(1.0, 0.5 + max(growth, 0.0) / 100)),
            steps=(f"Profile {row.service}'s slow requests (memory growth, slow queries, lock contention)",
                   "Roll back or fix the change that started the trend", "Confirm the trend is flat next week"),
            effort="medium", risk="low",
            evidence=(f"trend {row.slope_per_day:+.2f} ms/day, p = {row.p_value:.1e}, strength {row.strength:.2f}",
                      f"this week's {row.metric}: {level:.0f} ms"),
            metrics={"slope_per_day": row.slope_per_day, "p_value": row.p_value, "level_ms": level},
            key=str(row.metric)))
    return out
