"""LogFeaturizer, message masking and the rolling windows, on small hand-built log frames."""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from analytics_pipeline.core.features import rolling, text
from analytics_pipeline.core.features.columns import columns_of, log_columns
from analytics_pipeline.core.features.featurizer import LogFeaturizer
from analytics_pipeline_tests.core.features.reference_featurizer import reference_transform
from analytics_pipeline_tests.log_samples import MONDAY, frame, sample_logs


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return sample_logs(400, seed=1)


@pytest.fixture(scope="module")
def fitted(train: pd.DataFrame) -> LogFeaturizer:
    return LogFeaturizer().fit(train)


def column(featurizer: LogFeaturizer, X: np.ndarray, name: str) -> np.ndarray:
    return X[:, list(featurizer.get_feature_names_out()).index(name)]


# --- shape and names -------------------------------------------------------------------------

def test_78_feature_names_in_design_order(fitted: LogFeaturizer) -> None:
    names = list(fitted.get_feature_names_out())
    assert len(names) == 78 and len(set(names)) == 78
    assert names[:8] == ["response_time", "status_code", "hour_sin", "hour_cos", "day_sin", "day_cos",
                         "time_since_last_log", "logs_in_last_5min"]
    assert names[8:13] == ["level_DEBUG", "level_INFO", "level_WARN", "level_ERROR", "level_CRITICAL"]
    assert names[13:19] == [f"service_{s}" for s in fitted.services_]
    assert names[19:23] == [f"service__unused_{k}" for k in range(6, 10)]  # only 6 services seen
    assert names[23:28] == ["rt_mean_5min", "rt_std_5min", "rt_median_5min", "error_rate_5min", "log_volume_5min"]
    assert all(n.startswith("tfidf_") for n in names[28:])
    assert fitted.get_feature_names() == names


def test_transform_is_float32_with_78_finite_columns(fitted: LogFeaturizer, train: pd.DataFrame) -> None:
    X = fitted.transform(train)
    assert X.dtype == np.float32 and X.shape == (len(train), 78)
    assert np.isfinite(X).all()


def test_services_are_ranked_by_frequency_then_name() -> None:
    logs = frame([(i, "INFO", s, "ok", 1.0, 200.0) for i, s in enumerate("bbbaaccd")])
    assert LogFeaturizer(top_n_services=3).fit(logs).services_ == ["b", "a", "c"]


def test_small_vocabulary_is_padded_with_zero_columns() -> None:
    logs = frame([(i, "INFO", "api", m, 1.0, 200.0) for i, m in enumerate(["disk full", "disk full", "ok"])])
    featurizer = LogFeaturizer(max_df=1.0).fit(logs)
    assert featurizer.tfidf_.terms == ("disk", "disk full", "full")
    names = featurizer.get_feature_names_out()
    assert list(names[28:31]) == ["tfidf_disk", "tfidf_disk full", "tfidf_full"]
    assert list(names[31:]) == [f"tfidf__unused_{k}" for k in range(3, 50)]
    X = featurizer.transform(logs)
    assert X.shape == (3, 78) and not X[:, 31:].any()


def test_other_sizes_and_window_name_the_columns() -> None:
    featurizer = LogFeaturizer(max_tfidf_features=7, top_n_services=2, rolling_window="10min").fit(sample_logs(100))
    names = list(featurizer.get_feature_names_out())
    assert len(names) == 8 + 5 + 2 + 5 + 7 == featurizer.transform(sample_logs(20)).shape[1]
    assert "logs_in_last_10min" in names and "rt_median_10min" in names


# --- semantics -------------------------------------------------------------------------------

def test_hour_six_utc_gives_hour_sin_one() -> None:
    logs = frame([(6 * 3600, "INFO", "api", "ok", 1.0, 200.0), (6 * 3600 + 1800, "INFO", "api", "ok", 1.0, 200.0)])
    featurizer = LogFeaturizer(scale_numerical=False).fit(logs)
    X = featurizer.transform(logs)
    assert column(featurizer, X, "hour_sin")[0] == 1.0
    assert abs(column(featurizer, X, "hour_cos")[0]) < 1e-7
    assert column(featurizer, X, "hour_sin")[1] == pytest.approx(np.sin(np.pi * 6.5 / 12))  # fractional hour
    assert column(featurizer, X, "day_sin")[0] == 0.0 and column(featurizer, X, "day_cos")[0] == 1.0  # Monday


