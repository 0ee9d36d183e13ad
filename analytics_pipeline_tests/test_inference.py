"""Scoring with the champion: calibrated scores, severities, explanations, the Python API, the
served predict, bad input in single and batch mode, saved_models and the registry, health."""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import ErrorCode, INVALID_PARAMETER_VALUE

from analytics_pipeline.core import tracking
from analytics_pipeline.core.explain import ANOMALY_TYPES, LATENCY_TYPES, Explainer
from analytics_pipeline.core.health import health_summary
from analytics_pipeline.core.record_validation import FIELDS, validate_record
from analytics_pipeline.core.inference import (
    COLUMNS, AnomalyDetector, score_logs, score_records_frame,
)
from analytics_pipeline.core.model_export import ChecksumMismatchError, export_champion
from analytics_pipeline.core.schema import REASONS, validate_records
from analytics_pipeline.core.severity import Calibration, classify_severity
from analytics_pipeline.core.training import TrainingConfig, train
from analytics_pipeline.synthetic import generate_logs
from analytics_pipeline_tests.conftest import SHARED_DATA

SPLIT = pd.Timestamp("2024-01-08", tz="UTC")


@pytest.fixture(scope="module")
def window() -> pd.DataFrame:
    """Ten days with incidents; the model trains on the first seven and scores the rest."""
    return generate_logs(datetime(2024, 1, 1), datetime(2024, 1, 11), logs_per_minute=6, seed=7)


@pytest.fixture(scope="module")
def trained(window: pd.DataFrame):
    return train(window[window["timestamp"] < SPLIT].reset_index(drop=True), TrainingConfig(n_jobs=1))


@pytest.fixture(scope="module")
def detector(trained) -> AnomalyDetector:
    return AnomalyDetector(pipeline=trained.pipeline, metadata=tracking.model_metadata(trained, {}), model_version=7)


@pytest.fixture(scope="module")
def later(window: pd.DataFrame) -> pd.DataFrame:
    return window[window["timestamp"] >= SPLIT].reset_index(drop=True)


@pytest.fixture(scope="module")
def scored(detector: AnomalyDetector, later: pd.DataFrame) -> pd.DataFrame:
    return detector.score_logs(later)


def _records(frame: pd.DataFrame) -> list[dict]:
    """Request-shaped dicts: ISO timestamps, absent numbers left out."""
    out = []
    request = ["log_id", "timestamp", "level", "service", "message", "response_time", "status_code"]
    for row in frame[request].to_dict("records"):
        row["timestamp"] = row["timestamp"].isoformat()
        out.append({k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))})
    return out


def test_scores_and_flags_follow_the_detector(scored, detector, later):
    assert list(scored.columns) == list(COLUMNS) and len(scored) == len(later)
    assert (scored["log_id"].to_numpy() == later["log_id"].to_numpy()).all()  # input order
    for column in ("anomaly_score", "raw_score", "confidence"):
        assert scored[column].between(0, 1).all()
    raw = detector.pipeline[-1].anomaly_score(detector.pipeline[0].transform(later))
    assert np.array_equal(scored["raw_score"].to_numpy(), raw)
    flagged = raw > detector.pipeline[-1].threshold_
    assert np.array_equal(scored["is_anomaly"].to_numpy(), flagged)
    assert np.array_equal(scored["anomaly_score"].to_numpy() > 0.6, flagged)
    assert np.array_equal(scored["prediction"].to_numpy(), np.where(flagged, -1, 1))
    assert 0.03 < flagged.mean() < 0.3
    assert scored["model_version"].eq(7).all() and scored["detection_method"].eq("isolation_forest").all()


