"""``model_matrix``: a grid of detector configurations compared on one week's window."""
import pandas as pd
from dagster import AssetExecutionContext, Config, Failure, Output, asset
from pydantic import Field

from analytics_pipeline.assets import metadata
from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.lifecycle import matrix as matrix_runs
from analytics_pipeline.core.logs.windows import window_for_partition
from analytics_pipeline.partitions import weekly_partitions
from analytics_pipeline.resources.mlflow_tracking import MLflowResource


class ModelMatrixConfig(Config):
    detectors: list[str] = Field(default=["isolation_forest", "local_outlier_factor"])
    contaminations: list[float] = Field(default=[0.05, 0.1])
    n_estimators: list[int] = Field(default=[50, 100])
    test_size: float = Field(default=TrainingConfig().test_size, gt=0, lt=1)


@asset(partitions_def=weekly_partitions, io_manager_key="parquet_io_manager", group_name="experiments",
       kinds={"mlflow", "scikit-learn"})
def model_matrix_summary(context: AssetExecutionContext, config: ModelMatrixConfig, raw_logs: pd.DataFrame,
                 mlflow_tracking: MLflowResource) -> Output[pd.DataFrame]:
    """Each configuration is a child MLflow run under one parent: compare them in the MLflow UI."""
    try:
        configs = matrix_runs.grid(TrainingConfig(test_size=config.test_size), config.detectors,
                                    config.contaminations, config.n_estimators)
    except ValueError as exc:
        raise Failure(description=f"bad matrix configuration: {exc}") from None
    mlflow_tracking.setup()
    start, end = window_for_partition(context.partition_key)
    tags = {"partition": context.partition_key, "dagster_run_id": context.run_id,
            "window_start": start.isoformat(), "window_end": end.isoformat()}
    parent_id, summary = matrix_runs.run_matrix(raw_logs, configs, tags, run_name=f"matrix-{context.partition_key}")
    shown = summary.drop(columns=[c for c in ("run_id",) if c in summary]).round(4)
    best = f", best {summary['configuration'].iloc[0]}" if len(summary) else ""
    return Output(summary, metadata={"summary": f"{len(summary)} configurations trained{best}",
                                     "mlflow_parent_run_id": parent_id, "configurations": len(summary),
                                     "results": metadata.frame_table(shown, rows=len(shown))})
