"""Patterns (trend with its test, volatility, periodicity, insights) and anomaly risk on known series."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics_pipeline.core.forecasting.forecast import forecast_series
from analytics_pipeline.core.forecasting.patterns import detect_pattern, insights
from analytics_pipeline.core.forecasting.regular import regularize
from analytics_pipeline.core.forecasting.risk import anomaly_risk, brier_score

INDEX = pd.date_range("2026-10-01", periods=720, freq="h", tz="UTC")


def _series(values) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), INDEX)


def test_a_rising_error_share_is_trending_up_with_a_significant_slope_and_says_so():
    rng = np.random.default_rng(0)
    values = np.clip(0.01 + 0.004 * np.arange(720) / 24 + rng.normal(0, 0.005, 720), 0, 1)
    reg = regularize(_series(values))
    pattern = detect_pattern(reg)
    assert (pattern.pattern, pattern.direction) == ("trending", "up") and pattern.p_value < 0.01
    assert abs(pattern.slope_per_day - 0.004) < 0.001
    text = insights("api error share", "error_share", pattern, reg.series, forecast_series(reg.series).forecast)
    assert text.startswith("api error share rising 0.4 points a day since") and "next peak" in text


def test_a_ramp_that_began_days_ago_is_found_and_dated_not_averaged_over_the_month():
    # Flat traffic for 25 days, then 8% more a day: over the month a gentle slope, in fact a ramp.
    rng = np.random.default_rng(2)
    t = np.arange(720)
    ramp = np.maximum(t / 24 - 25, 0) * 0.08 * 1000
    values = 1000 + 300 * np.sin(2 * np.pi * t / 24) + ramp + rng.normal(0, 40, 720)
    pattern = detect_pattern(regularize(_series(values)))
    assert (pattern.pattern, pattern.direction) == ("trending", "up")
    assert abs(pattern.slope_per_day - 80) < 15
    assert abs(pattern.since - INDEX[0] - pd.Timedelta(days=25)) <= pd.Timedelta(days=1)


def test_one_bad_day_at_the_end_is_not_a_trend():
    rng = np.random.default_rng(4)
    values = 100 + rng.normal(0, 5, 720)
    values[-24:] += 30
    assert detect_pattern(regularize(_series(values))).pattern != "trending"


def test_daily_cycles_are_found_and_noise_is_volatile_not_trending():
    rng = np.random.default_rng(1)
    t = np.arange(720)
    seasonal = detect_pattern(regularize(_series(100 + 40 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 3, 720))))
    assert seasonal.pattern == "stable" and seasonal.periodicity == "daily" and seasonal.strength > 0.8
    noisy = detect_pattern(regularize(_series(np.abs(rng.standard_cauchy(720)) * 10 + 1)))
    assert noisy.pattern == "volatile" and noisy.periodicity == "none"
    flat = detect_pattern(regularize(_series(np.full(720, 3.0))))
    assert (flat.pattern, flat.periodicity) == ("stable", "none")


def test_anomaly_risk_follows_how_often_a_service_had_anomalies():
    start, end = pd.Timestamp("2026-10-01", tz="UTC"), pd.Timestamp("2026-10-31", tz="UTC")
    every_day = pd.DataFrame({"service": "noisy", "timestamp": pd.date_range(start, end, freq="D", inclusive="left")})
    once = pd.DataFrame({"service": ["rare"], "timestamp": [start + pd.Timedelta(days=3)]})
    risk = anomaly_risk(pd.concat([every_day, once]), ["noisy", "rare", "quiet"], start, end).set_index("service")
    p = risk["anomaly_probability"]
    assert p["noisy"] > 0.85 and p["noisy"] > p["rare"] > p["quiet"] > 0 and p.between(0, 1).all()
    assert anomaly_risk(every_day.iloc[:0], ["a"], start, end)["anomaly_probability"].tolist() == [0.0]
    assert brier_score(np.array([1.0, 0.0]), np.array([1, 0])) == (0.0, 0.25)


def test_anomaly_risk_gives_the_fleet_rate_when_services_differ_only_by_chance():
    # Twenty services with the same 5% daily chance of an anomaly: their 30-day rates differ by
    # sampling noise alone, and a service's own rate would only add that noise to its forecast.
    # Over 20 such fleets, the estimated shrinkage removes most of the spread (a fixed prior of
    # 4 weeks keeps about half of it).
    start, end = pd.Timestamp("2026-10-01", tz="UTC"), pd.Timestamp("2026-10-31", tz="UTC")
    days = pd.date_range(start, end, freq="D", inclusive="left")
    services = [f"s{i}" for i in range(20)]
    kept = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        flags = pd.DataFrame([{"service": s, "timestamp": d} for s in services for d in days if rng.random() < 0.05])
        own = anomaly_risk(flags, services, start, end, prior_weeks=0.0)["anomaly_probability"]
        risk = anomaly_risk(flags, services, start, end)["anomaly_probability"]
        assert own.std() > 0.1 and abs(risk.mean() - own.mean()) < 0.01
        kept.append(risk.std() / own.std())
    assert np.median(kept) < 0.25, kept
