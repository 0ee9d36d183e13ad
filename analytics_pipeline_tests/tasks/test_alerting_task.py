"""``analytics-pipeline cluster-alerts`` on what ``analytics-pipeline detect`` wrote, in process and
as a real process; bad input gets a clear error."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analytics_pipeline.cli import main as cli_main
from analytics_pipeline.core.lifecycle.runs import model_metadata
from analytics_pipeline.core.scoring.saved_models import export_champion
from analytics_pipeline_tests.alerting_data import WEEK_START, scored_window


@pytest.fixture(scope="module")
def scored_file(tmp_path_factory) -> Path:
    """The last week's logs scored by ``detect`` with the exported model."""
    root = tmp_path_factory.mktemp("cluster_alerts")
    window = scored_window()
    saved = root / "saved_models"
    export_champion(window.trained.pipeline, 1, model_metadata(window.trained, {}), saved)
    week = window.logs[window.logs["timestamp"] >= pd.Timestamp(WEEK_START)]
    logs = root / "week.jsonl"
    with open(logs, "w") as out:
        for row in week[["log_id", "timestamp", "level", "service", "message", "response_time", "status_code"]] \
                .to_dict("records"):
            row["timestamp"] = row["timestamp"].isoformat()
            out.write(json.dumps({k: v for k, v in row.items() if v == v}) + "\n")
    scored = root / "scored.jsonl"
    assert cli_main(["detect", str(logs), "--output", str(scored), "--model-path", str(saved)]) == 0
    return scored


def test_each_anomaly_gets_its_alert_and_incident_and_the_incidents_are_printed(scored_file, tmp_path, capsys):
    capsys.readouterr()
    out = tmp_path / "clusters.jsonl"
    assert cli_main(["cluster-alerts", str(scored_file), "--output", str(out), "--top", "3"]) == 0
    printed = capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    flagged = sum(json.loads(line)["is_anomaly"] for line in scored_file.read_text().splitlines())
    assert len(rows) == flagged > 0
    assert all(r["alert_id"].startswith("al-") for r in rows)
    incidents = {r["cluster_id"] for r in rows if r["cluster_id"]}
    assert incidents
    assert f"{flagged:,} anomalies ->" in printed and "Incidents, most urgent first (3 of" in printed
    assert "root cause" in printed and "why:" in printed and "services:" in printed
    shown = [c for c in incidents if c in printed]
    assert len(shown) == 3


def test_a_real_process_with_another_algorithm(scored_file):
    exe = Path(sys.executable).parent / "analytics-pipeline"
    done = subprocess.run([str(exe), "cluster-alerts", str(scored_file), "--algorithm", "kmeans"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "(kmeans)" in done.stdout and "incidents (compression" in done.stdout


def test_files_that_are_not_scored_output_get_a_clear_error(tmp_path, capsys):
    raw = tmp_path / "raw.jsonl"
    raw.write_text(json.dumps({"timestamp": "2026-11-09T10:00:00Z", "service": "a", "message": "m"}) + "\n")
    assert cli_main(["cluster-alerts", str(raw)]) == 2
    assert "no is_anomaly field" in capsys.readouterr().err
    assert cli_main(["cluster-alerts", str(tmp_path / "missing.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["cluster-alerts", str(raw), "--algorithm", "optics"])
