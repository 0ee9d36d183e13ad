"""The ``anomalies`` collection: what operators query, written atomically per partition.

Re-materializing a partition replaces its documents through core.partition_store: readers see the
previous complete set or the new one, never a mix, and a partition never holds two copies of an
anomaly. Documents are built and inserted in batches, so the memory held beyond the scored frame
stays bounded however large the window is. Read a partition with :func:`read_anomalies`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterator, Mapping

import pandas as pd
import pymongo
from pymongo.collection import Collection
from pymongo.errors import OperationFailure

from analytics_pipeline.core.detection.anomaly_types import ANOMALY_TYPES
from analytics_pipeline.core.partition_store import (
    PartitionWrite, frame_documents, read_partition, replace_partition,
)

ANOMALIES_COLLECTION = "anomalies"

# The anomaly document (DESIGN.md), in this order; ``partition`` and ``write_id`` are added on write.
ANOMALY_FIELDS = ("log_id", "timestamp", "service", "level", "message", "is_anomaly", "anomaly_score",
                  "severity", "confidence", "anomaly_type", "expected_value", "deviation", "contributors",
                  "recommended_actions", "explanation", "model_version", "detection_method", "partition")
_UNIQUE = "partition_1_write_id_1_log_id_1"


def ensure_anomaly_indexes(collection: Collection) -> None:
    """Indexes for what an operator asks: recent anomalies, by service, by severity; one copy of a
    log per write of a partition."""
    try:  # the unique key before atomic writes left out write_id: two sets could not coexist
        collection.drop_index("partition_1_log_id_1")
    except OperationFailure:
        pass
    collection.create_index([("partition", pymongo.ASCENDING), ("write_id", pymongo.ASCENDING),
                             ("log_id", pymongo.ASCENDING)], name=_UNIQUE, unique=True)
    collection.create_index([("timestamp", pymongo.DESCENDING)], name="timestamp_-1")
    collection.create_index([("service", pymongo.ASCENDING), ("timestamp", pymongo.DESCENDING)],
                            name="service_1_timestamp_-1")
    collection.create_index([("severity", pymongo.ASCENDING), ("timestamp", pymongo.DESCENDING)],
                            name="severity_1_timestamp_-1")


def anomaly_documents(anomalies: pd.DataFrame, batch_size: int = 10_000) -> Iterator[list[dict]]:
    """Rows of scored anomalies as documents, ``batch_size`` at a time."""
    return frame_documents(anomalies, [f for f in ANOMALY_FIELDS if f != "partition"], batch_size)


def write_anomalies(collection: Collection, anomalies: pd.DataFrame, partition: str,
                    batch_size: int = 10_000) -> PartitionWrite:
    """Replace the partition's anomalies with these (atomically for readers)."""
    ensure_anomaly_indexes(collection)
    return replace_partition(collection, partition, anomaly_documents(anomalies, batch_size))


def strongest_of_each_type(collection: Collection, partition: str, limit: int = 6,
                           since: datetime | None = None, until: datetime | None = None) -> list[dict[str, Any]]:
    """The partition's highest-scoring anomaly of each type, strongest first (at most ``limit``),
    optionally only those in [``since``, ``until``): what an operator should look at first,
    without one loud incident hiding the others."""
    when = {k: v for k, v in (("$gte", since), ("$lt", until)) if v is not None}
    found = [read_partition(collection, partition, {"anomaly_type": kind, **({"timestamp": when} if when else {})})
             .sort("anomaly_score", -1).limit(1) for kind in ANOMALY_TYPES]
    docs = [doc for cursor in found for doc in cursor]
    return sorted(docs, key=lambda d: -d["anomaly_score"])[:limit]


def read_anomalies(collection: Collection, partition: str, query: Mapping[str, Any] | None = None,
                   **find_args: Any) -> pymongo.cursor.Cursor:
    """The partition's current anomalies (optionally narrowed by ``query``)."""
    return read_partition(collection, partition, query, **find_args)
