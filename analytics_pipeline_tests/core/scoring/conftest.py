"""A model trained on seven synthetic days, and the three days after it to score."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.detection.training import train
from analytics_pipeline.core.lifecycle.runs import model_metadata
from analytics_pipeline.core.scoring.detector import AnomalyDetector
from analytics_pipeline.synthetic.generator import generate_logs
from analytics_pipeline_tests.core.scoring.samples import SPLIT


@pytest.fixture(scope="module")

def window() -> pd.DataFrame:
    """Ten days with incidents; the model trains on the first seven and scores the rest."""
    return generate_logs(datetime(2024, 1, 1), datetime(2024, 1, 11), logs_per_minute=15, seed=7)


@pytest.fixture(scope="module")

def trained(window: pd.DataFrame):
    return train(window[window["timestamp"] < SPLIT].reset_index(drop=True), TrainingConfig(n_jobs=1))


@pytest.fixture(scope="module")

def detector(trained) -> AnomalyDetector:
    return AnomalyDetector(pipeline=trained.pipeline, metadata=model_metadata(trained, {}), model_version=7)


@pytest.fixture(scope="module")

def later(window: pd.DataFrame) -> pd.DataFrame:
    return window[window["timestamp"] >= SPLIT].reset_index(drop=True)


@pytest.fixture(scope="module")

def scored(detector: AnomalyDetector, later: pd.DataFrame) -> pd.DataFrame:
    return detector.score_logs(later)
