"""``make demo``: the main weekly job, end to end, on local defaults."""
from __future__ import annotations

import os
import time
from typing import Any

from analytics_pipeline.core.log_store import LOGS_COLLECTION
from analytics_pipeline.core.redaction import redact
from analytics_pipeline.core.windows import latest_complete_week
from analytics_pipeline.settings import ensure_dagster_home, get_settings

DEMO_DAYS = 35


def _materializations(result: Any) -> dict[str, dict[str, Any]]:
    """Asset name -> its materialization metadata (plain values) from an in-process run."""
    out: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        out[mat.asset_key.to_user_string()] = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    return out


def run_demo(partition: str | None = None, logs_per_minute: float = 5.0) -> int:
    """Start what is needed, seed when empty, run the weekly job for one week, print a summary."""
    settings = get_settings()
    os.environ["DAGSTER_HOME"] = str(ensure_dagster_home(settings.dagster_home))
    from dagster import DagsterInstance

    from analytics_pipeline.definitions import defs
    from analytics_pipeline.ingest import seed_synthetic
    from analytics_pipeline.resources.mongodb import MongoDBResource

    mongodb = MongoDBResource()
    logs = mongodb.db()[LOGS_COLLECTION]
    print(f"MongoDB: {mongodb.redacted_uri} (database {logs.database.name})")
    if logs.estimated_document_count() == 0:
        t0 = time.perf_counter()
        report = seed_synthetic(logs, days=DEMO_DAYS, logs_per_minute=logs_per_minute)
        print(f"seeded {report.inserted:,} synthetic logs over {DEMO_DAYS} days "
              f"in {time.perf_counter() - t0:.0f}s")
    else:
        print(f"logs collection holds {logs.estimated_document_count():,} documents: not seeding")

    partition = partition or latest_complete_week()
    print(f"running job weekly_pipeline for week {partition} ...")
    t0 = time.perf_counter()
    result = defs.resolve_job_def("weekly_pipeline").execute_in_process(
        partition_key=partition, instance=DagsterInstance.get(), raise_on_error=False)
    elapsed = time.perf_counter() - t0
    mats = _materializations(result)
    print(f"\nrun {result.run_id} {'succeeded' if result.success else 'FAILED'} in {elapsed:.0f}s")
    for asset, meta in mats.items():
        print(f"  materialized {asset}: " + ", ".join(
            f"{k}={v}" for k, v in meta.items() if isinstance(v, (int, float, str)) and len(str(v)) < 60
            and not k.startswith("dagster/"))[:400])
    if not result.success:
        for event in result.all_events:
            if event.is_failure:
                print(redact(str(event.message)))
        return 1
    print(f"""
Next steps:
  make ui          Dagster UI on http://127.0.0.1:3000 (asset graph, this run, launch more weeks)
  make mlflow-ui   MLflow UI on http://127.0.0.1:5000 (runs, metrics, registered models)
State: Dagster home {settings.dagster_home}, MLflow {redact(settings.mlflow_tracking_uri)}""")
    return 0
