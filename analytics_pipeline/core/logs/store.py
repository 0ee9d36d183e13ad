"""Reading and writing the ``logs`` collection with plain pymongo/pymongoarrow.

The 30-day window is one indexed range scan whose raw BSON batches go straight into
pymongoarrow's Arrow builders (explicit schema, projection). One malformed document must never
fail the read, or be silently taken for a good one, so each batch is also screened:

* pymongoarrow runs with ``allow_invalid``: a value of the wrong type becomes null. Rows whose
  required fields (timestamp, level, service, message) came out null are suspects;
* pymongoarrow reads a NaN double as null and would accept an optional number of the wrong
  type as "absent", so a byte-level scan of the batch flags documents whose ``response_time``,
  ``status_code`` or ``label`` element is not an int/double/null, or is a non-finite double;
* documents whose timestamp is not a BSON date (ISO strings, epoch numbers, missing) are not in
  the date range at all; a few small indexed queries fetch them.

Suspects are decoded one by one and judged by :mod:`analytics_pipeline.core.logs.schema`, which
accepts what can be parsed and sets the rest aside with a reason. The screen may flag a good
document (a message that happens to end in "label"), never miss a bad one.
"""
from __future__ import annotations

import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Iterator

import bson
import numpy as np
import pandas as pd
import pyarrow as pa
import pymongo
from pymongo.collection import Collection
from bson.errors import InvalidDocument
from pymongo.errors import BulkWriteError
from pymongoarrow.api import Schema
from pymongoarrow.context import PyMongoArrowContext

from analytics_pipeline.core.logs.schema import ValidationResult, validate_columns, validate_records

LOGS_COLLECTION = "logs"
# Documents per cursor batch of a window read: bounds the memory a batch holds, and a server restart
# mid-read surfaces as an error at the next batch (then the step runs again) instead of never.
READ_BATCH = 10_000

_STRING_FIELDS = ("level", "service", "message")
_NUMBER_FIELDS = ("response_time", "status_code", "label")

ARROW_SCHEMA = Schema({
    "_id": bson.ObjectId,
    "log_id": pa.string(),
    "timestamp": pa.timestamp("ms", tz="UTC"),
    **{f: pa.string() for f in _STRING_FIELDS},
    **{f: pa.float64() for f in _NUMBER_FIELDS},
    "incident_id": pa.string(),
    "incident_type": pa.string(),
})
_PROJECTION = {name: 1 for name in ARROW_SCHEMA.to_arrow().names}

# A BSON element is: type byte, field name, NUL, value. Allowed types for the optional numbers:
# double (0x01), int32 (0x10), int64 (0x12), null (0x0A). A double is non-finite when all its
# exponent bits are set (little-endian: the last two bytes hold them).
_NUMBER_NAMES = b"(?:" + b"|".join(f.encode() for f in _NUMBER_FIELDS) + b")\x00"
_WRONG_NUMBER_TYPE = re.compile(rb"[^\x01\x10\x12\x0a]" + _NUMBER_NAMES)
_NON_FINITE_DOUBLE = re.compile(rb"(?s)\x01" + _NUMBER_NAMES + rb".{6}[\xf0-\xff][\x7f\xff]")

# Timestamps that are not BSON dates, by BSON type bracket; each is an index range scan. The
# ranges are closed on both ends: an open end makes some servers walk the following brackets.
_UNTYPED_TIMESTAMP_QUERIES: tuple[dict[str, Any], ...] = (
    {"timestamp": {"$gte": "", "$lte": "\U0010ffff" * 4}},        # strings: ISO 8601, epoch text, garbage
    {"timestamp": {"$gte": float("-inf"), "$lte": float("inf")}},  # numbers: epoch seconds/ms
    {"timestamp": float("nan")},
    {"timestamp": None},                                          # null or missing
    {"timestamp": {"$in": [True, False]}},
)
# Not scanned: timestamps stored as embedded documents (e.g. a literal {"$date": ...} written by
# a naive importer). No index range reaches them cheaply (a collection scan per window read);
# this project's importers never write them, since the validator rejects them first.


def ensure_log_indexes(collection: Collection) -> None:
    """Indexes the window reads and the idempotent imports rely on."""
    collection.create_index([("timestamp", pymongo.ASCENDING)], name="timestamp_1")
    collection.create_index([("service", pymongo.ASCENDING), ("timestamp", pymongo.ASCENDING)],
                            name="service_1_timestamp_1")
    collection.create_index([("log_id", pymongo.ASCENDING)], name="log_id_1", unique=True,
                            partialFilterExpression={"log_id": {"$type": "string"}})


