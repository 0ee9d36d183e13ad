"""Log files (JSON lines, optionally gzip-compressed, or Parquet) as chunks of raw records, and as
validated logs.

A line that cannot become a record is kept in its place as a
:class:`~analytics_pipeline.core.logs.documents.RejectedRecord` with its reason (``invalid_json``,
``duplicate_key``, ``invalid_text`` for bytes that are not UTF-8, ``document_too_deep``), so
validation counts it and every other line still arrives. A UTF-8 byte order mark and CRLF line ends
are accepted.
"""
from __future__ import annotations

import codecs
import gzip
import json
from pathlib import Path
from typing import IO, Any, Iterator

import pandas as pd
import pyarrow.parquet as pq

from analytics_pipeline.core.logs.documents import DuplicateKeyError, RejectedRecord, reject_duplicate_keys
from analytics_pipeline.core.logs.schema import ValidationResult, empty_logs, validate_records

CHUNK = 50_000
JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
SUFFIXES = (*JSON_SUFFIXES, *(s + ".gz" for s in JSON_SUFFIXES), ".parquet")


def parse_line(raw: bytes) -> Any:
    """One JSON line to a record, or a :class:`RejectedRecord` saying why it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return RejectedRecord("invalid_text")
    try:
        return json.loads(text, object_pairs_hook=reject_duplicate_keys)
    except DuplicateKeyError as exc:
        return RejectedRecord("duplicate_key", str(exc).removeprefix("duplicate key ").strip("'\""))
    except RecursionError:
        return RejectedRecord("document_too_deep")
    except ValueError:
        return RejectedRecord("invalid_json")


def _lines(f: IO[bytes]) -> Iterator[bytes]:
    for number, raw in enumerate(f):
        if number == 0 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        raw = raw.rstrip(b"\r\n")
        if raw.strip():
            yield raw


def _jsonl_chunks(path: Path, compressed: bool) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    with (gzip.open(path, "rb") if compressed else open(path, "rb")) as f:
        try:
            for raw in _lines(f):
                chunk.append(parse_line(raw))
                if len(chunk) >= CHUNK:
                    yield chunk
                    chunk = []
        except (OSError, EOFError) as exc:  # a truncated or corrupt gzip stream: keep what was read
            if chunk:
                yield chunk
            raise ValueError(f"{path.name}: the compressed stream is damaged ({exc}); "
                             "the records before the damage were read") from None
    if chunk:
        yield chunk


def _parquet_chunks(path: Path) -> Iterator[list[Any]]:
    for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK):
        yield batch.to_pylist()


def read_log_file(path: Path) -> Iterator[list[Any]]:
    """Records of a ``.jsonl``/``.json``/``.ndjson`` (optionally ``.gz``) or ``.parquet`` file, in chunks."""
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    name = path.name.lower()
    compressed = name.endswith(".gz")
    if name.removesuffix(".gz").endswith(JSON_SUFFIXES):
        return _jsonl_chunks(path, compressed)
    if name.endswith(".parquet"):
        return _parquet_chunks(path)
    raise ValueError(f"unsupported file type for {path.name}: use one of {', '.join(SUFFIXES)}")


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
