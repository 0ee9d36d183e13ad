"""MLflow: experiments, training runs, the registered model and its aliases.

The registered model is a pyfunc that wraps the whole scikit-learn Pipeline (featurizer +
detector), saved with joblib as a model artifact: raw log records go in, scores come out, and
``load_pipeline`` hands notebooks the Pipeline itself. Aliases: ``challenger`` (newest trained)
and ``champion`` (serving). Who was champion when is kept as tags on each version
(``champion_from`` / ``champion_until``), written by :func:`set_champion`.
"""
from __future__ import annotations

import json
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import joblib
import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

EXPERIMENT_NAME = "log-anomaly-detection"
MODEL_NAME = "log-anomaly-detector"
CHAMPION, CHALLENGER = "champion", "challenger"

# What the served model needs installed; listing it skips MLflow's slow requirement inference.
PIP_REQUIREMENTS = ["scikit-learn==1.9.1", "pandas==2.3.3", "numpy==2.4.6", "scipy==1.17.1",
                    "joblib==1.6.0", "mlflow==3.17.2", "analytics_pipeline"]

INPUT_SCHEMA = Schema([
    ColSpec("string", "timestamp"),
    ColSpec("string", "level"),
    ColSpec("string", "service"),
    ColSpec("string", "message"),
    ColSpec("double", "response_time", required=False),
    ColSpec("double", "status_code", required=False),
    ColSpec("string", "log_id", required=False),
])

# on_error: "reject" answers a request holding any invalid record with HTTP 400 naming it;
# "flag" scores the valid records and returns the reason in each invalid record's "error".
PARAMS_SCHEMA = ParamSchema([ParamSpec("on_error", "string", "reject")])


def configure(tracking_uri: str, artifact_root: Path | None = None,
              experiment_name: str = EXPERIMENT_NAME) -> str:
    """Point MLflow at ``tracking_uri`` and return the experiment id (created when missing).

    With a local SQLite store and no ``artifact_root``, artifacts live beside the database
    (``mlruns/artifacts``), so the whole store is one directory.
    """
    if artifact_root is None and tracking_uri.startswith("sqlite:///"):
        db_dir = Path(tracking_uri.removeprefix("sqlite:///")).parent
        db_dir.mkdir(parents=True, exist_ok=True)
        artifact_root = db_dir / "artifacts"
    mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.get_experiment_by_name(experiment_name)
    if experiment is None:
        location = artifact_root.resolve().as_uri() if artifact_root else None
        experiment_id = mlflow.create_experiment(experiment_name, artifact_location=location)
    else:
        experiment_id = experiment.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def log_pipeline_model(pipeline: Any, input_example: pd.DataFrame, metadata: Mapping[str, Any],
                       output_schema: Schema | None = None) -> mlflow.models.model.ModelInfo:
    """Log the Pipeline as the run's pyfunc model (signature + input example) in the active run."""
    from analytics_pipeline.core.serving import LogAnomalyModel

    with tempfile.TemporaryDirectory() as tmp:
        pipe_path = Path(tmp) / "pipeline.joblib"
        joblib.dump(pipeline, pipe_path, compress=3)
        meta_path = Path(tmp) / "model_metadata.json"
        meta_path.write_text(json.dumps(dict(metadata), default=str, indent=2))
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=LogAnomalyModel(),
            artifacts={"pipeline": str(pipe_path), "metadata": str(meta_path)},
            signature=ModelSignature(inputs=INPUT_SCHEMA, outputs=output_schema, params=PARAMS_SCHEMA),
            input_example=input_example,
            pip_requirements=PIP_REQUIREMENTS,
        )


def register_challenger(model_uri: str, tags: Mapping[str, Any]) -> ModelVersion:
    """Register ``model_uri`` as a new version of the model and point ``challenger`` at it."""
    client = MlflowClient()
    version = mlflow.register_model(model_uri, MODEL_NAME)
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, version.version, key, str(value))
    client.set_registered_model_alias(MODEL_NAME, CHALLENGER, version.version)
    return client.get_model_version(MODEL_NAME, version.version)


def version_by_alias(alias: str) -> ModelVersion | None:
    """The version an alias points at, or None when the alias (or the model) does not exist."""
    try:
        return MlflowClient().get_model_version_by_alias(MODEL_NAME, alias)
    except MlflowException:
        return None


