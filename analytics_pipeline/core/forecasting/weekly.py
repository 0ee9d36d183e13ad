"""The week's forecasts for every series of a long metrics frame: :class:`WeeklyForecasts`.

Series are forecast in parallel processes (``ForecastConfig.n_jobs``); each returns only its
rows, so what crosses the process boundary stays small.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat

import numpy as np
import pandas as pd
from joblib.externals.loky import ProcessPoolExecutor

from analytics_pipeline.core.forecasting.anomalies import empty_anomalies, metric_anomalies
from analytics_pipeline.core.forecasting.capacity import crossing
from analytics_pipeline.core.forecasting.config import CapacityConfig, ForecastConfig
from analytics_pipeline.core.forecasting.forecast import forecast_series
from analytics_pipeline.core.forecasting.intervals import level_name
from analytics_pipeline.core.forecasting.patterns import detect_pattern, insights
from analytics_pipeline.core.forecasting.regular import regularize
from analytics_pipeline.core.forecasting.risk import anomaly_risk
from analytics_pipeline.core.metrics.series import series_by_key

CAPACITY_COLUMNS = ("service", "metric", "threshold", "probability", "first_crossing", "forecast_peak", "current",
                    "model")
PATTERN_COLUMNS = ("service", "metric", "pattern", "direction", "slope_per_day", "p_value", "periodicity", "strength",
                   "insight")
SKILL_COLUMNS = ("service", "metric", "model", "mase", "naive_mase", "coverage_80", "coverage_95", "corrected",
                 "backtest_horizon", "note")


@dataclass(frozen=True)
class WeeklyForecasts:
    """Everything the week's forecasts say, one frame per question (see docs/forecasting.md)."""

    forecasts: pd.DataFrame         # service, metric, timestamp, mean, lo_80, hi_80, lo_95, hi_95, model
    capacity: pd.DataFrame          # CAPACITY_COLUMNS, one row per series with a threshold
    patterns: pd.DataFrame          # PATTERN_COLUMNS, one row per series
    skill: pd.DataFrame             # SKILL_COLUMNS, one row per series
    risk: pd.DataFrame              # service, anomaly_probability
    metric_anomalies: pd.DataFrame  # service, metric, timestamp, value, expected, lo, hi, deviation
    warn_probability: float = 0.2

    def warnings(self) -> pd.DataFrame:
        """Capacity rows at or above the warning probability, most likely first."""
        rows = self.capacity[self.capacity["probability"] >= self.warn_probability]
        return rows.sort_values(["probability", "first_crossing"], ascending=[False, True]).reset_index(drop=True)

    def worst(self, n: int = 5) -> pd.DataFrame:
        """The series the models forecast least well (highest MASE)."""
        return self.skill.sort_values("mase", ascending=False, na_position="last").head(n).reset_index(drop=True)


def _label(service: str, metric: str) -> str:
    return f"{service} {metric.replace('_', ' ')}"


