"""The registered champion served by `mlflow models serve`, called over real HTTP on loopback."""
from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE, ErrorCode

from analytics_pipeline.cli import main as cli_main
from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.lifecycle.runs import model_metadata
from analytics_pipeline.core.registry_names import CHAMPION, MODEL_NAME
from analytics_pipeline.core.scoring.detector import AnomalyDetector
from analytics_pipeline.core.scoring.scorer import COLUMNS
from analytics_pipeline.core.scoring.served_model import score_records_frame
from analytics_pipeline.local.processes import (
    free_port,
    group_alive,
    http_ok,
    start_process_group,
    stop_process_group,
    wait_until,
)
from analytics_pipeline.synthetic.generator import generate_logs
from analytics_pipeline.tasks.training import train_and_register
from analytics_pipeline_tests.core.scoring.samples import request_frame
from analytics_pipeline_tests.shared_data import SHARED_DATA

END = datetime(2026, 11, 15, tzinfo=timezone.utc)


@pytest.fixture(scope="module")

def champion_store(tmp_path_factory):
    """A fresh MLflow store whose champion was trained on synthetic logs."""
    root = tmp_path_factory.mktemp("serving")
    uri = f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"
    logs = generate_logs(END - timedelta(days=10), END, logs_per_minute=2, seed=3)
    out = train_and_register(logs, TrainingConfig(n_estimators=50), root / "saved_models", uri, "test")
    assert out.promotion.promoted
    return {"uri": uri, "root": root, "logs": logs}


def _post(url: str, payload: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


@pytest.fixture(scope="module")

def served(champion_store):
    port = free_port()
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "MLFLOW_TRACKING_URI": champion_store["uri"], "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    log = champion_store["root"] / "serve.log"
    proc = start_process_group([str(bin_dir / "mlflow"), "models", "serve", "-m",
                                f"models:/{MODEL_NAME}@{CHAMPION}", "--env-manager", "local",
                                "-h", "127.0.0.1", "-p", str(port)], log_path=log, env=env)
    try:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/ping") or proc.poll() is not None, 120,
                   what="mlflow models serve")
        assert proc.poll() is None, log.read_text()[-3000:]
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process_group(proc.pid)
    assert not group_alive(proc.pid)


def _records(logs, n: int) -> list[dict]:
    rows = logs.sample(n, random_state=1)[["log_id", "timestamp", "level", "service", "message", "response_time", "status_code"]]
    out = []
    for r in rows.to_dict("records"):
        r["timestamp"] = r["timestamp"].isoformat()
        out.append({k: v for k, v in r.items() if not (isinstance(v, float) and v != v)})
    return out


def test_served_model_scores_real_log_records(served, champion_store):
    records = _records(champion_store["logs"], 20)
    bgl = json.loads((SHARED_DATA / "bgl_2k.jsonl").read_text().splitlines()[0])
    records.append({k: bgl[k] for k in ("timestamp", "level", "service", "message")})
    status, body = _post(f"{served}/invocations", {"dataframe_records": records})
    assert status == 200, body
    predictions = body["predictions"]
    assert len(predictions) == len(records)
    for p in predictions:
        assert 0.0 <= p["anomaly_score"] <= 1.0
        assert p["severity"] in ("normal", "low", "medium", "high", "critical")
        assert isinstance(p["is_anomaly"], bool) and p["error"] is None
    assert predictions[0]["log_id"] == records[0]["log_id"]


def test_served_predictions_equal_the_same_records_scored_in_process(served, champion_store):
    records = _records(champion_store["logs"], 200)
    status, body = _post(f"{served}/invocations", {"dataframe_records": records})
    assert status == 200, body
    local = AnomalyDetector.from_registry(alias=CHAMPION, tracking_uri=champion_store["uri"]).detect_batch(records)
    assert len(local) == len(body["predictions"]) == 200
    for served_row, local_row in zip(body["predictions"], local):
        assert served_row["log_id"] == local_row["log_id"]
        assert served_row["anomaly_score"] == pytest.approx(local_row["anomaly_score"], abs=1e-9)
        for key in ("is_anomaly", "severity", "anomaly_type"):
            assert served_row[key] == local_row[key], key
    assert len({round(row["anomaly_score"], 6) for row in local}) > 10  # real scores, not a constant


