"""Synthetic weeks with and without a cause, each scored by a real model trained on the three
calm weeks before it: the drift and report tests' input.

A scenario is computed once per session per cause (about 15 s each): three weeks of the
generator's ordinary traffic (with its ordinary incidents), then the week :data:`WEEK` with the
cause applied from its start; a model is trained on the first three weeks and scores all four.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import numpy as np
import pandas as pd
from pymongo.database import Database

from analytics_pipeline.core.alerting.anomalies import anomalies_from_scored
from analytics_pipeline.core.alerting.alerts import deduplicate
from analytics_pipeline.core.alerting.config import AlertIntelligenceConfig
from analytics_pipeline.core.alerting.store import ALERTS_COLLECTION, INCIDENTS_COLLECTION, write_alerts, write_incidents
from analytics_pipeline.core.alerting.triage import find_incidents
from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.detection.training import TrainedModel, train
from analytics_pipeline.core.lifecycle.runs import model_metadata
from analytics_pipeline.core.monitoring.drift import DriftReport, compare
from analytics_pipeline.core.scoring.anomaly_store import ANOMALIES_COLLECTION, write_anomalies
from analytics_pipeline.core.scoring.scorer import score_logs
from analytics_pipeline.synthetic import causes
from analytics_pipeline.synthetic.generator import generate_logs

WEEK = "2026-11-08"
START = datetime(2026, 11, 8, tzinfo=timezone.utc)
END = START + timedelta(days=7)
CAUSES = ("calm", "log_mix", "latency_shift", "noisy_service", "pool_exhaustion", "growth")
NOISY, MIXED, SLOW, POOLED = "search-service", "search-service", "payment-service", "order-service"
RAMPED, CREEPING = "api-gateway", "user-service"  # the "growth" scenario: traffic and latency rising


@dataclass(frozen=True)
class Scenario:
    cause: str
    logs: pd.DataFrame     # all four weeks
    trained: TrainedModel  # on the first three
    scored: pd.DataFrame   # all four weeks

    def week(self, frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["timestamp"] >= pd.Timestamp(START)].reset_index(drop=True)

    def drift(self) -> DriftReport:
        """The week against the model's training reference (core.monitoring.drift.compare)."""
        week, scored = self.week(self.logs), self.week(self.scored)
        matrix = np.asarray(self.trained.pipeline[0].transform(week))
        return compare(self.trained.reference, matrix, scored["raw_score"].to_numpy(float),
                       scored["is_anomaly"].to_numpy(bool), model_version=1)

    def store(self, db: Database) -> None:
        """Anomalies, alerts and incidents of the week in MongoDB, as the weekly assets write them."""
        write_anomalies(db[ANOMALIES_COLLECTION], self.scored[self.scored["is_anomaly"]], WEEK)
        batch = anomalies_from_scored(self.scored)
        config = AlertIntelligenceConfig()
        found = deduplicate(batch.anomalies, config.deduplication_window_minutes, config.auto_acknowledge_duplicates)
        write_alerts(db[ALERTS_COLLECTION], found.alerts[found.alerts["first_seen"] >= pd.Timestamp(START)]
                     .reset_index(drop=True), WEEK)
        report = find_incidents(found.alerts, config, (START, END), batch.services)
        write_incidents(db[INCIDENTS_COLLECTION], report.incidents, WEEK)


def _with_cause(logs: pd.DataFrame, cause: str) -> pd.DataFrame:
    if cause == "log_mix":
        return causes.shift_log_mix(logs, START, MIXED, factor=3.0)
    if cause == "latency_shift":
        return causes.shift_latency(logs, START, SLOW, factor=3.0)
    if cause == "noisy_service":
        return causes.noisy_service(logs, START, NOISY)
    if cause == "pool_exhaustion":
        return causes.pool_exhaustion(logs, START, END, POOLED, episodes=5)
    if cause == "growth":  # for two weeks: traffic up 10% of its usual a day, latency up 15% a day
        ramped = causes.ramp_volume(logs, START - timedelta(days=14), RAMPED, per_day=0.1)
        return causes.creep_latency(ramped, START - timedelta(days=14), CREEPING, per_day=0.15)
    return logs


@lru_cache(maxsize=len(CAUSES))
def scenario(cause: str) -> Scenario:
    logs = generate_logs(START - timedelta(days=21), END, logs_per_minute=3, seed=11)
    logs = _with_cause(logs, cause)
    history = logs[logs["timestamp"] < pd.Timestamp(START)].reset_index(drop=True)
    trained = train(history, TrainingConfig(n_jobs=1))
    scored = score_logs(trained.pipeline, model_metadata(trained, {}), logs, model_version=1)
    return Scenario(cause, logs, trained, scored)
