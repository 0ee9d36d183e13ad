"""Drift on synthetic weeks: quiet when nothing changed, loud and well ranked when the log mix or
a service's latency shifted; and the statistics it rests on."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics_pipeline.core.detection.reference import TrainingReference
from analytics_pipeline.core.monitoring.drift import (
    DriftThresholds, benjamini_hochberg, cohens_h, compare, psi, with_calibration,
)
from analytics_pipeline.core.monitoring.summaries import drift_markdown
from analytics_pipeline.core.monitoring.weekly import EmptyWeekError, check_week
from analytics_pipeline_tests.reporting_data import MIXED, SLOW, scenario


def test_two_calm_weeks_of_the_same_generator_show_no_drift():
    report = scenario("calm").drift()
    assert report.drifted.empty, report.drifted[["feature", "effect", "q_value"]]
    assert report.verdict == "none" and not report.retraining_advised
    assert 0.5 < report.scores.rate_ratio < 2 and report.scores.score_psi < 0.1
    assert "no retraining needed" in report.summary() and "Verdict: none" in drift_markdown(report)


def test_a_log_mix_shift_is_drift_with_the_shifted_service_ranked_first():
    report = scenario("log_mix").drift()
    assert report.drifted.iloc[0]["feature"] == f"service_{MIXED}"
    assert report.retraining_advised and report.verdict == "significant"
    assert any(MIXED in reason for reason in report.reasons)


def test_a_latency_shift_of_one_service_is_drift_in_its_own_latency_features_first():
    report = scenario("latency_shift").drift()
    top = report.drifted["feature"].head(3).tolist()
    assert top and all(name.endswith(f"[{SLOW}]") for name in top), top
    assert report.retraining_advised
    # the pooled response_time barely moves: why the per-service tests exist
    pooled = report.features.set_index("feature").loc["response_time"]
    assert not pooled["drifted"]


def test_the_training_reference_round_trips_and_is_small():
    reference = scenario("calm").trained.reference
    data = reference.to_bytes()
    again = TrainingReference.from_bytes(data)
    assert again.feature_names == reference.feature_names and np.array_equal(again.matrix, reference.matrix)
    assert again.threshold == reference.threshold and again.training_rows == reference.training_rows
    assert len(data) < 4_000_000 and len(reference.matrix) == 10_000


def test_psi_is_zero_for_the_same_distribution_and_grows_with_the_shift():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=20_000)
    assert psi(ref, rng.normal(size=20_000)) < 0.01
    assert 0.1 < psi(ref, rng.normal(0.5, 1, 20_000)) < psi(ref, rng.normal(1.0, 1, 20_000))
    mostly_zero = np.where(rng.random(20_000) < 0.9, 0.0, rng.random(20_000))
    assert psi(mostly_zero, mostly_zero[::-1].copy()) < 0.01  # a point mass is one bin, not nine


def test_benjamini_hochberg_and_cohens_h():
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5]))
    assert q == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])  # p * n / rank, made monotone from the top
    assert cohens_h(0.1, 0.1) == 0 and cohens_h(0.1, 0.2) == pytest.approx(0.284, abs=1e-3)


def test_small_weeks_use_the_ks_statistic_and_bad_input_fails_clearly():
    reference = scenario("calm").trained.reference
    rng = np.random.default_rng(1)
    week = reference.matrix[rng.choice(len(reference.matrix), 500)]
    report = compare(reference, week, reference.raw_scores[:500], reference.raw_scores[:500] > reference.threshold)
    assert set(report.features.query("kind == 'continuous'")["effect_name"]) == {"ks"}
    assert report.drifted.empty
    with pytest.raises(ValueError, match="featurize the week with the reference model"):
        compare(reference, week[:, :10], reference.raw_scores[:500], np.zeros(500, bool))
    with pytest.raises(ValueError, match="alpha"):
        DriftThresholds(alpha=2)


def test_calibration_raises_a_threshold_only_for_features_that_move_every_week():
    history = pd.DataFrame([(f"2026-10-{d:02d}", f, e) for d in (4, 11, 18, 25)
                            for f, e in (("noisy", 0.3 + 0.01 * d), ("quiet", 0.01))],
                           columns=["partition", "feature", "effect"])
    calibrated = with_calibration(DriftThresholds(), history)
    assert calibrated.per_feature["noisy"] > DriftThresholds().psi
    assert calibrated.per_feature["quiet"] < DriftThresholds().psi  # the default floor still applies
    assert with_calibration(DriftThresholds(), history.head(4)).per_feature == {}  # too few weeks


def test_a_week_without_logs_is_named_not_compared():
    data = scenario("calm")
    with pytest.raises(EmptyWeekError, match="the week 2030-01-06 holds no logs"):
        check_week("2030-01-06", data.logs, data.scored)
