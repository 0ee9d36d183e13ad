"""``alerts`` (anomalies deduplicated) and ``alert_clusters`` (incidents), both in MongoDB.

``alerts`` folds the window's anomalies into alerts and writes the partition's week of them;
its output (every alert of the 30-day window, and the services seen) lets ``alert_clusters``
learn the service dependencies and background rates from the whole window while it clusters
the week.
"""
import pandas as pd
from dagster import AssetExecutionContext, Config, Failure, MaterializeResult, Output, asset
from pydantic import Field

from analytics_pipeline.assets import metadata
from analytics_pipeline.core.alerting.alerts import deduplicate
from analytics_pipeline.core.alerting.anomalies import anomalies_from_scored
from analytics_pipeline.core.alerting.config import ALGORITHMS, PRIORITY_FACTORS, AlertIntelligenceConfig
from analytics_pipeline.core.alerting.plots import timeline_png
from analytics_pipeline.core.alerting.store import (
    ALERTS_COLLECTION, INCIDENTS_COLLECTION, write_alerts, write_incidents,
)
from analytics_pipeline.core.alerting.summaries import incidents_table, root_cause_table, type_counts_table
from analytics_pipeline.core.alerting.triage import WindowAlerts, find_incidents
from analytics_pipeline.core.logs.windows import week_bounds
from analytics_pipeline.partitions import weekly_partitions
from analytics_pipeline.resources.mongodb import MONGODB_RETRY_POLICY, MongoDBResource

_DEFAULTS = AlertIntelligenceConfig()  # the one home of the defaults (the CLI uses it too)


class AlertsConfig(Config):
    """Deduplication (defaults: core.alerting.config.AlertIntelligenceConfig)."""

    deduplication_window_minutes: float = Field(
        default=_DEFAULTS.deduplication_window_minutes, gt=0,
        description="Repeats of a fingerprint within this time of the alert's first anomaly fold into it")
    auto_acknowledge_duplicates: bool = Field(
        default=_DEFAULTS.auto_acknowledge_duplicates,
        description="Later alerts of a fingerprint already raised this week start acknowledged")


class AlertClustersConfig(Config):
    """Clustering, correlation, root cause and priority (defaults: AlertIntelligenceConfig)."""

    clustering_algorithm: str = Field(default=_DEFAULTS.clustering_algorithm, description=" | ".join(ALGORITHMS))
    clustering_eps: float = Field(default=_DEFAULTS.clustering_eps, gt=0, lt=1,
                                  description="Largest alert distance (0-1) that joins two alerts")
    clustering_min_samples: int = Field(default=_DEFAULTS.clustering_min_samples, ge=1,
                                        description="Severity-weighted anomalies an incident needs")
    similarity_threshold: float = Field(default=_DEFAULTS.similarity_threshold, gt=0, le=1,
                                        description="Template cosine similarity that counts as the same template")
    correlation_window_minutes: float = Field(default=_DEFAULTS.correlation_window_minutes, gt=0)
    max_root_cause_candidates: int = Field(default=_DEFAULTS.max_root_cause_candidates, ge=1)
    escalation_time_minutes: float = Field(default=_DEFAULTS.escalation_time_minutes, gt=0)
    priority_factors: dict[str, float] = Field(default=dict(_DEFAULTS.priority_factors),
                                               description="Weights of " + ", ".join(PRIORITY_FACTORS))
    significance_level: float = Field(default=_DEFAULTS.significance_level, gt=0, le=1,
                                      description="Chance that the background alone forms such an incident")

    def alerting_config(self) -> AlertIntelligenceConfig:
        try:
            return AlertIntelligenceConfig(**self.model_dump())
        except ValueError as exc:
            raise Failure(description=f"bad alert_clusters configuration: {exc}", allow_retries=False) from None


def _in_week(frame: pd.DataFrame, column: str, partition: str) -> pd.Series:
    start, end = week_bounds(partition)
    return (frame[column] >= pd.Timestamp(start)) & (frame[column] < pd.Timestamp(end))


@asset(partitions_def=weekly_partitions, io_manager_key="parquet_io_manager", group_name="alerting",
       kinds={"mongodb", "pandas"}, retry_policy=MONGODB_RETRY_POLICY)