def _object_id_hex(column: pa.Array) -> np.ndarray:
    """ObjectId column (12-byte fixed binary storage) to 24-char hex strings, vectorized."""
    storage = column.storage if isinstance(column, pa.ExtensionArray) else column
    n = len(storage)
    raw = storage.buffers()[1].to_pybytes()[storage.offset * 12:(storage.offset + n) * 12]
    hexed = binascii.hexlify(raw).decode("ascii")
    return np.array([hexed[i * 24:(i + 1) * 24] for i in range(n)], dtype=object)


def _arrow_to_columns(table: pa.Table) -> dict[str, Any]:
    """Arrow columns to the validator's input (strings as object arrays, numbers as float64)."""
    cols: dict[str, Any] = {"timestamp": table.column("timestamp").to_pandas()}
    for name in _STRING_FIELDS + ("incident_id", "incident_type"):
        cols[name] = np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=object)
    for name in _NUMBER_FIELDS:
        cols[name] = table.column(name).to_numpy().astype("float64")
    ids = _object_id_hex(table.column("_id").combine_chunks())
    given = np.asarray(table.column("log_id").to_numpy(zero_copy_only=False), dtype=object)
    cols["log_id"] = np.where(pd.isna(given), ids, given)
    return cols


def _doc_offsets(batch: bytes) -> np.ndarray:
    """Start offset of each document in a raw batch (each begins with its int32 length)."""
    offsets, pos, end = [], 0, len(batch)
    while pos < end:
        offsets.append(pos)
        pos += int.from_bytes(batch[pos:pos + 4], "little")
    return np.asarray(offsets, dtype=np.int64)


def _screen_batch(batch: bytes) -> tuple[list[int], np.ndarray]:
    """Indices (within the batch) of documents whose optional numbers need a closer look, and
    the documents' start offsets (computed only when something was flagged)."""
    hits = [m.start() for m in _WRONG_NUMBER_TYPE.finditer(batch)]
    hits += [m.start() for m in _NON_FINITE_DOUBLE.finditer(batch)]
    if not hits:
        return [], np.empty(0, dtype=np.int64)
    offsets = _doc_offsets(batch)
    return sorted(set((np.searchsorted(offsets, hits, side="right") - 1).tolist())), offsets


def read_window(collection: Collection, start: datetime, end: datetime) -> ValidationResult:
    """All logs with ``start <= timestamp < end``, validated, sorted by time."""
    tables: list[pa.Table] = []
    suspects: list[dict[str, Any]] = []
    suspect_rows: list[int] = []
    rows = 0
    for batch in collection.find_raw_batches({"timestamp": {"$gte": start, "$lt": end}},
                                             projection=_PROJECTION, batch_size=READ_BATCH):
        context = PyMongoArrowContext(ARROW_SCHEMA, collection.codec_options, allow_invalid=True)
        context.process_bson_stream(batch)
        tables.append(context.finish())
        flagged, offsets = _screen_batch(batch)
        if flagged:
            for i in flagged:
                length = int.from_bytes(batch[offsets[i]:offsets[i] + 4], "little")
                suspects.append(bson.decode(batch[offsets[i]:offsets[i] + length], collection.codec_options))
            suspect_rows.extend(rows + i for i in flagged)
        rows += tables[-1].num_rows
    table = pa.concat_tables(tables) if tables else ARROW_SCHEMA.to_arrow().empty_table()
    keep = np.ones(table.num_rows, dtype=bool)
    keep[suspect_rows] = False
    # Wrong-typed required fields came out null: fetch those documents whole, by _id.
    required_null = np.zeros(table.num_rows, dtype=bool)
    for name in ("timestamp",) + _STRING_FIELDS:
        required_null |= np.asarray(table.column(name).is_null())
    refetch = np.flatnonzero(required_null & keep)
    if len(refetch):
        ids = table.column("_id").take(pa.array(refetch)).to_pylist()
        suspects += list(collection.find({"_id": {"$in": [bson.ObjectId(i) for i in ids]}}))
        keep[refetch] = False
    good = table.filter(pa.array(keep))
    fast = validate_columns(_arrow_to_columns(good), good.num_rows,
                            nan_means_missing=frozenset(_NUMBER_FIELDS))
    result = fast.merge(_validate_suspects(collection, suspects, start, end))
    result.logs = result.logs.sort_values("timestamp", kind="stable").reset_index(drop=True)
    return result


