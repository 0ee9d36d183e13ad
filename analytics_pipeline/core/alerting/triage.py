"""From scored logs to incidents, the whole flow: what the assets, the CLI and notebooks call.

1. :func:`~analytics_pipeline.core.alerting.anomalies.anomalies_from_scored`: the anomalies.
2. :func:`~analytics_pipeline.core.alerting.alerts.deduplicate`: alerts by fingerprint.
3. :func:`find_incidents`: over all the alerts given (the 30-day window in the weekly assets),
   learn the service dependency graph and each service's background anomaly rate; then cluster
   the alerts of the period asked for (the partition's week) and describe each incident.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from analytics_pipeline.core.alerting.alerts import AlertSet, deduplicate
from analytics_pipeline.core.alerting.anomalies import AnomalyBatch, anomalies_from_scored
from analytics_pipeline.core.alerting.clustering import incident_labels, make_clusterer
from analytics_pipeline.core.alerting.config import AlertIntelligenceConfig
from analytics_pipeline.core.alerting.dependencies import DependencyGraph, episode_starts, learn_dependencies
from analytics_pipeline.core.alerting.features import alert_features
from analytics_pipeline.core.alerting.incidents import AlertArrays, Incident, build_incident, criticality_of
from analytics_pipeline.core.alerting.significance import background_rates

_NS_PER_MINUTE = 60 * 10**9


@dataclass(frozen=True)
class IncidentReport:
    """The incidents of a period (most urgent first), its alerts with their ``cluster_id`` (None
    for an alert in no incident), and the dependency graph learned on the way."""

    alerts: pd.DataFrame
    incidents: tuple[Incident, ...]
    graph: DependencyGraph
    anomalies: int
    config: AlertIntelligenceConfig = field(default_factory=AlertIntelligenceConfig)

    @property
    def compression(self) -> float | None:
        """1 - incidents / anomalies (None without anomalies)."""
        return 1.0 - len(self.incidents) / self.anomalies if self.anomalies else None

    @property
    def alerts_in_incidents(self) -> int:
        return int(self.alerts["cluster_id"].notna().sum()) if len(self.alerts) else 0


def _ns(values: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(values).as_unit("ns").asi8


def learn_graph(alerts: pd.DataFrame, config: AlertIntelligenceConfig) -> DependencyGraph:
    """The dependency graph of the services in ``alerts`` (core.alerting.dependencies)."""
    if len(alerts) == 0:
        return DependencyGraph(window_minutes=config.correlation_window_minutes)
    first, last = _ns(alerts["first_seen"]), _ns(alerts["last_seen"])
    window_ns = int(config.correlation_window_minutes * _NS_PER_MINUTE)
    starts = episode_starts(alerts["service"].to_numpy(dtype=object), first, last,
                            alerts["weight"].to_numpy(dtype=float), window_ns, config.clustering_min_samples)
    return learn_dependencies(starts, config.correlation_window_minutes, config.significance_level,
                              (int(first.min()), int(last.max())))


def find_incidents(alerts: pd.DataFrame, config: AlertIntelligenceConfig,
                   period: tuple[datetime, datetime] | None = None, services: Sequence[str] = ()) -> IncidentReport:
    """Incidents among the alerts whose first anomaly falls in ``period`` ([start, end); all when
    None), with the graph and background rates learned from all ``alerts``. ``services`` are
    services seen in the data beside the alerting ones (names to look for in messages)."""
    graph = learn_graph(alerts, config)
    if period is not None:
        start, end = (pd.Timestamp(t).tz_convert("UTC") if pd.Timestamp(t).tzinfo else pd.Timestamp(t, tz="UTC")
                      for t in period)
        chosen = alerts[(alerts["first_seen"] >= start) & (alerts["first_seen"] < end)].reset_index(drop=True)
    else:
        chosen = alerts.reset_index(drop=True)
    chosen = chosen.assign(cluster_id=pd.Series([None] * len(chosen), dtype=object))
    if len(chosen) == 0:
        return IncidentReport(chosen, (), graph, 0, config)
    services = sorted(set(alerts["service"]) | set(services))
    features = alert_features(chosen, services, graph.strength_matrix(services), config.correlation_window_minutes,
                              config.similarity_threshold)
    background = background_rates(alerts["service"].to_numpy(dtype=object), _ns(alerts["first_seen"]),
                                  alerts["count"].to_numpy(dtype=float))
    groups = make_clusterer(config).fit(features).labels_
    labels = incident_labels(groups, features, chosen["count"].to_numpy(dtype=float), background, config)
    criticality = criticality_of(graph)
    arrays = AlertArrays.of(chosen)
    named = features.named.tocsr()
    incidents = []
    cluster_ids = np.full(len(chosen), None, dtype=object)
    order = np.argsort(labels, kind="stable")
    for members in np.split(order, np.flatnonzero(np.diff(labels[order])) + 1):
        if len(members) == 0 or labels[members[0]] < 0:
            continue
        incident = build_incident(arrays, members, named[members].toarray().astype(bool), tuple(services), graph,
                                  criticality, config)
        cluster_ids[members] = incident.cluster_id
        incidents.append(incident)
    chosen["cluster_id"] = cluster_ids
    incidents.sort(key=lambda i: (-i.priority_score, i.first_alert_time, i.cluster_id))
    return IncidentReport(chosen, tuple(incidents), graph, int(chosen["count"].sum()), config)


@dataclass(frozen=True)
class WindowAlerts:
    """The alerts of a scoring window, every service seen in it (normal logs included), and the
    scored rows set aside per reason: what the ``alerts`` asset hands to ``alert_clusters``."""

    alerts: pd.DataFrame
    services: tuple[str, ...] = ()
    set_aside: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Triage:
    """Everything alerting made of a batch of scored rows."""

    batch: AnomalyBatch
    alert_set: AlertSet
    report: IncidentReport

    def assignments(self) -> pd.DataFrame:
        """Each anomaly with its alert and incident: log_id, timestamp, service, severity,
        anomaly_type, alert_id, cluster_id (None when its alert is in no incident)."""
        anomalies = self.batch.anomalies
        alert_ids = self.alert_set.alerts["alert_id"].to_numpy(dtype=object)[self.alert_set.alert_of]
        incident_of = dict(zip(self.report.alerts["alert_id"], self.report.alerts["cluster_id"]))
        return pd.DataFrame({
            "log_id": anomalies["log_id"], "timestamp": anomalies["timestamp"], "service": anomalies["service"],
            "severity": anomalies["severity"], "anomaly_type": anomalies["anomaly_type"], "alert_id": alert_ids,
            "cluster_id": pd.Series([incident_of.get(a) for a in alert_ids], dtype=object)})


def triage(scored: pd.DataFrame | Sequence[Mapping[str, Any]] | AnomalyBatch,
           config: AlertIntelligenceConfig | None = None,
           period: tuple[datetime, datetime] | None = None) -> Triage:
    """Scored rows (or their anomalies) to alerts and incidents, in one call (notebooks, the CLI)."""
    config = config or AlertIntelligenceConfig()
    batch = scored if isinstance(scored, AnomalyBatch) else anomalies_from_scored(scored)
    alert_set = deduplicate(batch.anomalies, config.deduplication_window_minutes, config.auto_acknowledge_duplicates)
    return Triage(batch, alert_set, find_incidents(alert_set.alerts, config, period, batch.services))
