"""Incidents from alerts, with each algorithm: separate incidents stay apart, a cascade stays
together with its origin as root cause, edge cases give sensible answers."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from analytics_pipeline.core.alerting.clustering import (
    DBSCANAlertClusterer, HierarchicalAlertClusterer, KMeansAlertClusterer, RuleBasedAlertClusterer, make_clusterer,
)
from analytics_pipeline.core.alerting.config import ALGORITHMS, AlertIntelligenceConfig
from analytics_pipeline.core.alerting.priority import escalation, priority_label
from analytics_pipeline.core.alerting.triage import triage
from analytics_pipeline_tests.core.alerting.scenarios import burst, cascade, frame, unrelated_pair


def _config(algorithm: str, **overrides) -> AlertIntelligenceConfig:
    return AlertIntelligenceConfig(clustering_algorithm=algorithm, **overrides)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_two_simultaneous_unrelated_incidents_stay_apart(algorithm):
    report = triage(frame(*unrelated_pair()), _config(algorithm)).report
    assert sorted(i.services for i in report.incidents) == [("notification-service",), ("search-service",)]
    assert {i.cluster_type for i in report.incidents} == {"single_service"}
    assert report.alerts["cluster_id"].notna().all()
    assert report.compression == pytest.approx(1 - 2 / 80)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_cascade_is_one_incident_whose_root_cause_is_where_it_began(algorithm):
    report = triage(frame(*cascade(), *unrelated_pair(start=300)), _config(algorithm)).report
    assert len(report.incidents) == 3
    big = max(report.incidents, key=lambda i: len(i.services))
    assert set(big.services) == {"db-postgres", "order-service", "payment-service", "api-gateway"}
    assert big.cluster_type == "cascade" and big.root_cause == "db-postgres" and big.confidence > 0.55
    top = big.root_cause_candidates[0]
    assert top.evidence[0].startswith("failed first") and "named in the messages of 2 of 3" in top.evidence[1]
    assert top.first_signal.startswith("Connection pool exhausted for db-postgres")
    assert big.impact_assessment.startswith("db-postgres failed and 3 more services")
    assert "200 anomalous logs" in big.impact_assessment
    assert big.priority == priority_label(big.priority_score) and big.escalation.level == 0


def test_a_silent_service_named_by_all_callers_is_a_candidate():
    callers = [burst(s, k, 20, 30, ["Giving up on db-postgres after 3 retries: deadline exceeded after {n}ms"], seed=k)
               for k, s in enumerate(("order-service", "payment-service", "user-service"))]
    report = triage(frame(*callers, quiet=("db-postgres",))).report
    assert len(report.incidents) == 1  # the callers are related: they all name the same service
    incident = report.incidents[0]
    named = incident.root_cause_candidates[0]
    assert named.service == "db-postgres" == incident.root_cause
    assert named.first_alert_time is None and "raised no alert of its own" in named.evidence[0]
    assert "named in the messages of 3 of 3 other services" in named.evidence[1]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_an_empty_week_has_no_alerts_and_no_incidents(algorithm):
    result = triage(frame(), _config(algorithm))
    assert len(result.report.alerts) == 0 and result.report.incidents == ()
    assert result.report.compression is None and result.batch.normal == 1


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_a_single_anomaly_is_an_alert_not_an_incident(algorithm):
    result = triage(frame(burst("payment-service", 0, 1, 1, ["OutOfMemoryError: killed (exit code 137)"])),
                    _config(algorithm))
    assert len(result.report.alerts) == 1 and result.report.incidents == ()
    assert result.assignments()["cluster_id"].isna().all()


def test_min_samples_is_the_severity_weight_an_incident_needs():
    three_high = frame(burst("a", 0, 3, 3, ["Slow query took {n}ms"], severity="high"))
    assert triage(three_high).report.incidents == ()  # 3 x 0.5 < 2
    incidents = triage(three_high, AlertIntelligenceConfig(clustering_min_samples=1)).report.incidents
    assert len(incidents) == 1 and incidents[0].anomaly_count == 3


def test_alerts_far_apart_in_time_are_separate_incidents():
    report = triage(frame(burst("a", 0, 10, 20, ["boom {n}"]), burst("a", 60, 10, 20, ["boom {n}"]))).report
    assert len(report.incidents) == 2


def test_escalation_rises_with_time_open():
    long = frame(burst("auth-service", 0, 150, 300, ["GC pause of {n}ms on auth-1"], anomaly_type="memory_leak"))
    incident = triage(long).report.incidents[0]
    assert incident.duration_minutes > 120 and incident.escalation.level == 2
    assert incident.escalation.notify == "engineering manager"
    assert escalation(500, 60).level == 3 and escalation(59, 60).level == 0


def test_priority_factors_weigh_what_the_config_says():
    rows = frame(*cascade())
    severity_only = triage(rows, AlertIntelligenceConfig(priority_factors={"severity": 1.0})).report.incidents[0]
    assert severity_only.priority_score == 100.0 and severity_only.priority == "P1"
    duration_only = triage(rows, AlertIntelligenceConfig(priority_factors={"duration": 1.0})).report.incidents[0]
    assert duration_only.priority_score == pytest.approx(100 * duration_only.duration_minutes / 120, abs=0.1)


def test_rerunning_gives_the_same_ids():
    rows = frame(*cascade(), *unrelated_pair(start=120))
    first, second = triage(rows).report, triage(rows.sample(frac=1, random_state=1)).report
    assert [i.cluster_id for i in first.incidents] == [i.cluster_id for i in second.incidents]
    assert list(first.alerts["alert_id"]) == list(second.alerts["alert_id"])


@pytest.mark.parametrize("cls", [DBSCANAlertClusterer, HierarchicalAlertClusterer, KMeansAlertClusterer,
                                 RuleBasedAlertClusterer])
def test_clusterers_follow_the_estimator_contract(cls):
    estimator = cls()
    assert clone(estimator).get_params() == estimator.get_params()
    assert isinstance(make_clusterer(_config(estimator_name(cls))), cls)


def estimator_name(cls) -> str:
    return {DBSCANAlertClusterer: "dbscan", HierarchicalAlertClusterer: "hierarchical",
            KMeansAlertClusterer: "kmeans", RuleBasedAlertClusterer: "rule_based"}[cls]


@pytest.mark.parametrize("bad, message", [
    ({"clustering_algorithm": "optics"}, "clustering_algorithm"),
    ({"clustering_eps": 1.5}, "clustering_eps"),
    ({"clustering_min_samples": 0}, "clustering_min_samples"),
    ({"correlation_window_minutes": float("nan")}, "correlation_window_minutes"),
    ({"priority_factors": {"severity": 1, "colour": 2}}, "unknown priority factor"),
    ({"priority_factors": {"severity": -1}}, "must be a number >= 0"),
    ({"priority_factors": {"severity": 0}}, "at least one factor"),
    ({"significance_level": 0}, "significance_level"),
])
def test_bad_configuration_is_named(bad, message):
    with pytest.raises(ValueError, match=message):
        AlertIntelligenceConfig(**bad)


def test_weights_in_the_clusterers_matter():
    """DBSCAN needs weight: eight low-severity anomalies in a row are not an incident, eight
    critical ones are."""
    for severity, expected in (("low", 0), ("critical", 1)):
        rows = frame(burst("a", 0, 8, 8, ["Slow request took {n}ms"], severity=severity))
        assert len(triage(rows).report.incidents) == expected
    assert np.isclose(AlertIntelligenceConfig().significance_level, 0.001)