def test_severity_bands_are_meaningful(scored, later):
    assert (scored["severity"] == scored["anomaly_score"].map(classify_severity)).all()
    flagged = scored["is_anomaly"]
    serious = scored["severity"].isin(["high", "critical"])
    incident = later["incident_type"].notna()
    # Injected incidents are mostly high or critical; false alarms mostly low.
    assert serious[flagged & incident].mean() > 0.7
    assert scored.loc[flagged & ~incident, "severity"].eq("low").mean() > 0.6
    assert serious[flagged & (later["incident_type"] == "latency_spike")].mean() > 0.9
    assert scored.loc[~scored["is_anomaly"], "severity"].eq("normal").all()
    spread = scored.loc[scored["is_anomaly"], "severity"].value_counts()
    assert "normal" not in spread and len(spread) >= 2
    assert spread.get("low", 0) > spread.get("medium", 0) > 0  # the tail thins out
    assert scored["confidence"].ge(0.5).all()
    by_score = scored[scored["is_anomaly"]].sort_values("anomaly_score")["confidence"]
    assert by_score.is_monotonic_increasing  # surer the farther past the threshold


def test_injected_latency_incidents_are_typed_with_sensible_expectations(scored, later, trained):
    hit = scored[scored["is_anomaly"].to_numpy() & (later["incident_type"] == "latency_spike").to_numpy()]
    assert len(hit) >= 10
    assert hit["anomaly_type"].isin(LATENCY_TYPES).mean() >= 0.8
    spikes = hit[hit["anomaly_type"] == "latency_spike"]
    typical = trained.profile["service_response_time_ms"]
    observed = later.loc[spikes.index, "response_time"]
    for (_, row), rt in zip(spikes.iterrows(), observed):
        assert row["expected_value"] == pytest.approx(typical[row["service"]]["p50"], abs=1e-3)
        assert row["deviation"] == pytest.approx(rt / row["expected_value"], rel=1e-3) and row["deviation"] >= 3
        assert row["contributors"] and row["recommended_actions"]


def test_anomalies_are_explained_and_normal_rows_are_not(scored, detector):
    names = set(detector.pipeline[0].get_feature_names_out())
    anomalies, normal = scored[scored["is_anomaly"]], scored[~scored["is_anomaly"]]
    assert anomalies["anomaly_type"].isin(ANOMALY_TYPES).all()
    assert anomalies["anomaly_type"].nunique() >= 3
    for contributors in anomalies["contributors"]:
        assert 1 <= len(contributors) <= 5
        for c in contributors:
            assert set(c) == {"feature", "value", "normal_range", "direction"} and c["feature"] in names
            assert c["normal_range"][0] <= c["normal_range"][1] and c["direction"] in ("above", "below")
    assert anomalies["recommended_actions"].map(len).gt(0).all()
    assert normal["anomaly_type"].isna().all() and normal["expected_value"].isna().all()
    assert normal["contributors"].map(len).eq(0).all() and normal["recommended_actions"].map(len).eq(0).all()


def test_new_or_rare_message_templates_are_typed_as_new(trained, later):
    explainer = Explainer(trained.pipeline[0], trained.profile)
    logs = later.iloc[:2]
    messages = np.array([logs["message"].iloc[0], "Flux capacitor on node 7 desynchronized (phase 0x1f)"], dtype=object)
    found = explainer.explain(trained.pipeline[0].transform(logs), logs["service"].to_numpy(object),
                              np.array(["INFO", "INFO"], dtype=object), messages, np.full(2, np.nan),
                              np.full(2, np.nan), hour=np.zeros(2, int), has_context=np.zeros(2, bool))
    assert found.anomaly_type == ["unusual_pattern", "new_message_pattern"]
    assert found.expected_value == [None, None] and found.deviation == [None, None]


def test_detect_anomaly_equals_detect_batch_and_is_json(detector, scored, later):
    picks = list(scored.index[scored["is_anomaly"]][:3]) + list(scored.index[~scored["is_anomaly"]][:3])
    for record in _records(later.loc[picks]):
        single = detector.detect_anomaly(record)
        batch = detector.detect_batch([record])[0]
        assert batch.pop("error") is None and single == batch
        assert set(single) == set(COLUMNS)
        json.dumps(single, allow_nan=False)
    assert any(detector.detect_anomaly(r)["is_anomaly"] for r in _records(later.loc[picks[:3]]))


