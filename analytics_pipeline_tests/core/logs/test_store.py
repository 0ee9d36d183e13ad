"""Window reads and imports against the real MongoDB-protocol server."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from analytics_pipeline.core.logs import store as log_store
from analytics_pipeline.core.logs.windows import latest_complete_week, window_for_partition
from analytics_pipeline.core.redaction import redact

START = datetime(2026, 10, 16, tzinfo=timezone.utc)
END = datetime(2026, 11, 15, tzinfo=timezone.utc)


def _good(i: int) -> dict:
    return {"timestamp": START + timedelta(hours=i), "level": "info", "service": f"svc{i % 3}",
            "message": f"request {i} done", "response_time": float(i), "status_code": 200, "host": "h1"}


# Each bad document the fast path cannot read, with the reason it must be counted under.
BAD_IN_WINDOW = [
    ("bad_level_type", {"level": 3}),
    ("missing_level", {"level": None}),
    ("bad_message_type", {"message": 42}),
    ("bad_service_type", {"service": 7}),
    ("nonfinite_number", {"response_time": float("nan")}),
    ("nonfinite_number", {"status_code": float("-inf")}),
    ("bad_response_time", {"response_time": "slow"}),
    ("unknown_level", {"level": "LOUD"}),
    ("message_too_large", {"message": "y" * 70_000}),
    ("negative_response_time", {"response_time": -3.0}),
    ("bad_response_time", {"response_time": True}),
    ("bad_label", {"label": "yes"}),
    ("bad_status_code", {"status_code": {"code": 200}}),
]


def test_window_read_sets_aside_bad_documents_and_keeps_every_good_one(mongo_db):
    col = mongo_db["logs"]
    log_store.ensure_log_indexes(col)
    goods = [_good(i) for i in range(200)]
    goods[7]["message"] = "no value for status_code"  # looks like a field name to the byte screen
    bads = [{**_good(300 + i), **patch} for i, (_, patch) in enumerate(BAD_IN_WINDOW)]
    # Timestamps that are not BSON dates: parsed when usable, counted when not.
    untyped = [
        {**_good(500), "timestamp": (START + timedelta(days=3)).isoformat(), "message": "iso"},
        {**_good(501), "timestamp": (START + timedelta(days=4)).timestamp(), "message": "epoch"},
        {**{k: v for k, v in _good(502).items() if k != "timestamp"}},
        {**_good(503), "timestamp": "not a date"},
        {**_good(504), "timestamp": (START - timedelta(days=40)).isoformat(), "message": "other window"},
    ]
    outside = [{**_good(0), "timestamp": END + timedelta(days=1)}]
    col.insert_many(goods + bads + untyped + outside)

    result = log_store.read_window(col, START, END)
    expected = {}
    for reason, _ in BAD_IN_WINDOW:
        expected[reason] = expected.get(reason, 0) + 1
    expected.update({"missing_timestamp": 1, "bad_timestamp": 1})
    assert result.bad_counts == expected
    assert sorted(result.logs["message"]) == sorted([g["message"] for g in goods] + ["iso", "epoch"])
    assert len(result.logs) == 202
    assert result.logs["timestamp"].is_monotonic_increasing
    assert set(result.logs["level"]) == {"INFO"}
    assert result.logs["log_id"].str.len().eq(24).all()


def test_window_query_uses_the_timestamp_index(mongo_db):
    col = mongo_db["logs"]
    log_store.ensure_log_indexes(col)
    col.insert_many([_good(i) for i in range(50)])
    plan = col.find({"timestamp": {"$gte": START, "$lt": END}}).explain()["queryPlanner"]["winningPlan"]
    assert "IXSCAN" in str(plan)


def test_import_is_idempotent_and_reports_bad_records(mongo_db):
    col = mongo_db["logs"]
    log_store.ensure_log_indexes(col)
    records = [_good(i) for i in range(30)] + [{"message": "no timestamp"}, 17]
    first = log_store.insert_records(col, [dict(r) if isinstance(r, dict) else r for r in records])
    second = log_store.insert_records(col, [dict(r) if isinstance(r, dict) else r for r in records])
    assert (first.inserted, first.duplicates) == (30, 0)
    assert first.bad_counts == {"missing_timestamp": 1, "not_a_document": 1}
    assert (second.inserted, second.duplicates) == (0, 30)
    assert col.count_documents({}) == 30
    assert col.find_one({"message": "request 3 done"})["host"] == "h1"  # extra fields kept


def test_windows_end_where_the_week_ends():
    start, end = window_for_partition("2026-11-08")
    assert end == datetime(2026, 11, 15, tzinfo=timezone.utc)
    assert end - start == timedelta(days=30)
    assert latest_complete_week(datetime(2026, 11, 24, 10, tzinfo=timezone.utc)) == "2026-11-15"
    assert latest_complete_week(datetime(2026, 11, 22, 0, 30, tzinfo=timezone.utc)) == "2026-11-15"


def test_redaction_hides_passwords():
    text = "cannot reach mongodb+srv://ops:s3cr3t@cluster0.example.net/db?authSource=admin&password=abc"
    out = redact(text)
    assert "s3cr3t" not in out and "abc" not in out and "ops:***@cluster0" in out
    assert pd.isna(pd.NA)
