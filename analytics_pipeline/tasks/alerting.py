"""Alerts and incidents from a scored log file (the ``cluster-alerts`` command)."""
from __future__ import annotations

import json
from pathlib import Path

from analytics_pipeline.core.alerting.anomalies import AnomalyBatch, anomalies_from_scored, empty_anomalies
from analytics_pipeline.core.alerting.config import AlertIntelligenceConfig
from analytics_pipeline.core.alerting.triage import Triage, triage
from analytics_pipeline.core.logs.files import read_log_file


def read_scored_file(path: Path) -> AnomalyBatch:
    """The anomalies of a file that ``analytics-pipeline detect`` wrote (.jsonl or .parquet),
    read in chunks; rows that cannot be used are counted by reason."""
    batch, offset = AnomalyBatch(empty_anomalies()), 0
    for chunk in read_log_file(path):
        batch = batch.merge(anomalies_from_scored(chunk, first_row=offset))
        offset += len(chunk)
    return batch


def cluster_alerts_file(path: Path, config: AlertIntelligenceConfig, output: Path | None = None) -> Triage:
    """Alerts and incidents of a scored file; with ``output``, one JSON line per anomaly with
    its ``alert_id`` and ``cluster_id`` (null when its alert belongs to no incident)."""
    result = triage(read_scored_file(path), config)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        rows = result.assignments()
        rows["timestamp"] = rows["timestamp"].map(lambda t: t.isoformat())
        with open(output, "w", encoding="utf-8") as out:
            for record in rows.to_dict("records"):
                out.write(json.dumps(record) + "\n")
    return result
