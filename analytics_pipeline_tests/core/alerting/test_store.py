"""The alerts and alert_clusters collections on the real server: atomic per partition, re-runs
replace (same ids, no duplicates), indexed for what operators ask."""
from __future__ import annotations

from analytics_pipeline.core.alerting.store import (
    ALERTS_COLLECTION, INCIDENTS_COLLECTION, read_alerts, read_incidents, write_alerts, write_incidents,
)
from analytics_pipeline.core.alerting.summaries import week_summary_lines
from analytics_pipeline.core.alerting.triage import triage
from analytics_pipeline_tests.core.alerting.scenarios import cascade, frame, unrelated_pair

WEEK = "2026-11-08"


def _store(db, rows):
    result = triage(rows)
    write_alerts(db[ALERTS_COLLECTION], result.report.alerts, WEEK)
    write_incidents(db[INCIDENTS_COLLECTION], result.report.incidents, WEEK)
    return result.report


def test_a_partition_written_twice_holds_one_copy_with_the_same_ids(mongo_db):
    rows = frame(*cascade(), *unrelated_pair(start=200))
    first = _store(mongo_db, rows)
    second = _store(mongo_db, rows.sample(frac=1, random_state=2))
    stored = read_incidents(mongo_db[INCIDENTS_COLLECTION], WEEK)
    assert [i.cluster_id for i in stored] == [i.cluster_id for i in first.incidents] == \
        [i.cluster_id for i in second.incidents]
    assert mongo_db[INCIDENTS_COLLECTION].count_documents({}) == len(first.incidents) == 3
    assert mongo_db[ALERTS_COLLECTION].count_documents({}) == len(first.alerts)
    alerts = read_alerts(mongo_db[ALERTS_COLLECTION], WEEK)
    assert sorted(alerts["alert_id"]) == sorted(first.alerts["alert_id"])
    assert alerts["first_seen"].is_monotonic_increasing and alerts["sample_messages"].map(len).min() >= 1


def test_incidents_read_back_equal_what_was_written(mongo_db):
    report = _store(mongo_db, frame(*cascade()))
    back = read_incidents(mongo_db[INCIDENTS_COLLECTION], WEEK)[0]
    original = report.incidents[0]
    assert back.root_cause == original.root_cause == "db-postgres"
    assert back.root_cause_candidates[0].evidence == original.root_cause_candidates[0].evidence
    assert back.escalation == original.escalation and back.alerts == original.alerts
    assert back.first_alert_time == original.first_alert_time and back.priority_score == original.priority_score
    doc = mongo_db[INCIDENTS_COLLECTION].find_one({"alerts": original.alerts[0]})
    assert doc["cluster_id"] == original.cluster_id and doc["root_cause"] == "db-postgres"


def test_indexes_serve_time_service_and_priority_queries(mongo_db):
    _store(mongo_db, frame(*unrelated_pair()))
    alert_indexes = mongo_db[ALERTS_COLLECTION].index_information()
    incident_indexes = mongo_db[INCIDENTS_COLLECTION].index_information()
    assert {"first_seen_-1", "service_1_first_seen_-1", "max_severity_1_first_seen_-1"} <= set(alert_indexes)
    assert alert_indexes["partition_1_write_id_1_alert_id_1"]["unique"]
    assert {"first_alert_time_-1", "services_1_first_alert_time_-1", "priority_score_-1", "alerts_1"} <= \
        set(incident_indexes)
    by_service = read_incidents(mongo_db[INCIDENTS_COLLECTION], WEEK, {"services": "search-service"})
    assert [i.services for i in by_service] == [("search-service",)]


def test_the_demo_lines_show_the_weeks_incidents(mongo_db):
    _store(mongo_db, frame(*cascade()))
    lines = week_summary_lines(mongo_db, WEEK)
    text = "\n".join(lines)
    assert "200 anomalies ->" in text and "-> 1 incidents (compression 99.5%)" in text
    assert "root cause db-postgres" in text and "\n      db-postgres, " in text and "why: " in text
    assert len(lines) == 2 + 2  # two lines an incident, so the demo fits on a screen
    empty = week_summary_lines(mongo_db, "2026-11-01")
    assert len(empty) == 1 and "0 anomalies" in empty[0]
