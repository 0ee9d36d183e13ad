"""The ``anomalies`` collection: what operators query, written idempotently per partition.

Re-materializing a partition replaces its documents (delete by partition, then insert), so a
partition never holds two copies of an anomaly. Documents are built and inserted in batches, so
the memory held beyond the scored frame stays bounded however large the window is.
"""
from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pymongo
from pymongo.collection import Collection

ANOMALIES_COLLECTION = "anomalies"

# The anomaly document (DESIGN.md), in this order.
ANOMALY_FIELDS = ("log_id", "timestamp", "service", "level", "message", "is_anomaly", "anomaly_score",
                  "severity", "confidence", "anomaly_type", "expected_value", "deviation", "contributors",
                  "recommended_actions", "model_version", "detection_method", "partition")


def ensure_anomaly_indexes(collection: Collection) -> None:
    """Indexes for what an operator asks: recent anomalies, by service, by severity."""
    collection.create_index([("partition", pymongo.ASCENDING), ("log_id", pymongo.ASCENDING)],
                            name="partition_1_log_id_1", unique=True)
    collection.create_index([("timestamp", pymongo.DESCENDING)], name="timestamp_-1")
    collection.create_index([("service", pymongo.ASCENDING), ("timestamp", pymongo.DESCENDING)],
                            name="service_1_timestamp_-1")
    collection.create_index([("severity", pymongo.ASCENDING), ("timestamp", pymongo.DESCENDING)],
                            name="severity_1_timestamp_-1")


def _plain(value: Any) -> Any:
    """numpy and pandas scalars to BSON-encodable Python values; NaN to None."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    return value


def anomaly_documents(anomalies: pd.DataFrame, partition: str, batch_size: int = 10_000) -> Iterator[list[dict]]:
    """Rows of scored anomalies as documents, ``batch_size`` at a time."""
    fields = [f for f in ANOMALY_FIELDS if f in anomalies.columns and f != "partition"]
    for first in range(0, len(anomalies), batch_size):
        chunk = anomalies.iloc[first:first + batch_size]
        columns = {f: chunk[f].to_numpy(dtype=object) for f in fields}
        yield [{**{f: _plain(columns[f][i]) for f in fields}, "partition": partition}
               for i in range(len(chunk))]


def replace_partition(collection: Collection, anomalies: pd.DataFrame, partition: str,
                      batch_size: int = 10_000) -> dict[str, int]:
    """Delete the partition's anomalies, then insert these; returns deleted/inserted counts."""
    ensure_anomaly_indexes(collection)
    deleted = collection.delete_many({"partition": partition}).deleted_count
    inserted = 0
    for docs in anomaly_documents(anomalies, partition, batch_size):
        if docs:
            inserted += len(collection.insert_many(docs, ordered=False).inserted_ids)
    return {"deleted": deleted, "inserted": inserted}
