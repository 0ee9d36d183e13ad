"""``drift_report``: this week's features and scores against the champion's training reference,
logged to MLflow (one run per week); the drift sensor (sensors.py) reads its verdict."""

from dataclasses import dataclass

import pandas as pd
from dagster import AssetExecutionContext, Config, Failure, Output, asset
from pydantic import Field

from analytics_pipeline.assets import metadata
from analytics_pipeline.core.monitoring.drift import DriftReport, DriftThresholds
from analytics_pipeline.core.monitoring.summaries import drift_markdown
from analytics_pipeline.core.monitoring.tracking import NoReferenceError, log_drift
from analytics_pipeline.core.monitoring.weekly import EmptyWeekError, check_week
from analytics_pipeline.core.reporting.plots import drift_png
from analytics_pipeline.partitions import weekly_partitions
from analytics_pipeline.resources.mlflow_tracking import MLflowResource

_DEFAULTS = DriftThresholds()
RETRAINING_ADVISED = "retraining_advised"  # the metadata key the drift sensor reads


@dataclass(frozen=True)
class DriftOutcome:
    """The week's drift report, or why there is none (a champion trained before references existed)."""

    report: DriftReport | None
    reason: str = ""


class DriftReportConfig(Config):
    """Drift thresholds (defaults: core.monitoring.drift.DriftThresholds; docs/reporting.md)."""

    alpha: float = Field(default=_DEFAULTS.alpha, gt=0, lt=1, description="False discovery rate of the tests")
    psi: float = Field(default=_DEFAULTS.psi, gt=0, description="PSI of a continuous feature that counts as drift")
    cohens_h: float = Field(default=_DEFAULTS.cohens_h, gt=0, description="Cohen's h of a one-hot feature's share")
    ks_statistic: float = Field(default=_DEFAULTS.ks_statistic, gt=0, description="KS D (small samples)")
    score_psi: float = Field(default=_DEFAULTS.score_psi, gt=0, description="PSI of the raw anomaly scores")
    rate_ratio: float = Field(default=_DEFAULTS.rate_ratio, gt=1, description="Anomaly-rate ratio either way")
    min_drifted_features: int = Field(default=_DEFAULTS.min_drifted_features, ge=1)
    max_rows: int = Field(default=_DEFAULTS.max_rows, ge=100, description="Week rows sampled for the tests")
    calibrate: bool = Field(default=True, description="Raise thresholds to the earlier weeks' usual effects")

    def thresholds(self) -> DriftThresholds:
        return DriftThresholds(**self.model_dump(exclude={"calibrate"}))


@asset(partitions_def=weekly_partitions, io_manager_key="parquet_io_manager", group_name="monitoring",
       kinds={"mlflow", "scipy"})
def drift_report(context: AssetExecutionContext, config: DriftReportConfig, raw_logs: pd.DataFrame,
                 scored_logs: pd.DataFrame, mlflow_tracking: MLflowResource) -> Output[DriftOutcome]:
    """The week against the training reference of the model that scored it: per-feature tests,
    score and anomaly-rate shift, whether retraining is advised and why."""
    mlflow_tracking.setup()
    try:
        report = check_week(context.partition_key, raw_logs, scored_logs, config.thresholds(), config.calibrate)
    except (NoReferenceError, EmptyWeekError) as exc:  # the report says why; the graph goes on
        context.log.warning(str(exc))
        return Output(DriftOutcome(None, str(exc)), metadata={"summary": f"drift not checked: {exc}",
                                                               RETRAINING_ADVISED: False})
    except ValueError as exc:
        raise Failure(description=str(exc)) from None
    markdown = drift_markdown(report)
    run_id = log_drift(report, context.partition_key, markdown)
    context.log.info(report.summary())
    return Output(DriftOutcome(report), metadata={
        "summary": report.summary(),
        "verdict": report.verdict, RETRAINING_ADVISED: report.retraining_advised,
        "drifted_features": len(report.drifted), "score_psi": report.scores.score_psi,
        "anomaly_rate_ratio": min(report.scores.rate_ratio, 1e6), "model_version": report.model_version,
        "mlflow_run_id": run_id,
        "report": metadata.md(markdown),
        "effects": metadata.png("drift effects", drift_png(report)),
    })
