"""Quality floors of the default detector at its default threshold: a regression fails here.

Small on purpose (seconds): 6 days of synthetic logs to train on and the 2 days after to score, and
the labelled BGL sample (first 70% by time to train, last 30% to score). The floors sit a little
below what the default reaches (measured: synthetic P 0.924, R 0.918, FPR 0.0018, new-pattern
recall 0.76; BGL ROC-AUC 0.990, best F1 0.917, P 0.868, R 0.971), and far above the previous
default (BGL best F1 0.45; new-pattern recall 0.02) and the level rule (BGL 0.951 / 0.548).
"""
from __future__ import annotations

import pandas as pd
import pytest

from analytics_pipeline.core.detection.evaluation import evaluate
from analytics_pipeline.core.detection.pipelines import PRESETS, TrainingConfig, build_pipeline
from analytics_pipeline.core.detection.training import holdout_metrics, time_split
from analytics_pipeline.core.logs import schema
from analytics_pipeline.synthetic.generator import generate_logs
from analytics_pipeline_tests.shared_data import BGL_PATH

START = pd.Timestamp("2024-03-04", tz="UTC")


@pytest.fixture(scope="module")
def synthetic_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    # Seed 2 puts latency spikes, a creeping latency, an error burst and a new pattern in the test days.
    logs = generate_logs(START, START + pd.Timedelta(days=8), logs_per_minute=20, seed=2)
    later = logs["timestamp"] >= START + pd.Timedelta(days=6)
    return logs[~later].reset_index(drop=True), logs[later].reset_index(drop=True)


@pytest.fixture(scope="module")
def bgl_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    return time_split(schema.validate_frame(pd.read_json(BGL_PATH, lines=True, dtype=False)).logs, 0.3)


def test_default_detector_on_a_synthetic_holdout(synthetic_split):
    train, test = synthetic_split
    pipeline = build_pipeline(TrainingConfig()).fit(train)
    metrics, scores = holdout_metrics(pipeline, test)
    assert metrics["precision"] >= 0.90 and metrics["recall"] >= 0.89
    assert metrics["false_positive_rate"] <= 0.003 and metrics["anomaly_rate"] <= 0.04
    new_pattern = (test["incident_type"] == "new_pattern").to_numpy()
    assert new_pattern.sum() > 50 and (scores[new_pattern] > pipeline[-1].threshold_).mean() >= 0.7


def test_default_detector_on_bgl_beats_the_level_rule(bgl_split):
    train, test = bgl_split
    metrics, _ = holdout_metrics(build_pipeline(TrainingConfig()).fit(train), test)
    rule = evaluate(test["label"], test["level"].isin(["ERROR", "CRITICAL"]).to_numpy(dtype=float), 0.5)
    assert metrics["roc_auc"] >= 0.98 and metrics["best_f1"] >= 0.88
    assert metrics["precision"] >= 0.84 and metrics["recall"] >= 0.94  # at the default threshold
    assert metrics["roc_auc"] > rule["roc_auc"] and metrics["best_f1"] > rule["best_f1"]


def test_the_seeds_contamination_is_one_edit_away(synthetic_split):
    train, test = synthetic_split
    pipeline = build_pipeline(TrainingConfig(contamination=0.1)).fit(train)
    assert pipeline[-1].flagged_share_ == pytest.approx(0.1, abs=0.01)
    assert build_pipeline(PRESETS["seed"])[-1].contamination == 0.1
