"""Severity bands and the raw-to-calibrated score map."""
from __future__ import annotations

import math

import numpy as np
import pytest

from analytics_pipeline.core.detection.severity import Calibration, classify_severity
from analytics_pipeline.core.scoring.detector import AnomalyDetector


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
