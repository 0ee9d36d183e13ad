"""Evaluation metrics on hand-computed cases, degenerate inputs, and the evaluation plots."""
from __future__ import annotations

import numpy as np
import pytest

from analytics_pipeline.core.detection.evaluation import (
    LABEL_METRICS,
    QUANTILES,
    evaluate,
    loggable_metrics,
    precision_at_k,
)
from analytics_pipeline.core.detection.plots import (
    confusion_matrix_png,
    pr_curve_png,
    roc_curve_png,
    score_histogram_png,
    write_evaluation_plots,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Ten rows: 4 anomalies. At threshold 0.55 the flagged rows are 0.6, 0.7, 0.8, 0.9, 0.95:
# the 0.7 row is normal (fp), the other four are the anomalies (tp); nothing missed (fn = 0).
Y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], dtype=float)
S = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.6, 0.8, 0.9, 0.95])
KEYS = {"n_samples", "threshold", "anomaly_rate", *QUANTILES, *LABEL_METRICS}


def test_hand_computed_ten_rows():
    m = evaluate(Y, S, threshold=0.55)
    assert set(m) == KEYS
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (4.0, 1.0, 0.0, 5.0)
    assert m["precision"] == pytest.approx(0.8)
    assert m["recall"] == 1.0
    assert m["f1"] == pytest.approx(8 / 9)
    assert m["false_positive_rate"] == pytest.approx(1 / 6)
    assert m["anomaly_rate"] == 0.5 and m["n_samples"] == 10.0 and m["n_labelled"] == 10.0
    # 23 of the 24 (anomaly, normal) pairs are ordered right: only 0.6 < 0.7 is not.
    assert m["roc_auc"] == pytest.approx(23 / 24)
    # Average precision: recall steps of 0.25 at precision 1, 1, 1, then 0.25 at precision 4/5.
    assert m["pr_auc"] == pytest.approx(0.75 + 0.25 * 0.8)
    # Flagging scores >= 0.6 gives tp=4, fp=1; no other cut does better.
    assert m["best_f1"] == pytest.approx(8 / 9) and m["best_f1_threshold"] == 0.6
    assert m["score_p50"] == pytest.approx(np.median(S))
    assert all(isinstance(v, float) for v in m.values())


def test_threshold_is_strict_like_predict():
    m = evaluate(Y, S, threshold=0.6)
    assert (m["tp"], m["fp"]) == (3.0, 1.0)


def test_precision_at_k():
    assert precision_at_k(Y, S, 3) == 1.0
    assert precision_at_k(Y, S, 5) == pytest.approx(0.8)
    assert precision_at_k(Y, S, 100) == pytest.approx(0.4)
    assert precision_at_k(None, S, 3) is None
    with pytest.raises(ValueError):
        precision_at_k(Y, S, 0)


def test_nan_labels_are_ignored():
    y = np.r_[Y, np.nan, np.nan]
    s = np.r_[S, 0.99, 0.01]
    m, ref = evaluate(y, s, 0.55), evaluate(Y, S, 0.55)
    for key in LABEL_METRICS:
        assert m[key] == ref[key]
    assert m["n_samples"] == 12.0 and m["anomaly_rate"] == pytest.approx(6 / 12)
    assert precision_at_k(y, s, 1) == 1.0  # the 0.99 row has no label


def test_unlabelled_keeps_the_same_keys():
    m = evaluate(None, S, 0.55)
    assert set(m) == KEYS
    assert all(m[key] is None for key in LABEL_METRICS)
    assert m["anomaly_rate"] == 0.5
    assert evaluate(np.full(10, np.nan), S, 0.55) == m
    assert set(loggable_metrics(m)) == KEYS - set(LABEL_METRICS)


def test_one_class_only():
    m = evaluate(np.zeros(10), S, 0.55)
    assert m["roc_auc"] is None and m["pr_auc"] is None and m["best_f1"] is None
    # No anomaly to find (recall undefined), but five normal rows flagged: precision = f1 = 0.
    assert m["recall"] is None and m["precision"] == 0.0 and m["f1"] == 0.0
    assert m["false_positive_rate"] == 0.5
    m = evaluate(np.ones(10), S, 0.55)
    assert m["false_positive_rate"] is None and m["recall"] == 0.5 and m["roc_auc"] is None


def test_constant_scores_and_nothing_flagged():
    m = evaluate(Y, np.full(10, 0.3), 0.5)
    assert m["roc_auc"] == 0.5 and m["pr_auc"] == pytest.approx(0.4)
    assert m["precision"] is None and m["recall"] == 0.0 and m["f1"] == 0.0
    assert m["anomaly_rate"] == 0.0 and m["score_p01"] == m["score_p99"] == 0.3


def test_empty_input():
    m = evaluate(np.array([]), np.array([]), 0.5)
    assert set(m) == KEYS and m["n_samples"] == 0.0
    assert m["anomaly_rate"] is None and m["score_p50"] is None
    assert loggable_metrics(m) == {"n_samples": 0.0, "threshold": 0.5}


def test_invalid_inputs_raise():
    with pytest.raises(ValueError, match="0 \\(normal\\), 1"):
        evaluate(np.r_[Y[:-1], 2.0], S, 0.5)
    with pytest.raises(ValueError, match="rows"):
        evaluate(Y[:5], S, 0.5)
    with pytest.raises(ValueError, match="NaN"):
        evaluate(Y, np.r_[S[:-1], np.nan], 0.5)


def _labelled_sample() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.05).astype(float)
    return y, np.clip(rng.normal(0.4, 0.1, 3000) + 0.3 * y, 0, 1)


@pytest.mark.parametrize("render", [
    lambda y, s: score_histogram_png(y, s, 0.6),
    lambda y, s: score_histogram_png(None, s),
    lambda y, s: roc_curve_png(y, s),
    lambda y, s: pr_curve_png(y, s),
    lambda y, s: confusion_matrix_png(y, s, 0.6),
])
def test_plots_are_small_pngs(render):
    png = render(*_labelled_sample())
    assert png.startswith(PNG_SIGNATURE) and len(png) < 60_000


def test_write_evaluation_plots(tmp_path):
    y, s = _labelled_sample()
    paths = write_evaluation_plots(y, s, 0.6, tmp_path / "plots")
    assert set(paths) == {"score_histogram", "roc_curve", "pr_curve", "confusion_matrix"}
    for path in paths.values():
        assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert set(write_evaluation_plots(None, s, 0.6, tmp_path / "u")) == {"score_histogram"}
    one_class = write_evaluation_plots(np.zeros_like(y), s, 0.6, tmp_path / "o")
    assert set(one_class) == {"score_histogram", "confusion_matrix"}
    with pytest.raises(ValueError, match="both classes"):
        roc_curve_png(np.zeros_like(y), s)
    assert score_histogram_png(None, np.array([])).startswith(PNG_SIGNATURE)
