"""The UI path: `dagster dev` on a free port, a run launched through the UI's GraphQL API."""
from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus
from dagster_graphql import DagsterGraphQLClient

from analytics_pipeline.local.processes import free_port, group_alive, http_ok, start_process_group, stop_process_group, wait_until
from analytics_pipeline.core.settings import PROJECT_ROOT

WEEK = "2026-11-08"


@pytest.fixture
def dagster_dev(mongo_db, tmp_path):
    port = free_port()
    home = Path(os.environ["DAGSTER_HOME"])
    env = {**os.environ, "DAGSTER_HOME": str(home), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    proc = start_process_group(
        [str(Path(sys.executable).parent / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1",
         "-p", str(port)], log_path=tmp_path / "dagster_dev.log", env=env, cwd=PROJECT_ROOT)
    try:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/server_info") or proc.poll() is not None,
                   timeout=120, what="dagster dev to serve HTTP")
        assert proc.poll() is None, (tmp_path / "dagster_dev.log").read_text()[-3000:]
        yield port
    finally:
        stop_process_group(proc.pid)
    assert not group_alive(proc.pid), "a process of dagster dev's group outlived the stop"


def test_launch_a_partition_from_the_ui_api(dagster_dev, mongo_db):
    t0 = datetime(2026, 10, 20, tzinfo=timezone.utc)
    mongo_db["logs"].insert_many([{"timestamp": t0 + timedelta(minutes=7 * i), "level": "INFO",
                                   "service": f"svc{i % 3}", "message": f"request {i % 40} ok",
                                   "response_time": 20.0 + i % 17, "status_code": 200} for i in range(600)])
    client = DagsterGraphQLClient("127.0.0.1", port_number=dagster_dev, timeout=60)
    run_id = client.submit_job_execution("weekly_pipeline", tags={"dagster/partition": WEEK})
    deadline = time.monotonic() + 300
    status = client.get_run_status(run_id)
    while status not in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
        assert time.monotonic() < deadline, f"run {run_id} still {status}"
        time.sleep(1)
        status = client.get_run_status(run_id)
    assert status == DagsterRunStatus.SUCCESS
    instance = DagsterInstance.get()
    event = instance.get_latest_materialization_event(AssetKey("raw_logs"))
    assert event is not None and event.run_id == run_id
    assert event.asset_materialization.partition == WEEK
    assert event.asset_materialization.metadata["row_count"].value == 600