GOOD = {"timestamp": "2024-01-09T10:00:00Z", "level": "INFO", "service": "api-gateway",
        "message": "GET /api/v1/users/42 completed in 48ms status=200", "response_time": 48.0, "status_code": 200}


@pytest.mark.parametrize("change, field, reason", [
    ({"timestamp": None}, "timestamp", "missing_timestamp"),
    ({"timestamp": "yesterday-ish"}, "timestamp", "bad_timestamp"),
    ({"level": None}, "level", "missing_level"),
    ({"level": 3}, "level", "bad_level_type"),
    ({"level": "LOUD"}, "level", "unknown_level"),
    ({"service": ""}, "service", "missing_service"),
    ({"service": ["api"]}, "service", "bad_service_type"),
    ({"message": None}, "message", "missing_message"),
    ({"message": 42}, "message", "bad_message_type"),
    ({"message": "x" * 70_000}, "message", "message_too_large"),
    ({"response_time": "fast"}, "response_time", "bad_response_time"),
    ({"response_time": -1.0}, "response_time", "negative_response_time"),
    ({"response_time": math.inf}, "response_time", "nonfinite_number"),
    ({"status_code": 1234}, "status_code", "bad_status_code"),
    ({"status_code": -math.inf}, "status_code", "nonfinite_number"),
    ({"label": 2}, "label", "bad_label"),
])
def test_single_mode_names_the_bad_field(detector, change, field, reason):
    with pytest.raises(ValueError, match=rf"field '{field}' \({reason}\)"):
        detector.detect_anomaly({**GOOD, **change})


def test_single_mode_rejects_non_documents_and_treats_nan_as_absent(detector):
    with pytest.raises(ValueError, match=r"field 'record' \(not_a_document\)"):
        detector.detect_anomaly(["not", "a", "dict"])
    absent = detector.detect_anomaly({k: v for k, v in GOOD.items() if k != "response_time"})
    assert detector.detect_anomaly({**GOOD, "response_time": math.nan}) == absent


def test_every_reject_reason_names_its_field():
    for reason in REASONS:  # the single-mode error and the batch "field: reason" rely on it
        assert reason in ("not_a_document", "nonfinite_number") or any(f in reason for f in FIELDS)


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


def test_batch_mode_scores_the_good_records(detector, later):
    good = _records(later.iloc[:30])
    bad = [{**good[0], "timestamp": "not a time"}, {**good[1], "level": None}, "junk",
           {**good[2], "response_time": math.inf}]
    results = detector.detect_batch(good[:10] + bad + good[10:])
    assert len(results) == 34
    errors = [r["error"] for r in results[10:14]]
    assert errors == ["timestamp: bad_timestamp", "level: missing_level", "record: not_a_document",
                      "response_time: nonfinite_number"]
    assert all(r["anomaly_score"] is None and r["severity"] is None for r in results[10:14])
    assert results[10]["log_id"] == good[0]["log_id"]
    alone = detector.detect_batch(good)
    assert results[:10] + results[14:] == alone
    assert detector.detect_batch(later.iloc[:30]) == alone  # a DataFrame (the pandas path) scores the same
    json.dumps(results, allow_nan=False)


def _request(later: pd.DataFrame) -> pd.DataFrame:
    columns = ["timestamp", "level", "service", "message", "response_time", "status_code", "log_id"]
    frame = later.iloc[:8][columns].copy()
    frame["timestamp"] = frame["timestamp"].map(lambda t: t.isoformat()).astype(object)
    frame.loc[frame.index[3], "timestamp"] = str(int(later["timestamp"].iloc[3].timestamp()))  # epoch seconds
    frame.loc[frame.index[5], "level"] = None
    frame.loc[frame.index[6], "timestamp"] = "garbage"
    return frame


