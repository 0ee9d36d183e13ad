"""The one Definitions object: assets, checks, jobs, schedules, resources."""
from __future__ import annotations

from dagster import Definitions

from analytics_pipeline.assets.ingestion import raw_logs
from analytics_pipeline.jobs import weekly_pipeline_job
from analytics_pipeline.resources.mongodb import MongoDBResource
from analytics_pipeline.resources.parquet_io import ParquetIOManager
from analytics_pipeline.schedules import weekly_pipeline_schedule

defs = Definitions(
    assets=[raw_logs],
    jobs=[weekly_pipeline_job],
    schedules=[weekly_pipeline_schedule],
    resources={
        "mongodb": MongoDBResource(),
        "parquet_io_manager": ParquetIOManager(),
    },
)