def set_champion(version: str | int, decision_tags: Mapping[str, Any]) -> None:
    """Move ``champion`` to ``version``, stamping when the reign of each version starts/ends."""
    client = MlflowClient()
    now = datetime.now(timezone.utc).isoformat()
    previous = version_by_alias(CHAMPION)
    if previous is not None and str(previous.version) != str(version):
        client.set_model_version_tag(MODEL_NAME, previous.version, "champion_until", now)
        client.set_model_version_tag(MODEL_NAME, previous.version, "replaced_by", str(version))
    client.set_registered_model_alias(MODEL_NAME, CHAMPION, str(version))
    client.set_model_version_tag(MODEL_NAME, str(version), "champion_from", now)
    for key, value in decision_tags.items():
        client.set_model_version_tag(MODEL_NAME, str(version), key, str(value))


def tag_version(version: str | int, tags: Mapping[str, Any]) -> None:
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, str(version), key, str(value))


def champion_history() -> pd.DataFrame:
    """Every version that has been champion, with when it started and ended (None: still is)."""
    rows = []
    for v in MlflowClient().search_model_versions(f"name='{MODEL_NAME}'"):
        if "champion_from" in v.tags:
            rows.append({"version": int(v.version), "champion_from": v.tags["champion_from"],
                         "champion_until": v.tags.get("champion_until"), "run_id": v.run_id,
                         "reason": v.tags.get("gate.reason")})
    return pd.DataFrame(rows, columns=["version", "champion_from", "champion_until", "run_id", "reason"]) \
        .sort_values("version").reset_index(drop=True)


def load_model(uri: str) -> Any:
    """The pyfunc model at ``uri`` (e.g. ``models:/log-anomaly-detector@champion``)."""
    return mlflow.pyfunc.load_model(uri)


def load_pipeline(uri: str) -> Any:
    """The scikit-learn Pipeline inside the registered pyfunc model at ``uri``."""
    return load_model(uri).unwrap_python_model().pipeline


def input_example(logs: pd.DataFrame, rows: int = 3) -> pd.DataFrame:
    """A few raw records shaped like a request to the served model."""
    example = logs.head(rows)[["timestamp", "level", "service", "message", "response_time", "status_code", "log_id"]].copy()
    example["timestamp"] = example["timestamp"].map(lambda t: t.isoformat())
    return example.astype({"response_time": "float64", "status_code": "float64"}).fillna(
        {"response_time": 0.0, "status_code": 0.0})


def model_metadata(trained: Any, extra: Mapping[str, Any]) -> dict[str, Any]:
    """What a served or exported model carries: params, metrics, threshold, feature profile."""
    from analytics_pipeline.core.evaluation import loggable_metrics

    return {
        "model_name": MODEL_NAME,
        "training_date": datetime.now(timezone.utc).isoformat(),
        "training_samples": trained.train_rows,
        "holdout_samples": trained.holdout_rows,
        "feature_names": trained.profile["feature_names"],
        "params": trained.config.as_params(),
        "metrics": loggable_metrics(trained.metrics),
        "threshold": float(trained.pipeline[-1].threshold_),
        "detection_method": trained.config.detector,
        "data_hash": trained.data_hash,
        "feature_profile": trained.profile,
        **extra,
    }


def log_training_run(trained: Any, logs: pd.DataFrame, tags: Mapping[str, Any], run_name: str,
                     nested: bool = False) -> tuple[str, str, dict[str, Path]]:
    """One MLflow run for one training: params, metrics, tags, plots, and the model.

    Returns (run_id, model_uri, local plot paths). Metric names come from
    core.evaluation and never change between runs, so the MLflow UI compares like with like.
    """
    from analytics_pipeline.core.evaluation import loggable_metrics
    from analytics_pipeline.core.plots import write_evaluation_plots

    with mlflow.start_run(run_name=run_name, nested=nested) as run:
        mlflow.log_params(trained.config.as_params())
        mlflow.log_metrics(loggable_metrics(trained.metrics))
        mlflow.set_tags({**{k: str(v) for k, v in tags.items()}, "data_hash": trained.data_hash,
                         "detector": trained.config.detector})
        plot_dir = Path(tempfile.mkdtemp(prefix="plots-"))
        plots = write_evaluation_plots(trained.holdout_labels, trained.holdout_scores,
                                       float(trained.pipeline[-1].threshold_), plot_dir)
        mlflow.log_artifacts(str(plot_dir), artifact_path="plots")
        info = log_pipeline_model(trained.pipeline, input_example(logs),
                                  model_metadata(trained, {"run_id": run.info.run_id, **tags}))
    return run.info.run_id, info.model_uri, plots
