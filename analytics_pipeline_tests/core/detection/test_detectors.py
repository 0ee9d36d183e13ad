"""Detectors: sklearn contract, planted outliers, calibration, persistence, bad input, fast path."""
from __future__ import annotations

import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from analytics_pipeline.core.detection.detectors import (
    DETECTOR_NAMES,
    BaseDetector,
    EnsembleDetector,
    IsolationForestDetector,
    LocalOutlierFactorDetector,
    OneClassSVMDetector,
    make_detector,
)
from analytics_pipeline.core.detection.fast_forest import CompiledForest


def _small_ensemble() -> EnsembleDetector:
    return EnsembleDetector(
        [("iforest", IsolationForestDetector(n_estimators=20, n_jobs=1)),
         ("lof", LocalOutlierFactorDetector(n_neighbors=10)),
         ("ocsvm", OneClassSVMDetector())],
        weights=(0.5, 0.25, 0.25),
    )


FACTORIES = {
    "isolation_forest": lambda: IsolationForestDetector(n_estimators=50, n_jobs=1),
    "one_class_svm": OneClassSVMDetector,
    "local_outlier_factor": LocalOutlierFactorDetector,
    "ensemble": _small_ensemble,
}


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    """Gaussian training rows; a test set of fresh inliers plus far-away planted outliers."""
    rng = np.random.default_rng(7)
    inliers = rng.normal(size=(300, 8))
    outliers = rng.normal(loc=5.0, size=(30, 8)) * rng.choice([-1, 1], size=(30, 8))
    return {
        "train": rng.normal(size=(1000, 8)),
        "test": np.vstack([inliers, outliers]),
        "labels": np.r_[np.zeros(300), np.ones(30)],
    }


@pytest.fixture(scope="module")
def fitted(data) -> dict[str, BaseDetector]:
    return {name: make().fit(data["train"]) for name, make in FACTORIES.items()}


