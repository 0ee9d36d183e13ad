"""Log files (JSON lines or Parquet) as chunks of raw records, and as validated logs."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pandas as pd
import pyarrow.parquet as pq

from analytics_pipeline.core.logs.schema import ValidationResult, empty_logs, validate_records

CHUNK = 50_000
SUFFIXES = (".jsonl", ".json", ".ndjson", ".parquet")


class InvalidJson:
    """Placeholder for an unparseable line: counted as ``not_a_document``, never inserted."""


def _jsonl_chunks(path: Path) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                chunk.append(json.loads(line))
            except json.JSONDecodeError:
                chunk.append(InvalidJson())
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


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


def logs_from_file(path: Path, limit: int | None = None) -> ValidationResult:
    """Validated logs of a log file, sorted by time; the newest ``limit`` when given.

    Records without an id get a positional ``row-<i>`` id (stable for the same file).
    """
    result = ValidationResult(logs=empty_logs())
    for chunk in read_log_file(path):
        result = result.merge(validate_records(chunk))
    result.logs = result.logs.sort_values("timestamp", kind="stable").reset_index(drop=True)
    if limit is not None and len(result.logs) > limit:
        result.logs = result.logs.iloc[-limit:].reset_index(drop=True)
    if result.logs["log_id"].isna().any():
        result.logs["log_id"] = result.logs["log_id"].fillna(pd.Series([f"row-{i}" for i in range(len(result.logs))]))
    return result
