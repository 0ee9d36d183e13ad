"""The promotion step against a real MLflow registry: who becomes champion, what is tagged, what is exported.

Fast enough for mutation testing (``mutmut`` runs this file for every mutant of ``promotion.py``):
two real models are trained and registered once per module into a template store (version 1
strong, version 2 a one-tree model), and each test works on its own copy of that store's
database, so no alias or tag leaks from one test into the next.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.detection.training import holdout_metrics, holdout_of, train
from analytics_pipeline.core.lifecycle import promotion
from analytics_pipeline.core.lifecycle.candidate import ModelCandidate, register_candidate
from analytics_pipeline.core.lifecycle.gate import GatePolicy, decide
from analytics_pipeline.core.lifecycle.registry import load_pipeline, set_champion, version_by_alias
from analytics_pipeline.core.lifecycle.runs import configure
from analytics_pipeline.core.registry_names import CHAMPION, MODEL_NAME
from analytics_pipeline.core.scoring import saved_models
from analytics_pipeline.synthetic.generator import generate_logs

STRONG, WEAK = 1, 2
GATE_KEYS = {"gate.decision", "gate.rule", "gate.reason", "gate.partition", "gate.compared_with"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, pd.DataFrame, dict[int, ModelCandidate]]]:
    """A store holding version 1 (the default detector) and version 2 (one tree on two rows), no aliases."""
    logs = generate_logs(datetime(2026, 3, 2, tzinfo=timezone.utc), datetime(2026, 3, 5, tzinfo=timezone.utc),
                         logs_per_minute=2.0, seed=11)
    root, previous = tmp_path_factory.mktemp("promotion-template"), mlflow.get_tracking_uri()
    configure(f"sqlite:///{root / 'mlflow.db'}")
    candidates = {}
    for name, config in (("strong", TrainingConfig()),
                         ("weak", replace(TrainingConfig(), detector="isolation_forest", n_estimators=1,
                                          max_samples=2))):
        candidate, _ = register_candidate(train(logs, config), logs, f"2026-03-0{len(candidates) + 2}", {},
                                          run_name=name)
        candidates[candidate.version] = candidate
    client = MlflowClient()
    for alias in client.get_registered_model(MODEL_NAME).aliases:
        client.delete_registered_model_alias(MODEL_NAME, alias)
    yield root, logs, candidates
    mlflow.set_tracking_uri(previous)


@pytest.fixture
def store(template, tmp_path: Path) -> tuple[Path, pd.DataFrame, dict[int, ModelCandidate]]:
    """This test's copy of the template database (artifacts are shared, read only) and its saved_models/."""
    root, logs, candidates = template
    shutil.copy(root / "mlflow.db", tmp_path / "mlflow.db")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path / "saved_models", logs, candidates


def gate(store, version: int, policy: GatePolicy = GatePolicy()) -> promotion.PromotionResult:
    saved, logs, candidates = store
    candidate = candidates[version]
    return promotion.promote_if_better(candidate, holdout_of(logs, candidate.holdout), policy, saved)


def champion() -> int | None:
    current = version_by_alias(CHAMPION)
    return None if current is None else int(current.version)


def tags_of(version: int) -> dict[str, str]:
    return dict(MlflowClient().get_model_version(MODEL_NAME, str(version)).tags)


def registry_entry(saved: Path, version: int) -> dict:
    registry = json.loads((saved / saved_models.REGISTRY_FILE).read_text())
    return next(v for v in registry["versions"] if v["version"] == version)


def test_the_two_models_differ_as_the_tests_assume(template):
    _, _, candidates = template
    strong, weak = candidates[STRONG].holdout.metrics, candidates[WEAK].holdout.metrics
    assert strong["f1"] > weak["f1"] and strong["roc_auc"] >= weak["roc_auc"]


def test_the_first_valid_model_becomes_champion_and_is_exported(store):
    saved = store[0]
    result = gate(store, WEAK)

    assert result.promoted and result.decision.rule == "first_champion"
    assert (result.challenger_version, result.champion_version) == (WEAK, WEAK)
    assert champion() == WEAK
    tags = tags_of(WEAK)
    assert {k: tags[k] for k in GATE_KEYS} == {
        "gate.decision": "promoted", "gate.rule": "first_champion", "gate.reason": result.decision.reason,
        "gate.partition": "2026-03-03", "gate.compared_with": "none"}
    assert "champion_from" in tags
    pipeline, meta = saved_models.load_exported(saved)
    assert meta["version"] == WEAK == saved_models.active_version(saved)
    assert meta["gate"] == {k: tags[k] for k in GATE_KEYS}
    assert meta["metrics"]["f1"] == pytest.approx(store[2][WEAK].holdout.metrics["f1"])
    assert type(pipeline).__name__ == "Pipeline"


def test_a_better_challenger_replaces_the_champion_everywhere(store):
    saved = store[0]
    gate(store, WEAK)
    result = gate(store, STRONG)

    assert result.promoted and result.decision.rule == "labelled"
    assert (result.challenger_version, result.champion_version) == (STRONG, STRONG)
    assert champion() == STRONG
    assert tags_of(STRONG)["gate.compared_with"] == str(WEAK)
    assert tags_of(STRONG)["gate.decision"] == "promoted"
    assert tags_of(WEAK)["replaced_by"] == str(STRONG)
    assert saved_models.active_version(saved) == STRONG
    assert registry_entry(saved, WEAK)["status"] == "archived"


