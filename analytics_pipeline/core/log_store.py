"""Reading and writing the ``logs`` collection with plain pymongo/pymongoarrow.

The 30-day window is read in two parts, so that one malformed document never fails the whole
read and never slows down the millions of good ones:

* the fast path: documents whose fields have the contract's BSON types, pulled by pymongoarrow
  with an explicit schema and a projection straight into Arrow;
* the slow path: the few documents the server reports as breaking the types (``$type``), and
  documents whose timestamp is not a BSON date (ISO strings, epoch numbers, missing), read with
  a plain cursor and checked one by one by :mod:`analytics_pipeline.core.schema`.
"""
from __future__ import annotations

import binascii
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator

import bson
import numpy as np
import pandas as pd
import pyarrow as pa
import pymongo
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError
from pymongoarrow.api import Schema, find_arrow_all

from analytics_pipeline.core.schema import ValidationResult, validate_columns, validate_records

LOGS_COLLECTION = "logs"

_STRING_FIELDS = ("level", "service", "message")
_NUMBER_FIELDS = ("response_time", "status_code", "label")
_OPTIONAL_STRING_FIELDS = ("incident_id", "incident_type", "log_id")

ARROW_SCHEMA = Schema({
    "_id": bson.ObjectId,
    "log_id": pa.string(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
    **{f: pa.string() for f in _STRING_FIELDS},
    **{f: pa.float64() for f in _NUMBER_FIELDS},
    "incident_id": pa.string(),
    "incident_type": pa.string(),
})

# A document breaks the contract's types when any of these hold; the server evaluates them.
_TYPE_VIOLATIONS: list[dict[str, Any]] = (
    [{f: {"$not": {"$type": "string"}}} for f in _STRING_FIELDS]
    + [{f: {"$exists": True, "$not": {"$type": "number"}}} for f in _NUMBER_FIELDS]
    + [{f: {"$exists": True, "$not": {"$type": "string"}}} for f in _OPTIONAL_STRING_FIELDS]
    # pymongoarrow reads NaN as null (absent), so non-finite numbers must be caught here.
    + [{f: {"$in": [float("nan"), float("inf"), float("-inf")]}} for f in _NUMBER_FIELDS]
)


def ensure_log_indexes(collection: Collection) -> None:
    """Indexes the window reads and the idempotent imports rely on."""
    collection.create_index([("timestamp", pymongo.ASCENDING)], name="timestamp_1")
    collection.create_index([("service", pymongo.ASCENDING), ("timestamp", pymongo.ASCENDING)],
                            name="service_1_timestamp_1")
    collection.create_index([("log_id", pymongo.ASCENDING)], name="log_id_1", unique=True,
                            partialFilterExpression={"log_id": {"$type": "string"}})


def _window_filter(start: datetime, end: datetime) -> dict[str, Any]:
    return {"timestamp": {"$gte": start, "$lt": end}}


def _object_id_hex(column: pa.Array) -> np.ndarray:
    """ObjectId column (12-byte fixed binary storage) to 24-char hex strings, vectorized."""
    storage = column.storage if isinstance(column, pa.ExtensionArray) else column
    storage = storage.cast(pa.binary(12)) if storage.type != pa.binary(12) else storage
    n = len(storage)
    raw = storage.buffers()[1].to_pybytes()[storage.offset * 12:(storage.offset + n) * 12]
    hexed = binascii.hexlify(raw).decode("ascii")
    return np.array([hexed[i * 24:(i + 1) * 24] for i in range(n)], dtype=object)


def _arrow_to_columns(table: pa.Table) -> dict[str, Any]:
    """Arrow columns to the validator's input; NaN (a bad value) stays apart from null (absent)."""
    cols: dict[str, Any] = {}
    for name in ("timestamp",):
        cols[name] = table.column(name).to_pandas()
    for name in _STRING_FIELDS + ("incident_id", "incident_type"):
        cols[name] = np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=object)
    for name in _NUMBER_FIELDS:
        # Only absent values are null here (non-finite ones went to the slow path).
        cols[name] = table.column(name).to_numpy().astype("float64")
    ids = _object_id_hex(table.column("_id").combine_chunks())
    given = np.asarray(table.column("log_id").to_numpy(zero_copy_only=False), dtype=object)
    cols["log_id"] = np.where(pd.isna(given), ids, given)
    return cols


def read_window_fast(collection: Collection, start: datetime, end: datetime) -> ValidationResult:
    """Documents of the window with contract-typed fields, via pymongoarrow."""
    query = {**_window_filter(start, end), "$nor": _TYPE_VIOLATIONS}
    table = find_arrow_all(collection, query, schema=ARROW_SCHEMA,
                           projection={k: 1 for k in ARROW_SCHEMA.to_arrow().names})
    # Absent numbers arrive as null and come out as NaN: "absent", not "bad".
    return validate_columns(_arrow_to_columns(table), table.num_rows,
                            nan_means_missing=frozenset(f for f in _NUMBER_FIELDS))


