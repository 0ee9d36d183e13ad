"""The multi-view detector: each view's boundary, graceful degradation, novelty and burst explanations."""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from analytics_pipeline.core.detection.multiview import VIEWS, MultiViewDetector
from analytics_pipeline.core.detection.pipelines import TrainingConfig, build_pipeline
from analytics_pipeline.core.detection.training import train
from analytics_pipeline.core.lifecycle.runs import model_metadata
from analytics_pipeline.core.scoring.detector import AnomalyDetector
from analytics_pipeline.synthetic.generator import generate_logs

START = pd.Timestamp("2024-03-04", tz="UTC")


@pytest.fixture(scope="module")
def logs() -> pd.DataFrame:
    return generate_logs(START, START + pd.Timedelta(days=3), logs_per_minute=10, seed=5)


@pytest.fixture(scope="module")
def fitted(logs):
    return build_pipeline(TrainingConfig(n_jobs=1)).fit(logs)


def test_a_log_is_flagged_exactly_when_a_view_is_past_its_boundary(fitted, logs):
    X = fitted[0].transform(logs)
    detector = fitted[-1]
    evidence = detector.evidence(X)
    strongest = evidence.max(axis=1)
    assert detector.threshold_ == 0.5 and set(detector.views_) == set(VIEWS)
    np.testing.assert_allclose(detector.anomaly_score(X), np.maximum(strongest, 0) / (1 + np.maximum(strongest, 0)))
    np.testing.assert_array_equal(detector.predict(X) == -1, strongest > 1)
    assert 0.005 < np.mean(strongest > 1) < 0.08  # the boundary flags incidents, not a fixed share


def test_a_share_sets_the_threshold_instead(logs):
    detector = build_pipeline(TrainingConfig(contamination=0.05, n_jobs=1)).fit(logs)[-1]
    assert detector.flagged_share_ == pytest.approx(0.05, abs=0.005) and detector.threshold_ != 0.5


def test_without_response_times_the_health_view_reads_the_error_share(logs):
    no_latency = logs.assign(response_time=np.nan)
    pipeline = build_pipeline(TrainingConfig(n_jobs=1)).fit(no_latency)
    layout, detector = pipeline[0].layout(), pipeline[-1]
    assert detector.forests_["health"][0] == [layout.rolling("error_rate")]  # latency columns left out
    flagged = pipeline.predict(no_latency) == -1
    bursts = (no_latency["incident_type"] == "error_rate_burst").to_numpy()
    assert bursts.any() and flagged[bursts].mean() > 0.8
    assert flagged[~no_latency["label"].astype(bool).to_numpy()].mean() < 0.02


def test_one_service_and_one_template_degrade_without_failing():
    n = 2_000
    times = START + pd.to_timedelta(np.arange(n) * 30, unit="s")
    one = pd.DataFrame({"timestamp": times, "level": "INFO", "service": "api", "message": "ping ok",
                        "response_time": np.random.default_rng(0).lognormal(3, 0.3, n), "status_code": 200.0})
    pipeline = build_pipeline(TrainingConfig(n_jobs=1)).fit(one)
    detector = pipeline[-1]
    assert "content" not in detector.forests_  # one level, one service, one template: nothing varies
    assert "health" in detector.forests_
    X = pipeline[0].transform(one)
    assert np.all(X[:, pipeline[0].layout().channel("word_novelty")] == X[0, pipeline[0].layout().channel("word_novelty")])
    assert np.isfinite(detector.anomaly_score(X)).all() and (pipeline.predict(one) == -1).mean() < 0.05


def test_invalid_parameters_are_named():
    X = np.random.default_rng(0).random((50, 4)).astype(np.float32)
    with pytest.raises(ValueError, match="contamination"):
        MultiViewDetector(health_columns=[0, 1], contamination=0.9).fit(X)
    with pytest.raises(ValueError, match="health_z"):
        MultiViewDetector(health_columns=[0, 1], health_z=0).fit(X)
    with pytest.raises(ValueError, match="level_columns"):
        MultiViewDetector(level_columns=[0, 1]).fit(X)


def test_sklearn_contract(fitted, logs):
    detector = fitted[-1]
    X = fitted[0].transform(logs.iloc[:500])
    assert clone(detector).get_params() == detector.get_params()
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(detector)).anomaly_score(X), detector.anomaly_score(X))


@pytest.fixture(scope="module")
def champion(logs):
    trained = train(logs, TrainingConfig(n_jobs=1))
    return AnomalyDetector(pipeline=trained.pipeline, metadata=model_metadata(trained, {}), model_version=1)


def _line(minute: float, service: str, level: str, message: str) -> dict:
    return {"timestamp": (START + pd.Timedelta(days=3, minutes=minute)).isoformat(), "service": service,
            "level": level, "message": message}


def test_a_new_severe_message_names_its_template_and_that_training_never_saw_it(champion):
    quiet = [_line(i * 0.5, "payment-service", "INFO", f"POST /api/v1/payments/{i} completed in 80ms status=200")
             for i in range(20)]
    novel = _line(10.2, "payment-service", "CRITICAL", "Ledger reconciliation aborted: quorum of shard ledgers lost")
    result = champion.detect_batch(quiet + [novel])[-1]
    assert result["is_anomaly"] and result["anomaly_type"] == "new_message_pattern"
    first = result["contributors"][0]
    assert first["feature"] == "template_seen_in_training" and first["value"] == 0
    assert first["template"] == "Ledger reconciliation aborted: quorum of shard ledgers lost"
    assert "seen never in 2 days of training" in result["explanation"]  # 80% of 3 days trained on


def test_a_burst_of_a_rarely_seen_message_is_a_new_pattern(champion, logs):
    rare = logs["message"][logs["incident_type"] == "new_pattern"]
    assert len(rare), "the fixture's window holds a new-pattern incident"
    template_line = rare.iloc[0]
    lines = [_line(i * 0.1, "search-service", "INFO", f"GET /api/v1/products/{i} completed in 40ms status=200")
             for i in range(10)]
    lines += [_line(1 + i * 0.1, "search-service", "WARN", template_line) for i in range(15)]
    results = champion.detect_batch(lines)
    burst = results[-10:]
    assert all(r["is_anomaly"] and r["anomaly_type"] == "new_message_pattern" for r in burst)
    assert not any(r["is_anomaly"] for r in results[:10])
