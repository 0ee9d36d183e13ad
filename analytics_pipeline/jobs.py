"""Partitioned jobs over the asset graph."""
from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from analytics_pipeline.partitions import weekly_partitions

# Experiments are launched by people, not by the weekly schedule.
_EXPERIMENTS = AssetSelection.groups("experiments")

weekly_pipeline_job = define_asset_job(
    "weekly_pipeline",
    selection=AssetSelection.all() - _EXPERIMENTS,
    partitions_def=weekly_partitions,
    description="The whole weekly graph for one week: ingest, features, train, promote, score, alert, "
                "forecast, check drift, report",
)

retrain_job = define_asset_job(
    "retrain",
    selection=AssetSelection.assets("anomaly_model", "champion_model"),
    partitions_def=weekly_partitions,
    description="Train a challenger on the week's window and put it through the gate (the drift sensor launches it)",
)

model_matrix_job = define_asset_job(
    "model_matrix",
    selection=_EXPERIMENTS | AssetSelection.assets("raw_logs"),
    partitions_def=weekly_partitions,
    description="Train a grid of detector configurations on one week's window (child MLflow runs)",
)
