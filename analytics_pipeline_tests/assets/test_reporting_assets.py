"""``drift_report`` and ``optimization_report`` in real Dagster runs: a real model registered in the
session's MLflow store, the week's anomalies, alerts and incidents in the real MongoDB-protocol
server; what they log, write and show; re-runs replace; the drift sensor asks for retraining."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import dagster as dg
import mlflow
import nbformat
import pytest
from mlflow import MlflowClient
from nbclient import NotebookClient

from analytics_pipeline.assets.monitoring import drift_report
from analytics_pipeline.assets.reporting import optimization_report
from analytics_pipeline.core.forecasting.weekly import forecast_week
from analytics_pipeline.core.lifecycle.candidate import register_candidate
from analytics_pipeline.core.logs.windows import window_for_partition
from analytics_pipeline.core.metrics.series import service_metrics
from analytics_pipeline.core.lifecycle.registry import set_champion
from analytics_pipeline.core.lifecycle.runs import configure
from analytics_pipeline.core.monitoring.tracking import MONITORING_EXPERIMENT
from analytics_pipeline.core.reporting.store import REPORTS_COLLECTION, read_report
from analytics_pipeline.core.settings import PROJECT_ROOT, get_settings
from analytics_pipeline.definitions import defs
from analytics_pipeline.partitions import weekly_partitions
from analytics_pipeline.resources.mlflow_tracking import MLflowResource
from analytics_pipeline.resources.mongodb import MongoDBResource
from analytics_pipeline.resources.parquet_io import ParquetIOManager
from analytics_pipeline.sensors import drift_retraining_sensor
from analytics_pipeline_tests.reporting_data import MIXED, START, WEEK, scenario

RAW = dg.SourceAsset(key="raw_logs", io_manager_key="parquet_io_manager", partitions_def=weekly_partitions)
SCORED = dg.SourceAsset(key="scored_logs", io_manager_key="parquet_io_manager", partitions_def=weekly_partitions)
FORECASTS = dg.SourceAsset(key="forecasts", io_manager_key="parquet_io_manager", partitions_def=weekly_partitions)


@pytest.fixture(scope="module")
def week_forecasts():
    """The scenario's window forecast once (the forecasts asset's own computation)."""
    logs = scenario("log_mix").logs
    return forecast_week(service_metrics(logs, *window_for_partition(WEEK)))


@pytest.fixture(scope="module")
def champion():
    """The log-mix scenario's model registered and promoted in the session's MLflow store."""
    configure(get_settings().mlflow_tracking_uri)
    data = scenario("log_mix")
    history = data.logs[data.logs["timestamp"] < START].reset_index(drop=True)
    candidate, _ = register_candidate(data.trained, history, WEEK, {}, run_name=f"train-{WEEK}")
    set_champion(candidate.version, {})
    return candidate.version


@pytest.fixture
def storage(tmp_path, mongo_db, champion, week_forecasts):
    """The window's raw_logs and scored_logs where the Parquet IO manager keeps them; the week's
    anomalies, alerts and incidents in MongoDB."""
    data = scenario("log_mix")
    scored = data.scored.assign(model_version=champion)
    for col in ("contributors", "recommended_actions"):
        scored[col] = scored[col].map(json.dumps)
    for name, frame in (("raw_logs", data.logs), ("scored_logs", scored)):
        (tmp_path / name).mkdir()
        frame.to_parquet(tmp_path / name / f"{WEEK}.parquet", index=False)
    (tmp_path / "forecasts").mkdir()
    (tmp_path / "forecasts" / f"{WEEK}.pkl").write_bytes(pickle.dumps(week_forecasts))
    data.store(mongo_db)
    return tmp_path


def _materialize(storage, instance, run_config=None):
    return dg.materialize([RAW, SCORED, FORECASTS, drift_report, optimization_report], partition_key=WEEK, instance=instance,
                          raise_on_error=False, run_config=run_config,
                          resources={"mongodb": MongoDBResource(), "mlflow_tracking": MLflowResource(),
                                     "parquet_io_manager": ParquetIOManager(base_dir=str(storage))})


def _meta(result, node: str) -> dict:
    return {k: getattr(v, "value", v) for k, v in result.asset_materializations_for_node(node)[0].metadata.items()}


def test_drift_and_report_are_logged_written_and_replaced(storage, mongo_db):
    instance = dg.DagsterInstance.ephemeral()
    result = _materialize(storage, instance)
    assert result.success
    drift, report = _meta(result, "drift_report"), _meta(result, "optimization_report")
    assert drift["verdict"] == "significant" and drift["retraining_advised"] is True
    assert drift["summary"].startswith("drift significant") and f"service_{MIXED}" in drift["report"]
    assert "data:image/png;base64," in drift["effects"]
    runs = MlflowClient().search_runs([mlflow.get_experiment_by_name(MONITORING_EXPERIMENT).experiment_id],
                                      filter_string=f"tags.partition = '{WEEK}'")
    kinds = {r.data.tags["kind"] for r in runs}
    assert kinds == {"drift", "report"}
    drift_run = next(r for r in runs if r.data.tags["kind"] == "drift")
    assert drift_run.data.metrics["retraining_advised"] == 1.0 and f"effect.service_{MIXED}" in drift_run.data.metrics
    assert report["recommendations"] >= 1 and "Retrain the detector" in report["report"]
    html_path = Path(report["html_path"])
    assert html_path.is_file() and html_path.parent == get_settings().dagster_home / "reports"
    assert "## Recommendations" in report["report"]
    head, recs = read_report(mongo_db[REPORTS_COLLECTION], WEEK)
    assert head["html_path"] == str(html_path) and len(recs) == report["recommendations"]
    retrain = next(r for r in recs if r["title"].startswith("Retrain the detector"))
    assert retrain["category"] == "configuration_tuning" and retrain["evidence"]
    # The scenario's forecasts reach the report: its capacity lines come from them.
    assert any(line.startswith("Capacity: ") and "no forecasts" not in line for line in head["summary"])
    assert head["drift"]["verdict"] == "significant" and any("Drift:" in line for line in head["summary"])

    again = _materialize(storage, instance)
    assert again.success and _meta(again, "optimization_report")["replaced"] == len(recs) + 1
    assert mongo_db[REPORTS_COLLECTION].count_documents({}) == len(recs) + 1
    assert [r["id"] for r in read_report(mongo_db[REPORTS_COLLECTION], WEEK)[1]] == [r["id"] for r in recs]

    # the drift sensor (off by default) asks for one retraining run of the week
    assert drift_retraining_sensor.default_status == dg.DefaultSensorStatus.STOPPED
    evaluated = drift_retraining_sensor(dg.build_sensor_context(instance=instance))
    requests = [r for item in evaluated for r in (item if not isinstance(item, dg.RunRequest) else [item])]
    assert [r.partition_key for r in requests] == [WEEK]


def test_bad_report_settings_fail_clearly(storage):
    instance = dg.DagsterInstance.ephemeral()
    bad = _materialize(storage, instance, {"ops": {"optimization_report": {"config": {"rules_file": "/no/such.yaml"}}}})
    assert not bad.success
    failure = next(e for e in bad.all_events if e.event_type_value == "STEP_FAILURE")
    assert "cannot read rules file /no/such.yaml" in str(failure.event_specific_data.error)


def test_the_weekly_job_covers_drift_and_report_and_the_retrain_job_exists():
    weekly = {k.to_user_string() for k in defs.resolve_job_def("weekly_pipeline").asset_layer.executable_asset_keys}
    assert {"drift_report", "optimization_report"} <= weekly
    retrain = {k.to_user_string() for k in defs.resolve_job_def("retrain").asset_layer.executable_asset_keys}
    assert retrain == {"anomaly_model", "champion_model"}


def test_the_weekly_report_notebook_runs_against_what_the_assets_wrote(storage, tmp_path):
    assert _materialize(storage, dg.DagsterInstance.ephemeral()).success
    nb = nbformat.read(PROJECT_ROOT / "notebooks" / "weekly_report.ipynb", as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert f"week: {WEEK}" in outputs and "recommendations:" in outputs and "drift runs:" in outputs
    assert "Retrain the detector" in outputs