def test_other_timezones_are_converted_to_utc() -> None:
    logs = frame([(6 * 3600, "INFO", "api", "ok", 1.0, 200.0)])
    logs["timestamp"] = logs["timestamp"].dt.tz_convert("Asia/Tokyo")
    featurizer = LogFeaturizer(scale_numerical=False).fit(logs)
    assert column(featurizer, featurizer.transform(logs), "hour_sin")[0] == 1.0


def test_time_since_last_log_and_counts_are_per_service_and_global() -> None:
    logs = frame([(0, "INFO", "api", "a", 1.0, 200.0), (10, "INFO", "db", "b", 1.0, 200.0),
                  (25, "INFO", "api", "c", 3.0, 200.0), (25, "INFO", "api", "d", 8.0, 200.0),
                  (400, "INFO", "api", "e", 5.0, 200.0)])
    featurizer = LogFeaturizer(scale_numerical=False).fit(logs)
    X = featurizer.transform(logs)
    assert column(featurizer, X, "time_since_last_log").tolist() == [300.0, 300.0, 0.0, 0.0, 375.0]
    assert column(featurizer, X, "logs_in_last_5min").tolist() == [1, 2, 4, 4, 1]
    assert column(featurizer, X, "log_volume_5min").tolist() == [1, 1, 3, 3, 1]
    assert column(featurizer, X, "rt_mean_5min").tolist() == pytest.approx([1.0, 1.0, 4.0, 4.0, 5.0])
    assert column(featurizer, X, "rt_median_5min").tolist() == pytest.approx([1.0, 1.0, 3.0, 3.0, 5.0])
    assert column(featurizer, X, "rt_std_5min")[2] == pytest.approx(np.std([1.0, 3.0, 8.0]))


def test_error_burst_raises_error_rate() -> None:
    calm = [(i * 10, "INFO", "api", "ok", 20.0, 200.0) for i in range(30)]
    burst = [(300 + i, "ERROR", "api", "upstream failed", 900.0, 500.0) for i in range(20)]
    featurizer = LogFeaturizer(scale_numerical=False).fit(frame(calm + burst))
    X = featurizer.transform(frame(calm + burst))
    rate = column(featurizer, X, "error_rate_5min")
    assert rate[29] == 0.0
    assert np.all(np.diff(rate[30:]) > 0) and rate[-1] == pytest.approx(20 / 48)  # 28 calm logs left
    assert column(featurizer, X, "rt_mean_5min")[-1] > 5 * column(featurizer, X, "rt_mean_5min")[29]


def test_unseen_service_gets_zero_service_slots(fitted: LogFeaturizer) -> None:
    logs = frame([(0, "INFO", "never-seen", "ok", 1.0, 200.0), (1, "INFO", "api", "ok", 1.0, 200.0)])
    X = fitted.transform(logs)
    assert not X[0, 13:23].any()
    assert X[1, 13:23].sum() == 1.0 and X[1, 13 + fitted.services_.index("api")] == 1.0


def test_rolling_features_are_leak_free(fitted: LogFeaturizer, train: pd.DataFrame) -> None:
    """Appending later logs changes nothing for earlier ones (their window ends at their time)."""
    past = sample_logs(200, seed=5)
    future = sample_logs(100, seed=6, start_s=float(past["timestamp"].max().timestamp() - MONDAY.timestamp()) + 1)
    alone = fitted.transform(past)
    together = fitted.transform(pd.concat([past, future], ignore_index=True))
    np.testing.assert_array_equal(together[:len(past)], alone)


def test_fit_on_one_window_transform_another(train: pd.DataFrame) -> None:
    later = sample_logs(150, seed=7, start_s=86400.0 * 3)
    featurizer = LogFeaturizer().fit(train)
    X = featurizer.transform(later)
    assert X.shape == (150, 78) and np.isfinite(X).all()
    np.testing.assert_array_equal(X, reference_transform(featurizer, later))


