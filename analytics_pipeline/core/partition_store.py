"""One weekly partition's documents in a MongoDB collection, replaced atomically.

Every collection the platform writes per partition (``anomalies``, ``alerts``, ``alert_clusters``,
``forecasts``, ``reports``) goes through :func:`replace_partition`, and every reader through
:func:`partition_filter` (or :func:`read_partition`), so that a reader sees either the previous
complete set of a partition or the new complete set, never a mix, even when a writer is killed
at any moment. It needs no transactions (a standalone mongod and the local server have none):

1. A write gets a fresh ``write_id`` and inserts its documents with ``partition`` and
   ``write_id`` fields. Readers do not see them yet: they follow the pointer (step 2).
2. When every document is in, one single-document update switches the partition's pointer in
   ``partition_writes`` (``_id`` = "collection/partition") to the new ``write_id``. A
   single-document write is atomic, so readers move from the old set to the new one at once.
3. Then every document of the partition with another ``write_id`` is deleted: the old set, and
   the leftovers of any earlier write that was killed before its switch. Until then the old set
   is still there, but no pointer names it.

A killed writer therefore leaves at most unreferenced documents, which the next write of that
partition removes. Two writers of the same partition at once: the later switch wins, and the
cleanup of one deletes the other's unswitched documents, which that writer notices (its count no
longer matches) and reports as a failure instead of switching to an incomplete set.

Partitions written before this mechanism existed have no pointer: readers then see all of the
partition's documents, and the next write replaces them.
"""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd
import pymongo
from pymongo.collection import Collection
from pymongo.database import Database

POINTERS_COLLECTION = "partition_writes"


class ConcurrentWriteError(RuntimeError):
    """Another writer replaced the same partition while this one was writing."""


@dataclass(frozen=True)
class PartitionWrite:
    """What a replacement did: documents inserted, and how many of the old set it replaced."""

    collection: str
    partition: str
    write_id: str
    inserted: int
    replaced: int


def to_bson_value(value: Any) -> Any:
    """numpy and pandas values as BSON-encodable Python values; NaN and NaT as None."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else pd.Timestamp(value).tz_localize("UTC").to_pydatetime()
    if isinstance(value, Mapping):
        return {str(k): to_bson_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [to_bson_value(v) for v in value]
    return value


def frame_documents(frame: pd.DataFrame, fields: Iterable[str], batch_size: int = 10_000) -> Iterator[list[dict]]:
    """Rows of ``frame`` as BSON-ready documents with the given ``fields`` (those it has), in batches,
    so that the memory held beyond the frame stays bounded however long it is."""
    fields = [f for f in fields if f in frame.columns]
    for first in range(0, len(frame), batch_size):
        chunk = frame.iloc[first:first + batch_size]
        columns = {f: chunk[f].to_numpy(dtype=object) for f in fields}
        yield [{f: to_bson_value(columns[f][i]) for f in fields} for i in range(len(chunk))]


def _pointer_id(collection: Collection, partition: str) -> str:
    return f"{collection.name}/{partition}"


def _pointers(db: Database) -> Collection:
    return db[POINTERS_COLLECTION]


def ensure_partition_index(collection: Collection) -> None:
    """The index every partition read and cleanup uses."""
    collection.create_index([("partition", pymongo.ASCENDING), ("write_id", pymongo.ASCENDING)],
                            name="partition_1_write_id_1")


def current_write_id(collection: Collection, partition: str) -> str | None:
    """The ``write_id`` readers of the partition see, or None when it was never written this way."""
    pointer = _pointers(collection.database).find_one({"_id": _pointer_id(collection, partition)})
    return None if pointer is None else pointer["write_id"]


def partition_filter(collection: Collection, partition: str) -> dict[str, Any]:
    """The query for the partition's current, complete set of documents."""
    write_id = current_write_id(collection, partition)
    return {"partition": partition} if write_id is None else {"partition": partition, "write_id": write_id}


def visible_filter(collection: Collection) -> dict[str, Any]:
    """The query for the current set of every partition of the collection (for reads across weeks)."""
    prefix = f"{collection.name}/"
    pointers = list(_pointers(collection.database).find({"_id": {"$gte": prefix, "$lt": prefix + "\uffff"}}))
    written = [{"partition": p["partition"], "write_id": p["write_id"]} for p in pointers]
    legacy = {"partition": {"$nin": [p["partition"] for p in pointers]}, "write_id": {"$exists": False}}
    return {"$or": [*written, legacy]}


def read_partition(collection: Collection, partition: str, query: Mapping[str, Any] | None = None,
                   **find_args: Any) -> pymongo.cursor.Cursor:
    """``collection.find`` over the partition's current set (plus an optional narrower query)."""
    return collection.find({**(query or {}), **partition_filter(collection, partition)}, **find_args)


def replace_partition(collection: Collection, partition: str, batches: Iterable[list[dict]]) -> PartitionWrite:
    """Replace the partition's documents with ``batches`` (lists of documents), atomically for readers.

    ``partition`` and ``write_id`` are added to every document. See the module docstring.
    """
    ensure_partition_index(collection)
    write_id = uuid.uuid4().hex
    inserted = 0
    for batch in batches:
        if batch:
            docs = [{**doc, "partition": partition, "write_id": write_id} for doc in batch]
            inserted += len(collection.insert_many(docs, ordered=False).inserted_ids)
    present = collection.count_documents({"partition": partition, "write_id": write_id})
    if present != inserted:
        raise ConcurrentWriteError(
            f"{collection.name} partition {partition}: {inserted} documents written, {present} still present: "
            "another write of the same partition ran at the same time; run this one again")
    now = datetime.now(timezone.utc)
    previous = _pointers(collection.database).find_one_and_update(
        {"_id": _pointer_id(collection, partition)},
        {"$set": {"collection": collection.name, "partition": partition, "write_id": write_id,
                  "documents": inserted, "written_at": now}},
        upsert=True)
    old_set = ({"partition": partition, "write_id": previous["write_id"]} if previous
               else {"partition": partition, "write_id": {"$exists": False}})
    replaced = collection.count_documents(old_set)
    collection.delete_many({"partition": partition, "write_id": {"$ne": write_id}})
    return PartitionWrite(collection.name, partition, write_id, inserted, replaced)
