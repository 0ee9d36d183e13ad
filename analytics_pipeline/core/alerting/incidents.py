"""Incidents (the seed's ``AlertCluster``): a group of related alerts, described for on-call.

``cluster_id`` is a hash of the incident's alert ids, themselves content hashes: re-running the
same partition gives the same ids. ``cluster_type`` is ``cascade`` (several services, and the
top root cause failed first and is named by or upstream of the others), ``correlated`` (several
services otherwise), ``single_service`` or ``single_alert``. ``common_attributes`` are the
attributes every alert shares. Root cause: core.alerting.root_cause; priority and escalation:
core.alerting.priority.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping

import numpy as np
import pandas as pd

from analytics_pipeline.core.alerting.alerts import SEVERITY_RANK
from analytics_pipeline.core.alerting.anomalies import ALERT_SEVERITIES
from analytics_pipeline.core.alerting.config import AlertIntelligenceConfig
from analytics_pipeline.core.alerting.dependencies import DependencyGraph
from analytics_pipeline.core.alerting.priority import (
    Escalation, escalation, priority_factors, priority_label, priority_score,
)
from analytics_pipeline.core.alerting.root_cause import RootCauseCandidate, confidence, rank_root_causes, utc_datetime

CLUSTER_TYPES: tuple[str, ...] = ("cascade", "correlated", "single_service", "single_alert")


@dataclass(frozen=True)
class Incident:
    """Related alerts grouped into one incident, with root cause, priority and impact."""

    cluster_id: str
    cluster_type: str
    alerts: tuple[str, ...]
    common_attributes: Mapping[str, str]
    services: tuple[str, ...]  # by the time their first alert came
    root_cause_candidates: tuple[RootCauseCandidate, ...]
    confidence: float
    priority_score: float
    priority: str
    priority_factors: Mapping[str, float]
    impact_assessment: str
    first_alert_time: datetime
    last_alert_time: datetime
    duration_minutes: float
    escalation: Escalation
    anomaly_count: int
    max_severity: str
    anomaly_types: Mapping[str, int] = field(default_factory=dict)

    @property
    def root_cause(self) -> str | None:
        return self.root_cause_candidates[0].service if self.root_cause_candidates else None


def cluster_id(alert_ids: list[str]) -> str:
    return "inc-" + hashlib.sha1("|".join(sorted(alert_ids)).encode()).hexdigest()[:12]


def duration_text(minutes: float) -> str:
    """``45 min`` or ``2.5 h``."""
    return f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"


def impact_sentence(root: str | None, services: tuple[str, ...], anomalies: int, alerts: int, minutes: float,
                    critical_share: float) -> str:
    """One sentence with the numbers an on-call engineer asks first."""
    tail = (f"{anomalies:,} anomalous logs in {alerts:,} alerts over {duration_text(minutes)}, "
            f"{critical_share:.0%} of the alerts critical.")
    others = [s for s in services if s != root]
    if len(services) > 1 and root in services:
        return f"{root} failed and {len(others)} more service{'s' * (len(others) > 1)} ({', '.join(others)}) " \
               f"followed: {tail}"
    if len(services) > 1:
        return f"{len(services)} services ({', '.join(services)}) misbehaved together: {tail}"
    return f"{services[0]} alone: {tail}"


def _cluster_type(services: tuple[str, ...], alerts: int, candidates: list[RootCauseCandidate]) -> str:
    if alerts == 1:
        return "single_alert"
    if len(services) == 1:
        return "single_service"
    top = candidates[0] if candidates else None
    causal = top is not None and any(e.startswith("failed first") for e in top.evidence) and any(
        e.startswith(("named in", "upstream of")) for e in top.evidence)
    return "cascade" if causal else "correlated"


@dataclass(frozen=True)
class AlertArrays:
    """The alerts frame's columns as arrays, taken once: incidents are built from slices of them."""

    alert_id: np.ndarray
    service: np.ndarray
    anomaly_type: np.ndarray
    template: np.ndarray
    first_sample: np.ndarray
    severity_rank: np.ndarray
    count: np.ndarray
    first_ns: np.ndarray
    last_ns: np.ndarray

    @classmethod
    def of(cls, alerts: pd.DataFrame) -> "AlertArrays":
        objects = {c: alerts[c].to_numpy(dtype=object) for c in ("alert_id", "service", "anomaly_type", "template")}
        return cls(**objects,
                   first_sample=alerts["sample_messages"].map(lambda m: str(m[0]) if len(m) else "").to_numpy(dtype=object),
                   severity_rank=alerts["max_severity"].map(SEVERITY_RANK).to_numpy(dtype=np.int64),
                   count=alerts["count"].to_numpy(dtype=np.int64),
                   first_ns=pd.DatetimeIndex(alerts["first_seen"]).as_unit("ns").asi8,
                   last_ns=pd.DatetimeIndex(alerts["last_seen"]).as_unit("ns").asi8)


def build_incident(alerts: AlertArrays, members: np.ndarray, named: np.ndarray, services_vocabulary: tuple[str, ...],
                   graph: DependencyGraph, criticality: Mapping[str, float],
                   config: AlertIntelligenceConfig) -> Incident:
    """The incident made of the alerts at positions ``members`` (``named``: their rows of the
    named-services matrix)."""
    members = members[np.lexsort((alerts.alert_id[members], alerts.first_ns[members]))]
    own, first_ns = alerts.service[members], alerts.first_ns[members]
    first, last = int(first_ns.min()), int(alerts.last_ns[members].max())
    minutes = (last - first) / 6e10
    candidates = rank_root_causes(own, first_ns, alerts.template[members], alerts.first_sample[members], named,
                                  services_vocabulary, graph, config.max_root_cause_candidates)
    services = tuple(dict.fromkeys(own.tolist()))  # first alert first: members are in time order
    counts = alerts.count[members]
    anomalies = int(counts.sum())
    ranks = alerts.severity_rank[members]
    worst = ALERT_SEVERITIES[int(ranks.max())]
    factors = priority_factors(worst, minutes, anomalies, len(services),
                               max(criticality.get(s, 0.0) for s in services), config.escalation_time_minutes)
    score = priority_score(factors, config.priority_factors)
    common = {}
    for name, values in (("service", own), ("anomaly_type", alerts.anomaly_type[members]),
                         ("template", alerts.template[members]), ("max_severity", ranks)):
        if len(set(values.tolist())) == 1:
            common[name] = worst if name == "max_severity" else str(values[0])
    types: dict[str, int] = {}
    for t, c in zip(alerts.anomaly_type[members].tolist(), counts.tolist()):
        types[t] = types.get(t, 0) + c
    root = candidates[0].service if candidates else None
    critical = float((ranks == SEVERITY_RANK["critical"]).mean())
    ids = alerts.alert_id[members].tolist()
    return Incident(
        cluster_id(ids), _cluster_type(services, len(members), candidates), tuple(ids), common, services,
        tuple(candidates), confidence(candidates), score, priority_label(score), factors,
        impact_sentence(root, services, anomalies, len(members), minutes, critical),
        utc_datetime(first), utc_datetime(last), round(minutes, 2), escalation(minutes, config.escalation_time_minutes),
        anomalies, worst, dict(sorted(types.items(), key=lambda kv: -kv[1])))


def criticality_of(graph: DependencyGraph) -> dict[str, float]:
    """Each service's learned dependents over the most any service has (0-1)."""
    dependents = graph.dependents()
    most = max(dependents.values(), default=0)
    return {s: n / most for s, n in dependents.items()} if most else {}
