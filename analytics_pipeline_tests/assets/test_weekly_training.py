"""Weekly training end to end: real MongoDB server, real MLflow store, real Dagster runs."""
from __future__ import annotations

import os
import re
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import mlflow
import nbformat
import pandas as pd
import pymongo
import pytest
from dagster import AssetSelection, DagsterInstance
from mlflow import MlflowClient
from nbclient import NotebookClient

from analytics_pipeline.cli import main as cli_main
from analytics_pipeline.core.features.featurizer import FEATURE_COUNT
from analytics_pipeline.core.features.novelty import NOVELTY_CHANNELS
from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.detection.training import holdout_of, train
from analytics_pipeline.core.lifecycle.candidate import register_candidate
from analytics_pipeline.core.lifecycle.gate import GatePolicy
from analytics_pipeline.core.lifecycle.registry import champion_history, version_by_alias
from analytics_pipeline.core.registry_names import CHALLENGER, CHAMPION, MODEL_NAME
from analytics_pipeline.core.scoring.saved_models import load_exported, read_registry
from analytics_pipeline.core.lifecycle.promotion import promote_if_better
from analytics_pipeline.definitions import defs
from analytics_pipeline.synthetic.seeding import seed_synthetic
from analytics_pipeline.core.settings import PROJECT_ROOT
from analytics_pipeline_tests.shared_data import SHARED_DATA

WEEKS = ("2026-11-01", "2026-11-08")


@pytest.fixture(scope="module")
def weekly_runs(mongo_server, tmp_path_factory):
    """Seed 40 days of synthetic logs, then run the weekly job for two consecutive weeks."""
    root = tmp_path_factory.mktemp("training_flow")
    saved = {k: os.environ.get(k) for k in ("MONGODB_DATABASE", "MLFLOW_TRACKING_URI", "SAVED_MODELS_DIR")}
    os.environ.update({"MONGODB_DATABASE": "flow_" + uuid.uuid4().hex[:8],
                       "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlruns' / 'mlflow.db'}",
                       "SAVED_MODELS_DIR": str(root / "saved_models")})
    client = pymongo.MongoClient(mongo_server.uri, tz_aware=True)
    logs = client[os.environ["MONGODB_DATABASE"]]["logs"]
    seed_synthetic(logs, days=40, logs_per_minute=1.5, end=datetime(2026, 11, 15, tzinfo=timezone.utc))
    job = defs.resolve_job_def("weekly_pipeline")
    results = {w: job.execute_in_process(partition_key=w, instance=DagsterInstance.get(), raise_on_error=False)
               for w in WEEKS}
    # The registry as the two weeks left it: tests that register more versions may run first
    # (pytest-randomly), so the assertions about the weeks read this snapshot, not the live aliases.
    after_weeks = {"champion": str(version_by_alias(CHAMPION).version),
                   "challenger": str(version_by_alias(CHALLENGER).version),
                   "registry": read_registry(Path(os.environ["SAVED_MODELS_DIR"])),
                   "history": champion_history()}
    yield {"results": results, "root": root, "logs": logs, "after_weeks": after_weeks}
    client.drop_database(os.environ["MONGODB_DATABASE"])
    for k, v in saved.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _meta(result, asset: str) -> dict:
    mats = result.asset_materializations_for_node(asset)
    assert mats, f"{asset} was not materialized"
    return {k: getattr(v, "value", v) for k, v in mats[0].metadata.items()}


def test_first_week_trains_registers_and_promotes_a_champion(weekly_runs):
    first = weekly_runs["results"][WEEKS[0]]
    assert first.success
    model = _meta(first, "anomaly_model")
    assert model["model_version"] == 1 and 0 <= model["roc_auc"] <= 1
    champion = _meta(first, "champion_model")
    assert champion["promoted"] is True and champion["rule"] == "first_champion"
    run = mlflow.get_run(model["mlflow_run_id"])
    assert run.data.tags["partition"] == WEEKS[0] and run.data.tags["data_hash"]
    assert {"f1", "roc_auc", "pr_auc", "precision", "recall", "anomaly_rate", "training_time_s"} <= set(run.data.metrics)
    assert run.data.params["n_estimators"] == "100" and run.data.params["contamination"] == "auto"
    assert run.data.params["detector"] == "multi_view"
    artifacts = {a.path for a in MlflowClient().list_artifacts(run.info.run_id, "plots")}
    assert {"plots/roc_curve.png", "plots/score_histogram.png"} <= artifacts
    assert "data:image/png;base64," in model["plots"]


