"""The log contract: every kind of bad document is set aside with its reason; good ones pass."""
from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

from analytics_pipeline.core.logs.timestamps import parse_timestamp
from analytics_pipeline.core.logs.schema import (
    LOG_COLUMNS,
    MAX_MESSAGE_BYTES,
    normalize_level,
    validate_frame,
    validate_records,
)

T = datetime(2026, 11, 10, 12, 0, tzinfo=timezone.utc)


def good(i: int = 0, **kw):
    doc = {"timestamp": T, "level": "INFO", "service": "api", "message": f"ok {i}", "response_time": 12.5,
           "status_code": 200}
    doc.update(kw)
    return doc


BAD = [
    ("not_a_document", ["not", "a", "dict"]),
    ("missing_timestamp", {k: v for k, v in good().items() if k != "timestamp"}),
    ("bad_timestamp", good(timestamp="the day after tomorrow")),
    ("bad_timestamp", good(timestamp=True)),
    ("missing_level", good(level=None)),
    ("bad_level_type", good(level=3)),
    ("unknown_level", good(level="LOUD")),
    ("missing_service", good(service="")),
    ("bad_service_type", good(service=["a"])),
    ("missing_message", good(message=None)),
    ("bad_message_type", good(message={"text": "x"})),
    ("message_too_large", good(message="x" * (MAX_MESSAGE_BYTES + 1))),
    ("bad_response_time", good(response_time="fast")),
    ("nonfinite_number", good(response_time=float("nan"))),
    ("nonfinite_number", good(status_code=float("inf"))),
    ("negative_response_time", good(response_time=-1.0)),
    ("bad_status_code", good(status_code=200.5)),
    ("bad_status_code", good(status_code="200")),
    ("bad_label", good(label=7)),
    ("bad_timestamp", good(timestamp=[2024])),
    ("bad_level_type", good(level=["INFO"])),
]


def test_every_bad_kind_is_counted_and_every_good_document_arrives():
    goods = [good(i) for i in range(25)]
    batch: list = []
    for i, g in enumerate(goods):
        batch.append(g)
        if i < len(BAD):
            batch.append(BAD[i][1])
    result = validate_records(batch)
    expected: dict[str, int] = {}
    for reason, _ in BAD:
        expected[reason] = expected.get(reason, 0) + 1
    assert result.bad_counts == expected
    assert result.total == len(batch)
    assert sorted(result.logs["message"]) == sorted(g["message"] for g in goods)
    assert tuple(result.logs.columns) == LOG_COLUMNS
    assert [batch[p] for p in result.rejected_positions] == [b for _, b in BAD]


def test_timestamps_in_iso_and_epoch_forms_are_parsed_not_rejected():
    stamps = ["2026-11-10T12:00:00Z", "2026-11-10 12:00:00", "2026-11-10T13:00:00+01:00",
              1794312000, 1794312000000, 1794312000.0, "1794312000", np.datetime64("2026-11-10T12:00:00")]
    result = validate_records([good(timestamp=s) for s in stamps])
    assert result.n_bad == 0
    assert (result.logs["timestamp"] == pd.Timestamp(T)).all()


def test_level_aliases_map_to_the_five_levels():
    assert [normalize_level(x) for x in ("warning", "FATAL", "err", "Trace", "notice", "info", "SEVERE")] == \
        ["WARN", "CRITICAL", "ERROR", "DEBUG", "INFO", "INFO", "ERROR"]
    assert normalize_level("LOUD") is None


def test_optional_fields_may_be_absent_and_labels_are_kept():
    result = validate_records([{"timestamp": T, "level": "FATAL", "service": "KERNEL", "message": "x", "label": 1}])
    row = result.logs.iloc[0]
    assert row["level"] == "CRITICAL" and row["label"] == 1.0
    assert math.isnan(row["response_time"]) and math.isnan(row["status_code"])


def test_parse_timestamp_outcomes():
    assert parse_timestamp(None) == "missing"
    assert parse_timestamp("") == "missing"
    assert parse_timestamp("garbage") is None
    assert parse_timestamp(float("inf")) is None
    assert parse_timestamp("2026-11-10T12:00:00Z") == pd.Timestamp(T)


def test_validate_frame_reads_the_shared_labelled_set():
    from analytics_pipeline_tests.shared_data import SHARED_DATA
    frame = pd.read_json(SHARED_DATA / "bgl_2k.jsonl", lines=True, dtype=False)
    result = validate_frame(frame)
    assert result.n_bad == 0 and len(result.logs) == 2000
    assert int(result.logs["label"].sum()) == 143
    assert result.logs["response_time"].isna().all()


@pytest.mark.parametrize("empty", [[], pd.DataFrame()])
def test_empty_batches(empty):
    result = validate_records(empty) if isinstance(empty, list) else validate_frame(empty)
    assert result.total == 0 and len(result.logs) == 0 and result.bad_ratio == 0.0
