"""Property tests: random broken records mixed with good ones never fail a batch, every good record
is processed, and every broken one is counted by reason. Validation, import into the real server,
file reading (BOM, CRLF, gzip, bytes that are not UTF-8) and scoring are all driven the same way."""
from __future__ import annotations

import gzip
import json
import uuid

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.detection.training import train
from analytics_pipeline.core.lifecycle.runs import model_metadata
from analytics_pipeline.core.logs import store
from analytics_pipeline.core.logs.files import read_log_file
from analytics_pipeline.core.logs.schema import REASONS, validate_records
from analytics_pipeline.core.scoring.detector import AnomalyDetector
from analytics_pipeline.synthetic.generator import generate_logs
from analytics_pipeline_tests.malformed import batches

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])


def _split(batch):
    records = [record for _, record in batch]
    good = [i for i, (ok, _) in enumerate(batch) if ok]
    return records, good


@FAST
@given(batches())
def test_validation_keeps_every_good_record_and_counts_the_rest(batch):
    records, good = _split(batch)
    result = validate_records(records)
    assert len(result.logs) == len(good) and result.total == len(records)
    assert sorted(result.rejected_positions) == [i for i in range(len(records)) if i not in good]
    assert set(result.rejected_reasons) <= set(REASONS)
    assert sorted(result.logs["message"]) == sorted(records[i]["message"] for i in good)


@pytest.fixture(scope="module")
def detector() -> AnomalyDetector:
    logs = generate_logs(pd_start(), pd_start(days=2), logs_per_minute=3, seed=1)
    trained = train(logs, TrainingConfig(n_jobs=1))
    return AnomalyDetector(pipeline=trained.pipeline, metadata=model_metadata(trained, {}), model_version=1)


def pd_start(days: int = 0) -> pd.Timestamp:
    return pd.Timestamp("2026-01-05", tz="UTC") + pd.Timedelta(days=days)


@FAST
@given(batches(max_size=30))
def test_scoring_a_batch_scores_the_good_and_names_the_broken(detector, batch):
    records, good = _split(batch)
    results = detector.detect_batch(records)
    assert len(results) == len(records)
    for i, result in enumerate(results):
        if i in good:
            assert result["error"] is None and 0 <= result["anomaly_score"] <= 1
        else:
            field, _, reason = result["error"].partition(": ")
            assert field and reason in REASONS
    json.dumps(results, allow_nan=False, default=str)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches(max_size=30))
def test_importing_inserts_every_good_record_into_the_real_server(mongo_db, batch):
    records, good = _split(batch)
    collection = mongo_db["logs_" + uuid.uuid4().hex[:8]]
    store.ensure_log_indexes(collection)
    report = store.insert_records(collection, records)
    assert report.received == len(records) and report.inserted + report.duplicates == len(good)
    assert sum(report.bad_counts.values()) == len(records) - len(good)
    assert collection.count_documents({}) == report.inserted
    collection.drop()


_RAW_BAD_LINES = st.sampled_from([b"{not json", b"\xff\xfe broken bytes", b'{"a": 1, "a": 2}', b"[" * 100_000,
                                  b"42", b'"text"', b"   ", b'{"timestamp": "9999-12-31T23:59:59Z"}'])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches(max_size=20), st.lists(_RAW_BAD_LINES, max_size=5), st.booleans(), st.booleans(), st.booleans())
def test_files_with_bom_crlf_gzip_and_garbage_lines_keep_their_good_records(tmp_path, batch, garbage, bom, crlf, gz):
    good = [record for ok, record in batch if ok]
    lines = [json.dumps(record).encode() for record in good] + list(garbage)
    body = (b"\r\n" if crlf else b"\n").join(lines)
    path = tmp_path / f"logs-{uuid.uuid4().hex[:6]}.jsonl{'.gz' if gz else ''}"
    path.write_bytes(gzip.compress((b"\xef\xbb\xbf" if bom else b"") + body) if gz else (b"\xef\xbb\xbf" if bom else b"") + body)
    result = validate_records([r for chunk in read_log_file(path) for r in chunk])
    assert sorted(result.logs["message"]) == sorted(record["message"] for record in good)
    assert result.n_bad == sum(1 for line in garbage if line.strip())
