"""MLflow tracking: the store, the experiment, and one run per training (params, metrics, plots, model).

The logged model is the served pyfunc (core.scoring.served_model) around the whole scikit-learn
Pipeline (featurizer + detector), saved with joblib as a model artifact beside a
``model_metadata.json``: raw log records go in, scores come out.
"""
from __future__ import annotations

import json
import tempfile
from datetime import datetime, timezone
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

import joblib
import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import Schema

from analytics_pipeline.core.detection.evaluation import loggable_metrics
from analytics_pipeline.core.detection.plots import write_evaluation_plots
from analytics_pipeline.core.detection.reference import REFERENCE_FILE, TrainingReference
from analytics_pipeline.core.detection.training import TrainedModel
from analytics_pipeline.core.lifecycle.orphans import fail_orphaned_runs, process_tags
from analytics_pipeline.core.registry_names import EXPERIMENT_NAME, MODEL_NAME
from analytics_pipeline.core.scoring.served_model import INPUT_SCHEMA, PARAMS_SCHEMA, LogAnomalyModel

# What the served model needs installed; listing it skips MLflow's slow requirement inference.
PIP_REQUIREMENTS = ["scikit-learn==1.9.1", "pandas==2.3.3", "numpy==2.4.6", "scipy==1.17.1",
                    "joblib==1.6.0", "mlflow==3.17.2", "analytics_pipeline"]


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


def input_example(logs: pd.DataFrame, rows: int = 3) -> pd.DataFrame:
    """A few raw records shaped like a request to the served model."""
    example = logs.head(rows)[["timestamp", "level", "service", "message", "response_time", "status_code", "log_id"]].copy()
    example["timestamp"] = example["timestamp"].map(lambda t: t.isoformat())
    return example.astype({"response_time": "float64", "status_code": "float64"}).fillna(
        {"response_time": 0.0, "status_code": 0.0})


def model_metadata(trained: TrainedModel, extra: Mapping[str, Any]) -> dict[str, Any]:
    """What a served or exported model carries: params, metrics, threshold, feature profile."""
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


REFERENCE_DIR = "reference"  # the run's artifact folder holding REFERENCE_FILE


def _write_reference(reference: TrainingReference) -> Path:
    path = Path(tempfile.mkdtemp(prefix="reference-")) / REFERENCE_FILE
    path.write_bytes(reference.to_bytes())
    return path


@contextmanager
def training_run(run_name: str, nested: bool = False) -> Iterator[mlflow.ActiveRun]:
    """An MLflow run tagged with the process that owns it, after failing runs whose owner died.

    A run left RUNNING by a killed process is marked FAILED here, on the next training
    (core.lifecycle.orphans), so the MLflow UI never shows a training running forever.
    """
    with mlflow.start_run(run_name=run_name, nested=nested, tags=process_tags()) as run:
        if not nested:
            fail_orphaned_runs(run.info.experiment_id)
        yield run


def log_training(trained: TrainedModel, logs: pd.DataFrame, tags: Mapping[str, Any],
                 run: mlflow.ActiveRun) -> tuple[str, dict[str, Path]]:
    """Params, metrics, tags, plots and the model of one training, in the active ``run``.

    Returns (model_uri, local plot paths). Metric names come from core.detection.evaluation and
    never change between runs, so the MLflow UI compares like with like.
    """
    mlflow.log_params(trained.config.as_params())
    mlflow.log_metrics(loggable_metrics(trained.metrics))
    mlflow.set_tags({**{k: str(v) for k, v in tags.items()}, "data_hash": trained.data_hash,
                     "detector": trained.config.detector})
    plot_dir = Path(tempfile.mkdtemp(prefix="plots-"))
    plots = write_evaluation_plots(trained.holdout_labels, trained.holdout_scores,
                                   float(trained.pipeline[-1].threshold_), plot_dir)
    mlflow.log_artifacts(str(plot_dir), artifact_path="plots")
    if trained.reference is not None:  # the drift checks' baseline (core.monitoring.reference reads it)
        mlflow.log_artifact(str(_write_reference(trained.reference)), artifact_path=REFERENCE_DIR)
    info = log_pipeline_model(trained.pipeline, input_example(logs),
                              model_metadata(trained, {"run_id": run.info.run_id, **tags}))
    return info.model_uri, plots


def log_training_run(trained: TrainedModel, logs: pd.DataFrame, tags: Mapping[str, Any], run_name: str,
                     nested: bool = False) -> tuple[str, str, dict[str, Path]]:
    """One finished MLflow run for one training; returns (run_id, model_uri, local plot paths)."""
    with training_run(run_name, nested=nested) as run:
        uri, plots = log_training(trained, logs, tags, run)
    return run.info.run_id, uri, plots
