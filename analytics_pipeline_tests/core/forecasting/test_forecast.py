"""Forecasts on the series that break naive code: too short, constant, all zero, gappy, shifted;
and interval coverage on a process whose truth is known."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics_pipeline.core.forecasting.capacity import crossing
from analytics_pipeline.core.forecasting.config import CapacityConfig, ForecastConfig
from analytics_pipeline.core.forecasting.anomalies import metric_anomalies
from analytics_pipeline.core.forecasting.forecast import NOT_ENOUGH_HISTORY, forecast_series

BAND_COLUMNS = ["mean", "lo_80", "hi_80", "lo_95", "hi_95"]


def _hourly(values, start="2026-10-01") -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), pd.date_range(start, periods=len(values), freq="h", tz="UTC"))


def _seasonal(n: int, seed: int = 0, noise: float = 5.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + 30 * np.sin(2 * np.pi * t / 24) + rng.normal(0, noise, n)


def _finite(result) -> None:
    assert len(result.forecast) and np.isfinite(result.forecast[BAND_COLUMNS].to_numpy()).all()


@pytest.mark.parametrize("values", [[], [5.0], [5.0, 7.0], [np.nan] * 10])
def test_too_short_series_give_a_clear_result_not_an_error(values):
    result = forecast_series(_hourly(values))
    assert result.note.startswith(NOT_ENOUGH_HISTORY)
    _finite(result)
    assert len(result.forecast) == 168


def test_a_day_of_history_gets_seasonal_naive_with_a_note():
    result = forecast_series(_hourly(_seasonal(40)))
    assert result.model == "seasonal_naive" and NOT_ENOUGH_HISTORY in result.note
    _finite(result)


@pytest.mark.parametrize("value", [0.0, 42.0])
def test_constant_and_all_zero_series_carry_their_value_forward(value):
    result = forecast_series(_hourly(np.full(720, value)))
    _finite(result)
    assert (result.forecast["mean"] == value).all() and (result.forecast["hi_95"] == value).all()
    assert "constant" in result.note


def test_gaps_are_forecast_around_and_never_counted_as_values():
    values = _seasonal(720)
    values[100:130] = np.nan
    values[5::17] = np.nan
    series = _hourly(values).dropna()  # missing rows, not only NaN values
    result = forecast_series(series)
    _finite(result)
    assert len(result.history.series) == (series.index[-1] - series.index[0]) / pd.Timedelta(hours=1) + 1 and result.history.observed.sum() == series.notna().sum()
    assert result.model != "seasonal_naive" and result.mase < result.naive_mase


def test_a_level_shift_moves_the_forecast_to_the_new_level():
    values = _seasonal(720)
    values[600:] += 200
    result = forecast_series(_hourly(values))
    _finite(result)
    assert result.forecast["mean"].mean() == pytest.approx(300, abs=30)


def test_interval_coverage_on_a_known_process():
    """Daily season plus AR(1) noise: the calibrated bands cover their nominal share of the truth."""
    hits = {"80": [], "95": []}
    for seed in range(6):
        rng = np.random.default_rng(seed)
        noise = np.zeros(720 + 168)
        for t in range(1, len(noise)):
            noise[t] = 0.6 * noise[t - 1] + rng.normal(0, 4)
        t = np.arange(len(noise))
        values = 100 + 30 * np.sin(2 * np.pi * t / 24) + noise
        result = forecast_series(_hourly(values[:720]))
        truth = values[720:]
        for level in hits:
            lo, hi = result.forecast[f"lo_{level}"].to_numpy(), result.forecast[f"hi_{level}"].to_numpy()
            hits[level].append(np.mean((truth >= lo) & (truth <= hi)))
        assert 0.85 <= result.coverage[0.95] <= 1.0
    assert 0.70 <= np.median(hits["80"]) <= 0.92
    assert 0.88 <= np.median(hits["95"]) <= 1.0


def test_the_horizon_and_the_series_frequency_are_respected():
    series = pd.Series(_seasonal(288 * 4), pd.date_range("2026-10-01", periods=288 * 4, freq="5min", tz="UTC"))
    result = forecast_series(series, ForecastConfig(horizon=36))
    assert len(result.forecast) == 36 and result.history.period == 288
    assert result.forecast["timestamp"].iloc[0] == series.index[-1] + pd.Timedelta(minutes=5)


def test_metric_anomalies_flag_a_spike_with_its_band():
    values = _seasonal(720, noise=2.0)
    values[500] += 80
    flagged = metric_anomalies(_hourly(values))
    assert pd.Timestamp("2026-10-01", tz="UTC") + pd.Timedelta(hours=500) in set(flagged["timestamp"])
    row = flagged.iloc[0]
    assert row["lo"] < row["expected"] < row["hi"] and abs(row["deviation"]) > 3
    assert len(flagged) <= 6  # 99.8% band: about 2 normal points in 1,000


def test_the_band_narrows_in_a_calm_stretch_of_a_series_with_noisy_ones():
    # A week of heavy noise inflates the series' sigma; a drop of 20 in a calm stretch (noise 1)
    # is an anomaly there, the same drop in the noisy week is not.
    rng = np.random.default_rng(3)
    noise = np.where((np.arange(720) >= 120) & (np.arange(720) < 300), 15.0, 1.0)
    values = 100 + 30 * np.sin(2 * np.pi * np.arange(720) / 24) + rng.normal(0, 1, 720) * noise
    values[600] -= 20
    values[200] -= 20
    flagged = set(metric_anomalies(_hourly(values))["timestamp"])
    at = lambda hour: pd.Timestamp("2026-10-01", tz="UTC") + pd.Timedelta(hours=hour)  # noqa: E731
    assert at(600) in flagged and at(200) not in flagged


@pytest.mark.parametrize("seed", range(4))
def test_the_default_band_flags_few_normal_points(seed):
    flagged = metric_anomalies(_hourly(_seasonal(720, seed=seed)))
    assert len(flagged) <= 5  # 99.8%: about 1.4 expected in 720 Gaussian points


def test_crossing_probability_follows_the_distribution_not_the_mean():
    stamps = pd.date_range("2026-11-01", periods=100, freq="h", tz="UTC")
    frame = pd.DataFrame({"timestamp": stamps, "mean": np.linspace(0, 100, 100)})
    sigma = np.full(100, 5.0)
    assert crossing(frame, sigma, 200.0, 0.0).probability == 0.0
    sure = crossing(frame, sigma, 50.0, 0.0)
    assert sure.probability == 1.0 and stamps[40] <= sure.first_crossing <= stamps[60]
    edge = crossing(frame, sigma, 100.0, 0.0)  # the mean only touches it at the end
    assert 0.3 < edge.probability < 0.9
    assert crossing(frame, sigma, 10.0, 20.0).first_crossing == stamps[0]  # already above


def test_an_objective_over_a_day_ignores_noisy_hours_but_sees_a_rising_day():
    # A small service: 2% errors on average, single hours up to 8% (2 errors in 25 logs).
    stamps = pd.date_range("2026-11-01", periods=168, freq="h", tz="UTC")
    flat = pd.DataFrame({"timestamp": stamps, "mean": np.full(168, 0.02)})
    sigma, recent = np.full(168, 0.03), np.tile([0.0, 0.0, 0.08, 0.0], 6)[:23]
    hourly = crossing(flat, sigma, 0.05, 0.0)
    daily = crossing(flat, sigma, 0.05, 0.02, recent=recent)
    assert hourly.probability > 0.5 and daily.probability < 0.05
    rising = pd.DataFrame({"timestamp": stamps, "mean": np.linspace(0.02, 0.09, 168)})
    warned = crossing(rising, sigma, 0.05, 0.02, recent=recent)
    assert warned.probability > 0.9 and stamps[60] <= warned.first_crossing <= stamps[140]


def test_capacity_config_windows_error_share_by_the_day():
    config = CapacityConfig()
    assert config.objective_steps("error_share", pd.Timedelta(hours=1)) == 24
    assert config.objective_steps("latency_p95", pd.Timedelta(hours=1)) == 1
    assert config.objective_steps("error_share", pd.Timedelta(days=2)) == 1
