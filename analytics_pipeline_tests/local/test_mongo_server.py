"""`analytics-pipeline mongo start|status|stop`: a real daemon, started twice harmlessly, stopped by PID."""
from __future__ import annotations

from analytics_pipeline.local import mongo_server as local_mongo
from analytics_pipeline.cli import main as cli_main
from analytics_pipeline.local.processes import free_port, pid_alive
from analytics_pipeline.core.settings import get_settings


def test_start_twice_status_and_stop(capsys):
    data_dir = get_settings().local_mongo_dir  # a temp dir for the test session (conftest)
    port = str(free_port())
    assert cli_main(["mongo", "status"]) == 3
    assert cli_main(["mongo", "start", "--port", port]) == 0
    first = local_mongo.status(data_dir)
    assert first is not None and local_mongo.pings(first.uri)
    assert cli_main(["mongo", "start", "--port", port]) == 0
    assert local_mongo.status(data_dir).pid == first.pid  # the second start reused the server
    assert cli_main(["mongo", "status"]) == 0
    assert f"127.0.0.1:{port}" in capsys.readouterr().out
    assert cli_main(["mongo", "stop"]) == 0
    assert not pid_alive(first.pid) and local_mongo.status(data_dir) is None
    assert cli_main(["mongo", "stop"]) == 0
    assert "not running" in capsys.readouterr().out
