"""The one Definitions object: assets, checks, jobs, schedules, resources."""
from dagster import Definitions

from analytics_pipeline.assets.alerting import alert_clusters, alerts
from analytics_pipeline.assets.detection import anomalies, scored_logs
from analytics_pipeline.assets.features import log_features
from analytics_pipeline.assets.forecasting import forecasts
from analytics_pipeline.assets.ingestion import raw_logs
from analytics_pipeline.assets.experiments import model_matrix_summary
from analytics_pipeline.assets.metrics import service_metrics
from analytics_pipeline.assets.modeling import anomaly_model, champion_model
from analytics_pipeline.assets.monitoring import drift_report
from analytics_pipeline.assets.reporting import optimization_report
from analytics_pipeline.jobs import model_matrix_job, retrain_job, weekly_pipeline_job
from analytics_pipeline.resources.mlflow_tracking import MLflowResource
from analytics_pipeline.resources.mongodb import MongoDBResource
from analytics_pipeline.resources.parquet_io import ParquetIOManager
from analytics_pipeline.schedules import weekly_pipeline_schedule
from analytics_pipeline.sensors import drift_retraining_sensor

defs = Definitions(
    assets=[raw_logs, log_features, anomaly_model, champion_model, scored_logs, anomalies, model_matrix_summary,
            alerts, alert_clusters, service_metrics, forecasts, drift_report, optimization_report],
    jobs=[weekly_pipeline_job, model_matrix_job, retrain_job],
    schedules=[weekly_pipeline_schedule],
    sensors=[drift_retraining_sensor],
    resources={
        "mongodb": MongoDBResource(),
        "mlflow_tracking": MLflowResource(),
        "parquet_io_manager": ParquetIOManager(),
    },
)
