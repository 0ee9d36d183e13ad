"""Recommendations from synthetic weeks stored in a real MongoDB-protocol server: each cause brings
its recommendation, a calm week at most one; capacity and latency trends from forecast frames."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pandas as pd
import pytest

from analytics_pipeline.core.reporting.engine import build_report, recommend
from analytics_pipeline.core.reporting.evidence import GateMetrics, read_week
from analytics_pipeline.core.reporting.recommendations import CATEGORIES, OptimizationEngineConfig
from analytics_pipeline.core.reporting.rules_file import RulesFileError, load_rules
from analytics_pipeline.core.scoring.health import health_summary
from analytics_pipeline_tests.reporting_data import END, MIXED, NOISY, POOLED, START, WEEK, scenario


def _week(db, cause: str, **extra):
    data = scenario(cause)
    data.store(db)
    drift = data.drift() if cause in ("calm", "log_mix") else None
    return read_week(db, WEEK, data.logs, drift=drift, health=health_summary(data.week(data.scored)), **extra)


def _fields_are_filled(rec) -> None:
    assert rec.category in CATEGORIES and rec.id.startswith(f"rec-{WEEK}-")
    assert rec.title and rec.description and rec.current_value and rec.recommended_value
    assert rec.implementation_steps and rec.evidence and rec.metrics
    assert 0 <= rec.confidence <= 1 and rec.expected_improvement > 0
    assert rec.expires_at - rec.created_at == timedelta(hours=168)


def test_a_calm_week_gives_at_most_one_recommendation(mongo_db):
    report = build_report(_week(mongo_db, "calm"))
    assert len(report.recommendations) <= 1, [r.title for r in report.recommendations]
    assert report.drift.verdict == "none" and report.logs > 20_000 and report.health["overall"]["health_score"] > 0


def test_a_noisy_service_gets_a_backtested_alert_threshold(mongo_db):
    recs = recommend(_week(mongo_db, "noisy_service"))
    noisy = [r for r in recs if r.category == "alert_thresholds"]
    assert [r.component for r in noisy] == [NOISY]
    rec = noisy[0]
    _fields_are_filled(rec)
    assert rec.metrics["suppressed"] > 0 and rec.metrics["incident_logs_kept"] >= 0.95
    assert "suppressed" in rec.description and "backtest" in rec.evidence[1]
    assert not [r for r in recommend(_week(mongo_db, "calm")) if r.category == "alert_thresholds"]


def test_repeated_pool_exhaustion_asks_for_a_bigger_pool(mongo_db):
    recs = [r for r in recommend(_week(mongo_db, "pool_exhaustion")) if r.category == "resource_allocation"]
    assert [r.component for r in recs] == [POOLED]
    rec = recs[0]
    _fields_are_filled(rec)
    assert rec.metrics["episodes"] == 5 and "pool of 20" in rec.current_value
    assert int(rec.recommended_value.split()[2]) > 20  # room for the peak of waiting requests


def test_a_log_mix_shift_recommends_retraining_with_the_drifted_features_as_evidence(mongo_db):
    gate = GateMetrics(1, {"precision": 0.8, "recall": 0.7, "f1": 0.75, "roc_auc": 0.9}, 2, {}, "auto")
    recs = recommend(_week(mongo_db, "log_mix", gate=gate))
    retrain = [r for r in recs if r.category == "configuration_tuning"]
    assert len(retrain) == 1 and retrain[0].component == "detector"
    _fields_are_filled(retrain[0])
    assert any(f"service_{MIXED}" in e for e in retrain[0].evidence)
    assert any("champion v1 holdout: precision 0.800" in e for e in retrain[0].evidence)


def test_a_fixed_contamination_that_flags_far_more_than_the_incidents_is_questioned(mongo_db):
    gate = GateMetrics(1, {"precision": 0.2, "f1": 0.3}, 1, {}, "0.1")
    week = _week(mongo_db, "calm", gate=gate)
    flagged = week.anomalies.sample(frac=1.0, replace=True, random_state=0)
    many = replace(week, anomalies=pd.concat([flagged] * 4, ignore_index=True))
    recs = [r for r in recommend(many) if r.category == "configuration_tuning"]
    assert len(recs) == 1 and "contamination=0.1" == recs[0].current_value
    assert any("observed anomaly share" in e for e in recs[0].evidence)
    assert not [r for r in recommend(replace(week, gate=None))
                if r.category == "configuration_tuning"]


def _forecasts(crossing: float, trend_p: float):
    capacity = pd.DataFrame([
        {"service": "api-gateway", "metric": "volume", "threshold": 1000.0, "probability": crossing,
         "first_crossing": pd.Timestamp(END) + timedelta(days=3), "forecast_peak": 1300.0, "current": 800.0,
         "model": "holt_winters"},
        {"service": "user-service", "metric": "volume", "threshold": 1000.0, "probability": 0.9,
         "first_crossing": pd.Timestamp(END) + timedelta(days=30), "forecast_peak": 1300.0, "current": 800.0,
         "model": "holt_winters"},  # beyond the 168 h horizon
        {"service": "order-service", "metric": "error_share", "threshold": 0.05, "probability": 1.0,
         "first_crossing": pd.Timestamp(END), "forecast_peak": 0.08, "current": 0.07,
         "model": "seasonal_profile"},  # a reliability matter, not one more replicas fix
    ])
    patterns = pd.DataFrame([
        {"service": "payment-service", "metric": m, "pattern": "trending", "direction": "up", "slope_per_day": s,
         "p_value": trend_p, "periodicity": None, "strength": 0.8, "insight": "latency creeps up"}
        for m, s in (("latency_p95", 120.0), ("latency_p50", 20.0))
    ] + [{"service": "search-service", "metric": "latency_p95", "pattern": "stable", "direction": None,
          "slope_per_day": 0.1, "p_value": 0.6, "periodicity": 24, "strength": 0.1, "insight": ""}])
    return capacity, patterns


def test_capacity_and_latency_trends_come_from_the_forecasts(mongo_db):
    capacity, patterns = _forecasts(0.85, 1e-6)
    report = build_report(_week(mongo_db, "calm", capacity=capacity, patterns=patterns))
    by_category = {r.category: r for r in report.recommendations}
    scale = by_category["capacity_scaling"]
    assert [r.component for r in report.recommendations if r.category == "capacity_scaling"] == ["api-gateway"]
    assert scale.component == "api-gateway" and scale.confidence == pytest.approx(0.85)
    assert "P(crossing) 85%" in " ".join(scale.evidence) and "1,560" in scale.recommended_value
    perf = [r for r in report.recommendations if r.category == "performance_tuning"]
    assert [r.component for r in perf] == ["payment-service"] and "latency_p95" in perf[0].title
    assert list(report.capacity_warnings["service"]) == ["order-service", "user-service", "api-gateway"]  # most likely first
    unlikely, flat = _forecasts(0.2, 0.3)
    quiet = recommend(_week(mongo_db, "calm", capacity=unlikely, patterns=flat))
    assert not [r for r in quiet if r.category in ("capacity_scaling", "performance_tuning")]
    with pytest.raises(ValueError, match="capacity frame lacks columns"):
        recommend(_week(mongo_db, "calm", capacity=capacity.drop(columns="probability")))


def test_the_engine_config_filters_and_orders(mongo_db):
    capacity, patterns = _forecasts(0.85, 1e-6)
    week = _week(mongo_db, "calm", capacity=capacity, patterns=patterns)
    everything = recommend(week)
    assert [r.priority_score for r in everything] == sorted((r.priority_score for r in everything), reverse=True)
    assert not recommend(week, OptimizationEngineConfig(min_confidence_threshold=0.99))
    only = recommend(week, OptimizationEngineConfig(enabled_categories=("performance_tuning",)))
    assert {r.category for r in only} == {"performance_tuning"}
    assert len(recommend(week, OptimizationEngineConfig(max_recommendations=1))) == 1
    assert recommend(week) == recommend(week)  # same week, same ids and figures
    with pytest.raises(ValueError, match="unknown categories"):
        OptimizationEngineConfig(enabled_categories=("magic",))


def test_a_rules_file_adds_recommendations_and_a_bad_one_is_named(mongo_db, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("""rules:
  - name: busy-gateway
    category: resource_allocation
    figure: logs
    above: 1000
    title: "{service} logged {value:.0f} logs"
    description: "more than {limit:.0f}"
    recommended_value: "split {service}"
    confidence: 0.9
