"""The forecast-driven rules end to end: a synthetic window's logs become service metrics, the
metrics become forecasts (core.forecasting), and the forecasts become recommendations. Traffic
ramping towards a known capacity for two weeks gives a capacity_scaling recommendation for that
service, latency creeping for two weeks a performance_tuning one; a calm window gives neither."""
from __future__ import annotations

from datetime import timedelta

import pytest

from analytics_pipeline.core.forecasting.config import DEFAULT_THRESHOLDS, CapacityConfig
from analytics_pipeline.core.forecasting.weekly import forecast_week
from analytics_pipeline.core.metrics.series import service_metrics
from analytics_pipeline.core.reporting.engine import recommend
from analytics_pipeline.core.reporting.evidence import read_week
from analytics_pipeline.core.scoring.health import health_summary
from analytics_pipeline_tests.reporting_data import CREEPING, END, RAMPED, START, WEEK, scenario

WINDOW = (START - timedelta(days=21), END)


def _capacity_for(metrics) -> CapacityConfig:
    """The capacity a planner would have set: 1.3x the ramped service's busiest hour before its growth."""
    before = metrics[(metrics["service"] == RAMPED) & (metrics["metric"] == "volume")
                     & (metrics["timestamp"] < START - timedelta(days=14))]
    return CapacityConfig(thresholds={**DEFAULT_THRESHOLDS, "volume": 1.3 * float(before["value"].max())})


@pytest.mark.parametrize("cause", ["growth", "calm"])
def test_forecasts_drive_capacity_and_performance_recommendations(mongo_db, cause):
    data = scenario(cause)
    metrics = service_metrics(data.logs, *WINDOW)
    forecasts = forecast_week(metrics, capacity=_capacity_for(metrics))
    data.store(mongo_db)
    week = read_week(mongo_db, WEEK, data.logs, capacity=forecasts.capacity, patterns=forecasts.patterns,
                     health=health_summary(data.week(data.scored)))
    recs = recommend(week)
    scaling = [r for r in recs if r.category == "capacity_scaling"]
    tuning = [r for r in recs if r.category == "performance_tuning"]
    if cause == "calm":
        assert not scaling and not tuning, [r.title for r in recs]
        return
    assert [r.component for r in scaling] == [RAMPED] and "volume" in scaling[0].title, [r.title for r in recs]
    assert any("P(crossing)" in e for e in scaling[0].evidence)
    assert CREEPING in [r.component for r in tuning], [r.title for r in recs]
    creeping = next(r for r in tuning if r.component == CREEPING)
    assert "latency" in creeping.title and creeping.metrics
