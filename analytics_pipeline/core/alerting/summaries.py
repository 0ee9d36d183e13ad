"""Incidents for people: text lines (CLI, ``make demo``) and Markdown tables (Dagster, notebooks)."""
from __future__ import annotations

from typing import Sequence

import pandas as pd
from pymongo.database import Database

from analytics_pipeline.core.alerting.incidents import Incident, duration_text
from analytics_pipeline.core.alerting.store import (
    ALERTS_COLLECTION, INCIDENTS_COLLECTION, read_alerts, read_incidents,
)
from analytics_pipeline.core.markdown import counts_table, frame_table, shorten


def incidents_frame(incidents: Sequence[Incident]) -> pd.DataFrame:
    """One row per incident with what a triage table shows, in the given order."""
    return pd.DataFrame([{
        "priority": i.priority, "score": i.priority_score, "cluster_id": i.cluster_id,
        "start": f"{i.first_alert_time:%Y-%m-%d %H:%M}", "duration": duration_text(i.duration_minutes),
        "type": i.cluster_type, "root cause": i.root_cause, "confidence": i.confidence,
        "services": ", ".join(i.services), "anomalies": i.anomaly_count, "alerts": len(i.alerts),
        "worst": i.max_severity, "escalation": i.escalation.notify, "impact": i.impact_assessment,
    } for i in incidents], columns=["priority", "score", "cluster_id", "start", "duration", "type", "root cause",
                                    "confidence", "services", "anomalies", "alerts", "worst", "escalation", "impact"])


def incidents_table(incidents: Sequence[Incident], rows: int = 10) -> str:
    """The first ``rows`` incidents as a Markdown table."""
    if not incidents:
        return "_no incidents_"
    return frame_table(incidents_frame(incidents[:rows]).drop(columns=["impact"]), rows=rows, max_chars=60)


def root_cause_table(incident: Incident) -> str:
    """An incident's ranked root-cause candidates with their evidence, as Markdown."""
    if not incident.root_cause_candidates:
        return "_no candidates_"
    frame = pd.DataFrame([{"rank": k + 1, "service": c.service, "score": c.score, "evidence": "; ".join(c.evidence)}
                          for k, c in enumerate(incident.root_cause_candidates)])
    return frame_table(frame, rows=len(frame), max_chars=300)


def summary_line(anomalies: int, incidents: int, alerts: int) -> str:
    """``4,613 anomalies -> 2,236 alerts -> 27 incidents (compression 99.4%)``."""
    compression = f"compression {1 - incidents / anomalies:.1%}" if anomalies else "no anomalies"
    return f"{anomalies:,} anomalies -> {alerts:,} alerts -> {incidents:,} incidents ({compression})"


def incident_lines(incidents: Sequence[Incident], limit: int = 5, detail: bool = True) -> list[str]:
    """The most urgent incidents: priority, start, duration, type, root cause and id, then the
    services and the strongest evidence; with ``detail`` (the CLI) also the escalation and the
    impact, each on its own line (``make demo`` keeps to two lines an incident)."""
    lines = []
    for i in incidents[:limit]:
        lines.append(f"  {i.priority} {i.priority_score:>5.1f}  {i.first_alert_time:%Y-%m-%d %H:%M}  "
                     f"{duration_text(i.duration_minutes):>7}  {i.cluster_type:<14} root cause {i.root_cause} "
                     f"(confidence {i.confidence:.2f})  [{i.cluster_id}]")
        top = i.root_cause_candidates[0] if i.root_cause_candidates else None
        why = f"why: {shorten('; '.join(top.evidence), 160 if detail else 100)}" if top is not None else ""
        if not detail:
            lines.append(f"      {', '.join(i.services)}" + (f"; {why}" if why else ""))
            continue
        lines.append(f"      services: {', '.join(i.services)}; escalation: {i.escalation.notify}")
        lines.append(f"      {i.impact_assessment}")
        if why:
            lines.append(f"      {why}")
    return lines


def type_counts_table(incidents: Sequence[Incident]) -> str:
    """Incidents per cluster type and per priority, as Markdown."""
    types = pd.Series([i.cluster_type for i in incidents], dtype=object).value_counts().to_dict()
    priorities = pd.Series([i.priority for i in incidents], dtype=object).value_counts().to_dict()
    return counts_table(types, "type") + "\n\n" + counts_table(priorities, "priority")


def week_summary_lines(db: Database, partition: str, limit: int = 5) -> list[str]:
    """The week's incidents as stored (``make demo``): the compression, then the most urgent."""
    incidents = read_incidents(db[INCIDENTS_COLLECTION], partition)
    alerts = read_alerts(db[ALERTS_COLLECTION], partition)
    lines = [f"\nIncidents of the week {partition}: "
             + summary_line(int(alerts["count"].sum()) if len(alerts) else 0, len(incidents), len(alerts))]
    if not incidents:
        return lines
    lines.append(f"Most urgent {min(limit, len(incidents))} of {len(incidents)} (all, with evidence and timelines: "
                 "notebooks/incidents.ipynb):")
    return lines + incident_lines(incidents, limit, detail=False)