def test_served_predict_rejects_or_flags_bad_records(trained, later):
    metadata = tracking.model_metadata(trained, {"run_id": "abc"})
    request = _request(later)
    with pytest.raises(MlflowException) as rejected:
        score_records_frame(trained.pipeline, metadata, request, {})
    assert rejected.value.error_code == ErrorCode.Name(INVALID_PARAMETER_VALUE)
    assert "record 5: level: missing_level" in rejected.value.message
    assert "record 6: timestamp: bad_timestamp" in rejected.value.message
    with pytest.raises(MlflowException, match="on_error must be one of"):
        score_records_frame(trained.pipeline, metadata, request, {"on_error": "ignore"})

    flagged = score_records_frame(trained.pipeline, metadata, request, {"on_error": "flag"})
    assert list(flagged.columns) == [*COLUMNS, "error"] and len(flagged) == 8
    assert flagged["error"].tolist() == [None] * 5 + ["level: missing_level", "timestamp: bad_timestamp", None]
    assert flagged["anomaly_score"].isna().tolist() == [False] * 5 + [True, True, False]
    assert flagged["log_id"].tolist() == request["log_id"].tolist()
    assert flagged.loc[3, "timestamp"].startswith(later["timestamp"].iloc[3].strftime("%Y-%m-%dT%H:%M:%S"))
    assert flagged.loc[0, "model_version"] == "abc"
    payload = json.loads(json.dumps(flagged.to_dict("records"), allow_nan=False))
    assert all(isinstance(r["is_anomaly"], bool) for r in payload if r["error"] is None)
    good = score_records_frame(trained.pipeline, metadata, request.drop(index=[5, 6]), {})
    assert good["error"].isna().all() and len(good) == 6


def test_saved_models_path_checks_the_checksum(tmp_path, trained, detector, later):
    path = export_champion(trained.pipeline, 3, tracking.model_metadata(trained, {}), tmp_path)
    for source in (tmp_path, path, str(path)):
        loaded = AnomalyDetector(model_path=source)
        assert loaded.model_version == 3 and loaded.threshold == detector.threshold
    sample = _records(later.iloc[100:120])
    assert [{**r, "model_version": 7} for r in loaded.detect_batch(sample)] == detector.detect_batch(sample)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatchError):
        AnomalyDetector(model_path=path)
    with pytest.raises(ValueError, match="model_path"):
        AnomalyDetector()


def test_from_registry_loads_the_champion(tmp_path, trained, window, detector, later):
    uri, previous = f"sqlite:///{tmp_path}/mlflow.db", mlflow.get_tracking_uri()
    try:
        tracking.configure(uri)
        _, model_uri, _ = tracking.log_training_run(trained, window[window["timestamp"] < SPLIT], {}, "test")
        version = tracking.register_challenger(model_uri, {})
        tracking.set_champion(version.version, {})
    finally:
        mlflow.set_tracking_uri(previous)  # other tests keep the session's store
    champion = AnomalyDetector.from_registry(tracking_uri=uri)
    assert mlflow.get_tracking_uri() == previous
    assert champion.model_version == int(version.version)
    sample = _records(later.iloc[200:220])
    assert [{**r, "model_version": 7} for r in champion.detect_batch(sample)] == detector.detect_batch(sample)


def test_health_summary_shape_and_bounds(scored):
    summary = health_summary(scored)
    json.dumps(summary, allow_nan=False)
    overall = summary["overall"]
    assert set(overall) == {"health_score", "status", "logs", "anomalies", "anomaly_rate", "by_severity", "by_type"}
    assert overall["logs"] == len(scored) and sum(overall["by_severity"].values()) == len(scored)
    assert overall["anomalies"] == int(scored["is_anomaly"].sum()) == sum(overall["by_type"].values())
    assert set(summary["services"]) == set(scored["service"])
    scores = [s["health_score"] for s in summary["services"].values()]
    assert scores == sorted(scores) and all(0 <= s <= 100 for s in scores)
    assert sum(s["logs"] for s in summary["services"].values()) == len(scored)


