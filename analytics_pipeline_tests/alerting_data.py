"""Three synthetic weeks scored by a real model trained on the first two: alerting tests' input.

Computed once per test session (a few seconds): the asset tests store it as the ``scored_logs``
of partition :data:`WEEK`, the CLI tests export the model and run ``detect`` on the last week.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

import pandas as pd

from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.detection.training import TrainedModel, train
from analytics_pipeline.core.lifecycle.runs import model_metadata
from analytics_pipeline.core.scoring.scorer import score_logs
from analytics_pipeline.synthetic.generator import generate_logs_with_incidents

WEEK = "2026-11-08"
WEEK_START = datetime(2026, 11, 8, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ScoredWindow:
    logs: pd.DataFrame  # with the generator's incident_id / incident_type
    truth: pd.DataFrame  # the incident table
    trained: TrainedModel
    scored: pd.DataFrame  # core.scoring.scorer.COLUMNS, every log of the three weeks


@lru_cache(maxsize=1)
def scored_window() -> ScoredWindow:
    logs, truth = generate_logs_with_incidents(datetime(2026, 10, 25, tzinfo=timezone.utc),
                                               datetime(2026, 11, 15, tzinfo=timezone.utc), logs_per_minute=2, seed=11)
    history = logs[logs["timestamp"] < pd.Timestamp(WEEK_START)].reset_index(drop=True)
    trained = train(history, TrainingConfig(n_jobs=1))  # the default detector: about 3% flagged
    scored = score_logs(trained.pipeline, model_metadata(trained, {}), logs, model_version=1)
    return ScoredWindow(logs, truth, trained, scored)
