"""Document-level faults: what makes a record unreadable or unstorable before its fields are judged.

A record from outside (a JSON line, a request, a MongoDB document) can break in ways no field check
sees, and any of them used to fail a whole batch (one unpaired surrogate made the BSON encoder
refuse every insert of its batch). Each is a counted rejection instead:

=====================  ===============================================================================
reason                 when
=====================  ===============================================================================
invalid_json           a line that is not a JSON object (files)
duplicate_key          a JSON object that names a key twice (which value is meant is unknowable)
invalid_text           a string (key or value, at any depth) that is not valid Unicode: an unpaired
                       surrogate from JSON (``"\\ud800"``), or bytes that are not UTF-8 in a file
document_too_deep      nesting deeper than :data:`MAX_DEPTH` (JSON bombs; BSON refuses ~100 levels)
document_too_large     more than :data:`MAX_DOCUMENT_BYTES` of keys and values (a log is a few hundred)
number_out_of_range    an integer beyond 64 bits, which BSON cannot hold
=====================  ===============================================================================

Sizes count characters of strings and bytes, 8 per number: an estimate, fast, and far below
MongoDB's own 16 MiB limit.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

DOCUMENT_REASONS: tuple[str, ...] = ("invalid_json", "duplicate_key", "invalid_text", "document_too_deep",
                                     "document_too_large", "number_out_of_range")
MAX_DEPTH = 20
MAX_DOCUMENT_BYTES = 1 << 20
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class RejectedRecord:
    """A record that failed before validation, kept in place so positions and counts stay right."""

    reason: str
    field: str = "record"


def _bad_text(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def invalid_text_mask(values: Any) -> np.ndarray:
    """True where a value is a string that is not valid Unicode (a column of any values).

    A window's million messages are checked in one pass over their joined text; values are looked
    at one by one only when that pass finds something (or the column mixes in non-strings).
    """
    values = np.asarray(values, dtype=object)
    present = values[~pd.isna(values)]
    try:
        joined = "\x00".join(present)
    except TypeError:
        joined = None
    if joined is not None and not _bad_text(joined):
        return np.zeros(len(values), dtype=bool)
    return np.fromiter((isinstance(v, str) and _bad_text(v) for v in values), dtype=bool, count=len(values))


def _value_problem(value: Any, depth: int) -> tuple[str | None, int]:
    """(reason or None, estimated size) of one value and everything inside it."""
    if isinstance(value, str):
        return ("invalid_text" if _bad_text(value) else None), len(value)
    if isinstance(value, bool) or value is None:
        return None, 1
    if isinstance(value, int):
        return ("number_out_of_range" if not _INT64[0] <= value <= _INT64[1] else None), 8
    if isinstance(value, (bytes, bytearray)):
        return None, len(value)
    if isinstance(value, Mapping) or isinstance(value, (list, tuple)):
        if depth >= MAX_DEPTH:
            return "document_too_deep", 0
        items = value.items() if isinstance(value, Mapping) else ((None, v) for v in value)
        size = 0
        for key, inner in items:
            if isinstance(key, str) and _bad_text(key):
                return "invalid_text", size
            reason, inner_size = _value_problem(inner, depth + 1)
            size += inner_size + (len(key) if isinstance(key, str) else 0)
            if reason is not None:
                return reason, size
            if size > MAX_DOCUMENT_BYTES:
                return "document_too_large", size
        return None, size
    return None, 8  # floats, dates, ids: fixed size


def document_problem(record: Mapping[str, Any]) -> tuple[str, str] | None:
    """(reason, top-level field) of the first document-level fault of ``record``, or None."""
    size = 0
    for key, value in record.items():
        if isinstance(key, str) and _bad_text(key):
            return "invalid_text", "record"
        reason, value_size = _value_problem(value, 1)
        size += value_size + len(str(key))
        if reason is not None:
            return reason, str(key)
        if size > MAX_DOCUMENT_BYTES:
            return "document_too_large", "record"
    return None


class DuplicateKeyError(ValueError):
    """A JSON object named a key twice."""


def reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads(object_pairs_hook=...)``: an object with a repeated key raises DuplicateKeyError."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(f"duplicate key {key!r}")
        out[key] = value
    return out