def alerts(context: AssetExecutionContext, config: AlertsConfig, scored_logs: pd.DataFrame,
           mongodb: MongoDBResource) -> Output[WindowAlerts]:
    """The window's anomalies folded into alerts by (service, type, template); the week's alerts
    replace the partition's in the ``alerts`` collection."""
    batch = anomalies_from_scored(scored_logs)
    found = deduplicate(batch.anomalies, config.deduplication_window_minutes, config.auto_acknowledge_duplicates)
    week = found.alerts[_in_week(found.alerts, "first_seen", context.partition_key)].reset_index(drop=True)
    with mongodb.failing_clearly("writing the alerts"):
        written = write_alerts(mongodb.db()[ALERTS_COLLECTION], week, context.partition_key)
    anomalies = int(week["count"].sum())
    context.log.info(f"alerts for {context.partition_key}: {anomalies} anomalies -> {len(week)} alerts "
                     f"(replaced {written.replaced})")
    if batch.set_aside:
        context.log.warning(f"set aside {sum(batch.set_aside.values())} scored rows: {dict(batch.set_aside)}")
    top = week.sort_values(["weight", "count"], ascending=False).head(10)
    return Output(WindowAlerts(found.alerts, batch.services, batch.set_aside), metadata={
        "summary": f"{anomalies:,} anomalies of the week -> {len(week):,} alerts",
        "window_alerts": len(found.alerts),
        "week_anomalies": anomalies, "week_alerts": len(week),
        "deduplication": 1.0 - len(week) / anomalies if anomalies else 0.0,
        "inserted": written.inserted, "replaced": written.replaced,
        "collection": f"{mongodb.db().name}.{ALERTS_COLLECTION}",
        "by_status": metadata.counts_table(week["status"].value_counts().to_dict(), "status"),
        "by_severity": metadata.counts_table(week["max_severity"].value_counts().to_dict(), "max severity"),
        "set_aside": metadata.counts_table(dict(batch.set_aside), "reason"),
        "top_alerts": metadata.frame_table(top[["first_seen", "service", "anomaly_type", "max_severity", "count",
                                                "status", "template"]]),
    })


@asset(partitions_def=weekly_partitions, group_name="alerting", kinds={"mongodb", "scikit-learn"},
       retry_policy=MONGODB_RETRY_POLICY)
def alert_clusters(context: AssetExecutionContext, config: AlertClustersConfig, alerts: WindowAlerts,
                   mongodb: MongoDBResource) -> MaterializeResult:
    """The week's alerts grouped into incidents with root cause, priority and impact, in the
    ``alert_clusters`` collection; dependencies and background rates learned from the window."""
    settings = config.alerting_config()
    report = find_incidents(alerts.alerts, settings, week_bounds(context.partition_key), alerts.services)
    with mongodb.failing_clearly("writing the incidents"):
        written = write_incidents(mongodb.db()[INCIDENTS_COLLECTION], report.incidents, context.partition_key)
    context.log.info(f"alert_clusters for {context.partition_key}: {report.anomalies} anomalies -> "
                     f"{len(report.incidents)} incidents (replaced {written.replaced})")
    top = report.incidents[0] if report.incidents else None
    return MaterializeResult(metadata={
        "summary": f"{len(report.incidents)} incidents from {len(report.alerts):,} alerts" + (
            f" (compression {report.compression:.1%})" if report.compression is not None else ""),
        "incidents": len(report.incidents), "week_anomalies": report.anomalies, "week_alerts": len(report.alerts),
        "alerts_in_incidents": report.alerts_in_incidents,
        **metadata.to_metadata({"compression": report.compression, "algorithm": settings.clustering_algorithm}),
        "inserted": written.inserted, "replaced": written.replaced,
        "collection": f"{mongodb.db().name}.{INCIDENTS_COLLECTION}",
        "top_incidents": metadata.md(incidents_table(report.incidents)),
        "top_incident_root_cause": metadata.md(root_cause_table(top) if top else "_no incidents_"),
        "incident_types": metadata.md(type_counts_table(report.incidents)),
        "dependency_graph": metadata.md(f"```mermaid\n{report.graph.mermaid()}\n```"),
        "timeline": metadata.png("timeline", timeline_png(report.alerts, report.incidents)),
    })