@pytest.mark.filterwarnings("ignore:n_neighbors")  # LOF on the checks' 10-row data sets
@parametrize_with_checks(
    [IsolationForestDetector(n_estimators=10, n_jobs=1), OneClassSVMDetector(),
     LocalOutlierFactorDetector(), _small_ensemble()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name", FACTORIES)
def test_planted_outliers_score_higher(name, data, fitted):
    scores = fitted[name].anomaly_score(data["test"])
    assert scores.dtype == np.float64
    assert ((scores >= 0) & (scores <= 1)).all()
    assert roc_auc_score(data["labels"], scores) > 0.9


@pytest.mark.parametrize("name", FACTORIES)
def test_interface_is_consistent(name, data, fitted):
    det, X = fitted[name], data["test"]
    np.testing.assert_allclose(det.decision_function(X), det.score_samples(X) - det.offset_)
    flagged = det.predict(X) == -1
    np.testing.assert_array_equal(flagged, det.anomaly_score(X) > det.threshold_)
    assert set(np.unique(det.predict(X))) <= {-1, 1}
    # Higher = more normal and higher = more anomalous rank the rows in opposite orders.
    assert np.corrcoef(det.score_samples(X), det.anomaly_score(X))[0, 1] < 0


@pytest.mark.parametrize("name", FACTORIES)
def test_predict_flags_about_contamination_of_training_rows(name, data, fitted):
    rate = np.mean(fitted[name].predict(data["train"]) == -1)
    assert 0.07 <= rate <= 0.13


@pytest.mark.parametrize("name", FACTORIES)
def test_clone_params_and_pickle(name, data, fitted):
    det = fitted[name]
    fresh = clone(det)
    assert not hasattr(fresh, "offset_")
    assert fresh.get_params().keys() == det.get_params().keys()
    restored = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(restored.anomaly_score(data["test"]),
                                  det.anomaly_score(data["test"]))


@pytest.mark.parametrize("name", FACTORIES)
def test_pipeline_after_scaler(name, data):
    pipe = make_pipeline(StandardScaler(), FACTORIES[name]()).fit(data["train"])
    assert pipe.predict(data["test"]).shape == (330,)
    scores = pipe[-1].anomaly_score(pipe[:-1].transform(data["test"]))
    assert roc_auc_score(data["labels"], scores) > 0.9


@pytest.mark.parametrize("name", FACTORIES)
def test_save_load_round_trip(name, data, fitted, tmp_path):
    det = fitted[name]
    path = det.save(tmp_path / "sub" / "model.joblib")
    loaded = type(det).load(path)
    np.testing.assert_array_equal(loaded.anomaly_score(data["test"]),
                                  det.anomaly_score(data["test"]))
    assert loaded.get_model_info() == det.get_model_info()
    assert BaseDetector.load(path).threshold_ == det.threshold_


def test_load_rejects_other_files(tmp_path, fitted):
    joblib.dump({"not": "a detector"}, tmp_path / "dict.joblib")
    with pytest.raises(TypeError, match="holds a dict"):
        BaseDetector.load(tmp_path / "dict.joblib")
    fitted["one_class_svm"].save(tmp_path / "svm.joblib")
    with pytest.raises(TypeError, match="not a IsolationForestDetector"):
        IsolationForestDetector.load(tmp_path / "svm.joblib")
    (tmp_path / "text.joblib").write_text("hello")
    with pytest.raises(ValueError, match="not a saved detector"):
        BaseDetector.load(tmp_path / "text.joblib")


def test_compiled_forest_is_rebuilt_on_load_not_pickled(data, fitted):
    det = fitted["isolation_forest"]
    assert "forest_" not in det.__getstate__()
    restored = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(restored.forest_.child, det.forest_.child)


def test_isolation_forest_score_is_the_paper_score(data, fitted):
    det = fitted["isolation_forest"]
    reference = IsolationForest(n_estimators=50, contamination=0.1, random_state=42)
    reference.fit(data["train"])
    np.testing.assert_allclose(det.anomaly_score(data["test"]),
                               -reference.score_samples(data["test"]), rtol=0, atol=1e-12)
    assert det.threshold_ == pytest.approx(-reference.offset_)


def test_isolation_forest_auto_contamination_threshold_is_one_half(data):
    det = IsolationForestDetector(n_estimators=10, contamination="auto").fit(data["train"])
    assert det.threshold_ == 0.5
    with pytest.raises(ValueError, match="contamination"):
        IsolationForestDetector(contamination=0.7).fit(data["train"])


@pytest.mark.parametrize("name", FACTORIES)
def test_bad_input(name, data, fitted):
    with pytest.raises(NotFittedError):
        FACTORIES[name]().predict(data["test"])
    bad = data["train"].copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        FACTORIES[name]().fit(bad)
    det = fitted[name]
    for value in (np.nan, np.inf):
        X = data["test"].copy()
        X[0, 0] = value
        with pytest.raises(ValueError, match="NaN or infinity"):
            det.anomaly_score(X)
    with pytest.raises(ValueError, match="X has 5 features, but .* expecting 8 features"):
        det.predict(data["test"][:, :5])
    with pytest.raises(ValueError, match="2D"):
        det.score_samples(data["test"][0])


def test_empty_batch_scores_to_empty(fitted):
    for det in fitted.values():
        assert det.anomaly_score(np.empty((0, 8))).shape == (0,)


def test_get_model_info(fitted):
    info = fitted["local_outlier_factor"].get_model_info()
    assert info["type"] == "LocalOutlierFactorDetector"
    assert info["fitted"] and info["n_features_in"] == 8 and info["n_train_samples"] == 1000
    assert info["threshold"] == 0.5 and "offset" in info and info["params"]["n_neighbors"] == 20
    ensemble = fitted["ensemble"].get_model_info()
    assert ensemble["params"]["detectors"] == ["iforest", "lof", "ocsvm"]
    assert ensemble["weights"] == [0.5, 0.25, 0.25] and set(ensemble["members"]) == {
        "iforest", "lof", "ocsvm"}
    assert IsolationForestDetector().get_model_info()["fitted"] is False


def test_training_set_is_capped_for_quadratic_detectors(data):
    det = OneClassSVMDetector(max_train_samples=200).fit(data["train"])
    assert det.n_fit_samples_ == 200 and det.n_train_samples_ == 1000
    assert det.estimator_.support_vectors_.shape[0] <= 200


def test_ensemble_nested_params_and_validation(data):
    ens = _small_ensemble().set_params(iforest__n_estimators=7, contamination=0.2)
    assert ens.get_params()["iforest__n_estimators"] == 7
    ens.fit(data["train"])
    assert len(ens.named_detectors_["iforest"].estimator_.estimators_) == 7
    assert np.mean(ens.predict(data["train"]) == -1) == pytest.approx(0.2, abs=0.02)
    with pytest.raises(ValueError, match="weights"):
        _small_ensemble().set_params(weights=(1.0, 1.0)).fit(data["train"])
    with pytest.raises(ValueError, match="contamination"):
        _small_ensemble().set_params(contamination=0.7).fit(data["train"])


def test_make_detector():
    assert isinstance(make_detector("one_class_svm", nu=0.05), OneClassSVMDetector)
    assert make_detector("isolation_forest", n_estimators=3).n_estimators == 3
    ens = make_detector("ensemble", contamination=0.05)
    assert [n for n, _ in ens.detectors] == [
        "isolation_forest", "local_outlier_factor", "one_class_svm"]
    assert ens.weights == (0.5, 0.25, 0.25) and ens.contamination == 0.05
    with pytest.raises(ValueError, match=", ".join(DETECTOR_NAMES)):
        make_detector("random_forest")


def test_feature_weights_confine_and_multiply_the_split_features(data):
    X, test = data["train"], data["test"]
    weights = [1, 0, 0, 2, 0, 0, 0, 1]
    det = IsolationForestDetector(n_estimators=30, n_jobs=1, feature_weights=weights).fit(X)
    np.testing.assert_array_equal(det.split_columns_, [0, 3, 3, 7])
    # Exactly the forest sklearn grows on the repeated columns, scored on X itself.
    reference = IsolationForest(n_estimators=30, contamination=0.1, random_state=42).fit(X[:, [0, 3, 3, 7]])
    np.testing.assert_allclose(det.anomaly_score(test), -reference.score_samples(test[:, [0, 3, 3, 7]]),
                               rtol=0, atol=1e-12)
    assert det.threshold_ == pytest.approx(-reference.offset_)
    moved = test.copy()
    moved[:, [1, 2, 4, 5, 6]] += 100.0  # columns never split on do not move the score
    np.testing.assert_array_equal(det.anomaly_score(moved), det.anomaly_score(test))
    restored = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(restored.anomaly_score(test), det.anomaly_score(test))
    assert det.get_model_info()["params"]["feature_weights"] == weights
    ones = IsolationForestDetector(n_estimators=30, n_jobs=1, feature_weights=np.ones(8, int)).fit(X)
    plain = IsolationForestDetector(n_estimators=30, n_jobs=1).fit(X)
    np.testing.assert_array_equal(ones.anomaly_score(test), plain.anomaly_score(test))


@pytest.mark.parametrize("weights", [[1] * 7, [1, -1, 1, 1, 1, 1, 1, 1], [0.5] * 8, [0] * 8, ["a"] * 8])
def test_bad_feature_weights(data, weights):
    with pytest.raises(ValueError, match="feature_weights"):
        IsolationForestDetector(n_estimators=5, feature_weights=weights).fit(data["train"])


# --- CompiledForest: exactly sklearn's score_samples ---------------------------------------------

def _tie_heavy(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """Rounded values, duplicate rows, a constant column: many ties and leaves holding > 1 row."""
    X = np.round(rng.normal(size=(n, d)), 1)
    X[: n // 4] = X[n // 4: n // 2]
    X[:, -1] = 3.0
    return X


@pytest.mark.parametrize("max_samples, max_features, n_estimators", [
    ("auto", 1.0, 100), (64, 0.5, 30), (1.0, 1.0, 5), (32, 3, 20), (0.3, 0.8, 10),
])
def test_compiled_forest_equals_sklearn(max_samples, max_features, n_estimators):
    rng = np.random.default_rng(3)
    for X in (rng.normal(size=(800, 6)), _tie_heavy(rng, 800, 6)):
        forest = IsolationForest(n_estimators=n_estimators, max_samples=max_samples,
                                 max_features=max_features, random_state=0).fit(X)
        compiled = CompiledForest.from_sklearn(forest)
        X_test = np.vstack([X, rng.normal(scale=3.0, size=(500, 6)), _tie_heavy(rng, 200, 6)])
        expected = forest.score_samples(X_test)
        assert np.abs(compiled.score_samples(X_test) - expected).max() < 1e-9
        assert np.abs(compiled.score_samples(X_test[:1]) - expected[:1]).max() < 1e-9


def test_compiled_forest_on_threshold_boundaries_and_threads():
    """Values at, just above and just below each split threshold, in float32 and float64;
    enough rows for several chunks so that the threaded path runs."""
    rng = np.random.default_rng(5)
    forest = IsolationForest(n_estimators=100, random_state=1).fit(rng.normal(size=(2000, 4)))
    compiled = CompiledForest.from_sklearn(forest)
    rows = []
    for tree in forest.estimators_[:20]:
        t = tree.tree_
        for node in np.flatnonzero(t.children_left >= 0)[:10]:
            at = np.float32(t.threshold[node])
            for value in (at, np.nextafter(at, np.float32(np.inf)),
                          np.nextafter(at, np.float32(-np.inf)), t.threshold[node]):
                row = rng.normal(size=4)
                row[t.feature[node]] = value
                rows.append(row)
    X = np.vstack([np.array(rows), rng.normal(size=(3000, 4))])
    expected = forest.score_samples(X)
    assert np.abs(compiled.score_samples(X, n_jobs=2) - expected).max() < 1e-9
    assert np.abs(compiled.score_samples(X.astype(np.float32)) - expected).max() < 1e-9


def test_compiled_forest_single_training_sample():
    forest = IsolationForest(n_estimators=5, random_state=0).fit(np.ones((1, 3)))
    X = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_allclose(CompiledForest.from_sklearn(forest).score_samples(X),
                               forest.score_samples(X))


def test_compiled_forest_rejects_bad_input():
    forest = IsolationForest(n_estimators=5, random_state=0).fit(np.eye(10))
    compiled = CompiledForest.from_sklearn(forest)
    with pytest.raises(ValueError, match="NaN"):
        compiled.score_samples(np.full((2, 10), np.nan))
    with pytest.raises(ValueError, match="expects"):
        compiled.score_samples(np.zeros((2, 9)))
