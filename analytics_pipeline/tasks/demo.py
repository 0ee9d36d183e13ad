"""``make demo``: the main weekly job, end to end, on local defaults, in one screen of output."""
from __future__ import annotations

import os
import time
from typing import Any

from rich.console import Console

from analytics_pipeline.core.alerting.summaries import week_summary_lines
from analytics_pipeline.core.logs.store import LOGS_COLLECTION
from analytics_pipeline.core.logs.windows import latest_complete_week, week_bounds
from analytics_pipeline.core.redaction import redact
from analytics_pipeline.core.reporting.store import REPORTS_COLLECTION, read_report
from analytics_pipeline.core.scoring.anomaly_store import ANOMALIES_COLLECTION, strongest_of_each_type
from analytics_pipeline.core.settings import ensure_dagster_home, get_settings
from analytics_pipeline.resources.mongodb import MongoDBResource
from analytics_pipeline.synthetic.causes import DEMO_CAUSES, demo_week
from analytics_pipeline.synthetic.seeding import insert_synthetic, synthetic_window
from analytics_pipeline.tasks.console import StepLines, elapsed_text, make_console
from analytics_pipeline.tasks.job_runs import run_job

DEMO_DAYS = 35
JOB = "weekly_pipeline"


def _seed_when_empty(logs: Any, lines: StepLines, logs_per_minute: float, partition: str) -> None:
    count = logs.estimated_document_count()
    if count:
        lines.done("seed", f"logs collection holds {count:,} documents: not seeding")
        return
    with lines.step("seed") as step:
        frame = demo_week(synthetic_window(DEMO_DAYS, logs_per_minute), *week_bounds(partition))
        with lines.progress(f"inserting {len(frame):,} synthetic logs", total=len(frame)) as advance:
            report = insert_synthetic(logs, frame, on_batch=advance)
        step.what = f"{report.inserted:,} synthetic logs over {DEMO_DAYS} days; the week {partition} with {DEMO_CAUSES}"


def print_week(console: Console, db: Any, partition: str) -> None:
    """The week's most urgent incidents and its strongest anomaly of each kind."""
    for line in week_summary_lines(db, partition, limit=3):
        console.print(line)
    start, end = week_bounds(partition)
    top = strongest_of_each_type(db[ANOMALIES_COLLECTION], partition, since=start, until=end)
    if top:
        console.print(f"\nStrongest anomaly of each kind in the week {partition}:")
    for doc in top:
        console.print(f"  {doc['timestamp']:%a %H:%M} {doc['service']:<20} {doc['severity']:<8} "
                      f"{doc.get('anomaly_type') or '-':<24} {doc['anomaly_score']:.3f}  "
                      f"{(doc.get('explanation') or doc['message'])[:90]}")


def print_report(console: Console, db: Any, partition: str) -> None:
    """The weekly report in brief: health, capacity, top recommendations, HTML path."""
    head, _ = read_report(db[REPORTS_COLLECTION], partition)
    if head is None:
        console.print(f"\nNo weekly report for {partition} (optimization_report did not run).")
        return
    console.print(f"\nWeekly report {partition}:")
    for line in head.get("brief") or head.get("summary", []):
        console.print(f"  {line}", markup=False, highlight=False)
    console.print(f"  HTML report: {head.get('html_path')}  (analytics-pipeline report --output report.html)")


def run_demo(partition: str | None = None, logs_per_minute: float = 5.0) -> int:
    """Start what is needed, seed when empty, run the weekly job for one week, print a summary."""
    started = time.perf_counter()
    console = make_console()
    lines = StepLines(console)
    settings = get_settings()
    os.environ["DAGSTER_HOME"] = str(ensure_dagster_home(settings.dagster_home))
    partition = partition or latest_complete_week()
    console.print(f"analytics-pipeline demo: the {JOB} job for the week {partition}, on local defaults")

    with lines.step("mongodb") as step:
        mongodb = MongoDBResource()
        logs = mongodb.db()[LOGS_COLLECTION]
        step.what = f"{mongodb.redacted_uri} (database {logs.database.name})"
    _seed_when_empty(logs, lines, logs_per_minute, partition)

    run = run_job(JOB, partition, lines, settings.dagster_home / "logs")
    verdict = "succeeded" if run.success else "FAILED"
    console.print(f"  run {run.result.run_id[:8]} {verdict} in {elapsed_text(run.seconds)}; "
                  f"Dagster event log: {run.log_path}")
    if not run.success:
        console.print(f"\nThe run failed; the step lines above say where. Full log: {run.log_path}")
        return 1
    print_week(console, logs.database, partition)
    print_report(console, logs.database, partition)
    console.print(f"""
Next: make ui (Dagster, http://127.0.0.1:3000) · make mlflow-ui (MLflow, http://127.0.0.1:5000: runs, model versions,
      the "forecasts" experiment) · jupyter lab notebooks/ (model_comparison, incidents, forecasts, weekly_report)
State: {settings.dagster_home}, MLflow {redact(settings.mlflow_tracking_uri)}
Total time {elapsed_text(time.perf_counter() - started)}""")
    return 0
