"""Getting logs into MongoDB: synthetic seeding and file imports (JSONL or Parquet)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pyarrow.parquet as pq
from pymongo.collection import Collection

from analytics_pipeline.core import log_store
from analytics_pipeline.core.log_store import InsertReport

CHUNK = 50_000


def seed_synthetic(collection: Collection, days: float, logs_per_minute: float, seed: int = 42,
                   end: datetime | None = None) -> InsertReport:
    """Generate ``days`` of labelled synthetic logs ending at ``end`` (now) and insert them.

    The whole period is generated at once (about 500 MB at 1M logs) so that incidents may span
    midnight; documents are inserted in batches.
    """
    from analytics_pipeline.synthetic import generate_logs, iter_document_batches

    end = end or datetime.now(timezone.utc).replace(second=0, microsecond=0)
    log_store.ensure_log_indexes(collection)
    frame = generate_logs(end - timedelta(days=days), end, logs_per_minute=logs_per_minute, seed=seed)
    report = InsertReport(received=len(frame))
    for batch in iter_document_batches(frame):
        inserted, duplicates = log_store.insert_documents(collection, batch)
        report.inserted += inserted
        report.duplicates += duplicates
    return report


def _jsonl_chunks(path: Path) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                chunk.append(json.loads(line))
            except json.JSONDecodeError:
                chunk.append(_InvalidJson())
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


class _InvalidJson:
    """Placeholder for an unparseable line: counted as ``not_a_document``, never inserted."""


def _parquet_chunks(path: Path) -> Iterator[list[Any]]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK):
        yield batch.to_pylist()


def read_log_file(path: Path) -> Iterator[list[Any]]:
    """Records of a ``.jsonl``/``.json`` or ``.parquet`` file, in chunks."""
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return _jsonl_chunks(path)
    if suffix == ".parquet":
        return _parquet_chunks(path)
    raise ValueError(f"unsupported file type {suffix!r} for {path}: use .jsonl or .parquet")


def load_file(collection: Collection, path: Path) -> InsertReport:
    """Validate and import a log file; bad records are counted by reason, good ones inserted."""
    log_store.ensure_log_indexes(collection)
    report = InsertReport()
    for chunk in read_log_file(path):
        report.add(log_store.insert_records(collection, chunk))
    return report