def test_fit_transform_equals_fit_then_transform(train: pd.DataFrame) -> None:
    np.testing.assert_array_equal(LogFeaturizer().fit_transform(train), LogFeaturizer().fit(train).transform(train))


@pytest.mark.parametrize("scaler_type", ["per_service", "standard", "robust", "minmax", "none"])
def test_matches_row_by_row_reference(scaler_type: str, train: pd.DataFrame) -> None:
    featurizer = LogFeaturizer(scaler_type=scaler_type).fit(train)
    logs = sample_logs(300, seed=11)
    logs.loc[5:9, "level"] = "VERBOSE"
    logs.loc[10:14, "service"] = "new-service"
    logs.loc[15:19, "response_time"] = [-1.0, np.inf, np.nan, 0.0, 5.0]
    np.testing.assert_allclose(featurizer.transform(logs), reference_transform(featurizer, logs), atol=1e-5, rtol=1e-5)


def test_scaling_touches_only_the_continuous_columns(train: pd.DataFrame) -> None:
    scaled = LogFeaturizer().fit(train).transform(train)
    raw = LogFeaturizer(scale_numerical=False).fit(train).transform(train)
    continuous = list(range(8)) + list(range(23, 28))
    np.testing.assert_allclose(scaled[:, continuous].mean(axis=0), 0, atol=1e-4)
    np.testing.assert_array_equal(np.delete(scaled, continuous, axis=1), np.delete(raw, continuous, axis=1))


# --- bad input -------------------------------------------------------------------------------

def test_invalid_response_times_are_imputed_with_training_median() -> None:
    train = frame([(i, "INFO", "api", "ok", rt, 200.0) for i, rt in enumerate([10.0, 20.0, 30.0, 40.0])])
    featurizer = LogFeaturizer(scale_numerical=False).fit(train)
    assert featurizer.response_time_fill_ == 25.0
    bad = frame([(0, "INFO", "api", "ok", v, 200.0) for v in (np.nan, np.inf, -np.inf, -3.0, None)])
    bad["response_time"] = bad["response_time"].astype(object)
    bad.loc[4, "response_time"] = "fast"
    X = featurizer.transform(bad)
    assert column(featurizer, X, "response_time").tolist() == [25.0] * 5
    assert column(featurizer, X, "rt_mean_5min").tolist() == [25.0] * 5  # no observed value in window
    assert column(featurizer, X, "rt_std_5min").tolist() == [0.0] * 5


def test_absurd_numbers_are_missing_and_output_stays_finite(fitted: LogFeaturizer) -> None:
    logs = frame([(i, "INFO", "api", "ok", rt, sc) for i, (rt, sc) in
                  enumerate([(1e300, 1e300), (1e39, -200.0), (2e9, 1000.0), (1e308, np.inf)])])
    X = fitted.transform(logs)
    assert np.isfinite(X).all()
    np.testing.assert_array_equal(X[:, :2], np.repeat(X[:1, :2], 4, axis=0))  # all imputed alike
    np.testing.assert_array_equal(fitted.transform(logs), reference_transform(fitted, logs))


def test_logs_without_response_time_or_status_code_columns() -> None:
    """Like BGL: the columns are absent; imputed 0, constant, and still 78 finite features."""
    logs = sample_logs(120).drop(columns=["response_time", "status_code"])
    featurizer = LogFeaturizer().fit(logs)
    assert featurizer.response_time_fill_ == 0.0 and featurizer.status_code_fill_ == 0.0
    X = featurizer.transform(logs)
    assert X.shape == (120, 78) and np.isfinite(X).all()
    for name in ("response_time", "status_code", "rt_mean_5min", "rt_std_5min", "rt_median_5min"):
        assert np.ptp(column(featurizer, X, name)) == 0.0


def test_bgl_records(fitted: LogFeaturizer) -> None:
    import json

    from analytics_pipeline_tests.shared_data import SHARED_DATA
    path = SHARED_DATA / "bgl_2k.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    featurizer = LogFeaturizer().fit(records)
    X = featurizer.transform(records)
    assert X.shape == (len(records), 78) and np.isfinite(X).all()
    assert X[:, 28:].any()  # the masked messages give a real vocabulary


