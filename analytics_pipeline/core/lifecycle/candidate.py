"""A trained model on its way to the registry: logged, registered as ``challenger``, typed.

:class:`ModelCandidate` is what training hands to the promotion gate (the Dagster assets pass it
from ``anomaly_model`` to ``champion_model``; the CLI from one call to the next), so the gate
reuses the evaluation training already made instead of reloading and re-scoring the model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import pandas as pd

from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.detection.training import HoldoutEvaluation, TrainedModel
from analytics_pipeline.core.lifecycle.registry import register_challenger
from analytics_pipeline.core.lifecycle.runs import log_training, training_run


@dataclass(frozen=True)
class ModelCandidate:
    """A registered version that has not yet met the gate."""

    version: int
    run_id: str
    model_uri: str
    partition: str  # the weekly partition it was trained for ("cli" from the command line)
    config: TrainingConfig
    holdout: HoldoutEvaluation
    metrics: dict[str, Any]  # holdout metrics plus training time, model size and row counts
    expected_rate: float     # the anomaly share it is meant to flag (TrainedModel.expected_rate)

    @property
    def threshold(self) -> float:
        return float(self.holdout.metrics["threshold"])


def register_candidate(trained: TrainedModel, logs: pd.DataFrame, partition: str,
                       tags: Mapping[str, Any], run_name: str) -> tuple[ModelCandidate, dict[str, Any]]:
    """Log one MLflow run for ``trained`` and register it as the ``challenger`` version.

    Returns the candidate and the local paths of the run's evaluation plots (for metadata).
    """
    tags = {"partition": partition, "train_rows": trained.train_rows, "holdout_rows": trained.holdout_rows,
            **tags}
    # Registered inside the run: a process killed before the run ends leaves it RUNNING, and
    # the next training fails it and deletes the version it registered (core.lifecycle.orphans).
    with training_run(run_name) as run:
        uri, plots = log_training(trained, logs, tags, run)
        version = register_challenger(uri, {**tags, "mlflow_run_id": run.info.run_id})
    candidate = ModelCandidate(int(version.version), run.info.run_id, uri, partition, trained.config, trained.holdout,
                               dict(trained.metrics), trained.expected_rate)
    return candidate, plots
