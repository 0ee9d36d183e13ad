"""Scoring a log file offline with the champion (the ``detect`` command)."""
from __future__ import annotations

import json
from pathlib import Path

from analytics_pipeline.core.lifecycle.runs import configure
from analytics_pipeline.core.logs.files import read_log_file
from analytics_pipeline.core.registry_names import CHAMPION
from analytics_pipeline.core.scoring.detector import AnomalyDetector
from analytics_pipeline.core.settings import get_settings


def detect_file(path: Path, output: Path, model_path: str | None = None, alias: str = CHAMPION) -> dict[str, int]:
    """Score every record of a log file; bad records get an ``error`` line, never stop the rest."""
    if model_path:
        detector = AnomalyDetector(model_path=model_path)
    else:
        configure(get_settings().mlflow_tracking_uri)
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