def test_second_week_registers_a_challenger_and_records_the_gate_decision(weekly_runs):
    second = weekly_runs["results"][WEEKS[1]]
    assert second.success
    champion = _meta(second, "champion_model")
    assert champion["challenger_version"] == 2
    version = MlflowClient().get_model_version(MODEL_NAME, "2")
    assert version.tags["gate.decision"] in ("promoted", "rejected")
    assert version.tags["gate.reason"] == champion["reason"]
    assert version.tags["gate.compared_with"] == "1"
    after = weekly_runs["after_weeks"]
    assert after["champion"] == ("2" if champion["promoted"] else "1") and after["challenger"] == "2"
    history = after["history"]
    assert history["version"].tolist()[0] == 1 and history["champion_from"].notna().all()


def test_saved_models_holds_the_champion_with_a_valid_checksum(weekly_runs):
    saved, after = Path(os.environ["SAVED_MODELS_DIR"]), weekly_runs["after_weeks"]
    assert after["registry"]["active_version"] == int(after["champion"])
    assert {v["version"] for v in after["registry"]["versions"]} == {1, 2}
    # Later tests may add versions, never a champion: the export still matches the alias.
    pipeline, meta = load_exported(saved)
    assert meta["version"] == int(version_by_alias(CHAMPION).version) == int(after["champion"]) and len(meta["feature_names"]) == FEATURE_COUNT + len(NOVELTY_CHANNELS)
    assert meta["feature_names"][FEATURE_COUNT:] == list(NOVELTY_CHANNELS)  # the channels beside the matrix
    assert meta["training_samples"] > 0 and meta["params"]["n_estimators"] == 100


def test_a_deliberately_worse_model_is_never_promoted(weekly_runs):
    raw = pd.read_parquet(Path(os.environ["DAGSTER_HOME"]) / "storage" / "raw_logs" / f"{WEEKS[1]}.parquet")
    before = str(version_by_alias(CHAMPION).version)
    # One tiny tree on two samples: close to random scores.
    worse_cfg = replace(TrainingConfig(), n_estimators=1, max_samples=2)
    trained = train(raw, worse_cfg)
    candidate, _ = register_candidate(trained, raw, "worse", {}, run_name="worse")
    result = promote_if_better(candidate, holdout_of(raw, candidate.holdout), GatePolicy(),
                               Path(os.environ["SAVED_MODELS_DIR"]))
    assert result.decision.promote is False and result.decision.rule == "labelled"
    assert str(version_by_alias(CHAMPION).version) == before == str(result.champion_version)
    assert MlflowClient().get_model_version(MODEL_NAME, candidate.version).tags["gate.decision"] == "rejected"
    assert {v["version"]: v["status"] for v in read_registry(Path(os.environ["SAVED_MODELS_DIR"]))["versions"]}[
        candidate.version] == "testing"


def test_a_realistically_worse_week_through_dagster_is_rejected(weekly_runs):
    # A plausible mistake made in the launchpad: the plain forest told to flag 30% of the window.
    before = str(version_by_alias(CHAMPION).version)
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={*AssetSelection.assets("anomaly_model", "champion_model").resolve(defs.resolve_asset_graph())})
    result = job.execute_in_process(
        partition_key=WEEKS[1], instance=DagsterInstance.get(), raise_on_error=False,
        run_config={"ops": {"anomaly_model": {"config": {"detector": "isolation_forest", "contamination": "0.3"}}}})
    assert result.success  # a rejected challenger is a normal outcome, not a failed run
    model, gate = _meta(result, "anomaly_model"), _meta(result, "champion_model")
    assert model["precision"] < 0.5 and gate["promoted"] is False and gate["rule"] == "labelled"
    assert "not higher" in gate["reason"]
    assert str(version_by_alias(CHAMPION).version) == before
    tags = MlflowClient().get_model_version(MODEL_NAME, str(model["model_version"])).tags
    assert tags["gate.decision"] == "rejected" and tags["gate.compared_with"] == before