""")
    recs = recommend(_week(mongo_db, "calm"), rules_path=rules)
    from_file = [r for r in recs if r.source == "rules:rules.yaml"]
    assert from_file and all(r.category == "resource_allocation" for r in from_file)
    assert "api-gateway" in {r.component for r in from_file}
    for text, message in (("rules: [{name: x}]", "missing category"),
                          ("rules:\n  - {name: x, category: nope, figure: logs, above: 1, title: t, description: d, "
                           "recommended_value: r}", "category 'nope'"),
                          ("rules:\n  - {name: x, category: system_settings, figure: logs, title: t, "
                           "description: d, recommended_value: r}", "exactly one of 'above' or 'below'"),
                          ("rules:\n  - {name: x, category: system_settings, figure: logs, above: 1, title: '{oops}', "
                           "description: d, recommended_value: r}", "bad placeholder"),
                          ("rules: [", "not valid YAML")):
        rules.write_text(text)
        with pytest.raises(RulesFileError, match=message):
            load_rules(rules)
    with pytest.raises(RulesFileError, match="cannot read rules file"):
        load_rules(tmp_path / "missing.yaml")


def test_the_default_rules_file_loads():
    assert [r.name for r in load_rules()] == ["error-share"]
    assert START < END


def test_a_latency_objective_likely_crossed_asks_for_replicas_once_per_service(mongo_db):
    def rows(peak: float) -> pd.DataFrame:
        return pd.DataFrame([{"service": "search-service", "metric": m, "threshold": t, "probability": p,
                              "first_crossing": pd.Timestamp(END) + timedelta(days=1), "forecast_peak": f * peak,
                              "current": 120.0, "model": "seasonal_profile"}
                             for m, t, p, f in (("latency_p95", 1000.0, 0.93, 1.0), ("latency_p99", 2500.0, 0.91, 2.5))])

    recs = [r for r in recommend(_week(mongo_db, "calm", capacity=rows(900.0))) if r.category == "capacity_scaling"]
    assert len(recs) == 1 and "latency_p95 crosses 1,000 (93%" in recs[0].title
    assert recs[0].recommended_value.startswith("latency_p95 under 1,000 ms")
    assert any(e.startswith("also latency_p99") for e in recs[0].evidence)
    # A noisy service whose expected level stays far below: only the bands' tails cross. Incident
    # risk, not a capacity matter: no scaling recommendation (the capacity lines still show it).
    noisy = recommend(_week(mongo_db, "calm", capacity=rows(246.0)))
    assert not [r for r in noisy if r.category == "capacity_scaling"]
