"""MongoDB restarts during a run: the window read survives a real server killed mid-read and started
again (the re-run gives the undisturbed result), and a server that stays down fails the run, and the
CLI, with one line that names it (password redacted)."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pymongo
import pytest
from dagster import DagsterInstance

from analytics_pipeline.cli import main as cli_main
from analytics_pipeline.local import mongo_server
from analytics_pipeline.local.processes import free_port, wait_until
from analytics_pipeline.synthetic.seeding import seed_synthetic

WEEK = "2026-11-08"
MATERIALIZE = textwrap.dedent("""
    import json, sys
    from dagster import DagsterInstance, materialize
    from analytics_pipeline.assets.ingestion import raw_logs
    from analytics_pipeline.resources.mongodb import MongoDBResource
    from analytics_pipeline.resources.parquet_io import ParquetIOManager
    timeout_ms = int(sys.argv[1])
    result = materialize([raw_logs], partition_key="%s", instance=DagsterInstance.get(), raise_on_error=False,
                         resources={"mongodb": MongoDBResource(server_selection_timeout_ms=timeout_ms),
                                    "parquet_io_manager": ParquetIOManager()})
    def lines(error):  # an error and what caused it (after the last retry Dagster says only that)
        return [error.message] + (lines(error.cause) if error.cause else [])
    failures = [line for e in result.all_events if e.event_type_value == "STEP_FAILURE"
                for line in lines(e.event_specific_data.error)]
    retries = sum(e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events)
    print(json.dumps({"success": result.success, "retries": retries, "failures": failures}))
""" % WEEK)


@pytest.fixture(scope="module")
def seeded_data(tmp_path_factory):
    """A server of this module's own (its tests kill it), seeded once with ~40k logs in the window."""
    data_dir = tmp_path_factory.mktemp("faults") / "mongo"
    server = mongo_server.start(data_dir, port=free_port())
    client = pymongo.MongoClient(server.uri)
    seed_synthetic(client["faults"]["logs"], days=31, logs_per_minute=1.0, end=datetime(2026, 11, 15, tzinfo=timezone.utc))
    client.close()
    yield data_dir, server.port
    mongo_server.stop(data_dir)


@pytest.fixture
def own_server(seeded_data, tmp_path, monkeypatch):
    """The module's server, running (an earlier test may have killed it), and a fresh Dagster home."""
    data_dir, port = seeded_data
    server = mongo_server.start(data_dir, port=port)
    monkeypatch.setenv("MONGODB_URI", server.uri)
    monkeypatch.setenv("MONGODB_DATABASE", "faults")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    yield server, data_dir


def _materialize(timeout_ms: int = 10_000) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", MATERIALIZE, str(timeout_ms)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def _outcome(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=300)
    proc.stderr_text = err
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def _step_started(instance: DagsterInstance, known: set[str]) -> bool:
    runs = [run for run in instance.get_runs() if run.run_id not in known]
    return bool(runs) and any(event.dagster_event is not None and event.dagster_event.event_type_value == "STEP_START"
                              for event in instance.all_logs(runs[0].run_id))


def _window(tmp_path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(tmp_path / "dagster_home" / "storage" / "raw_logs" / f"{WEEK}.parquet")
    return frame.sort_values("log_id").reset_index(drop=True)


@pytest.mark.parametrize("timeout_ms, step_retried", [
    (10_000, False),  # the driver retries the read itself while the server comes back
    (300, True),      # the driver gives up first: the step fails and Dagster runs it again
])
def test_a_server_killed_mid_read_and_restarted_gives_the_undisturbed_result(own_server, tmp_path, timeout_ms,
                                                                           step_retried):
    server, data_dir = own_server
    assert _outcome(_materialize())["success"]
    undisturbed = _window(tmp_path)
    assert len(undisturbed) > 30_000

    instance = DagsterInstance.get()
    known = {run.run_id for run in instance.get_runs()}
    proc = _materialize(timeout_ms)
    wait_until(lambda: _step_started(instance, known) or proc.poll() is not None, 120, what="the step to start")
    time.sleep(0.8)  # connected and reading: the window takes a few seconds on this server
    os.killpg(server.pid, signal.SIGKILL)
    time.sleep(1.5)
    restarted = mongo_server.start(data_dir, port=server.port)
    outcome = _outcome(proc)
    assert outcome["success"] and (outcome["retries"] >= 1) == step_retried, outcome
    pd.testing.assert_frame_equal(_window(tmp_path), undisturbed)
    assert restarted.pid != server.pid and restarted.port == server.port


def test_a_server_down_for_good_fails_with_one_line_naming_it(own_server, monkeypatch, capsys, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    server, data_dir = own_server
    secret_uri = server.uri.replace("mongodb://", "mongodb://ops:hunter2@")
    os.killpg(server.pid, signal.SIGKILL)
    monkeypatch.setenv("MONGODB_URI", secret_uri)
    proc = _materialize(timeout_ms=300)
    outcome = _outcome(proc)
    assert not outcome["success"] and outcome["retries"] == 3
    reason = next(line for line in outcome["failures"] if "MongoDB" in line)
    assert reason.strip().count("\n") == 0 and "cannot reach MongoDB at mongodb://ops:***@127.0.0.1" in reason, outcome
    assert "hunter2" not in json.dumps(outcome)
    # Nor anywhere Dagster keeps the run: its event log (errors with their stacks), compute logs, storage.
    for path in (tmp_path / "dagster_home").rglob("*"):
        if path.is_file():
            assert b"hunter2" not in path.read_bytes(), path
    assert "hunter2" not in proc.stderr_text  # Dagster's console log lines of the run
    assert cli_main(["seed", "--days", "1", "--logs-per-minute", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: cannot reach MongoDB") and "hunter2" not in err
    assert cli_main(["--verbose", "seed", "--days", "1"]) == 2
    verbose = capsys.readouterr().err
    assert "Traceback" in verbose and "hunter2" not in verbose  # --verbose shows where, still no password
    assert caplog.records and "hunter2" not in caplog.text  # nor in any log record of this process
