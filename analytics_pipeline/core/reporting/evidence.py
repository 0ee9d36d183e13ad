"""Everything the weekly report rests on, gathered once: the week's logs, anomalies, alerts and
incidents (MongoDB), the gate's metrics (MLflow), drift, and the forecasts when there are some.

:func:`service_figures` condenses it to one row per service, the figures the built-in rules and
the YAML rules read (:data:`SERVICE_FIGURES`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

import numpy as np
import pandas as pd
from pymongo.database import Database

from analytics_pipeline.core.alerting.incidents import Incident
from analytics_pipeline.core.alerting.store import ALERTS_COLLECTION, INCIDENTS_COLLECTION, read_alerts, read_incidents
from analytics_pipeline.core.logs.windows import week_bounds
from analytics_pipeline.core.monitoring.drift import DriftReport
from analytics_pipeline.core.scoring.anomaly_store import ANOMALIES_COLLECTION, read_anomalies

_ANOMALY_FIELDS = ("log_id", "timestamp", "service", "anomaly_score", "severity", "anomaly_type", "message")
# Retry and timeout lines: what clients do when a dependency is slow (system settings).
RETRY_PATTERN = re.compile(r"\bretrying\b|\bretries\b|\battempt \d+/\d+", re.IGNORECASE)
TIMEOUT_PATTERN = re.compile(r"timed out|deadline exceeded|timeout", re.IGNORECASE)
# Running out of connections or memory (resource allocation).
POOL_PATTERN = re.compile(r"pool exhausted|too many connections", re.IGNORECASE)
MEMORY_PATTERN = re.compile(r"OutOfMemoryError|out of memory|OOMKilled|exit code 137", re.IGNORECASE)
LINE_PATTERNS = {"retry": RETRY_PATTERN, "timeout": TIMEOUT_PATTERN, "pool": POOL_PATTERN, "memory": MEMORY_PATTERN}
# Those lines are warnings or worse; matching only them keeps a 1M-log week to a few seconds.
WARNING_LEVELS = ("WARN", "ERROR", "CRITICAL")
SERVICE_FIGURES = ("logs", "error_share", "anomalies", "anomaly_share", "latency_p50", "latency_p95", "latency_p99",
                   "alerts", "unclustered_alerts", "unclustered_share", "incidents", "retry_share", "timeout_share")


@dataclass(frozen=True)
class GateMetrics:
    """The champion's and this week's challenger's holdout metrics (MLflow), and what the gate did."""

    champion_version: int | None
    champion: dict[str, float]
    challenger_version: int | None
    challenger: dict[str, float]
    contamination: str | None = None  # the champion's setting ("auto" or a share)


@dataclass(frozen=True)
class WeekEvidence:
    """One week's inputs to the report (frames hold the week only)."""

    partition: str
    start: datetime
    end: datetime
    logs: pd.DataFrame              # the week's logs (log contract columns)
    anomalies: pd.DataFrame         # the week's anomalies (``anomalies`` collection)
    alerts: pd.DataFrame            # the week's alerts (``alerts``)
    incidents: tuple[Incident, ...]  # the week's incidents, most urgent first (``alert_clusters``)
    drift: DriftReport | None = None
    gate: GateMetrics | None = None
    capacity: pd.DataFrame | None = None  # WeeklyForecasts.capacity (CAPACITY_COLUMNS)
    patterns: pd.DataFrame | None = None  # WeeklyForecasts.patterns (PATTERN_COLUMNS)
    health: Mapping[str, Any] | None = None  # core.scoring.health.health_summary of the week
    # What the rules derive from the frames, computed once per evidence (service_figures, flagged_lines).
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def anomaly_share(self) -> float:
        return len(self.anomalies) / len(self.logs) if len(self.logs) else 0.0


def _week(frame: pd.DataFrame, start: datetime, end: datetime, column: str = "timestamp") -> pd.DataFrame:
    if frame.empty:
        return frame
    stamps = pd.to_datetime(frame[column], utc=True)
    return frame[(stamps >= pd.Timestamp(start)) & (stamps < pd.Timestamp(end))].reset_index(drop=True)


