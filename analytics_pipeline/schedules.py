"""Weekly schedules: Sunday 02:00 UTC, for the week that just ended."""
from __future__ import annotations

from dagster import DefaultScheduleStatus, build_schedule_from_partitioned_job

from analytics_pipeline.jobs import weekly_pipeline_job

weekly_pipeline_schedule = build_schedule_from_partitioned_job(
    weekly_pipeline_job, hour_of_day=2, minute_of_hour=0,
    default_status=DefaultScheduleStatus.RUNNING,
)
