"""The lean one-record validator judges exactly as the batch schema does."""
from __future__ import annotations

import math
from datetime import datetime, timezone

import pandas as pd
import pytest

from analytics_pipeline.core.logs.record_validation import FIELDS, validate_record
from analytics_pipeline.core.logs.documents import DOCUMENT_REASONS
from analytics_pipeline.core.logs.schema import REASONS, validate_records
from analytics_pipeline_tests.core.scoring.samples import GOOD


def test_every_reject_reason_names_its_field():
    for reason in REASONS:  # the single-mode error and the batch "field: reason" rely on it
        assert (reason in ("not_a_document", "nonfinite_number", *DOCUMENT_REASONS)
                or any(f in reason for f in FIELDS))


@pytest.mark.parametrize("timestamp", [
    "2024-01-09T10:00:00Z", "2024-01-09T10:00:00.123+02:00", "2024-01-09 10:00", "2024-01-09T10:00:00.5",
    "2024-01-09T10:00:00.123456789Z", "2024-02-30T10:00:00", " 2024-01-09T10:00:00Z", "2024-01-09T10:00:00+0100",
    "1704794400", "1704794400123", "", "   ", "20240109", "Jan 9 2024 10:00", 1704794400, 1704794400.5,
    datetime(2024, 1, 9, 10), datetime(2024, 1, 9, 10, tzinfo=timezone.utc), pd.Timestamp("2024-01-09 10:00"),
    None, math.nan, True,
])

def test_lean_validation_matches_the_schema(timestamp):
    variants = [{**GOOD, "timestamp": timestamp}, {**GOOD, "timestamp": timestamp, "level": "warning", "_id": 5},
                {**GOOD, "timestamp": timestamp, "response_time": None, "status_code": 404.0, "label": 1}]
    for record in variants:
        row, reason = validate_record(record)
        reference = validate_records([record])
        assert reason == (reference.rejected_reasons[0] if reference.n_bad else None)
        if row is not None:
            expected = reference.logs.iloc[0].to_dict()
            assert row.keys() == expected.keys()
            assert all(_same(row[k], expected[k]) for k in row), (row, expected)


def _same(a: object, b: object) -> bool:
    missing = lambda v: v is None or (isinstance(v, float) and math.isnan(v))  # noqa: E731
    return (missing(a) and missing(b)) or a == b
