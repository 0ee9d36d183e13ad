"""Scaling of the 13 continuous features: scikit-learn's scalers as affine maps, and per-service scaling."""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from analytics_pipeline.core.features import rolling
from analytics_pipeline.core.features.featurizer import LogFeaturizer
from analytics_pipeline.core.features.scaling import SERVICE_RELATIVE, ServiceScaler, affine
from analytics_pipeline_tests.log_samples import frame, sample_logs


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return sample_logs(400, seed=1)


def column(featurizer: LogFeaturizer, X: np.ndarray, name: str) -> np.ndarray:
    return X[:, list(featurizer.get_feature_names_out()).index(name)]


@pytest.mark.parametrize("scaler", [StandardScaler, RobustScaler, MinMaxScaler])
def test_affine_is_the_scalers_transform(scaler) -> None:
    X = np.random.default_rng(0).lognormal(size=(50, 13))
    fitted = scaler().fit(X)
    scale, offset = affine(fitted)
    np.testing.assert_allclose(X * scale + offset, fitted.transform(X), rtol=1e-12, atol=1e-12)


def test_service_scaler_uses_median_and_iqr_within_each_service() -> None:
    rng = np.random.default_rng(1)
    fast, slow = rng.normal(10, 1, size=(200, 13)), rng.normal(1000, 100, size=(200, 13))
    X, service = np.vstack([fast, slow]), np.repeat([0, 1], 200)
    scaler = ServiceScaler(min_rows=50).fit(X, service, ["cache", "payments"])
    assert scaler.services_ == ["cache", "payments"]
    col = SERVICE_RELATIVE[0]
    for rows, name in ((fast, "cache"), (slow, "payments")):
        r = scaler.rows([name])[0]
        q1, q2, q3 = np.percentile(rows[:, col], [25, 50, 75])
        assert scaler.factor_[r, col] == pytest.approx(1 / (q3 - q1))
        assert scaler.offset_[r, col] == pytest.approx(-q2 / (q3 - q1))
    other = 1  # status_code: not service-relative, so both services share the global scale
    assert scaler.factor_[0, other] == scaler.factor_[1, other] == scaler.factor_[2, other]
    assert scaler.rows(["unknown"])[0] == 2  # the global row
    back = scaler.inverse_transform(X * scaler.factor_[service] + scaler.offset_[service], ["cache"] * 200 + ["payments"] * 200)
    np.testing.assert_allclose(back, X, rtol=1e-9)


def test_service_scaler_falls_back_on_small_services_and_zero_spread() -> None:
    X = np.ones((120, 13))
    X[:100, 0] = np.arange(100)  # the big service varies; the small one (20 rows) and every other column do not
    scaler = ServiceScaler(min_rows=50).fit(X, np.repeat([0, 1], [100, 20]), ["big", "small"])
    assert scaler.services_ == ["big"]
    assert np.isfinite(scaler.factor_).all() and np.isfinite(scaler.offset_).all()
    assert scaler.factor_[0, 6] == 1.0  # zero IQR everywhere: scale 1


def two_speed_logs() -> pd.DataFrame:
    """A fast cache and a slow payment service, 100 logs each, plus 5 logs of a rare service."""
    rng = np.random.default_rng(3)
    rows = [(2.0 * i, "INFO", "cache", "GET ok", float(rng.uniform(1, 3)), 200.0) for i in range(100)]
    rows += [(2.0 * i + 1, "INFO", "payments", "charge ok", float(rng.uniform(200, 400)), 200.0) for i in range(100)]
    rows += [(400.0 + i, "INFO", "rare", "ping", 50.0, 200.0) for i in range(5)]
    return frame(rows)


def test_per_service_scaling_measures_latency_against_the_service() -> None:
    logs = two_speed_logs()
    featurizer = LogFeaturizer(scaler_type="per_service").fit(logs)
    assert featurizer.scaler_.services_ == ["cache", "payments"]  # "rare" has too few rows
    X = featurizer.transform(logs)
    rt = column(featurizer, X, "response_time")
    for service in ("cache", "payments"):
        assert abs(np.median(rt[(logs["service"] == service).to_numpy()])) < 1e-6
    probe = frame([(1000.0, "INFO", s, "x", 30.0, 200.0) for s in ("cache", "payments", "rare", "unseen")])
    z = column(featurizer, featurizer.transform(probe), "response_time")
    assert z[0] > 10 and z[1] < -1  # 30 ms: very slow for the cache, fast for payments
    assert z[2] == z[3]  # services without their own statistics share the global ones
    unscaled = featurizer.scaler_.inverse_transform(np.c_[X[:, :8], X[:, 23:28]], logs["service"].tolist())
    np.testing.assert_allclose(unscaled[:, 0], logs["response_time"], rtol=1e-5)


def test_per_service_scaling_other_columns_and_paths(train: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    featurizer = LogFeaturizer(scaler_type="per_service").fit(train)
    robust = LogFeaturizer(scaler_type="robust").fit(train)
    X, R = featurizer.transform(train), robust.transform(train)
    assert X.shape == (len(train), 78) and np.isfinite(X).all()
    for name in ("status_code", "hour_sin", "error_rate_5min", "logs_in_last_5min"):  # not per service
        np.testing.assert_allclose(column(featurizer, X, name), column(robust, R, name), atol=1e-5)
    np.testing.assert_array_equal(np.delete(X, list(range(8)) + list(range(23, 28)), axis=1),
                                  np.delete(R, list(range(8)) + list(range(23, 28)), axis=1))
    logs = sample_logs(60, seed=9)
    monkeypatch.setattr(rolling, "SMALL_BATCH", 10**6)
    fast = featurizer.transform(logs)
    monkeypatch.setattr(rolling, "SMALL_BATCH", 0)
    np.testing.assert_allclose(fast, featurizer.transform(logs), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(featurizer)).transform(logs), featurizer.transform(logs))
