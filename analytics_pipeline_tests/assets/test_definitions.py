"""The Definitions load the way `dagster dev` loads them, with the jobs and schedule the UI shows."""
from __future__ import annotations

from dagster import Definitions

from analytics_pipeline.definitions import defs


def test_definitions_validate_like_the_code_server_does():
    Definitions.validate_loadable(defs)


def test_jobs_and_weekly_schedule():
    assert {j.name for j in defs.resolve_all_job_defs()} >= {"weekly_pipeline", "model_matrix"}
    schedule = defs.resolve_schedule_def("weekly_pipeline_schedule")
    assert schedule.cron_schedule == "0 2 * * 0" and schedule.execution_timezone in (None, "UTC")
    weekly = {k.to_user_string() for k in defs.resolve_job_def("weekly_pipeline").asset_layer.executable_asset_keys}
    assert {"raw_logs", "log_features", "anomaly_model", "champion_model"} <= weekly
    assert "model_matrix_summary" not in weekly
