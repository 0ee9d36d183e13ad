"""The ``reports`` collection: per week, one ``report`` document (summary, Markdown, where the HTML
lives) and one ``recommendation`` document per recommendation, replaced atomically per partition
(core.partition_store)."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pymongo.collection import Collection

from analytics_pipeline.core.partition_store import (
    PartitionWrite, read_partition, replace_partition, to_bson_value, visible_filter,
)
from analytics_pipeline.core.reporting.engine import WeeklyReport
from analytics_pipeline.core.reporting.render import summary_lines

REPORTS_COLLECTION = "reports"


def report_documents(report: WeeklyReport, markdown: str, html_path: str | None,
                     mlflow_run_id: str | None) -> list[dict[str, Any]]:
    """The report document, then one per recommendation (rank 1 first)."""
    drift = report.drift
    head = {
        "kind": "report", "week_start": report.start, "week_end": report.end, "generated_at": report.generated_at,
        "health": report.health.get("overall", {}), "logs": report.logs, "anomalies": report.anomalies,
        "alerts": report.alerts, "incidents": len(report.incidents),
        "top_incidents": [{"cluster_id": i.cluster_id, "priority": i.priority, "root_cause": i.root_cause,
                           "services": list(i.services)} for i in report.incidents[:5]],
        "capacity_warnings": report.capacity_warnings.to_dict(orient="records"),
        "drift": None if drift is None else {"verdict": drift.verdict, "retraining_advised": drift.retraining_advised,
                                             "reasons": list(drift.reasons), "model_version": drift.model_version,
                                             "drifted_features": drift.drifted["feature"].tolist()},
        "recommendations": len(report.recommendations), "summary": summary_lines(report),
        "brief": summary_lines(report, detail=False),
        "markdown": markdown, "html_path": html_path, "mlflow_run_id": mlflow_run_id,
    }
    recs = [{"kind": "recommendation", "rank": n, **asdict(rec)} for n, rec in enumerate(report.recommendations, 1)]
    return [to_bson_value(doc) for doc in (head, *recs)]


def write_report(collection: Collection, report: WeeklyReport, markdown: str, html_path: str | None,
                 mlflow_run_id: str | None = None) -> PartitionWrite:
    """Replace the partition's report and recommendations."""
    return replace_partition(collection, report.partition,
                             [report_documents(report, markdown, html_path, mlflow_run_id)])


def read_report(collection: Collection, partition: str) -> tuple[dict | None, list[dict]]:
    """(the report document or None, its recommendations by rank)."""
    docs = list(read_partition(collection, partition, projection={"_id": False}))
    head = next((d for d in docs if d.get("kind") == "report"), None)
    return head, sorted((d for d in docs if d.get("kind") == "recommendation"), key=lambda d: d["rank"])


def latest_report_partition(collection: Collection) -> str | None:
    """The newest week with a report, or None."""
    weeks = sorted(collection.distinct("partition", {**visible_filter(collection), "kind": "report"}))
    return weeks[-1] if weeks else None