def test_a_worse_challenger_is_recorded_as_testing_and_changes_nothing_else(store):
    saved = store[0]
    gate(store, STRONG)
    exported = (saved / saved_models.REGISTRY_FILE).read_bytes()
    result = gate(store, WEAK)

    assert not result.promoted and result.decision.rule == "labelled"
    assert (result.challenger_version, result.champion_version) == (WEAK, STRONG)
    assert champion() == STRONG and saved_models.active_version(saved) == STRONG
    tags = tags_of(WEAK)
    assert {k: tags[k] for k in GATE_KEYS} == {
        "gate.decision": "rejected", "gate.rule": "labelled", "gate.reason": result.decision.reason,
        "gate.partition": "2026-03-03", "gate.compared_with": str(STRONG)}
    assert "champion_from" not in tags and "F1" in result.decision.reason
    entry = registry_entry(saved, WEAK)
    assert entry["status"] == "testing"
    assert {k: str(v) for k, v in entry["gate"].items()} == {k: tags[k] for k in GATE_KEYS}
    assert entry["metrics"]["f1"] == pytest.approx(store[2][WEAK].holdout.metrics["f1"])
    assert registry_entry(saved, STRONG)["status"] == "production" and exported != b""


def test_the_policy_given_is_the_one_applied(store):
    gate(store, WEAK)
    result = gate(store, STRONG, GatePolicy(min_f1_gain=1.0))  # no F1 can gain a whole point
    assert not result.promoted and result.champion_version == WEAK


def test_without_labels_the_champion_is_judged_on_the_same_unlabelled_rows(store):
    saved, logs, candidates = store
    gate(store, WEAK)
    unlabelled = logs.drop(columns="label")
    challenger = candidates[STRONG]
    holdout = holdout_of(unlabelled, challenger.holdout)
    metrics, _ = holdout_metrics(load_pipeline(STRONG), holdout)
    assert metrics["f1"] is None
    result = promotion.promote_if_better(replace(challenger, holdout=replace(challenger.holdout, metrics=metrics)),
                                         holdout, GatePolicy(), saved)
    champion_metrics, _ = holdout_metrics(load_pipeline(WEAK), holdout)
    assert result.decision == decide(metrics, champion_metrics, challenger.expected_rate, GatePolicy())
    assert result.decision.rule == "unlabelled" and f"target {challenger.expected_rate:.4f}" in result.decision.reason


def test_an_invalid_first_model_leaves_the_registry_without_a_champion(store):
    saved, logs, candidates = store
    broken = candidates[WEAK]
    metrics = {**broken.holdout.metrics, "anomaly_rate": float("nan")}
    broken = replace(broken, holdout=replace(broken.holdout, metrics=metrics))
    result = promotion.promote_if_better(broken, holdout_of(logs, broken.holdout), GatePolicy(), saved)
    assert not result.promoted and result.decision.rule == "invalid"
    assert (result.challenger_version, result.champion_version) == (WEAK, None)
    assert champion() is None and saved_models.active_version(saved) is None
    assert registry_entry(saved, WEAK)["status"] == "testing"


def test_the_champion_meeting_the_gate_again_is_not_compared_with_itself(store):
    # Compared with itself it would not be "better"; it is the champion, and stays one.
    gate(store, WEAK)
    result = gate(store, WEAK)
    assert result.promoted and result.decision.rule == "first_champion"
    assert champion() == WEAK


def test_a_failed_export_puts_the_alias_back_tags_the_failure_and_propagates(store, monkeypatch):
    saved = store[0]
    gate(store, STRONG)

    def disk_full(path: Path) -> str:
        raise OSError(28, "No space left on device", str(path))

    # Only the weak model can be promoted against nobody: make it the challenger of an empty registry.
    MlflowClient().delete_registered_model_alias(MODEL_NAME, CHAMPION)
    with monkeypatch.context() as patch, pytest.raises(OSError, match="No space left"):
        patch.setattr(saved_models, "sha256_file", disk_full)
        gate(store, WEAK)

    assert champion() is None
    tags = tags_of(WEAK)
    assert tags["gate.decision"] == "promotion_failed"
    assert tags["gate.reason"].startswith("export to saved_models failed: ") and "No space left" in tags["gate.reason"]
    assert "champion_from" not in tags
    assert saved_models.active_version(saved) == STRONG


def test_a_failed_export_over_a_champion_keeps_that_champion(store, monkeypatch):
    saved = store[0]
    gate(store, WEAK)
    with monkeypatch.context() as patch, pytest.raises(OSError):
        patch.setattr(saved_models, "sha256_file", lambda path: (_ for _ in ()).throw(OSError("disk gone")))
        gate(store, STRONG)
    assert champion() == WEAK
    assert "replaced_by" not in tags_of(WEAK) and "champion_until" not in tags_of(WEAK)
    assert saved_models.active_version(saved) == WEAK


def test_sync_exports_a_champion_that_saved_models_lags_behind(store):
    saved = store[0]
    assert promotion.sync_saved_models(saved) is None          # no champion: nothing to export
    assert not saved.exists()
    gate(store, WEAK)
    assert promotion.sync_saved_models(saved) is None          # in step already
    # A process killed right after moving the alias: the registry names version 1, saved_models/ 2.
    set_champion(STRONG, {"gate.decision": "promoted", "gate.rule": "labelled", "other": "x"})

    assert promotion.sync_saved_models(saved) == STRONG
    _, meta = saved_models.load_exported(saved)  # checksum verified
    assert meta["version"] == STRONG == saved_models.active_version(saved)
    assert meta["gate"] == {"gate.decision": "promoted", "gate.rule": "labelled"}
    assert promotion.sync_saved_models(saved) is None


def test_the_gate_completes_a_cut_short_export_before_deciding(store):
    saved = store[0]
    gate(store, WEAK)
    set_champion(STRONG, {})                                   # alias moved, export never happened
    result = gate(store, WEAK)                                  # a worse challenger: rejected
    assert not result.promoted and result.champion_version == STRONG
    assert saved_models.active_version(saved) == STRONG
