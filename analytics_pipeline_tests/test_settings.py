"""One source of configuration: with no environment at all, the Python API, the CLI and the Dagster
resources find the same MongoDB and MLflow store, the ones the pipeline writes (the checkout's
``.local/`` and ``mlruns/``). Run on a copy of the package in a temporary directory, in fresh
processes, so the real checkout's state is never touched."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from analytics_pipeline_tests.checkout_copy import copy_checkout

TRAIN = textwrap.dedent("""
    from datetime import datetime
    from analytics_pipeline.core.detection.pipelines import TrainingConfig
    from analytics_pipeline.core.settings import get_settings
    from analytics_pipeline.synthetic.generator import generate_logs
    from analytics_pipeline.tasks.training import train_and_register
    settings = get_settings()
    logs = generate_logs(datetime(2026, 1, 5), datetime(2026, 1, 7), logs_per_minute=2, seed=3)
    outcome = train_and_register(logs, TrainingConfig(n_jobs=1), settings.saved_models_dir,
                                 settings.mlflow_tracking_uri, "test")
    print("trained", outcome.candidate.version, settings.mlflow_tracking_uri)
""")

USE = textwrap.dedent("""
    from analytics_pipeline.core.scoring.detector import AnomalyDetector
    from analytics_pipeline.core.settings import get_settings
    from analytics_pipeline.local import mongo_server
    from analytics_pipeline.resources.mlflow_tracking import MLflowResource
    from analytics_pipeline.resources.mongodb import MongoDBResource
    detector = AnomalyDetector.from_registry()  # no URI anywhere: the project's store
    result = detector.detect_anomaly({"timestamp": "2026-01-07T10:00:00Z", "level": "INFO",
                                      "service": "api-gateway", "message": "GET /health completed in 3ms"})
    print("champion", detector.model_version, result["severity"])
    MLflowResource().setup()
    import mlflow
    print("resource store", mlflow.get_tracking_uri())
    mongodb = MongoDBResource()
    print("mongo", mongodb.db().command("ping")["ok"], mongodb.db().name)
    mongo_server.stop(get_settings().local_mongo_dir)
""")


def _run(code: str, root: Path) -> str:
    env = {"PATH": os.environ["PATH"], "HOME": str(root), "PYTHONPATH": str(root)}  # nothing else
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    return done.stdout


def test_everything_finds_the_projects_stores_with_no_environment(tmp_path):
    root = copy_checkout(tmp_path / "checkout")
    (root / "mlruns").mkdir()
    trained = _run(TRAIN, root)
    assert f"sqlite:///{root / 'mlruns' / 'mlflow.db'}" in trained
    used = _run(USE, tmp_path / "checkout")
    assert "champion 1" in used
    assert f"resource store sqlite:///{root / 'mlruns' / 'mlflow.db'}" in used
    assert "mongo 1.0 log_analytics" in used
    assert (root / ".local" / "mongo").is_dir() and (root / "saved_models" / "model_metadata.json").exists()