def test_empty_and_non_string_messages(fitted: LogFeaturizer) -> None:
    logs = frame([(0, "INFO", "api", m, 1.0, 200.0) for m in ("", None, np.nan, 12345, b"bytes")])
    X = fitted.transform(logs)
    assert np.isfinite(X).all()
    for row in range(3):  # empty: no term at all
        assert not X[row, 28:].any()
    as_string = fitted.transform(frame([(0, "INFO", "api", m, 1.0, 200.0) for m in ("", "", "", "12345", "b'bytes'")]))
    np.testing.assert_array_equal(X, as_string)


def test_unseen_levels_give_zero_one_hot_and_aliases_are_mapped(fitted: LogFeaturizer) -> None:
    levels = ["VERBOSE", None, 3, "warning", " fatal "]
    logs = frame([(i, level, "api", "ok", 1.0, 200.0) for i, level in enumerate(levels)])
    X = fitted.transform(logs)
    assert not X[:3, 8:13].any()
    assert X[3, 10] == 1.0 and X[4, 12] == 1.0  # WARN, CRITICAL


def test_unsorted_input_keeps_row_order(fitted: LogFeaturizer) -> None:
    logs = sample_logs(250, seed=3)
    shuffled = logs.sample(frac=1.0, random_state=0)
    X = fitted.transform(shuffled)
    np.testing.assert_array_equal(X, fitted.transform(logs)[shuffled.index.to_numpy()])


def test_single_log_works(fitted: LogFeaturizer) -> None:
    X = fitted.transform(frame([(100, "ERROR", "api", "boom", 5.0, 500.0)]))
    assert X.shape == (1, 78) and np.isfinite(X).all()
    assert LogFeaturizer().fit(frame([(0, "INFO", "api", "ok", 5.0, 200.0)])).transform(
        frame([(1, "INFO", "api", "ok", 5.0, 200.0)])).shape == (1, 78)


def test_empty_input(fitted: LogFeaturizer, train: pd.DataFrame) -> None:
    assert fitted.transform(train.iloc[:0]).shape == (0, 78)
    assert fitted.transform([]).shape == (0, 78)
    with pytest.raises(ValueError, match="empty"):
        LogFeaturizer().fit(train.iloc[:0])


def test_missing_columns_and_timestamps_raise(fitted: LogFeaturizer, train: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="timestamp"):
        fitted.transform(train.drop(columns=["timestamp"]))
    with pytest.raises(ValueError, match="message"):
        LogFeaturizer().fit(train.drop(columns=["message"]))
    with pytest.raises(ValueError, match="timestamp"):
        fitted.transform([{"level": "INFO", "service": "api", "message": "ok"}])
    broken = train.head(3).copy()
    broken["timestamp"] = broken["timestamp"].astype(object)
    broken.loc[1, "timestamp"] = "not a time"
    with pytest.raises(ValueError, match="row 1"):
        fitted.transform(broken)
    with pytest.raises(TypeError):
        fitted.transform("not logs")


def test_invalid_parameters_raise_at_fit(train: pd.DataFrame) -> None:
    for params in ({"scaler_type": "zscore"}, {"top_n_services": -1}, {"rolling_window": "0s"},
                   {"ngram_range": (2, 1)}):
        with pytest.raises(ValueError):
            LogFeaturizer(**params).fit(train)


def test_records_equal_frame(fitted: LogFeaturizer) -> None:
    logs = sample_logs(120, seed=4)
    records = logs.assign(timestamp=logs["timestamp"].map(lambda t: t.isoformat())).to_dict("records")
    for r in records[:10]:
        del r["response_time"]  # absent keys are missing values
    expected = fitted.transform(logs.assign(response_time=[np.nan] * 10 + list(logs["response_time"][10:])))
    np.testing.assert_array_equal(fitted.transform(records), expected)
    np.testing.assert_array_equal(fitted.transform(records[0]), expected[:1])


# --- the detector's health features ----------------------------------------------------------

