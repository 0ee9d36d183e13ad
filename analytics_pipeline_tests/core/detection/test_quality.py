"""Quality floor of the recommended configuration (core.detection.training.PRESETS): a regression fails here.

Small on purpose (a few seconds): 6 days of synthetic logs to train on, the 2 days after to test,
and the labelled BGL sample. The floors sit well below what the configuration reaches (synthetic
ROC-AUC 0.98, F1 0.82; BGL ROC-AUC 0.92) and far above the default configuration (0.60, 0.06; 0.58).
"""
from __future__ import annotations

import pandas as pd

from analytics_pipeline.core.detection.training import PRESETS, build_pipeline, holdout_metrics, time_split
from analytics_pipeline.core.logs import schema
from analytics_pipeline.synthetic.generator import generate_logs
from analytics_pipeline_tests.shared_data import SHARED_DATA

START = pd.Timestamp("2024-03-04", tz="UTC")


def test_recommended_configuration_on_a_synthetic_holdout() -> None:
    # Seed 2 puts latency spikes, a creeping latency, an error burst and a new pattern in the test days.
    logs = generate_logs(START, START + pd.Timedelta(days=8), logs_per_minute=20, seed=2)
    later = logs["timestamp"] >= START + pd.Timedelta(days=6)
    metrics, _ = holdout_metrics(build_pipeline(PRESETS["recommended"]).fit(logs[~later]), logs[later])
    assert metrics["roc_auc"] >= 0.93
    assert metrics["f1"] >= 0.7
    assert metrics["false_positive_rate"] <= 0.01


def test_recommended_configuration_on_bgl() -> None:
    path = SHARED_DATA / "bgl_2k.jsonl"
    train, test = time_split(schema.validate_frame(pd.read_json(path, lines=True, dtype=False)).logs, 0.3)
    metrics, _ = holdout_metrics(build_pipeline(PRESETS["recommended"]).fit(train), test)
    assert metrics["roc_auc"] >= 0.88
