"""``anomaly_model`` (train, evaluate, register a challenger) and ``champion_model`` (the gate)."""
import pandas as pd
from dagster import (
    AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, Config, Failure, Output, asset,
)
from pydantic import Field

from analytics_pipeline.assets import metadata
from analytics_pipeline.core.detection.detectors import DETECTOR_NAMES
from analytics_pipeline.core.detection.pipelines import SPLIT_ON, TrainingConfig, parse_max_samples
from analytics_pipeline.core.detection.training import holdout_of, train
from analytics_pipeline.core.features.featurizer import SCALER_TYPES
from analytics_pipeline.core.lifecycle.candidate import ModelCandidate, register_candidate
from analytics_pipeline.core.lifecycle.gate import GatePolicy
from analytics_pipeline.core.lifecycle.promotion import promote_if_better
from analytics_pipeline.core.lifecycle.registry import champion_history
from analytics_pipeline.core.logs.windows import window_for_partition
from analytics_pipeline.core.registry_names import MODEL_NAME
from analytics_pipeline.core.settings import get_settings
from analytics_pipeline.partitions import weekly_partitions
from analytics_pipeline.resources.mlflow_tracking import MLflowResource

_TRAINING = TrainingConfig()  # the one home of the defaults (the CLI uses it too)
_GATE = GatePolicy()


class AnomalyModelConfig(Config):
    """Hyperparameters, editable in the launchpad (defaults: core.detection.pipelines.TrainingConfig)."""

    detector: str = Field(default=_TRAINING.detector, description=f"one of {', '.join(DETECTOR_NAMES)}")
    n_estimators: int = Field(default=_TRAINING.n_estimators, ge=1)
    max_samples: str = Field(default=str(_TRAINING.max_samples),
                             description='"auto", a row count (256) or a share (0.5)')
    contamination: str = Field(default=str(_TRAINING.contamination),
                               description='"auto": each view\'s own boundary (README "Detection"); a share such as '
                                           '"0.1" flags that share of the training window (the seed\'s setting)')
    max_features: float = Field(default=_TRAINING.max_features, gt=0, le=1.0)
    random_state: int = _TRAINING.random_state
    n_jobs: int = _TRAINING.n_jobs
    test_size: float = Field(default=_TRAINING.test_size, gt=0, lt=1)
    min_training_samples: int = Field(default=_TRAINING.min_training_samples, ge=2)
    scaler_type: str = Field(default=_TRAINING.scaler_type, description=", ".join(SCALER_TYPES))
    split_on: str = Field(default=_TRAINING.split_on, description=" or ".join(f'"{s}"' for s in SPLIT_ON)
                          + ' (isolation_forest only): "health" splits on rt_mean, rt_median, error_rate, '
                          '"all" on all 78 features')

    def training_config(self) -> TrainingConfig:
        return TrainingConfig(**{**self.model_dump(), "max_samples": parse_max_samples(self.max_samples)})


@asset(
    partitions_def=weekly_partitions,
    io_manager_key="parquet_io_manager",
    group_name="training",
    deps=["log_features"],
    kinds={"scikit-learn", "mlflow"},
)
def anomaly_model(context: AssetExecutionContext, config: AnomalyModelConfig, raw_logs: pd.DataFrame,
                  mlflow_tracking: MLflowResource) -> Output[ModelCandidate]:
    """Trains featurizer + detector on the earlier 80% of the window, evaluates on the rest,
    logs one MLflow run and registers the model as a new version with alias ``challenger``."""
    try:
        trained = train(raw_logs, config.training_config())
    except ValueError as exc:  # too few logs or a bad hyperparameter: fail clearly, touch nothing
        raise Failure(description=str(exc)) from None
    mlflow_tracking.setup()
    start, end = window_for_partition(context.partition_key)
    tags = {"dagster_run_id": context.run_id, "window_start": start.isoformat(), "window_end": end.isoformat()}
    candidate, plots = register_candidate(trained, raw_logs, context.partition_key, tags,
                                          run_name=f"train-{context.partition_key}")
    context.log.info(f"registered {MODEL_NAME} v{candidate.version} as challenger (run {candidate.run_id})")
    return Output(candidate, metadata={
        "summary": f"v{candidate.version}, {_metrics_text(candidate.metrics)}",
        "model_version": candidate.version,
        "mlflow_run_id": candidate.run_id,
        **metadata.to_metadata({k: v for k, v in candidate.metrics.items() if isinstance(v, (int, float))}),
        "plots": metadata.images(plots),
    })


def _metrics_text(metrics: dict) -> str:
    shown = [f"{k} {metrics[k]:.3f}" for k in ("precision", "recall", "f1", "roc_auc") if metrics.get(k) is not None]
    if not shown:  # no labels in the window
        shown = [f"flags {metrics.get('anomaly_rate', float('nan')):.2%} of the holdout (no labels)"]
    return "  ".join(shown) + f", fit {metrics.get('training_time_s', float('nan')):.0f}s"


class ChampionGateConfig(Config):
    auc_tolerance: float = Field(default=_GATE.auc_tolerance, ge=0)
    min_f1_gain: float = Field(default=_GATE.min_f1_gain, ge=0)
    rate_tolerance: float = Field(default=_GATE.rate_tolerance, gt=0)
    separation_tolerance: float = Field(default=_GATE.separation_tolerance, ge=0, lt=1)


@asset(
    partitions_def=weekly_partitions,
    io_manager_key="parquet_io_manager",
    group_name="training",
    kinds={"mlflow"},
    check_specs=[
        AssetCheckSpec("champion_exists", asset="champion_model", blocking=True,
                       description="A champion is registered, so scoring can run"),
        AssetCheckSpec("challenger_passed_gate", asset="champion_model",
                       description="This week's challenger passed the promotion gate (warning only)"),
    ],
)
def champion_model(context: AssetExecutionContext, config: ChampionGateConfig, raw_logs: pd.DataFrame,
                   anomaly_model: ModelCandidate, mlflow_tracking: MLflowResource):
    """Scores the champion on the challenger's holdout and promotes only a better challenger
    (the challenger's own holdout evaluation comes from training)."""
    mlflow_tracking.setup()
    try:
        holdout = holdout_of(raw_logs, anomaly_model.holdout)
    except ValueError as exc:
        raise Failure(description=str(exc)) from None
    result = promote_if_better(anomaly_model, holdout, GatePolicy(**config.model_dump()),
                               get_settings().saved_models_dir)
    decision = result.decision
    context.log.info(f"gate: {'PROMOTED' if decision.promote else 'kept champion'}: {decision.reason}")
    champion = result.champion_version if result.champion_version is not None else -1
    yield Output(result, metadata={
        "summary": (f"PROMOTED v{result.challenger_version}" if decision.promote
                    else f"kept champion v{champion}") + f": {decision.reason}",
        "champion_version": champion, "challenger_version": result.challenger_version,
        "promoted": decision.promote, "rule": decision.rule, "reason": decision.reason,
        "compared": metadata.to_metadata({"compared": decision.compared})["compared"],
        "champion_history": metadata.frame_table(champion_history(), rows=50),
    })
    yield AssetCheckResult(check_name="champion_exists", passed=result.champion_version is not None,
                           severity=AssetCheckSeverity.ERROR, metadata={"champion_version": champion})
    yield AssetCheckResult(check_name="challenger_passed_gate", passed=decision.promote,
                           severity=AssetCheckSeverity.WARN, metadata={"reason": decision.reason})
