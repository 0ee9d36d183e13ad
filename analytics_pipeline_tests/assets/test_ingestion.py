"""The raw_logs asset materialized by Dagster against the real server; the CLI import."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import dagster as dg
import pandas as pd

from analytics_pipeline.assets.ingestion import raw_logs
from analytics_pipeline.cli import main as cli_main
from analytics_pipeline.core.logs import store as log_store
from analytics_pipeline.resources.mongodb import MongoDBResource
from analytics_pipeline.resources.parquet_io import ParquetIOManager
from analytics_pipeline_tests.shared_data import SHARED_DATA

WEEK = "2026-11-08"  # window: 2026-10-16 .. 2026-11-15
T0 = datetime(2026, 10, 20, tzinfo=timezone.utc)


def _materialize(tmp_path, config: dict | None = None):
    return dg.materialize(
        [raw_logs], partition_key=WEEK, raise_on_error=False,
        resources={"mongodb": MongoDBResource(),
                   "parquet_io_manager": ParquetIOManager(base_dir=str(tmp_path / "storage"))},
        run_config={"ops": {"raw_logs": {"config": config}}} if config else None,
    )


def _checks(result) -> dict[str, bool]:
    return {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
            for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def test_raw_logs_reads_the_window_with_metadata_and_passing_checks(mongo_db, tmp_path):
    docs = [{"timestamp": T0 + timedelta(minutes=i), "level": ["INFO", "WARNING", "ERROR"][i % 3],
             "service": f"svc{i % 4}", "message": f"event {i}", "response_time": 10.0 + i} for i in range(300)]
    mongo_db["logs"].insert_many(docs)
    result = _materialize(tmp_path)
    assert result.success
    frame = result.output_for_node("raw_logs")
    assert len(frame) == 300 and set(frame["level"]) == {"INFO", "WARN", "ERROR"}
    meta = result.asset_materializations_for_node("raw_logs")[0].metadata
    assert meta["row_count"].value == 300
    assert meta["bad_documents"].value == 0
    assert "svc0" in meta["service_counts"].value and "| WARN | 100 |" in meta["level_counts"].value
    assert _checks(result) == {"window_not_empty_and_valid": True, "bad_document_ratio": True}
    stored = pd.read_parquet(tmp_path / "storage" / "raw_logs" / f"{WEEK}.parquet")
    assert len(stored) == 300


def test_bad_ratio_check_fails_above_the_threshold(mongo_db, tmp_path):
    good = [{"timestamp": T0 + timedelta(minutes=i), "level": "INFO", "service": "a", "message": "m"} for i in range(95)]
    bad = [{"timestamp": T0, "level": 5, "service": "a", "message": "m"} for _ in range(5)]
    mongo_db["logs"].insert_many(good + bad)
    result = _materialize(tmp_path)
    assert _checks(result)["bad_document_ratio"] is False
    meta = result.asset_materializations_for_node("raw_logs")[0].metadata
    assert meta["bad_documents"].value == 5
    relaxed = _materialize(tmp_path, {"max_bad_ratio": 0.1})
    assert _checks(relaxed)["bad_document_ratio"] is True


def test_empty_window_fails_the_blocking_check(mongo_db, tmp_path):
    result = _materialize(tmp_path)
    assert _checks(result)["window_not_empty_and_valid"] is False


def test_cli_load_imports_the_real_bgl_file_once(mongo_db, capsys):
    path = SHARED_DATA / "bgl_2k.jsonl"
    assert cli_main(["load", str(path)]) == 0
    assert "inserted 2,000" in capsys.readouterr().out
    assert cli_main(["load", str(path)]) == 0
    assert "already present 2,000" in capsys.readouterr().out
    col = mongo_db["logs"]
    assert col.count_documents({}) == 2000
    assert col.count_documents({"label": 1}) == 143
    doc = col.find_one({"level": "CRITICAL"})
    assert doc["source_id"] and isinstance(doc["timestamp"], datetime)
    window = log_store.read_window(col, datetime(2005, 1, 1, tzinfo=timezone.utc), datetime(2007, 1, 1, tzinfo=timezone.utc))
    assert len(window.logs) == 2000 and window.n_bad == 0


def test_cli_load_reports_bad_lines_and_rejects_unknown_files(mongo_db, tmp_path, capsys):
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"timestamp": "2026-11-01T00:00:00Z", "level": "INFO", "service": "a", "message": "x"}\n'
                    "{not json\n"
                    '{"level": "INFO", "service": "a", "message": "x"}\n')
    assert cli_main(["load", str(path)]) == 0
    out = capsys.readouterr().out
    assert "inserted 1" in out and "invalid_json: 1" in out and "missing_timestamp: 1" in out
    assert cli_main(["load", str(tmp_path / "logs.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "logs.csv").write_text("a,b\n")
    assert cli_main(["load", str(tmp_path / "logs.csv")]) == 2
    assert "unsupported file type" in capsys.readouterr().err


def test_unreachable_mongodb_errors_never_show_the_password(mongo_server, capsys, monkeypatch):
    from analytics_pipeline.local.processes import free_port

    uri = f"mongodb://ops:hunter2secret@127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=300"
    resource = MongoDBResource(uri=uri, server_selection_timeout_ms=300)
    try:
        resource.db()
        raise AssertionError("expected a connection error")
    except ConnectionError as exc:
        assert "hunter2secret" not in str(exc) and "ops:***@" in str(exc)
    monkeypatch.setenv("MONGODB_URI", uri)
    assert cli_main(["seed", "--days", "1", "--logs-per-minute", "1"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach MongoDB" in err and "hunter2secret" not in err
