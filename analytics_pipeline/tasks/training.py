"""Training outside Dagster (the ``train`` command, notebooks): train, log, register, gate."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.detection.training import holdout_of, train
from analytics_pipeline.core.lifecycle.candidate import ModelCandidate, register_candidate
from analytics_pipeline.core.lifecycle.gate import GatePolicy
from analytics_pipeline.core.lifecycle.promotion import PromotionResult, promote_if_better
from analytics_pipeline.core.lifecycle.runs import configure


@dataclass(frozen=True)
class TrainingOutcome:
    candidate: ModelCandidate
    promotion: PromotionResult


def train_and_register(logs: pd.DataFrame, config: TrainingConfig, saved_models_dir: Path,
                       tracking_uri: str, source: str) -> TrainingOutcome:
    """Train, evaluate, log to MLflow, register as challenger, and run the promotion gate."""
    trained = train(logs, config)
    configure(tracking_uri)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H%M%S")
    candidate, _ = register_candidate(trained, logs, "cli", {"source": source}, run_name=f"cli-train-{stamp}")
    promotion = promote_if_better(candidate, holdout_of(logs, candidate.holdout), GatePolicy(), saved_models_dir)
    return TrainingOutcome(candidate, promotion)
