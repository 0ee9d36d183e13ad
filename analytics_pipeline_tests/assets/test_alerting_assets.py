"""``alerts`` and ``alert_clusters`` in real Dagster runs on a week scored by a real model, against
the real MongoDB-protocol server: what they write, what they show, and that re-runs replace."""
from __future__ import annotations

import json

import dagster as dg
import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from analytics_pipeline.assets.alerting import alert_clusters, alerts
from analytics_pipeline.core.alerting.store import ALERTS_COLLECTION, INCIDENTS_COLLECTION, read_incidents
from analytics_pipeline.core.scoring.anomaly_store import ANOMALIES_COLLECTION, write_anomalies
from analytics_pipeline.core.settings import PROJECT_ROOT
from analytics_pipeline.definitions import defs
from analytics_pipeline.partitions import weekly_partitions
from analytics_pipeline.resources.mongodb import MongoDBResource
from analytics_pipeline.resources.parquet_io import ParquetIOManager
from analytics_pipeline_tests.alerting_data import WEEK, WEEK_START, scored_window

SCORED = dg.SourceAsset(key="scored_logs", io_manager_key="parquet_io_manager", partitions_def=weekly_partitions)


@pytest.fixture
def storage(tmp_path):
    """The week's scored_logs where the Parquet IO manager keeps it (nested fields as JSON text)."""
    scored = scored_window().scored.copy()
    for col in ("contributors", "recommended_actions"):
        scored[col] = scored[col].map(json.dumps)
    (tmp_path / "scored_logs").mkdir()
    scored.to_parquet(tmp_path / "scored_logs" / f"{WEEK}.parquet", index=False)
    return tmp_path


def _materialize(storage, run_config: dict | None = None):
    return dg.materialize([SCORED, alerts, alert_clusters], partition_key=WEEK, raise_on_error=False,
                          resources={"mongodb": MongoDBResource(),
                                     "parquet_io_manager": ParquetIOManager(base_dir=str(storage))},
                          run_config=run_config)


def _meta(result, node: str) -> dict:
    return {k: getattr(v, "value", v) for k, v in result.asset_materializations_for_node(node)[0].metadata.items()}


def test_the_week_becomes_alerts_and_incidents_and_a_rerun_replaces_them(mongo_db, storage):
    result = _materialize(storage)
    assert result.success
    alert_meta, cluster_meta = _meta(result, "alerts"), _meta(result, "alert_clusters")
    stored_alerts = list(mongo_db[ALERTS_COLLECTION].find({"partition": WEEK}))
    assert len(stored_alerts) == alert_meta["week_alerts"] > 0
    assert all(pd.Timestamp(WEEK_START) <= pd.Timestamp(a["first_seen"]) for a in stored_alerts)
    week_flags = scored_window().scored.query("is_anomaly and timestamp >= @WEEK_START")
    assert alert_meta["week_anomalies"] == len(week_flags) == cluster_meta["week_anomalies"]
    incidents = read_incidents(mongo_db[INCIDENTS_COLLECTION], WEEK)
    assert len(incidents) == cluster_meta["incidents"] > 0
    assert cluster_meta["compression"] == pytest.approx(1 - len(incidents) / len(week_flags)) and \
        cluster_meta["compression"] > 0.95
    assert "root cause" in cluster_meta["top_incidents"] and incidents[0].cluster_id in cluster_meta["top_incidents"]
    assert cluster_meta["dependency_graph"].startswith("```mermaid\nflowchart LR")
    assert "data:image/png;base64," in cluster_meta["timeline"]
    assert "evidence" in cluster_meta["top_incident_root_cause"].splitlines()[0]

    again = _materialize(storage)
    assert again.success and _meta(again, "alert_clusters")["replaced"] == len(incidents)
    assert [i.cluster_id for i in read_incidents(mongo_db[INCIDENTS_COLLECTION], WEEK)] == \
        [i.cluster_id for i in incidents]
    assert mongo_db[INCIDENTS_COLLECTION].count_documents({}) == len(incidents)
    assert mongo_db[ALERTS_COLLECTION].count_documents({}) == len(stored_alerts)


def test_the_launchpad_chooses_the_algorithm_and_bad_settings_fail_clearly(mongo_db, storage):
    config = {"ops": {"alert_clusters": {"config": {"clustering_algorithm": "rule_based"}}}}
    result = _materialize(storage, config)
    assert result.success and _meta(result, "alert_clusters")["algorithm"] == "rule_based"
    bad = _materialize(storage, {"ops": {"alert_clusters": {"config": {"priority_factors": {"colour": 1.0}}}}})
    assert not bad.success
    failure = next(e for e in bad.all_events if e.event_type_value == "STEP_FAILURE")
    assert "unknown priority factor(s) 'colour'" in str(failure.event_specific_data.error)


def test_the_weekly_job_includes_alerting():
    weekly = {k.to_user_string() for k in defs.resolve_job_def("weekly_pipeline").asset_layer.executable_asset_keys}
    assert {"alerts", "alert_clusters"} <= weekly


def test_the_incidents_notebook_runs_against_what_the_assets_wrote(mongo_db, storage, tmp_path):
    assert _materialize(storage).success
    scored = scored_window().scored
    write_anomalies(mongo_db[ANOMALIES_COLLECTION], scored[scored["is_anomaly"]], WEEK)
    nb = nbformat.read(PROJECT_ROOT / "notebooks" / "incidents.ipynb", as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert f"showing: {WEEK}" in outputs and "incidents (compression" in outputs
    assert "escalation:" in outputs and "rule_based:" in outputs and "dbscan:" in outputs
    assert (tmp_path / "incidents_timeline.png").stat().st_size > 10_000
