"""``service_metrics`` and ``forecasts`` in real Dagster runs on a synthetic 30-day window, against
the real MongoDB-protocol server and a real MLflow store: what they write, what they show, that
re-runs replace, and that the notebook reads it back."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

import dagster as dg
import mlflow
import nbformat
import numpy as np
import pandas as pd
import pytest
from nbclient import NotebookClient

from analytics_pipeline.assets.forecasting import forecasts
from analytics_pipeline.assets.metrics import service_metrics
from analytics_pipeline.core.forecasting.store import FORECASTS_COLLECTION, read_forecasts
from analytics_pipeline.core.forecasting.tracking import FORECASTS_EXPERIMENT
from analytics_pipeline.core.forecasting.weekly import WeeklyForecasts
from analytics_pipeline.core.logs.store import LOGS_COLLECTION
from analytics_pipeline.core.logs.windows import window_for_partition
from analytics_pipeline.core.metrics.system import SYSTEM_METRICS_COLLECTION
from analytics_pipeline.core.settings import PROJECT_ROOT, get_settings
from analytics_pipeline.definitions import defs
from analytics_pipeline.partitions import weekly_partitions
from analytics_pipeline.resources.mlflow_tracking import MLflowResource
from analytics_pipeline.resources.mongodb import MongoDBResource
from analytics_pipeline.resources.parquet_io import ParquetIOManager
from analytics_pipeline.synthetic.generator import generate_logs_with_incidents, iter_document_batches

WEEK = "2026-11-08"
RAW = dg.SourceAsset(key="raw_logs", io_manager_key="parquet_io_manager", partitions_def=weekly_partitions)


@lru_cache(maxsize=1)
def _window_logs() -> pd.DataFrame:
    start, end = window_for_partition(WEEK)
    logs, _ = generate_logs_with_incidents(start, end, logs_per_minute=2, seed=5)
    return logs


def _host_samples(start: datetime, hours: int) -> list[dict]:
    rng = np.random.default_rng(0)
    return [{"host": "web-1", "timestamp": start + timedelta(minutes=30 * i), "cpu": 40 + 20 * np.sin(i / 7.6),
             "memory": 60.0 + i / 100, "disk": 70.0, "net_in": 1e5 * rng.random(), "net_out": 5e4,
             "processes": 200.0, "load": 1.0 + rng.random()} for i in range(2 * hours)]


@pytest.fixture
def storage(tmp_path, mongo_db):
    (tmp_path / "raw_logs").mkdir()
    _window_logs().to_parquet(tmp_path / "raw_logs" / f"{WEEK}.parquet", index=False)
    start, end = window_for_partition(WEEK)
    mongo_db[SYSTEM_METRICS_COLLECTION].insert_many(_host_samples(start, int((end - start).total_seconds() // 3600)))
    return tmp_path


def _materialize(storage, run_config: dict | None = None):
    return dg.materialize([RAW, service_metrics, forecasts], partition_key=WEEK, raise_on_error=False,
                          resources={"mongodb": MongoDBResource(), "mlflow_tracking": MLflowResource(),
                                     "parquet_io_manager": ParquetIOManager(base_dir=str(storage))},
                          run_config=run_config)


def _meta(result, node: str) -> dict:
    return {k: getattr(v, "value", v) for k, v in result.asset_materializations_for_node(node)[0].metadata.items()}


def test_the_window_becomes_forecasts_in_mongodb_and_mlflow_and_a_rerun_replaces_them(mongo_db, storage):
    result = _materialize(storage)
    assert result.success
    metrics_meta, forecast_meta = _meta(result, "service_metrics"), _meta(result, "forecasts")
    assert metrics_meta["hosts"] == 1 and metrics_meta["services"] == 12
    assert metrics_meta["series"] == 12 * 5 + 7 and "data:image/png;base64," in metrics_meta["charts"]
    week: WeeklyForecasts = result.output_for_node("forecasts")
    assert len(week.skill) == len(week.patterns) == 67 and set(week.risk["service"]) >= {"web-1", "api-gateway"}
    assert {"service", "metric", "threshold", "probability", "first_crossing", "forecast_peak", "current",
            "model"} <= set(week.capacity.columns)
    assert week.capacity["probability"].between(0, 1).all() and week.risk["anomaly_probability"].between(0, 1).all()
    assert set(week.patterns["pattern"]) <= {"stable", "trending", "volatile"}
    assert week.patterns["insight"].str.len().min() > 10
    assert (week.skill["mase"] < week.skill["naive_mase"]).mean() >= 0.6
    stored = read_forecasts(mongo_db[FORECASTS_COLLECTION], WEEK)
    assert len(stored) == forecast_meta["inserted"] == 67 * 168
    assert np.isfinite(stored[["mean", "lo_80", "hi_80", "lo_95", "hi_95"]].to_numpy(dtype=float)).all()
    assert stored["timestamp"].min() == pd.Timestamp("2026-11-15", tz="UTC")
    assert "summary" in forecast_meta and forecast_meta["summary"].startswith("67 series forecast")
    checks = result.get_asset_check_evaluations()
    assert [c.passed for c in checks if c.check_name == "forecasts_finite"] == [True]

    mlflow.set_tracking_uri(get_settings().mlflow_tracking_uri)
    run = mlflow.get_run(forecast_meta["mlflow_run"])
    assert mlflow.get_experiment(run.info.experiment_id).name == FORECASTS_EXPERIMENT
    assert "median_mase" in run.data.metrics and "mase/web-1/cpu" in run.data.metrics

    again = _materialize(storage)
    assert again.success and _meta(again, "forecasts")["replaced"] == 67 * 168
    assert mongo_db[FORECASTS_COLLECTION].count_documents({}) == 67 * 168


def test_bad_thresholds_fail_the_step_clearly(storage):
    bad = _materialize(storage, {"ops": {"forecasts": {"config": {"warn_probability": 0.5, "volume_headroom": 2.0,
                                                                  "thresholds": {"cpu": float("nan")}}}}})
    assert not bad.success
    failure = next(e for e in bad.all_events if e.event_type_value == "STEP_FAILURE")
    assert "bad forecasts configuration: thresholds must be numbers" in str(failure.event_specific_data.error)
    # A bad setting is not a transient fault: the MongoDB retry policy does not run it again.
    assert not [e for e in bad.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]


def test_the_weekly_job_includes_forecasting():
    weekly = {k.to_user_string() for k in defs.resolve_job_def("weekly_pipeline").asset_layer.executable_asset_keys}
    assert {"service_metrics", "forecasts"} <= weekly


def test_the_forecasts_notebook_reads_the_week_back_from_mongodb(mongo_db, storage, tmp_path):
    assert _materialize(storage).success
    for batch in iter_document_batches(_window_logs()):
        mongo_db[LOGS_COLLECTION].insert_many(batch)
    nb = nbformat.read(PROJECT_ROOT / "notebooks" / "forecasts.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert f"showing: {WEEK}" in outputs and "67 series" in outputs and "capacity warnings" in outputs
    assert (tmp_path / "forecast_band.png").stat().st_size > 10_000