def read_window_suspects(collection: Collection, start: datetime, end: datetime) -> ValidationResult:
    """Documents that break the BSON types, plus those whose timestamp is not a BSON date."""
    typed = list(collection.find({**_window_filter(start, end), "$or": _TYPE_VIOLATIONS}))
    untyped = list(collection.find({"timestamp": {"$not": {"$type": "date"}}}))
    result = validate_records(typed + untyped)
    # An untyped timestamp that parses outside the window belongs to another window.
    logs = result.logs
    in_window = (logs["timestamp"] >= pd.Timestamp(start)) & (logs["timestamp"] < pd.Timestamp(end))
    dropped = int((~in_window).sum())
    return ValidationResult(logs=logs[in_window].reset_index(drop=True),
                            rejected_positions=result.rejected_positions,
                            rejected_reasons=result.rejected_reasons,
                            total=result.total - dropped)


def read_window(collection: Collection, start: datetime, end: datetime) -> ValidationResult:
    """All logs with ``start <= timestamp < end``, validated, sorted by time."""
    result = read_window_fast(collection, start, end).merge(read_window_suspects(collection, start, end))
    result.logs = result.logs.sort_values("timestamp", kind="stable").reset_index(drop=True)
    return result


@dataclass
class InsertReport:
    """What an import did: inserted, already present (same log_id), and set aside by reason."""

    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    bad_counts: dict[str, int] = field(default_factory=dict)

    def add(self, other: "InsertReport") -> None:
        self.received += other.received
        self.inserted += other.inserted
        self.duplicates += other.duplicates
        for k, v in other.bad_counts.items():
            self.bad_counts[k] = self.bad_counts.get(k, 0) + v


def content_log_id(record: dict[str, Any], occurrence: int = 0) -> str:
    """A stable id for a record without one, so that importing a file twice inserts it once."""
    body = json.dumps(record, sort_keys=True, default=str).encode("utf-8")
    return "sha1-" + hashlib.sha1(body + b"#%d" % occurrence).hexdigest()


def frame_to_documents(logs: pd.DataFrame, extra: pd.DataFrame | None = None) -> Iterator[dict[str, Any]]:
    """Canonical frame rows to MongoDB documents (BSON dates, absent optionals left out)."""
    cols = {c: logs[c].to_numpy(dtype=object) for c in logs.columns if c != "timestamp"}
    stamps = logs["timestamp"].astype(object).to_numpy()  # pd.Timestamp is a datetime: BSON date
    extra_cols = {c: extra[c].to_numpy(dtype=object) for c in extra.columns} if extra is not None else {}
    for i in range(len(logs)):
        doc: dict[str, Any] = {"timestamp": stamps[i]}
        for name, values in (*cols.items(), *extra_cols.items()):
            v = values[i]
            if v is None or (isinstance(v, float) and np.isnan(v)):
                continue
            if name == "status_code" or name == "label":
                v = int(v)
            doc[name] = v
        yield doc


def insert_documents(collection: Collection, docs: Iterable[dict[str, Any]], batch_size: int = 20_000) -> tuple[int, int]:
    """Unordered bulk insert; duplicates of an existing ``log_id`` are skipped, not errors."""
    inserted = duplicates = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal inserted, duplicates
        if not batch:
            return
        try:
            inserted += len(collection.insert_many(batch, ordered=False).inserted_ids)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            dup = sum(1 for e in errors if e.get("code") == 11000)
            if dup != len(errors):
                raise
            inserted += exc.details.get("nInserted", len(batch) - dup)
            duplicates += dup
        batch.clear()

    for doc in docs:
        batch.append(doc)
        if len(batch) >= batch_size:
            flush()
    flush()
    return inserted, duplicates


def insert_records(collection: Collection, records: list[Any], batch_size: int = 20_000) -> InsertReport:
    """Validate raw records and insert the good ones; returns the per-reason counts."""
    seen: dict[str, int] = {}
    for r in records:
        if isinstance(r, dict) and r.get("log_id") is None and r.get("_id") is None:
            key = content_log_id(r)
            r["log_id"] = content_log_id(r, seen.get(key, 0))
            seen[key] = seen.get(key, 0) + 1
    result = validate_records(records)
    good_positions = np.setdiff1d(np.arange(len(records)), result.rejected_positions)
    extra = _extra_fields([records[i] for i in good_positions])
    inserted, duplicates = insert_documents(collection, frame_to_documents(result.logs, extra), batch_size)
    return InsertReport(received=len(records), inserted=inserted, duplicates=duplicates,
                        bad_counts=result.bad_counts)


_CANONICAL = {"_id", "log_id", "timestamp", "level", "service", "message", "response_time",
              "status_code", "label", "incident_id", "incident_type"}


def _extra_fields(docs: list[dict[str, Any]]) -> pd.DataFrame | None:
    """Fields outside the contract are kept as they are ("other fields: kept")."""
    names = sorted({k for d in docs for k in d} - _CANONICAL)
    if not names:
        return None
    return pd.DataFrame({k: pd.Series([d.get(k) for d in docs], dtype=object) for k in names})
