"""Scoring windows, batches and single logs: calibrated scores, severities, types, explanations, bad input."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from analytics_pipeline.core.detection.anomaly_types import ANOMALY_TYPES, LATENCY_TYPES
from analytics_pipeline.core.detection.explain import Explainer
from analytics_pipeline.core.detection.severity import classify_severity
from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.detection.training import train
from analytics_pipeline.core.lifecycle.runs import model_metadata
from analytics_pipeline.core.logs.schema import validate_records
from analytics_pipeline.core.scoring.scorer import COLUMNS, score_logs
from analytics_pipeline_tests.core.scoring.samples import GOOD, records
from analytics_pipeline_tests.shared_data import SHARED_DATA


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
    assert 0.005 < flagged.mean() < 0.06  # the default boundary flags incidents, not a fixed tenth
    assert scored["model_version"].eq(7).all() and scored["detection_method"].eq("multi_view").all()


def test_severity_bands_are_meaningful(scored, later):
    assert (scored["severity"] == scored["anomaly_score"].map(classify_severity)).all()
    flagged = scored["is_anomaly"]
    serious = scored["severity"].isin(["high", "critical"])
    incident = later["incident_type"].notna()
    # Injected incidents are mostly high or critical; false alarms mostly low (those that are not sit
    # in the minutes after an incident, whose 5-minute window is still slow).
    assert serious[flagged & incident].mean() > 0.85
    assert scored.loc[flagged & ~incident, "severity"].eq("low").mean() > 0.5
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
            if c["feature"] == "template_seen_in_training":  # a new message names its template
                assert set(c) == {"feature", "value", "normal_range", "direction", "template"}
            else:
                assert set(c) == {"feature", "value", "normal_range", "direction"} and c["feature"] in names
            assert c["normal_range"][0] <= c["normal_range"][1] and c["direction"] in ("above", "below")
    assert anomalies["recommended_actions"].map(len).gt(0).all()
    assert anomalies["explanation"].map(lambda e: isinstance(e, str) and len(e) > 10).all()
    assert normal["explanation"].isna().all()
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
    for record in records(later.loc[picks]):
        single = detector.detect_anomaly(record)
        batch = detector.detect_batch([record])[0]
        assert batch.pop("error") is None and single == batch
        assert set(single) == set(COLUMNS)
        json.dumps(single, allow_nan=False)
    assert any(detector.detect_anomaly(r)["is_anomaly"] for r in records(later.loc[picks[:3]]))


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


def test_batch_mode_scores_the_goodrecords(detector, later):
    good = records(later.iloc[:30])
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


def test_logs_without_response_times_get_no_latency_types():
    """Real sets such as BGL carry no response_time: no latency story can be told about them."""
    raw = [json.loads(line) for line in (SHARED_DATA / "bgl_2k.jsonl").read_text().splitlines()]
    logs = validate_records(raw).logs
    trained = train(logs, TrainingConfig(n_jobs=1))
    scored = score_logs(trained.pipeline, model_metadata(trained, {}), logs)
    anomalies = scored[scored["is_anomaly"]]
    assert len(anomalies) and not anomalies["anomaly_type"].isin(["latency_spike", "performance_degradation"]).any()
    # A message that speaks of memory or resources may say so, but without latency figures.
    assert anomalies.loc[anomalies["anomaly_type"].isin(LATENCY_TYPES), "expected_value"].isna().all()
    assert anomalies["contributors"].map(len).gt(0).all()


def test_empty_window_scores_to_an_empty_frame(detector, later):
    out = score_logs(detector.pipeline, detector.metadata, later.iloc[:0])
    assert list(out.columns) == list(COLUMNS) and len(out) == 0
    assert detector.detect_batch([]) == []
