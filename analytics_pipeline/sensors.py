"""The drift sensor: retrain when a week's drift report advises it (off by default)."""
from __future__ import annotations

from dagster import AssetKey, DefaultSensorStatus, EventLogEntry, RunRequest, SensorEvaluationContext, asset_sensor

from analytics_pipeline.assets.monitoring import RETRAINING_ADVISED
from analytics_pipeline.jobs import retrain_job


@asset_sensor(asset_key=AssetKey("drift_report"), job=retrain_job, default_status=DefaultSensorStatus.STOPPED,
              description="Launches the retrain job for a week whose drift report advises retraining")
def drift_retraining_sensor(context: SensorEvaluationContext, asset_event: EventLogEntry):
    """One retraining run per drift report that advises it (run key: the materialization)."""
    materialization = asset_event.asset_materialization
    advised = materialization.metadata.get(RETRAINING_ADVISED)
    partition = materialization.partition
    if advised is None or not advised.value or partition is None:
        return None
    return RunRequest(run_key=f"retrain-{partition}-{asset_event.timestamp}", partition_key=partition,
                      tags={"trigger": "drift_report"})
