"""Whole tasks for the CLI (and notebooks) outside Dagster: train from Mongo or a file."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from analytics_pipeline.core import gate, tracking, training
from analytics_pipeline.core.promotion import promote_if_better
from analytics_pipeline.core.schema import ValidationResult, empty_logs, validate_records
from analytics_pipeline.ingest import read_log_file


def logs_from_file(path: Path, limit: int | None = None) -> ValidationResult:
    """Validated logs of a .jsonl/.parquet file; the newest ``limit`` when given."""
    result = ValidationResult(logs=empty_logs())
    for chunk in read_log_file(path):
        result = result.merge(validate_records(chunk))
    result.logs = result.logs.sort_values("timestamp", kind="stable").reset_index(drop=True)
    if limit is not None and len(result.logs) > limit:
        result.logs = result.logs.iloc[-limit:].reset_index(drop=True)
    if result.logs["log_id"].isna().any():  # files without ids: stable positional ids
        result.logs["log_id"] = result.logs["log_id"].fillna(pd.Series([f"row-{i}" for i in range(len(result.logs))]))
    return result


def train_and_register(logs: pd.DataFrame, config: training.TrainingConfig, saved_models_dir: Path,
                       tracking_uri: str, source: str) -> dict[str, Any]:
    """Train, evaluate, log to MLflow, register as challenger, and run the promotion gate."""
    trained = training.train(logs, config)
    tracking.configure(tracking_uri)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H%M%S")
    tags = {"source": source, "partition": "cli", "train_rows": trained.train_rows,
            "holdout_rows": trained.holdout_rows}
    run_id, model_uri, _ = tracking.log_training_run(trained, logs, tags, run_name=f"cli-train-{stamp}")
    version = tracking.register_challenger(model_uri, {**tags, "mlflow_run_id": run_id})
    challenger = {"version": int(version.version), "params": config.as_params(), "partition": "cli"}
    decision, champion = promote_if_better(logs, challenger, gate.GatePolicy(), saved_models_dir)
    return {"metrics": trained.metrics, "run_id": run_id, "version": int(version.version),
            "promoted": decision.promote, "reason": decision.reason, "champion_version": champion}


def detect_file(path: Path, output: Path, model_path: str | None = None, alias: str = "champion") -> dict[str, int]:
    """Score every record of a log file; bad records get an ``error`` line, never stop the rest."""
    import json

    from analytics_pipeline.core.inference import AnomalyDetector
    from analytics_pipeline.settings import get_settings

    if model_path:
        detector = AnomalyDetector(model_path=model_path)
    else:
        tracking.configure(get_settings().mlflow_tracking_uri)
        detector = AnomalyDetector.from_registry(alias=alias)
    counts = {"scored": 0, "anomalies": 0, "errors": 0}
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8") as out:
        for chunk in read_log_file(path):
            for row in detector.detect_batch(chunk):
                counts["errors" if row.get("error") else "scored"] += 1
                counts["anomalies"] += bool(row.get("is_anomaly"))
                out.write(json.dumps(row, default=str) + "\n")
    return counts