def test_health_formula():
    frame = pd.DataFrame({"service": ["a"] * 100 + ["b"] * 10,
                          "severity": ["low"] * 10 + ["critical"] * 5 + ["normal"] * 85 + ["critical"] * 10,
                          "anomaly_type": ["latency_spike"] * 15 + [None] * 85 + ["memory_leak"] * 10})
    summary = health_summary(frame)
    assert summary["services"]["a"]["health_score"] == 50.0  # 100 - (10 * 1 + 5 * 8)
    assert summary["services"]["b"]["health_score"] == 0.0   # clamped: 100 - 800
    assert summary["services"]["b"]["status"] == "unhealthy" and list(summary["services"]) == ["b", "a"]
    assert summary["overall"]["by_type"] == {"latency_spike": 15, "memory_leak": 10}


@pytest.mark.parametrize("score, severity", [
    (0.0, "normal"), (0.6, "normal"), (0.6000001, "low"), (0.7, "low"), (0.7000001, "medium"), (0.8, "medium"),
    (0.85, "high"), (0.9, "high"), (0.9000001, "critical"), (1.0, "critical"), (1, "critical"),
])
def test_classify_severity_boundaries(score, severity):
    assert classify_severity(score) == severity
    assert AnomalyDetector.classify_severity(score) == severity


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, "0.7", None, True])
def test_classify_severity_rejects_non_scores(bad):
    with pytest.raises(ValueError):
        classify_severity(bad)


def test_calibration_is_monotone_and_pins_the_threshold():
    scores = np.random.default_rng(0).beta(20, 25, 50_000)
    threshold = float(np.quantile(scores, 0.9))
    calibration = Calibration.fit(scores, threshold)
    grid = np.linspace(0, 1, 10_001)
    mapped = calibration(grid)
    assert np.all(np.diff(mapped) >= 0) and mapped[0] == 0 and mapped[-1] == 1
    assert np.array_equal(mapped > 0.6, grid > threshold)
    median, p90 = np.quantile(scores, [0.5, 0.9])
    for k, edge in ((2, 0.7), (3, 0.8), (4, 0.9)):  # a band per spread of normal traffic
        assert calibration(np.array([median + k * (p90 - median)]))[0] == pytest.approx(edge)
    stricter = Calibration.fit(scores, median + 2.5 * (p90 - median))  # bands below the threshold merge
    assert stricter.calibrated == (0.0, 0.3, 0.6, 0.8, 0.9, 1.0)
    assert Calibration.from_dict(calibration.as_dict(), threshold) == calibration
    linear = Calibration.from_dict(calibration.as_dict(), threshold + 0.01)  # not built for it
    assert linear.raw == (0.0, threshold + 0.01, 1.0)
    rng = np.random.default_rng(1)
    logistic = 1 / (1 + np.exp(-(rng.normal(0, 1.7, 20_000) - np.log(9))))  # one-class SVM / LOF style
    for wide, cut in ((logistic, 0.5), (rng.random(20_000), 0.9)):  # and the ensemble's CDF scores
        assert classify_severity(float(Calibration.fit(wide, cut)(np.array([1.0]))[0])) == "critical"
    tiny = Calibration.fit(np.array([0.5, 0.5, 0.5]), 0.5)  # degenerate: knots merge
    assert np.all(np.diff(tiny.raw) > 0) and tiny(np.array([0.5]))[0] == 0.6


def test_logs_without_response_times_get_no_latency_types():
    """Real sets such as BGL carry no response_time: no latency story can be told about them."""
    records = [json.loads(line) for line in (SHARED_DATA / "bgl_2k.jsonl").read_text().splitlines()]
    logs = validate_records(records).logs
    trained = train(logs, TrainingConfig(n_jobs=1))
    scored = score_logs(trained.pipeline, tracking.model_metadata(trained, {}), logs)
    anomalies = scored[scored["is_anomaly"]]
    assert len(anomalies) and not anomalies["anomaly_type"].isin(LATENCY_TYPES).any()
    assert anomalies["contributors"].map(len).gt(0).all()


def test_empty_window_scores_to_an_empty_frame(detector, later):
    out = score_logs(detector.pipeline, detector.metadata, later.iloc[:0])
    assert list(out.columns) == list(COLUMNS) and len(out) == 0
    assert detector.detect_batch([]) == []