def _validate_suspects(collection: Collection, docs: list[dict[str, Any]], start: datetime,
                       end: datetime) -> ValidationResult:
    """Judge flagged documents plus those whose timestamp is not a BSON date."""
    seen = {d["_id"] for d in docs}
    for query in _UNTYPED_TIMESTAMP_QUERIES:
        for doc in collection.find(query):
            if doc["_id"] not in seen:
                seen.add(doc["_id"])
                docs.append(doc)
    result = validate_records(docs)
    # An untyped timestamp that parses outside the window belongs to another window.
    logs = result.logs
    in_window = (logs["timestamp"] >= pd.Timestamp(start)) & (logs["timestamp"] < pd.Timestamp(end))
    dropped = int((~in_window).sum())
    return ValidationResult(logs=logs[in_window].reset_index(drop=True),
                            rejected_positions=result.rejected_positions,
                            rejected_reasons=result.rejected_reasons,
                            total=result.total - dropped)


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


@dataclass
class _Inserted:
    inserted: int = 0
    duplicates: int = 0
    unstorable: int = 0


def _insert_batch(collection: Collection, batch: list[dict[str, Any]], counts: _Inserted) -> None:
    try:
        counts.inserted += len(collection.insert_many(batch, ordered=False).inserted_ids)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        dup = sum(1 for e in errors if e.get("code") == 11000)
        if dup != len(errors):
            raise
        counts.inserted += exc.details.get("nInserted", len(batch) - dup)
        counts.duplicates += dup
    except (InvalidDocument, OverflowError, ValueError):
        # The client could not encode some document (validation should have caught it): one by one,
        # so that the others still arrive and the bad ones are counted.
        if len(batch) == 1:
            counts.unstorable += 1
            return
        for doc in batch:
            _insert_batch(collection, [doc], counts)


def insert_documents(collection: Collection, docs: Iterable[dict[str, Any]],
                     batch_size: int = 20_000) -> tuple[int, int, int]:
    """Unordered bulk insert: (inserted, duplicates of an existing ``log_id``, unstorable)."""
    counts = _Inserted()
    batch: list[dict[str, Any]] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) >= batch_size:
            _insert_batch(collection, batch, counts)
            batch = []
    if batch:
        _insert_batch(collection, batch, counts)
    return counts.inserted, counts.duplicates, counts.unstorable


def insert_records(collection: Collection, records: list[Any], batch_size: int = 20_000) -> InsertReport:
    """Validate raw records and insert the good ones; returns the per-reason counts.

    A record without an id gets :func:`content_log_id` (the n-th copy of the same record in the
    batch its n-th id), so that importing a file twice inserts nothing the second time.
    """
    result = validate_records(records)
    good = [records[i] for i in np.setdiff1d(np.arange(len(records)), result.rejected_positions)]
    ids = result.logs["log_id"].to_numpy(dtype=object)
    seen: dict[str, int] = {}
    for i in np.flatnonzero(pd.isna(ids)):
        key = content_log_id(good[i])
        ids[i] = content_log_id(good[i], seen.get(key, 0))
        seen[key] = seen.get(key, 0) + 1
    result.logs["log_id"] = ids
    inserted, duplicates, unstorable = insert_documents(
        collection, frame_to_documents(result.logs, _extra_fields(good)), batch_size)
    bad = result.bad_counts
    if unstorable:
        bad["unstorable"] = unstorable
    return InsertReport(received=len(records), inserted=inserted, duplicates=duplicates, bad_counts=bad)


_CANONICAL = {"_id", "log_id", "timestamp", "level", "service", "message", "response_time",
              "status_code", "label", "incident_id", "incident_type"}


def _extra_fields(docs: list[dict[str, Any]]) -> pd.DataFrame | None:
    """Fields outside the contract are kept as they are ("other fields: kept")."""
    names = sorted({k for d in docs for k in d} - _CANONICAL)
    if not names:
        return None
    return pd.DataFrame({k: pd.Series([d.get(k) for d in docs], dtype=object) for k in names})


def read_latest(collection: Collection, limit: int) -> ValidationResult:
    """The newest ``limit`` logs (by timestamp), validated like a window read."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    newest = list(collection.find({"timestamp": {"$type": "date"}}, {"timestamp": 1})
                  .sort("timestamp", pymongo.DESCENDING).limit(1))
    if not newest:
        return read_window(collection, datetime(1970, 1, 1), datetime(1970, 1, 2))
    cutoff = list(collection.find({"timestamp": {"$type": "date"}}, {"timestamp": 1})
                  .sort("timestamp", pymongo.DESCENDING).skip(limit - 1).limit(1))
    start = cutoff[0]["timestamp"] if cutoff else datetime(1970, 1, 1)
    end = newest[0]["timestamp"] + timedelta(milliseconds=1)
    result = read_window(collection, start, end)
    if len(result.logs) > limit:  # ties at the cutoff time
        result.logs = result.logs.iloc[-limit:].reset_index(drop=True)
    return result
