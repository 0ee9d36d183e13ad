"""``anomaly_model`` (train, evaluate, register a challenger) and ``champion_model`` (the gate)."""
import base64
from pathlib import Path

import pandas as pd
from dagster import (
    AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, Config, Failure,
    MetadataValue, Output, asset,
)
from pydantic import Field

from analytics_pipeline.assets.metadata import to_metadata
from analytics_pipeline.core import gate, tracking, training
from analytics_pipeline.core.promotion import promote_if_better
from analytics_pipeline.core.detectors import DETECTOR_NAMES
from analytics_pipeline.core.windows import window_for_partition
from analytics_pipeline.partitions import weekly_partitions
from analytics_pipeline.resources.mlflow_tracking import MLflowResource
from analytics_pipeline.settings import get_settings


class AnomalyModelConfig(Config):
    """Hyperparameters, editable in the launchpad (defaults from the seed)."""

    detector: str = Field(default="isolation_forest", description=f"one of {', '.join(DETECTOR_NAMES)}")
    n_estimators: int = Field(default=100, ge=1)
    max_samples: str = Field(default="auto", description='"auto", a row count (256) or a share (0.5)')
    contamination: float = Field(default=0.1, gt=0, le=0.5)
    max_features: float = Field(default=1.0, gt=0, le=1.0)
    random_state: int = 42
    n_jobs: int = -1
    test_size: float = Field(default=0.2, gt=0, lt=1)
    min_training_samples: int = Field(default=100, ge=2)
    scaler_type: str = Field(default="per_service", description="per_service, standard, robust, minmax or none")
    split_on: str = Field(default="health", description='"health": the forest splits on rt_mean, rt_median, '
                          'error_rate (measured best); "all": on all 78 features')

    def training_config(self) -> training.TrainingConfig:
        params = self.model_dump()
        params["max_samples"] = parse_max_samples(self.max_samples)
        return training.TrainingConfig(**params)


def parse_max_samples(text: str) -> str | int | float:
    """'auto', an int row count or a float share, as IsolationForest takes it."""
    text = text.strip()
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        share = float(text)
    except ValueError:
        raise ValueError(f'max_samples must be "auto", an integer or a share in (0, 1], got {text!r}') from None
    if not 0 < share <= 1:
        raise ValueError(f"max_samples share must be in (0, 1], got {share}")
    return share


def image_markdown(paths: dict[str, Path]) -> str:
    """PNG plots inlined as Markdown images (the Dagster UI renders data URIs)."""
    parts = []
    for name, path in paths.items():
        data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
        parts.append(f"**{name}**\n\n![{name}](data:image/png;base64,{data})")
    return "\n\n".join(parts)


@asset(
    partitions_def=weekly_partitions,
    io_manager_key="parquet_io_manager",
    group_name="training",
    deps=["log_features"],
    kinds={"scikit-learn", "mlflow"},
)
def anomaly_model(context: AssetExecutionContext, config: AnomalyModelConfig, raw_logs: pd.DataFrame,
                  mlflow_tracking: MLflowResource) -> Output[dict]:
    """Trains featurizer + detector on the earlier 80% of the window, evaluates on the rest,
    logs one MLflow run and registers the model as a new version with alias ``challenger``."""
    try:
        cfg = config.training_config()
        trained = training.train(raw_logs, cfg)
    except ValueError as exc:  # too few logs or a bad hyperparameter: fail clearly, touch nothing
        raise Failure(description=str(exc)) from None
    mlflow_tracking.setup()
    start, end = window_for_partition(context.partition_key)
    tags = {"partition": context.partition_key, "dagster_run_id": context.run_id,
            "window_start": start.isoformat(), "window_end": end.isoformat(),
            "train_rows": trained.train_rows, "holdout_rows": trained.holdout_rows}
    run_id, model_uri, plots = tracking.log_training_run(trained, raw_logs, tags, run_name=f"train-{context.partition_key}")
    version = tracking.register_challenger(model_uri, {**tags, "mlflow_run_id": run_id})
    context.log.info(f"registered {tracking.MODEL_NAME} v{version.version} as challenger (run {run_id})")
    result = {"version": int(version.version), "run_id": run_id, "model_uri": model_uri,
              "partition": context.partition_key, "metrics": trained.metrics, "params": cfg.as_params()}
    return Output(result, metadata={
        "model_version": int(version.version),
        "mlflow_run_id": run_id,
        **to_metadata({k: v for k, v in trained.metrics.items() if isinstance(v, (int, float))}),
        "plots": MetadataValue.md(image_markdown(plots)),
    })


class ChampionGateConfig(Config):
    auc_tolerance: float = Field(default=0.01, ge=0)
    min_f1_gain: float = Field(default=0.0, ge=0)
    rate_tolerance: float = Field(default=0.5, gt=0)
    separation_tolerance: float = Field(default=0.05, ge=0, lt=1)


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
                   anomaly_model: dict, mlflow_tracking: MLflowResource):
    """Scores challenger and champion on the same holdout; promotes only a better challenger."""
    mlflow_tracking.setup()
    policy = gate.GatePolicy(**config.model_dump())
    decision, champion_version = promote_if_better(raw_logs, anomaly_model, policy, get_settings().saved_models_dir)
    context.log.info(f"gate: {'PROMOTED' if decision.promote else 'kept champion'}: {decision.reason}")
    yield Output({"champion_version": champion_version, "challenger_version": anomaly_model["version"],
                  "promoted": decision.promote, "reason": decision.reason, "rule": decision.rule},
                 metadata={"champion_version": champion_version if champion_version is not None else -1,
                           "challenger_version": anomaly_model["version"], "promoted": decision.promote,
                           "rule": decision.rule, "reason": decision.reason,
                           "compared": MetadataValue.json(decision.compared),
                           "champion_history": MetadataValue.md(tracking.champion_history().to_markdown(index=False))})
    yield AssetCheckResult(check_name="champion_exists", passed=champion_version is not None,
                           severity=AssetCheckSeverity.ERROR,
                           metadata={"champion_version": champion_version if champion_version is not None else -1})
    yield AssetCheckResult(check_name="challenger_passed_gate", passed=decision.promote,
                           severity=AssetCheckSeverity.WARN, metadata={"reason": decision.reason})
