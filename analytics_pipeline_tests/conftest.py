"""Session fixtures: a real MongoDB-protocol server over TCP, and isolated local state.

Nothing here is a fake: the server is SecantusDB started as its own process on a free loopback
port, stopped by its own PID at the end of the session.
"""
from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Iterator

import pymongo
import pytest

from analytics_pipeline.local import mongo_server as local_mongo
from analytics_pipeline.local.processes import free_port



@pytest.fixture(scope="session", autouse=True)
def isolated_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point every piece of local state at a temporary directory for the whole session."""
    root = tmp_path_factory.mktemp("state")
    saved = {k: os.environ.get(k) for k in (
        "DAGSTER_HOME", "MLFLOW_TRACKING_URI", "SAVED_MODELS_DIR", "ANALYTICS_PIPELINE_LOCAL_DIR",
        "MONGODB_URI", "MONGODB_DATABASE")}
    (root / "dagster_home").mkdir()
    (root / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ.update({
        "DAGSTER_HOME": str(root / "dagster_home"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlruns' / 'mlflow.db'}",
        "SAVED_MODELS_DIR": str(root / "saved_models"),
        "ANALYTICS_PIPELINE_LOCAL_DIR": str(root / "local"),
    })
    (root / "mlruns").mkdir()
    yield root
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[local_mongo.LocalServer]:
    """One SecantusDB server for the session, on a free port, data in a temp dir."""
    data_dir = tmp_path_factory.mktemp("mongo")
    server = local_mongo.start(data_dir, port=free_port())
    os.environ["MONGODB_URI"] = server.uri
    yield server
    local_mongo.stop(data_dir)


@pytest.fixture
def mongo_db(mongo_server: local_mongo.LocalServer, request: pytest.FixtureRequest) -> Iterator[pymongo.database.Database]:
    """A fresh database per test, named after it, dropped afterwards."""
    name = "t_" + re.sub(r"\W", "_", request.node.name)[:40] + "_" + uuid.uuid4().hex[:6]
    client = pymongo.MongoClient(mongo_server.uri, tz_aware=True)
    old = os.environ.get("MONGODB_DATABASE")
    os.environ["MONGODB_DATABASE"] = name
    yield client[name]
    client.drop_database(name)
    client.close()
    if old is None:
        os.environ.pop("MONGODB_DATABASE", None)
    else:
        os.environ["MONGODB_DATABASE"] = old
