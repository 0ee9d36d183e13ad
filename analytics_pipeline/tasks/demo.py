"""``make demo``: the main weekly job, end to end, on local defaults."""
from __future__ import annotations

import os
import time
from typing import Any

from dagster import DagsterInstance

from analytics_pipeline.core.alerting.summaries import week_summary_lines
from analytics_pipeline.core.logs.store import LOGS_COLLECTION
from analytics_pipeline.core.logs.windows import latest_complete_week
from analytics_pipeline.core.redaction import redact
from analytics_pipeline.core.scoring.anomaly_store import ANOMALIES_COLLECTION, strongest_of_each_type
from analytics_pipeline.core.settings import ensure_dagster_home, get_settings
from analytics_pipeline.definitions import defs
from analytics_pipeline.resources.mongodb import MongoDBResource
from analytics_pipeline.synthetic.seeding import seed_synthetic

DEMO_DAYS = 35


def _materializations(result: Any) -> dict[str, dict[str, Any]]:
    """Asset name -> its materialization metadata (plain values) from an in-process run."""
    out: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        out[mat.asset_key.to_user_string()] = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    return out


def print_summary(mats: dict[str, dict[str, Any]], db: Any, partition: str) -> None:
    """What was read, trained, decided and found, in a few lines an operator can read."""
    raw, model, gate, scored = (mats.get(k, {}) for k in ("raw_logs", "anomaly_model", "champion_model", "scored_logs"))
    print(f"  read      {raw.get('row_count', 0):,} logs ({raw.get('window_start', '?')[:10]} .. "
          f"{raw.get('window_end', '?')[:10]}), {raw.get('bad_documents', 0):,} set aside")
    metrics = "  ".join(f"{k} {model[k]:.3f}" for k in ("precision", "recall", "f1", "roc_auc") if k in model)
    print(f"  trained   model v{model.get('model_version')}: {metrics or 'no labels in the window'}")
    print(f"  gate      {'PROMOTED' if gate.get('promoted') else 'kept the champion'}: {gate.get('reason')}")
    health = scored.get("health_summary", {}).get("overall", {})
    print(f"  scored    {scored.get('dagster/row_count', 0):,} logs with champion v{scored.get('model_version')}: "
          f"{scored.get('anomalies', 0):,} anomalies, health {health.get('health_score', float('nan')):.1f}/100 "
          f"({health.get('status', '?')})")
    print("\n".join(week_summary_lines(db, partition)))
    top = strongest_of_each_type(db[ANOMALIES_COLLECTION], partition)
    if top:
        print("\nTop anomalies (the strongest of each kind):")
    for doc in top:
        print(f"  {doc['timestamp']:%Y-%m-%d %H:%M} {doc['service']:<20} {doc['severity']:<8} "
              f"{doc.get('anomaly_type') or '-':<22} score {doc['anomaly_score']:.3f}")
        print(f"      {doc['message'][:110]}")
        if doc.get("explanation"):
            print(f"      why: {doc['explanation'][:150]}")


def run_demo(partition: str | None = None, logs_per_minute: float = 5.0) -> int:
    """Start what is needed, seed when empty, run the weekly job for one week, print a summary."""
    settings = get_settings()
    os.environ["DAGSTER_HOME"] = str(ensure_dagster_home(settings.dagster_home))
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
    if not result.success:
        for event in result.all_events:
            if event.is_failure:
                print(redact(str(event.message)))
        return 1
    print_summary(mats, logs.database, partition)
    print(f"""
Next steps:
  make ui          Dagster UI on http://127.0.0.1:3000: asset graph, this run, launch other weeks
  make mlflow-ui   MLflow UI on http://127.0.0.1:5000: experiment "log-anomaly-detection"; select
                   runs and press Compare; model "log-anomaly-detector" shows versions and aliases
  notebooks/model_comparison.ipynb   the same comparison in Jupyter
State: Dagster home {settings.dagster_home}, MLflow {redact(settings.mlflow_tracking_uri)}""")
    return 0
