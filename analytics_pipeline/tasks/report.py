"""The ``report`` command: the latest (or a given) week's HTML report, written where asked, and
its summary lines."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import mlflow
from pymongo.database import Database

from analytics_pipeline.core.lifecycle.runs import configure
from analytics_pipeline.core.reporting.store import REPORTS_COLLECTION, latest_report_partition, read_report


@dataclass(frozen=True)
class WrittenReport:
    partition: str
    path: Path
    summary: list[str]
    recommendations: int


def _check_week(partition: str) -> None:
    try:
        datetime.strptime(partition, "%Y-%m-%d")
    except ValueError:
        raise ValueError(f"--partition must be a week key YYYY-MM-DD, got {partition!r}") from None


def write_report_file(db: Database, partition: str | None, output: Path | None,
                      tracking_uri: str | None = None) -> WrittenReport:
    """Copy the week's HTML report to ``output`` (default: ``report-<week>.html`` here).

    The HTML comes from where the asset wrote it under DAGSTER_HOME, or from its MLflow run when
    that file is gone. ValueError with one clear sentence when there is no report for the week.
    """
    collection = db[REPORTS_COLLECTION]
    if partition is not None:
        _check_week(partition)
    week = partition or latest_report_partition(collection)
    if week is None:
        raise ValueError("no weekly report yet: run `make demo` or materialize optimization_report in the Dagster UI")
    head, recommendations = read_report(collection, week)
    if head is None:
        raise ValueError(f"no report for the week {week}: materialize optimization_report for it "
                         "(Dagster UI, or `make demo` for the latest week)")
    target = output or Path(f"report-{week}.html")
    if target.exists() and target.is_dir():
        target = target / f"report-{week}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    source = Path(head["html_path"]) if head.get("html_path") else None
    if source is not None and source.is_file():
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
    elif head.get("mlflow_run_id"):
        if tracking_uri:
            configure(tracking_uri)
        fetched = mlflow.artifacts.download_artifacts(run_id=head["mlflow_run_id"], artifact_path="report.html")
        shutil.copyfile(fetched, target)
    else:
        raise ValueError(f"the report of {week} has no HTML file left ({source}) and no MLflow run: re-materialize it")
    return WrittenReport(week, target, list(head.get("summary", [])), len(recommendations))
