"""Partitioned jobs over the asset graph."""
from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from analytics_pipeline.partitions import weekly_partitions

weekly_pipeline_job = define_asset_job(
    "weekly_pipeline",
    selection=AssetSelection.all(),
    partitions_def=weekly_partitions,
    description="The whole weekly graph for one week: ingest, features, train, promote, score",
)
