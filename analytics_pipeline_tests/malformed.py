"""Hypothesis strategies for log records from outside: good ones, and every kind of broken one.

Used by the property tests (validation, import, file reading, scoring) and by bench/bench_fuzz.py.
A good record is one the log contract accepts; a broken one breaks it in one of the ways the
platform must count and set aside, never fail on.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone

from hypothesis import strategies as st

from analytics_pipeline.core.logs.documents import RejectedRecord

LEVELS = ("DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL")
SAFE_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)  # any valid Unicode


@st.composite
def good_records(draw) -> dict:
    """A record the contract accepts; its ``message`` carries a unique marker to find it again."""
    ts = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                           timezones=st.just(timezone.utc)))
    record = {"timestamp": draw(st.sampled_from([ts.isoformat(), ts.isoformat().replace("+00:00", "Z"),
                                                 ts.timestamp(), int(ts.timestamp() * 1000)])),
              "level": draw(st.sampled_from(LEVELS)),
              "service": draw(st.text("abcdefghij-", min_size=1, max_size=12)),
              "message": "good " + draw(SAFE_TEXT)}
    if draw(st.booleans()):
        record["response_time"] = draw(st.floats(0, 1e6, allow_nan=False) | st.none())
    if draw(st.booleans()):
        record["status_code"] = draw(st.integers(0, 999))
    if draw(st.booleans()):
        record["extra"] = draw(st.dictionaries(st.text("xyz", min_size=1, max_size=3), st.integers(-5, 5), max_size=3))
    return record


def _deep(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = {"a": value}
    return value


BROKEN_FIELDS = st.sampled_from([
    ("timestamp", "9999-12-31T23:59:59Z"), ("timestamp", "0001-01-01T00:00:00Z"), ("timestamp", 1e20),
    ("timestamp", -1e19), ("timestamp", "not a time"), ("timestamp", None), ("timestamp", True),
    ("level", None), ("level", 3), ("level", "LOUD"), ("service", ""), ("service", ["x"]),
    ("message", None), ("message", 42), ("message", "x" * 70_000), ("message", "lone \ud800 surrogate"),
    ("service", "bad \udfff"), ("response_time", -1.0), ("response_time", math.inf), ("response_time", -math.inf),
    ("response_time", 10**400), ("response_time", "fast"), ("status_code", 1234), ("status_code", 10**30),
    ("label", 2), ("extra", _deep(40)), ("extra", "y" * (2 << 20)), ("extra", 2**70), ("extra", {"k\ud800": 1}),
])


@st.composite
def broken_records(draw) -> object:
    """A record to be set aside: one broken field in a good record, not a document, or a placeholder
    for a line that failed to parse."""
    kind = draw(st.sampled_from(["field", "field", "field", "not_a_document", "placeholder"]))
    if kind == "not_a_document":
        return draw(st.sampled_from([None, [], ["a"], "text", 7, 3.5]))
    if kind == "placeholder":
        return RejectedRecord(draw(st.sampled_from(["invalid_json", "duplicate_key", "invalid_text"])))
    record = draw(good_records())
    name, value = draw(BROKEN_FIELDS)
    record[name] = value
    if name == "message":
        record.pop("extra", None)  # keep the fault the one being tested
    return record


def batches(max_size: int = 40) -> st.SearchStrategy[list[tuple[bool, object]]]:
    """Good and broken records mixed, each tagged with whether it is good."""
    return st.lists(st.tuples(st.just(True), good_records()) | st.tuples(st.just(False), broken_records()),
                    min_size=1, max_size=max_size)