def test_a_failed_training_leaves_the_champion_untouched(weekly_runs):
    before = str(version_by_alias(CHAMPION).version)
    n_versions = len(MlflowClient().search_model_versions(f"name='{MODEL_NAME}'"))
    result = defs.resolve_job_def("weekly_pipeline").execute_in_process(
        partition_key=WEEKS[1], instance=DagsterInstance.get(), raise_on_error=False,
        run_config={"ops": {"anomaly_model": {"config": {"min_training_samples": 10_000_000}}}})
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "min_training_samples" in str(failure.event_specific_data.error)
    assert str(version_by_alias(CHAMPION).version) == before
    assert len(MlflowClient().search_model_versions(f"name='{MODEL_NAME}'")) == n_versions


def test_model_matrix_logs_child_runs_under_one_parent(weekly_runs):
    result = defs.resolve_job_def("model_matrix").execute_in_process(
        partition_key=WEEKS[1], instance=DagsterInstance.get(),
        run_config={"ops": {"model_matrix_summary": {"config": {"detectors": ["isolation_forest"],
                                                        "contaminations": [0.05, 0.1], "n_estimators": [20]}}}})
    meta = _meta(result, "model_matrix_summary")
    parent = meta["mlflow_parent_run_id"]
    children = mlflow.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent}'",
                                  search_all_experiments=True)
    assert meta["configurations"] == 2 and len(children) == 2
    assert "f1" in meta["results"] and meta["summary"].startswith("2 configurations trained, best ")


def test_model_comparison_notebook_runs_against_the_store(weekly_runs, tmp_path):
    nb = nbformat.read(PROJECT_ROOT / "notebooks" / "model_comparison.ipynb", as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert re.search(r"versions compared: [2-9]", outputs)
    assert (tmp_path / "model_comparison.png").exists()


def test_train_cli_on_the_labelled_bgl_file(monkeypatch, tmp_path, capsys):
    # Its own store: a model of another system must not become the weeks' champion.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SAVED_MODELS_DIR", str(tmp_path / "saved_models"))
    previous = mlflow.get_tracking_uri()
    try:
        code = cli_main(["train", "--data-source", "file", "--input", str(SHARED_DATA / "bgl_2k.jsonl"),
                         "--n-estimators", "50"])
    finally:
        mlflow.set_tracking_uri(previous)  # MLflow keeps the URI in a global; the other tests use the weeks' store
    out, err = capsys.readouterr()
    assert code == 0, out
    assert "training multi_view on 2,000 logs" in out
    assert re.search(r"roc_auc: 0\.\d{4}", out) and "registered version" in out
    # Quiet by default: MLflow's notices go to a file the output names, not to the terminal.
    assert "mlflow" not in err.lower(), err
    log_file = Path(re.search(r"the libraries' own messages: (\S+);", out).group(1))
    assert "mlflow" in log_file.read_text().lower()


def test_week_is_scored_and_anomalies_are_written_once(weekly_runs):
    from analytics_pipeline.core.scoring.anomaly_store import ANOMALY_FIELDS

    second = weekly_runs["results"][WEEKS[1]]
    scored = _meta(second, "scored_logs")
    assert scored["anomalies"] > 0 and 0 < scored["anomaly_rate"] < 0.5
    assert 0 <= scored["health_summary"]["overall"]["health_score"] <= 100
    col = weekly_runs["logs"].database["anomalies"]
    assert col.count_documents({"partition": WEEKS[1]}) == scored["anomalies"]
    doc = col.find_one({"partition": WEEKS[1]}, sort=[("anomaly_score", -1)])
    assert set(ANOMALY_FIELDS) <= set(doc) and doc["is_anomaly"] is True
    assert doc["severity"] in ("low", "medium", "high", "critical") and doc["contributors"]
    assert doc["model_version"] == int(weekly_runs["after_weeks"]["champion"])
    index_keys = [list(ix["key"]) for ix in col.list_indexes()]
    assert ["service", "timestamp"] in index_keys and ["severity", "timestamp"] in index_keys
    # Re-materializing the partition replaces its anomalies instead of adding to them.
    again = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={*AssetSelection.assets("scored_logs", "anomalies").resolve(defs.resolve_asset_graph())})
    result = again.execute_in_process(partition_key=WEEKS[1], instance=DagsterInstance.get())
    assert result.success
    assert col.count_documents({"partition": WEEKS[1]}) == scored["anomalies"]
    assert col.count_documents({"partition": WEEKS[0]}) == _meta(weekly_runs["results"][WEEKS[0]], "scored_logs")["anomalies"]
