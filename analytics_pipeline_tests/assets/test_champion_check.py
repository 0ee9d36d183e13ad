"""The blocking ``champion_exists`` check: when the first challenger of an empty registry is invalid
(no finite scores on its holdout), nobody becomes champion and scoring does not run at all."""
from __future__ import annotations

import math
import pickle
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from dagster import AssetSelection, DagsterInstance
from mlflow import MlflowClient

from analytics_pipeline.core.lifecycle.registry import version_by_alias
from analytics_pipeline.core.registry_names import CHAMPION, MODEL_NAME
from analytics_pipeline.definitions import defs
from analytics_pipeline.synthetic.seeding import seed_synthetic

WEEK = "2026-11-08"


def _run(*assets: str, instance: DagsterInstance):
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={*AssetSelection.assets(*assets).resolve(defs.resolve_asset_graph())})
    return job.execute_in_process(partition_key=WEEK, instance=instance, raise_on_error=False)


@pytest.fixture
def fresh_state(mongo_db, tmp_path, monkeypatch):
    monkeypatch.setenv("MONGODB_DATABASE", mongo_db.name)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SAVED_MODELS_DIR", str(tmp_path / "saved_models"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    seed_synthetic(mongo_db["logs"], days=31, logs_per_minute=0.5, end=datetime(2026, 11, 15, tzinfo=timezone.utc))
    return tmp_path


def test_an_invalid_first_challenger_fails_the_blocking_check_and_nothing_is_scored(fresh_state):
    instance = DagsterInstance.get()
    assert _run("raw_logs", "anomaly_model", instance=instance).success
    # The trained challenger, as its holdout would look had it scored nothing finite.
    stored = fresh_state / "dagster_home" / "storage" / "anomaly_model" / f"{WEEK}.pkl"
    candidate = pickle.loads(stored.read_bytes())
    invalid = replace(candidate.holdout, metrics={**candidate.holdout.metrics, "anomaly_rate": math.nan})
    stored.write_bytes(pickle.dumps(replace(candidate, holdout=invalid)))

    result = _run("champion_model", "scored_logs", "anomalies", instance=instance)
    assert not result.success
    checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
              for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert checks == {"champion_exists": False, "challenger_passed_gate": False}
    materialized = {e.asset_key.to_user_string() for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
    assert materialized == {"champion_model"}  # scored_logs and anomalies never ran
    started = {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}
    assert started == {"champion_model"}
    assert version_by_alias(CHAMPION) is None
    version = MlflowClient().get_model_version(MODEL_NAME, str(candidate.version))
    assert version.tags["gate.rule"] == "invalid" and version.tags["gate.decision"] == "rejected"
