"""`make demo`'s Python side: seed when empty, run the week, print the summary; twice, no duplicates."""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pymongo
import pytest

from analytics_pipeline.core.logs.windows import latest_complete_week
from analytics_pipeline.tasks.demo import run_demo


@pytest.fixture
def demo_env(mongo_server, tmp_path, monkeypatch):
    monkeypatch.setenv("MONGODB_DATABASE", "demo_" + uuid.uuid4().hex[:8])
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    monkeypatch.setenv("SAVED_MODELS_DIR", str(tmp_path / "saved_models"))
    client = pymongo.MongoClient(mongo_server.uri)
    yield client[os.environ["MONGODB_DATABASE"]]
    client.drop_database(os.environ["MONGODB_DATABASE"])


def test_demo_twice_seeds_once_and_duplicates_nothing(demo_env, capsys):
    assert run_demo(logs_per_minute=0.5) == 0
    out, err = capsys.readouterr()
    assert re.search(r"✓ seed +[\d,]+ synthetic logs over 35 days", out)
    assert "PROMOTED v1" in out and "Strongest anomaly of each kind" in out and "make mlflow-ui" in out
    # One line per step with its duration; Dagster's events and MLflow's notices go to the log file.
    for step in ("raw_logs", "log_features", "anomaly_model", "champion_model", "scored_logs", "anomalies",
                 "alerts", "alert_clusters", "service_metrics", "forecasts", "drift_report", "optimization_report"):
        assert re.search(rf"✓ {step} +\S.* \d+(\.\d)?s$", out, re.MULTILINE), step
    # The report's summary carries the forecasts' capacity warnings (or says there are none).
    assert re.search(r"^  Capacity: (no forecast likely to cross capacity|\S+ \S+ \d+% likely to cross)", out, re.M), out
    assert "DEBUG" not in out + err and "Downloading artifacts" not in out + err and "mlflow" not in err
    log_file = Path(re.search(r"Dagster event log: (\S+)", out).group(1))
    assert log_file.parent == Path(os.environ["DAGSTER_HOME"]) / "logs" and "STEP_SUCCESS" in log_file.read_text()
    assert len(out.splitlines()) <= 50 and re.search(r"Total time \d", out), f"{len(out.splitlines())} lines:\n{out}"
    week = latest_complete_week()
    # The weekly report in brief (the step lines above give drift, the incident list the incidents):
    # health, capacity, the seeded causes' recommendations.
    report = out[out.index("Weekly report "):]
    for line in ("Health: ", "Capacity: ", "Recommendations: ", "confidence "):
        assert line in report, line
    # the seeded pool exhaustion is recommended on (the noisy service's alerts are too few at 0.5 logs/min)
    recommendations = list(demo_env["reports"].find({"kind": "recommendation", "partition": week}))
    assert {(r["category"], r["component"]) for r in recommendations} >= {("resource_allocation", "order-service")}
    html = Path(re.search(r"HTML report: (\S+)", report).group(1))
    assert html.is_file() and html.read_text().startswith("<!DOCTYPE html>")
    logs, week = demo_env["logs"].count_documents({}), latest_complete_week()
    anomalies = demo_env["anomalies"].count_documents({"partition": week})
    assert logs > 10_000 and anomalies > 0
    assert anomalies == _reported_anomalies(out)
    assert run_demo(logs_per_minute=0.5) == 0
    second = capsys.readouterr().out
    assert "not seeding" in second
    # The same week again: the challenger is no better, which is news for the run, not a failure.
    assert re.search(r"^  ! champion_model +check challenger_passed_gate did not pass \(warning\)$", second, re.M), second
    assert "kept champion v1" in second and "FAILED" not in second
    assert demo_env["logs"].count_documents({}) == logs
    # The second run's anomalies replaced the first run's: exactly what it reports, nothing more.
    assert demo_env["anomalies"].count_documents({}) == _reported_anomalies(second)


def _reported_anomalies(out: str) -> int:
    match = re.search(r"scored_logs .*?: ([\d,]+) anomalies", out)
    assert match, out[-2000:]
    return int(match.group(1).replace(",", ""))