def test_health_weights_pick_the_rolling_latency_and_error_share(fitted: LogFeaturizer) -> None:
    weights = fitted.health_weights()
    names = fitted.get_feature_names_out()
    assert len(weights) == len(names) == 78
    assert [n for n, w in zip(names, weights) if w] == ["rt_mean_5min", "rt_median_5min", "error_rate_5min"]
    unfitted = LogFeaturizer(top_n_services=3, max_tfidf_features=5)
    assert unfitted.health_weights() == (0,) * 16 + (1, 0, 1, 1, 0) + (0,) * 5


# --- fast path -------------------------------------------------------------------------------

def test_small_batch_fast_path_equals_vectorized_path(fitted: LogFeaturizer, monkeypatch: pytest.MonkeyPatch) -> None:
    logs = sample_logs(60, seed=9)
    logs.loc[3, "level"] = "NOPE"
    logs.loc[4, "response_time"] = np.nan
    records = logs.assign(timestamp=logs["timestamp"].map(lambda t: t.isoformat())).to_dict("records")
    monkeypatch.setattr(rolling, "SMALL_BATCH", 10**6)
    monkeypatch.setattr(text, "_MIN_BATCH", 10**6)
    text._TEMPLATES.clear()
    fast = [fitted.transform(logs), fitted.transform(records), fitted.transform(logs.iloc[[7]])]
    warm = [fitted.transform(logs), fitted.transform(records), fitted.transform(logs.iloc[[7]])]  # from the caches
    monkeypatch.setattr(rolling, "SMALL_BATCH", 0)
    monkeypatch.setattr(text, "_MIN_BATCH", 0)
    monkeypatch.setattr(text, "_CACHED_INPUT", 0)
    vectorized = [fitted.transform(logs), fitted.transform(records), fitted.transform(logs.iloc[[7]])]
    for a, b, c in zip(fast, vectorized, warm):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(a, c)


def test_columns_are_taken_as_given(fitted: LogFeaturizer) -> None:
    """What inference hands over (columns_of on parsed values) equals parsing the frame."""
    logs = sample_logs(40, seed=4)
    cols = columns_of(logs["timestamp"].to_numpy("datetime64[ns]"), logs["level"].to_numpy(object),
                      logs["service"].to_numpy(object), logs["message"].to_numpy(object),
                      logs["response_time"].to_numpy(), logs["status_code"].to_numpy())
    assert log_columns(cols) is cols
    np.testing.assert_array_equal(fitted.transform(cols), fitted.transform(logs))


# --- scikit-learn contract -------------------------------------------------------------------

def test_clone_pickle_and_params(fitted: LogFeaturizer, train: pd.DataFrame) -> None:
    copy = clone(fitted).set_params(max_tfidf_features=20, scaler_type="robust")
    assert not hasattr(copy, "services_") and copy.get_params()["max_tfidf_features"] == 20
    assert copy.fit(train).transform(train).shape == (len(train), 48)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(train), fitted.transform(train))


def test_pipeline_with_detector_in_grid_search() -> None:
    logs = sample_logs(400, seed=2)
    labels = (logs["level"].isin(["ERROR", "CRITICAL"]) & (logs["response_time"] > 60)).astype(int).to_numpy()

    def auc(estimator: Pipeline, X: pd.DataFrame, y: np.ndarray) -> float:
        return roc_auc_score(y, -estimator.score_samples(X))

    pipeline = Pipeline([("features", LogFeaturizer()),
                         ("detector", IsolationForest(n_estimators=20, random_state=0))])
    search = GridSearchCV(pipeline, {"features__max_tfidf_features": [10, 50],
                                     "features__scaler_type": ["standard", "robust"]},
                          scoring=auc, cv=KFold(2))
    search.fit(logs, labels)
    assert set(search.best_params_) == {"features__max_tfidf_features", "features__scaler_type"}
    assert search.best_estimator_.score_samples(logs.head(5)).shape == (5,)
    assert len(search.best_estimator_[:-1].get_feature_names_out()) == 18 + 10 + search.best_params_[
        "features__max_tfidf_features"]


def test_pandas_output(fitted: LogFeaturizer, train: pd.DataFrame) -> None:
    out = clone(fitted).set_output(transform="pandas").fit(train).transform(train.head(4))
    assert list(out.columns) == list(fitted.get_feature_names_out()) and list(out.index) == list(train.index[:4])
