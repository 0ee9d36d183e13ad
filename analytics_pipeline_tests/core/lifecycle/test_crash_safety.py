"""A training killed at any moment leaves the champion, the registry and saved_models/ as they were.

Real processes: the ``train`` command runs as a child and is killed with SIGKILL while its MLflow
run is open, or once it has registered its version; the next training in this process finds the
orphan. Each test has its own MLflow store and saved_models/ with a weak first champion, so any
challenger trained here would beat it: a kill is the only thing that keeps it from promotion.
"""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.detection.training import holdout_of, train
from analytics_pipeline.core.lifecycle import promotion
from analytics_pipeline.core.lifecycle.candidate import register_candidate
from analytics_pipeline.core.lifecycle.gate import GatePolicy
from analytics_pipeline.core.lifecycle.orphans import FAILURE_TAG, PID_TAG
from analytics_pipeline.core.lifecycle.registry import champion_history, set_champion, version_by_alias
from analytics_pipeline.core.lifecycle.runs import configure
from analytics_pipeline.core.registry_names import CHAMPION, MODEL_NAME
from analytics_pipeline.core.scoring import saved_models
from analytics_pipeline.synthetic.generator import generate_logs
from analytics_pipeline.tasks.training import train_and_register

WEAK = replace(TrainingConfig(), n_estimators=1, max_samples=2)


@pytest.fixture(scope="module")
def logs_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    logs = generate_logs(datetime(2026, 3, 2, tzinfo=timezone.utc), datetime(2026, 3, 8, tzinfo=timezone.utc),
                         logs_per_minute=3.0, seed=5)
    path = tmp_path_factory.mktemp("crash") / "logs.jsonl"
    logs.to_json(path, orient="records", lines=True, date_format="iso")
    return logs, path


@dataclass(frozen=True)
class Store:
    tracking_uri: str
    saved: Path


