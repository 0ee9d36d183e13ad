"""The ``alerts`` and ``alert_clusters`` (incidents) collections, written atomically per partition.

Both go through core.partition_store: re-materializing a partition replaces its documents
(readers see the old complete set or the new one), and readers use :func:`read_alerts` /
:func:`read_incidents`, never a bare partition query. Indexes serve what an operator asks: the
latest alerts or incidents, those of a service, the most urgent incidents, and which incident
holds a given alert.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Iterable, Iterator, Mapping

import pandas as pd
import pymongo
from pymongo.collection import Collection

from analytics_pipeline.core.alerting.alerts import ALERT_COLUMNS, empty_alerts
from analytics_pipeline.core.alerting.incidents import Incident
from analytics_pipeline.core.alerting.priority import Escalation
from analytics_pipeline.core.alerting.root_cause import RootCauseCandidate
from analytics_pipeline.core.partition_store import (
    PartitionWrite, frame_documents, read_partition, replace_partition, to_bson_value, visible_filter,
)

ALERTS_COLLECTION = "alerts"
INCIDENTS_COLLECTION = "alert_clusters"
_ASC, _DESC = pymongo.ASCENDING, pymongo.DESCENDING


def ensure_alert_indexes(collection: Collection) -> None:
    collection.create_index([("partition", _ASC), ("write_id", _ASC), ("alert_id", _ASC)],
                            name="partition_1_write_id_1_alert_id_1", unique=True)
    collection.create_index([("first_seen", _DESC)], name="first_seen_-1")
    collection.create_index([("service", _ASC), ("first_seen", _DESC)], name="service_1_first_seen_-1")
    collection.create_index([("max_severity", _ASC), ("first_seen", _DESC)], name="max_severity_1_first_seen_-1")
    collection.create_index([("fingerprint", _ASC), ("first_seen", _DESC)], name="fingerprint_1_first_seen_-1")


def ensure_incident_indexes(collection: Collection) -> None:
    collection.create_index([("partition", _ASC), ("write_id", _ASC), ("cluster_id", _ASC)],
                            name="partition_1_write_id_1_cluster_id_1", unique=True)
    collection.create_index([("first_alert_time", _DESC)], name="first_alert_time_-1")
    collection.create_index([("services", _ASC), ("first_alert_time", _DESC)], name="services_1_first_alert_time_-1")
    collection.create_index([("priority_score", _DESC)], name="priority_score_-1")
    collection.create_index([("alerts", _ASC)], name="alerts_1")


def write_alerts(collection: Collection, alerts: pd.DataFrame, partition: str) -> PartitionWrite:
    """Replace the partition's alerts (core.alerting.alerts.ALERT_COLUMNS) with these."""
    ensure_alert_indexes(collection)
    return replace_partition(collection, partition, frame_documents(alerts, ALERT_COLUMNS))


def incident_document(incident: Incident) -> dict[str, Any]:
    """An incident as a BSON-ready document (DESIGN.md's ``alert_clusters`` fields and more)."""
    doc = to_bson_value(asdict(incident))
    doc["root_cause"] = incident.root_cause
    return doc


def _incident_batches(incidents: Iterable[Incident], batch_size: int = 1_000) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for incident in incidents:
        batch.append(incident_document(incident))
        if len(batch) >= batch_size:
            yield batch
            batch = []
    yield batch


def write_incidents(collection: Collection, incidents: Iterable[Incident], partition: str) -> PartitionWrite:
    """Replace the partition's incidents with these."""
    ensure_incident_indexes(collection)
    return replace_partition(collection, partition, _incident_batches(incidents))


def incident_from_document(doc: Mapping[str, Any]) -> Incident:
    """An incident read back from its document."""
    candidates = tuple(RootCauseCandidate(c["service"], c["score"], tuple(c["evidence"]), c.get("first_alert_time"),
                                          c.get("first_signal", "")) for c in doc.get("root_cause_candidates", []))
    fields = {name: doc[name] for name in Incident.__dataclass_fields__ if name in doc}
    fields.update(alerts=tuple(doc.get("alerts", ())), services=tuple(doc.get("services", ())),
                  root_cause_candidates=candidates, escalation=Escalation(**doc["escalation"]),
                  common_attributes=dict(doc.get("common_attributes", {})),
                  priority_factors=dict(doc.get("priority_factors", {})),
                  anomaly_types=dict(doc.get("anomaly_types", {})))
    return Incident(**fields)


def read_incidents(collection: Collection, partition: str, query: Mapping[str, Any] | None = None,
                   limit: int = 0) -> list[Incident]:
    """The partition's incidents (optionally narrowed by ``query``), most urgent first."""
    cursor = read_partition(collection, partition, query).sort([("priority_score", _DESC), ("first_alert_time", _ASC)])
    return [incident_from_document(doc) for doc in cursor.limit(limit)]


def read_alerts(collection: Collection, partition: str, query: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The partition's alerts as a frame (ALERT_COLUMNS), in time order."""
    docs = list(read_partition(collection, partition, query, projection={"_id": False}).sort("first_seen", _ASC))
    if not docs:
        return empty_alerts()
    frame = pd.DataFrame(docs)
    for c in ("first_seen", "last_seen"):
        frame[c] = pd.to_datetime(frame[c], utc=True)
    return frame[[c for c in ALERT_COLUMNS if c in frame]]


def stored_partitions(collection: Collection) -> list[str]:
    """The partitions the collection holds a current set for, newest first."""
    return sorted(collection.distinct("partition", visible_filter(collection)), reverse=True)
