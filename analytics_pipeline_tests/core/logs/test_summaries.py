"""The window summary shown in raw_logs' metadata and by the CLI."""
from __future__ import annotations

import json

import pandas as pd

from analytics_pipeline.core.logs.schema import LEVELS, validate_records
from analytics_pipeline.core.logs.summaries import window_summary

GOOD = {"timestamp": "2026-11-02T10:00:00Z", "level": "INFO", "service": "api", "message": "ok"}


def test_counts_span_and_bad_documents():
    records = [GOOD, {**GOOD, "timestamp": "2026-11-03T10:00:00Z", "level": "ERROR", "service": "db", "label": 1},
               {**GOOD, "level": None}, "junk"]
    summary = window_summary(validate_records(records), "2026-10-30", "2026-11-06")
    assert summary["row_count"] == 2 and summary["documents_read"] == 4
    assert summary["first_log"].startswith("2026-11-02 10:00") and summary["last_log"].startswith("2026-11-03")
    assert summary["level_counts"] == {**dict.fromkeys(LEVELS, 0), "INFO": 1, "ERROR": 1}
    assert summary["service_counts"] == {"api": 1, "db": 1}
    assert summary["bad_documents"] == 2 and summary["bad_ratio"] == 0.5
    assert summary["bad_counts"] == {"missing_level": 1, "not_a_document": 1}
    assert summary["labelled_anomalies"] == 1
    json.dumps(summary)  # plain data, ready for metadata and JSON


def test_empty_window():
    summary = window_summary(validate_records([]), pd.Timestamp("2026-10-30"), pd.Timestamp("2026-11-06"))
    assert summary["row_count"] == 0 and summary["first_log"] is None and summary["bad_ratio"] == 0.0