def read_week(db: Database, partition: str, window_logs: pd.DataFrame, *, drift: DriftReport | None = None,
              gate: GateMetrics | None = None, capacity: pd.DataFrame | None = None,
              patterns: pd.DataFrame | None = None, health: Mapping[str, Any] | None = None) -> WeekEvidence:
    """The week's evidence: logs cut from the window, anomalies, alerts and incidents from MongoDB."""
    start, end = week_bounds(partition)
    docs = list(read_anomalies(db[ANOMALIES_COLLECTION], partition,
                               {"timestamp": {"$gte": start, "$lt": end}},
                               projection={f: True for f in _ANOMALY_FIELDS} | {"_id": False}))
    anomalies = pd.DataFrame(docs, columns=list(_ANOMALY_FIELDS))
    alerts = read_alerts(db[ALERTS_COLLECTION], partition)
    incidents = tuple(read_incidents(db[INCIDENTS_COLLECTION], partition))
    return WeekEvidence(partition, start, end, _week(window_logs, start, end), anomalies, alerts, incidents,
                        drift, gate, capacity, patterns, health)


def unclustered_alert_ids(evidence: WeekEvidence) -> set[str]:
    """Alerts of the week that no incident holds: noise, or trouble too small to cluster."""
    clustered = {a for incident in evidence.incidents for a in incident.alerts}
    return set(evidence.alerts["alert_id"]) - clustered if len(evidence.alerts) else set()


def flagged_lines(evidence: WeekEvidence) -> pd.DataFrame:
    """The week's warning-or-worse lines with a boolean column per :data:`LINE_PATTERNS` entry."""
    if "lines" not in evidence._memo:
        logs = evidence.logs
        lines = logs[logs["level"].isin(WARNING_LEVELS)] if len(logs) else logs
        messages = lines["message"].astype(str) if len(lines) else pd.Series(dtype=str)
        evidence._memo["lines"] = lines.assign(**{name: messages.str.contains(pattern).to_numpy(dtype=bool)
                                                 for name, pattern in LINE_PATTERNS.items()})
    return evidence._memo["lines"]


def service_figures(evidence: WeekEvidence) -> pd.DataFrame:
    """One row per service with :data:`SERVICE_FIGURES` (latencies in ms, shares in [0, 1])."""
    if "figures" not in evidence._memo:
        evidence._memo["figures"] = _service_figures(evidence)
    return evidence._memo["figures"].copy()


def _service_figures(evidence: WeekEvidence) -> pd.DataFrame:
    logs = evidence.logs
    if logs.empty:
        return pd.DataFrame(columns=["service", *SERVICE_FIGURES])
    frame = pd.DataFrame({
        "service": logs["service"].to_numpy(),
        "error": logs["level"].isin(["ERROR", "CRITICAL"]).to_numpy(),
        "rt": pd.to_numeric(logs["response_time"], errors="coerce").to_numpy(dtype=float),
    })
    grouped = frame.groupby("service")
    lines = flagged_lines(evidence).groupby("service")
    out = pd.DataFrame({"logs": grouped.size(), "error_share": grouped["error"].mean()})
    out["retry_share"] = (lines["retry"].sum() / out["logs"]).reindex(out.index).fillna(0.0)
    out["timeout_share"] = (lines["timeout"].sum() / out["logs"]).reindex(out.index).fillna(0.0)
    for q, name in ((0.5, "latency_p50"), (0.95, "latency_p95"), (0.99, "latency_p99")):
        out[name] = grouped["rt"].quantile(q)
    out["anomalies"] = evidence.anomalies.groupby("service").size() if len(evidence.anomalies) else 0
    alerts = evidence.alerts
    unclustered = unclustered_alert_ids(evidence)
    out["alerts"] = alerts.groupby("service").size() if len(alerts) else 0
    out["unclustered_alerts"] = alerts[alerts["alert_id"].isin(unclustered)].groupby("service").size() \
        if len(alerts) else 0
    out["incidents"] = pd.Series([s for i in evidence.incidents for s in set(i.services)], dtype=object) \
        .value_counts() if evidence.incidents else 0
    out = out.fillna({"anomalies": 0, "alerts": 0, "unclustered_alerts": 0, "incidents": 0})
    out["anomaly_share"] = out["anomalies"] / out["logs"]
    out["unclustered_share"] = np.where(out["alerts"] > 0, out["unclustered_alerts"] / out["alerts"].clip(lower=1), 0.0)
    out = out.astype({"anomalies": int, "alerts": int, "unclustered_alerts": int, "incidents": int})
    return out.reset_index(names="service")[["service", *SERVICE_FIGURES]]


def forecast_frame(frame: pd.DataFrame | None, columns: tuple[str, ...], name: str) -> pd.DataFrame:
    """A forecasts frame checked against its contract (issue 13); empty when absent."""
    if frame is None or frame.empty:
        return pd.DataFrame(columns=list(columns))
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"the {name} frame lacks columns {missing} (expected {', '.join(columns)})")
    return frame
