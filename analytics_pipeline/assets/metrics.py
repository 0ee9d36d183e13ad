"""``service_metrics``: hourly series per service (and per host, from ``system_metrics``) for the
partition's 30-day window, stored as Parquet in the long format of core.metrics.series."""

import pandas as pd
from dagster import AssetExecutionContext, Output, asset

from analytics_pipeline.assets import metadata
from analytics_pipeline.core.forecasting.plots import service_chart_png
from analytics_pipeline.core.logs.windows import window_for_partition
from analytics_pipeline.core.metrics.series import service_metrics as metrics_from_logs
from analytics_pipeline.core.metrics.system import SYSTEM_METRICS_COLLECTION, system_series
from analytics_pipeline.partitions import weekly_partitions
from analytics_pipeline.resources.mongodb import MONGODB_RETRY_POLICY, MongoDBResource


@asset(partitions_def=weekly_partitions, io_manager_key="parquet_io_manager", group_name="forecasting",
       kinds={"mongodb", "pandas", "parquet"}, retry_policy=MONGODB_RETRY_POLICY)
def service_metrics(context: AssetExecutionContext, raw_logs: pd.DataFrame,
                    mongodb: MongoDBResource) -> Output[pd.DataFrame]:
    """Hourly volume, error share and latency p50/p95/p99 per service, plus the hosts' system
    metrics when ``system_metrics`` holds samples in the window."""
    start, end = window_for_partition(context.partition_key)
    logs = metrics_from_logs(raw_logs, start, end)
    with mongodb.failing_clearly("reading the system metrics"):
        system = system_series(mongodb.db()[SYSTEM_METRICS_COLLECTION], start, end)
    frame = pd.concat([f for f in (logs, system) if len(f)], ignore_index=True) if len(logs) or len(system) else logs
    services = sorted(logs["service"].unique()) if len(logs) else []
    hosts = sorted(system["service"].unique()) if len(system) else []
    series = frame.groupby(["service", "metric"]).ngroups if len(frame) else 0
    gaps = float(frame["value"].isna().mean()) if len(frame) else 0.0
    charts = {name: service_chart_png(name, frame) for name in [*services, *hosts]}
    context.log.info(f"service_metrics for {context.partition_key}: {series} series, {len(services)} services, "
                     f"{len(hosts)} hosts")
    return Output(frame, metadata={
        "summary": f"{series} hourly series: {len(services)} services, {len(hosts)} hosts",
        "series": series, "services": len(services), "hosts": len(hosts), "gap_share": gaps,
        "window": f"{start:%Y-%m-%d} .. {end:%Y-%m-%d}",
        "dagster/row_count": len(frame),
        "charts": metadata.md("\n\n".join(metadata.png(name, png).value for name, png in charts.items())
                              or "_no series_"),
    })
