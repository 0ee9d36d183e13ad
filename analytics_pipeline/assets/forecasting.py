"""``forecasts``: every series of ``service_metrics`` forecast for the next 7 days, with patterns,
capacity, anomaly risk and metric anomalies; written to MongoDB and tracked in MLflow."""

import numpy as np
import pandas as pd
from dagster import (
    AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, Config, Failure, Output, asset,
)
from pydantic import Field

from analytics_pipeline.assets import metadata
from analytics_pipeline.core import markdown
from analytics_pipeline.core.forecasting.config import DEFAULT_THRESHOLDS, CapacityConfig, ForecastConfig
from analytics_pipeline.core.forecasting.plots import forecast_png
from analytics_pipeline.core.forecasting.summaries import warning_lines
from analytics_pipeline.core.forecasting.store import FORECASTS_COLLECTION, write_forecasts
from analytics_pipeline.core.forecasting.tracking import log_week
from analytics_pipeline.core.forecasting.weekly import WeeklyForecasts, forecast_week
from analytics_pipeline.core.logs.windows import window_for_partition
from analytics_pipeline.core.metrics.series import series_by_key
from analytics_pipeline.core.settings import get_settings
from analytics_pipeline.partitions import weekly_partitions
from analytics_pipeline.resources.mlflow_tracking import MLflowResource
from analytics_pipeline.resources.mongodb import MONGODB_RETRY_POLICY, MongoDBResource

_FORECAST, _CAPACITY = ForecastConfig(), CapacityConfig()


class ForecastsConfig(Config):
    """Horizon, backtest and thresholds (defaults: core.forecasting.config)."""

    horizon_days: float = Field(default=_FORECAST.horizon_days, gt=0)
    origins: int = Field(default=_FORECAST.origins, ge=1, description="Backtest origins, one day apart")
    n_jobs: int = Field(default=_FORECAST.n_jobs, ge=1, description="Series forecast in parallel processes")
    thresholds: dict[str, float] = Field(default=dict(DEFAULT_THRESHOLDS),
                                         description="Per metric; volume: headroom x the window's peak unless set")
    volume_headroom: float = Field(default=_CAPACITY.volume_headroom, gt=0)
    warn_probability: float = Field(default=_CAPACITY.warn_probability, gt=0, le=1)
    anomaly_level: float = Field(default=_CAPACITY.anomaly_level, gt=0.5, lt=1,
                                 description="One-step band of the metric anomalies")
    plots: int = Field(default=4, ge=0, description="Forecast plots in the metadata and MLflow")

    def settings(self) -> tuple[ForecastConfig, CapacityConfig]:
        try:
            return (ForecastConfig(horizon_days=self.horizon_days, origins=self.origins, n_jobs=self.n_jobs),
                    CapacityConfig(thresholds=dict(self.thresholds), volume_headroom=self.volume_headroom,
                                   warn_probability=self.warn_probability, anomaly_level=self.anomaly_level))
        except ValueError as exc:
            raise Failure(description=f"bad forecasts configuration: {exc}", allow_retries=False) from None


def _plots(week: WeeklyForecasts, metrics: pd.DataFrame, count: int) -> dict[str, bytes]:
    """The likeliest capacity warnings first, then the worst-forecast series."""
    keys = list(dict.fromkeys([*zip(week.warnings()["service"], week.warnings()["metric"]),
                               *zip(week.worst(count)["service"], week.worst(count)["metric"])]))[:count]
    series = series_by_key(metrics)
    thresholds = {(r.service, r.metric): r.threshold for r in week.capacity.itertuples()}
    out = {}
    for service, metric in keys:
        rows = week.forecasts[(week.forecasts["service"] == service) & (week.forecasts["metric"] == metric)]
        out[f"{service}/{metric}"] = forecast_png(f"{service} {metric}", series[(service, metric)], rows,
                                                  thresholds.get((service, metric)))
    return out


@asset(partitions_def=weekly_partitions, io_manager_key="parquet_io_manager", group_name="forecasting",
       kinds={"mongodb", "statsmodels", "mlflow"}, retry_policy=MONGODB_RETRY_POLICY,
       check_specs=[AssetCheckSpec("forecasts_finite", asset="forecasts",
                                   description="Every forecast mean and band is a finite number")])
def forecasts(context: AssetExecutionContext, config: ForecastsConfig, service_metrics: pd.DataFrame,
              mongodb: MongoDBResource, mlflow_tracking: MLflowResource):
    """Next week's forecasts with 80/95% bands, patterns, capacity, anomaly risk and metric anomalies."""
    forecast_config, capacity_config = config.settings()
    start, end = window_for_partition(context.partition_key)
    week = forecast_week(service_metrics, forecast_config, capacity_config, (pd.Timestamp(start), pd.Timestamp(end)))
    with mongodb.failing_clearly("writing the forecasts"):
        written = write_forecasts(mongodb.db()[FORECASTS_COLLECTION], week, context.partition_key)
    plots = _plots(week, service_metrics, config.plots)
    run_id = log_week(mlflow_tracking.tracking_uri or get_settings().mlflow_tracking_uri, context.partition_key,
                      week, plots)
    warnings = week.warnings()
    skill = week.skill
    context.log.info(f"forecasts for {context.partition_key}: {len(skill)} series, {len(warnings)} capacity warnings")
    yield Output(week, metadata={
        "summary": f"{len(skill)} series forecast 7 days ahead, {len(warnings)} capacity warnings, "
                   f"{len(week.metric_anomalies):,} metric anomalies",
        "series": len(skill), "capacity_warnings": len(warnings),
        "metric_anomalies": len(week.metric_anomalies),
        "share_beating_naive": float((skill["mase"] < skill["naive_mase"]).mean()) if len(skill) else 0.0,
        "median_coverage_95": float(skill["coverage_95"].median()) if len(skill) else 0.0,
        "inserted": written.inserted, "replaced": written.replaced,
        "collection": f"{mongodb.db().name}.{FORECASTS_COLLECTION}", "mlflow_run": run_id,
        "warning_lines": metadata.md("\n".join(f"- {line}" for line in warning_lines(week, 10))),
        "warnings": metadata.md(markdown.frame_table(warnings[["service", "metric", "probability", "first_crossing",
                                                               "threshold", "forecast_peak", "current"]])
                                if len(warnings) else "_no capacity warnings_"),
        "worst_series": metadata.frame_table(week.worst(5)[["service", "metric", "model", "mase", "naive_mase",
                                                            "coverage_80", "coverage_95"]]),
        "models": metadata.counts_table(skill["model"].value_counts().to_dict(), "model"),
        "anomaly_risk": metadata.frame_table(week.risk.sort_values("anomaly_probability", ascending=False)),
        "plots": metadata.md("\n\n".join(metadata.png(n, p).value for n, p in plots.items()) or "_no plots_"),
    })
    values = week.forecasts[[c for c in week.forecasts.columns if c == "mean" or c[:3] in ("lo_", "hi_")]]
    finite = bool(np.isfinite(values.to_numpy(dtype=float)).all())
    yield AssetCheckResult(check_name="forecasts_finite", passed=finite, severity=AssetCheckSeverity.ERROR,
                           metadata={"values": int(values.size)})