@pytest.fixture
def store(tmp_path: Path, logs_file, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A fresh MLflow store and saved_models/ whose champion (version 1) is a deliberately weak model."""
    uri, previous = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}", mlflow.get_tracking_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("SAVED_MODELS_DIR", str(tmp_path / "saved_models"))
    outcome = train_and_register(logs_file[0], WEAK, tmp_path / "saved_models", uri, "weak")
    assert outcome.promotion.promoted and outcome.candidate.version == 1
    yield Store(uri, tmp_path / "saved_models")
    mlflow.set_tracking_uri(previous)


@dataclass(frozen=True)
class Snapshot:
    champion: str
    history: pd.DataFrame
    versions: dict[str, dict[str, str]]
    files: dict[str, str]


def snapshot(saved: Path) -> Snapshot:
    versions = {v.version: dict(v.tags) for v in MlflowClient().search_model_versions(f"name='{MODEL_NAME}'")}
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(saved.iterdir())}
    return Snapshot(version_by_alias(CHAMPION).version, champion_history(), versions, files)


def assert_unchanged(before: Snapshot, saved: Path) -> None:
    after = snapshot(saved)
    assert after.champion == before.champion
    pd.testing.assert_frame_equal(after.history, before.history)
    assert {v: after.versions.get(v) for v in before.versions} == before.versions
    assert after.files == before.files


def kill_training_when(store: Store, input_file: Path, ready: Callable[[int], bool]) -> int:
    """Start ``analytics-pipeline train`` as a child, SIGKILL it once ``ready(pid)``; returns the pid."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": store.tracking_uri, "SAVED_MODELS_DIR": str(store.saved)}
    child = subprocess.Popen([sys.executable, "-m", "analytics_pipeline.cli", "train", "--data-source", "file",
                              "--input", str(input_file)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    try:
        while not ready(child.pid):
            assert child.poll() is None, f"training ended before the kill: {child.stdout.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "the child never reached the moment to kill it"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    return child.pid


def runs_of(pid: int) -> list:
    return [r for r in MlflowClient().search_runs(
        [mlflow.get_experiment_by_name("log-anomaly-detection").experiment_id],
        filter_string=f"tags.`{PID_TAG}` = '{pid}'")]


def test_a_kill_while_the_run_is_open_changes_nothing_and_the_next_training_fails_the_run(store, logs_file):
    logs, path = logs_file
    before = snapshot(store.saved)
    pid = kill_training_when(store, path, lambda pid: any(r.info.status == "RUNNING" for r in runs_of(pid)))
    assert_unchanged(before, store.saved)
    (orphan,) = runs_of(pid)
    assert orphan.info.status == "RUNNING"  # nobody could end it

    train_and_register(logs, WEAK, store.saved, store.tracking_uri, "next")
    orphan = MlflowClient().get_run(orphan.info.run_id)
    assert orphan.info.status == "FAILED" and orphan.info.end_time is not None
    assert f"process {pid}" in orphan.data.tags[FAILURE_TAG]
    assert not MlflowClient().search_model_versions(f"run_id='{orphan.info.run_id}'")


def test_a_kill_after_registration_never_makes_the_version_champion(store, logs_file):
    logs, path = logs_file
    before = snapshot(store.saved)
    n_versions = len(before.versions)

    def registered(_pid: int) -> bool:
        return len(MlflowClient().search_model_versions(f"name='{MODEL_NAME}'")) > n_versions

    pid = kill_training_when(store, path, registered)
    assert_unchanged(before, store.saved)
    (run,) = runs_of(pid)
    killed_version = MlflowClient().search_model_versions(f"run_id='{run.info.run_id}'")[0].version

    train_and_register(logs, WEAK, store.saved, store.tracking_uri, "next")
    run = MlflowClient().get_run(run.info.run_id)
    survivors = {v.version for v in MlflowClient().search_model_versions(f"name='{MODEL_NAME}'")}
    if run.info.status == "FAILED":  # killed before its run ended: its version is removed
        assert killed_version not in survivors
    else:                            # killed at the gate: the version stays, never champion
        assert run.info.status == "FINISHED" and killed_version in survivors
        assert "gate.decision" not in MlflowClient().get_model_version(MODEL_NAME, killed_version).tags
    assert killed_version not in set(champion_history()["version"].astype(str))


def test_a_failed_export_moves_the_champion_back(store, logs_file, monkeypatch):
    logs, _ = logs_file
    configure(store.tracking_uri)
    before = snapshot(store.saved)
    trained = train(logs, TrainingConfig())
    candidate, _ = register_candidate(trained, logs, "export-fails", {}, run_name="export-fails")

    def disk_full(path: Path) -> str:
        raise OSError(28, "No space left on device", str(path))

    # The model file is written, then the export fails: between the alias move and a whole export.
    with monkeypatch.context() as patch, pytest.raises(OSError, match="No space left"):
        patch.setattr(saved_models, "sha256_file", disk_full)
        promotion.promote_if_better(candidate, holdout_of(logs, candidate.holdout), GatePolicy(), store.saved)

    assert_unchanged(before, store.saved)
    tags = MlflowClient().get_model_version(MODEL_NAME, str(candidate.version)).tags
    assert tags["gate.decision"] == "promotion_failed" and "No space left" in tags["gate.reason"]
    assert "champion_from" not in tags


def test_saved_models_catches_up_with_a_champion_whose_export_was_cut_short(store, logs_file):
    logs, _ = logs_file
    # A process killed right after moving the alias: the registry names version 2, saved_models/ still 1.
    outcome = train_and_register(logs, WEAK, store.saved / "elsewhere", store.tracking_uri, "second")
    set_champion(outcome.candidate.version, {})
    assert saved_models.active_version(store.saved) == 1

    assert promotion.sync_saved_models(store.saved) == outcome.candidate.version
    pipeline, meta = saved_models.load_exported(store.saved)  # checksum verified
    assert meta["version"] == outcome.candidate.version == saved_models.active_version(store.saved)
    assert promotion.sync_saved_models(store.saved) is None