def test_bad_records_get_a_readable_400_and_can_be_flagged_instead(served, champion_store):
    good = _records(champion_store["logs"], 2)
    bad = {**good[0], "timestamp": "not a time"}
    status, body = _post(f"{served}/invocations", {"dataframe_records": [good[1], bad]})
    assert status == 400 and "timestamp" in body.get("message", "") and "Traceback" not in json.dumps(body)
    status, body = _post(f"{served}/invocations", {"dataframe_records": [good[1], bad], "params": {"on_error": "flag"}})
    assert status == 200, body
    first, second = body["predictions"]
    assert first["error"] is None and second["error"] and "timestamp" in second["error"]
    status, body = _post(f"{served}/invocations", {"dataframe_records": [{"level": "INFO"}]})
    assert 400 <= status < 500 and "Traceback" not in json.dumps(body)
    far_future = {**good[0], "timestamp": "9999-12-31T23:59:59Z"}
    surrogate = {**good[1], "message": "bad \ud800 text"}
    status, body = _post(f"{served}/invocations", {"dataframe_records": [good[0], far_future, surrogate]})
    text = json.dumps(body)
    assert status == 400 and "Traceback" not in text and "stack_trace" not in body, body
    assert "record 1: timestamp: timestamp_out_of_range" in body["message"]
    assert "record 2: message: invalid_text" in body["message"]


def test_detect_cli_scores_a_file_offline(champion_store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", champion_store["uri"])
    source = tmp_path / "in.jsonl"
    good = _records(champion_store["logs"], 5)
    lines = [json.dumps(r) for r in good] + ["{broken", json.dumps({"level": "INFO"}),
                                             json.dumps({**good[0], "timestamp": "9999-12-31T23:59:59Z"}),
                                             '{"timestamp": "2026-11-01T00:00:00Z", "level": "INFO", "service": "a", '
                                             '"message": "x \\ud800"}']
    source.write_text("\n".join(lines) + "\n")
    out = tmp_path / "scored.jsonl"
    assert cli_main(["detect", str(source), "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 9 and sum(1 for r in rows if r.get("error")) == 4
    assert [r["error"] for r in rows[-2:]] == ["timestamp: timestamp_out_of_range", "message: invalid_text"]
    assert "scored 5 records" in capsys.readouterr().out
    saved = champion_store["root"] / "saved_models"
    assert cli_main(["detect", str(source), "--output", str(out), "--model-path", str(saved)]) == 0


def test_served_predict_rejects_or_flags_bad_records(trained, later):
    metadata = model_metadata(trained, {"run_id": "abc"})
    request = request_frame(later)
    with pytest.raises(MlflowException) as rejected:
        score_records_frame(trained.pipeline, metadata, request, {})
    assert rejected.value.error_code == ErrorCode.Name(INVALID_PARAMETER_VALUE)
    assert "record 5: level: missing_level" in rejected.value.message
    assert "record 6: timestamp: bad_timestamp" in rejected.value.message
    with pytest.raises(MlflowException, match="on_error must be one of"):
        score_records_frame(trained.pipeline, metadata, request, {"on_error": "ignore"})

    flagged = score_records_frame(trained.pipeline, metadata, request, {"on_error": "flag"})
    assert list(flagged.columns) == [*COLUMNS, "error"] and len(flagged) == 8
    assert flagged["error"].tolist() == [None] * 5 + ["level: missing_level", "timestamp: bad_timestamp", None]
    assert flagged["anomaly_score"].isna().tolist() == [False] * 5 + [True, True, False]
    assert flagged["log_id"].tolist() == request["log_id"].tolist()
    assert flagged.loc[3, "timestamp"].startswith(later["timestamp"].iloc[3].strftime("%Y-%m-%dT%H:%M:%S"))
    assert flagged.loc[0, "model_version"] == "abc"
    payload = json.loads(json.dumps(flagged.to_dict("records"), allow_nan=False))
    assert all(isinstance(r["is_anomaly"], bool) for r in payload if r["error"] is None)
    good = score_records_frame(trained.pipeline, metadata, request.drop(index=[5, 6]), {})
    assert good["error"].isna().all() and len(good) == 6