def forecast_one(service: str, metric: str, series: pd.Series, config: ForecastConfig,
                 capacity: CapacityConfig) -> dict:
    """One series' rows of every frame of :class:`WeeklyForecasts`."""
    raw = regularize(series)
    flagged = metric_anomalies(raw, capacity.anomaly_level)
    # Incident spikes would otherwise become part of the learned daily shape and recur every day
    # of the forecast: the flagged points are forecast around as gaps.
    cleaned = raw.series.copy()
    cleaned[cleaned.index.isin(pd.DatetimeIndex(flagged["timestamp"]))] = np.nan
    result = forecast_series(cleaned if cleaned.notna().sum() >= 3 else raw.series, config)
    reg, frame = raw, result.forecast
    observed = reg.series.dropna()
    current = float(observed.iloc[-1]) if len(observed) else float("nan")
    pattern = detect_pattern(reg)
    coverage = {f"coverage_{level_name(level)}": value for level, value in result.coverage.items()}
    skill = {"service": service, "metric": metric, "model": result.model, "mase": result.mase,
             "naive_mase": result.naive_mase, **coverage, "corrected": result.calibration.corrected,
             "backtest_horizon": result.backtest_horizon, "note": result.note}
    rows = {"forecast": frame.assign(service=service, metric=metric, model=result.model), "skill": skill,
            "pattern": {"service": service, "metric": metric, "pattern": pattern.pattern,
                        "direction": pattern.direction, "slope_per_day": pattern.slope_per_day,
                        "p_value": pattern.p_value, "periodicity": pattern.periodicity,
                        "strength": pattern.strength,
                        "insight": insights(_label(service, metric), metric, pattern, reg.series, frame)},
            "capacity": None}
    threshold = capacity.threshold(metric, float(observed.max()) if len(observed) else 0.0)
    if threshold is not None:
        steps = capacity.objective_steps(metric, reg.step)
        recent = reg.series.to_numpy(dtype=float)[-(steps - 1):] if steps > 1 else None
        if steps > 1:  # the objective's value now: the mean over its window, gaps left out
            window_now = reg.series.iloc[-steps:].dropna()
            current = float(window_now.mean()) if len(window_now) else current
        crossed = crossing(frame, result.sigma, threshold, current, config.paths, config.seed, recent)
        rows["capacity"] = {"service": service, "metric": metric, "threshold": threshold,
                            "probability": crossed.probability, "first_crossing": crossed.first_crossing,
                            "forecast_peak": float(frame["mean"].max()) if len(frame) else current,
                            "current": current, "model": result.model}
    rows["anomalies"] = flagged.assign(service=service, metric=metric)
    return rows


def _frame(rows: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def forecast_week(metrics: pd.DataFrame, config: ForecastConfig | None = None,
                  capacity: CapacityConfig | None = None, window: tuple[pd.Timestamp, pd.Timestamp] | None = None
                  ) -> WeeklyForecasts:
    """Forecast every (service, metric) series of a long metrics frame (``service, metric,
    timestamp, value``); ``window`` bounds the anomaly-risk estimate (default: the data's span)."""
    config, capacity = config or ForecastConfig(), capacity or CapacityConfig()
    series = series_by_key(metrics)
    jobs = min(config.n_jobs, max(len(series) // 4, 1))  # a process pool pays off from a few series
    keys, values = [s for s, _ in series], [m for _, m in series]
    args = (keys, values, list(series.values()), repeat(config), repeat(capacity))
    if jobs > 1:
        # loky's processes (no `if __name__ == "__main__"` needed in scripts), in a pool that ends
        # with the block: joblib's reusable pool keeps its workers alive, and they held a Dagster
        # step process at exit until they timed out, five minutes later.
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(forecast_one, *args))
    else:
        results = list(map(forecast_one, *args))
    forecasts = pd.concat([r["forecast"] for r in results], ignore_index=True) if results else pd.DataFrame(
        columns=["service", "metric", "timestamp", "mean", "model"])
    flagged = [r["anomalies"] for r in results if len(r["anomalies"])]
    anomalies = pd.concat(flagged, ignore_index=True) if flagged else empty_anomalies().assign(service="", metric="")
    anomalies = anomalies[["service", "metric", "timestamp", "value", "expected", "lo", "hi", "deviation"]]
    services = sorted({s for s, _ in series})
    if window is None and len(metrics):
        window = (metrics["timestamp"].min(), metrics["timestamp"].max() + pd.Timedelta(hours=1))
    risk = anomaly_risk(anomalies, services, *window) if window else pd.DataFrame(
        columns=["service", "anomaly_probability"])
    front = ["service", "metric", "timestamp"]
    return WeeklyForecasts(
        forecasts=forecasts[front + [c for c in forecasts.columns if c not in front]],
        capacity=_frame([r["capacity"] for r in results if r["capacity"]], CAPACITY_COLUMNS),
        patterns=_frame([r["pattern"] for r in results], PATTERN_COLUMNS),
        skill=_frame([r["skill"] for r in results], SKILL_COLUMNS),
        risk=risk, metric_anomalies=anomalies, warn_probability=capacity.warn_probability)
