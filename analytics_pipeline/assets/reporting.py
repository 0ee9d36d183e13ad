"""``optimization_report``: the week's report (health, incidents, capacity, drift, ranked
recommendations), as Markdown in the metadata, HTML under DAGSTER_HOME and in MLflow, and the
recommendations in the ``reports`` collection."""

from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, Config, Failure, MaterializeResult, asset
from pydantic import Field

from analytics_pipeline.assets import metadata
from analytics_pipeline.assets.monitoring import DriftOutcome
from analytics_pipeline.core.forecasting.weekly import WeeklyForecasts
from analytics_pipeline.core.monitoring.tracking import log_run
from analytics_pipeline.core.monitoring.weekly import in_week
from analytics_pipeline.core.reporting.evidence import read_week
from analytics_pipeline.core.reporting.recommendations import CATEGORIES, OptimizationEngineConfig
from analytics_pipeline.core.reporting.render import summary_lines
from analytics_pipeline.core.reporting.rules_file import DEFAULT_RULES, RulesFileError
from analytics_pipeline.core.reporting.store import REPORTS_COLLECTION, write_report
from analytics_pipeline.core.reporting.weekly import gate_metrics, render_week, write_html
from analytics_pipeline.core.scoring.health import health_summary
from analytics_pipeline.core.settings import get_settings
from analytics_pipeline.partitions import weekly_partitions
from analytics_pipeline.resources.mlflow_tracking import MLflowResource
from analytics_pipeline.resources.mongodb import MONGODB_RETRY_POLICY, MongoDBResource

_DEFAULTS = OptimizationEngineConfig()


class OptimizationReportConfig(Config):
    """The engine's filters (defaults: core.reporting.recommendations.OptimizationEngineConfig)."""

    analysis_window_hours: float = Field(default=_DEFAULTS.analysis_window_hours, gt=0)
    prediction_horizon_hours: float = Field(default=_DEFAULTS.prediction_horizon_hours, gt=0,
                                            description="Capacity crossings further out are left for later")
    min_confidence_threshold: float = Field(default=_DEFAULTS.min_confidence_threshold, ge=0, le=1)
    min_expected_improvement: float = Field(default=_DEFAULTS.min_expected_improvement, ge=0,
                                            description="Percent")
    max_recommendations: int = Field(default=_DEFAULTS.max_recommendations, ge=1)
    recommendation_ttl_hours: float = Field(default=_DEFAULTS.recommendation_ttl_hours, gt=0)
    enabled_categories: list[str] = Field(default=list(CATEGORIES), description=", ".join(CATEGORIES))
    rules_file: str = Field(default=str(DEFAULT_RULES), description='YAML rules beside the built-in ones; "" for none')

    def engine_config(self) -> OptimizationEngineConfig:
        try:
            return OptimizationEngineConfig(**{**self.model_dump(exclude={"rules_file"}),
                                               "enabled_categories": tuple(self.enabled_categories)})
        except ValueError as exc:
            raise Failure(description=f"bad optimization_report configuration: {exc}", allow_retries=False) from None


def report_html_path(partition: str) -> Path:
    return get_settings().dagster_home / "reports" / f"report-{partition}.html"


@asset(partitions_def=weekly_partitions, group_name="reporting", kinds={"mongodb", "mlflow", "html"},
       deps=["alert_clusters", "anomalies"], retry_policy=MONGODB_RETRY_POLICY)
def optimization_report(context: AssetExecutionContext, config: OptimizationReportConfig, raw_logs: pd.DataFrame,
                        scored_logs: pd.DataFrame, drift_report: DriftOutcome, forecasts: WeeklyForecasts,
                        mongodb: MongoDBResource, mlflow_tracking: MLflowResource) -> MaterializeResult:
    """Recommendations from the week's data, rendered as Markdown and self-contained HTML."""
    partition = context.partition_key
    engine = config.engine_config()
    capacity, patterns = forecasts.capacity, forecasts.patterns
    mlflow_tracking.setup()
    with mongodb.failing_clearly("reading the week's alerts, incidents and anomalies"):
        week = read_week(mongodb.db(), partition, raw_logs, drift=drift_report.report, gate=gate_metrics(),
                         capacity=capacity, patterns=patterns, health=health_summary(in_week(scored_logs, partition)))
    html_path = report_html_path(partition)
    try:
        rendered = render_week(week, engine, Path(config.rules_file) if config.rules_file else None, html_path)
    except (RulesFileError, ValueError) as exc:  # a bad rules file: retrying cannot fix it
        raise Failure(description=str(exc), allow_retries=False) from None
    report = rendered.report
    write_html(rendered.html, html_path)
    run_id = log_run("report", partition, {"recommendations": float(len(report.recommendations)),
                                           "incidents": float(len(report.incidents))},
                     {"report.html": rendered.html, "report.md": rendered.markdown})
    with mongodb.failing_clearly("writing the report"):
        written = write_report(mongodb.db()[REPORTS_COLLECTION], report, rendered.markdown, str(html_path), run_id)
    top = report.recommendations[0].title if report.recommendations else "none"
    context.log.info("\n".join(summary_lines(report)))
    return MaterializeResult(metadata={
        "summary": f"{len(report.recommendations)} recommendations (top: {top}); HTML {html_path}",
        "recommendations": len(report.recommendations), "html_path": str(html_path), "mlflow_run_id": run_id,
        "collection": f"{mongodb.db().name}.{REPORTS_COLLECTION}", "replaced": written.replaced,
        "by_category": metadata.counts_table(pd.Series([r.category for r in report.recommendations],
                                                       dtype=object).value_counts().to_dict(), "category"),
        "report": metadata.md(rendered.markdown),
    })
