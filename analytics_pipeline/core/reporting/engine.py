"""The optimization engine and the weekly report it feeds.

:func:`recommend` runs the built-in rules (one per cause, each in its module) and the YAML rules
on a week's evidence and keeps what passes the :class:`OptimizationEngineConfig` filters;
:func:`build_report` adds what the Monday reader wants around them (health, incidents, capacity
warnings, drift) in one :class:`WeeklyReport`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from analytics_pipeline.core.alerting.incidents import Incident
from analytics_pipeline.core.monitoring.drift import DriftReport
from analytics_pipeline.core.reporting.detector import contamination, retraining
from analytics_pipeline.core.forecasting.weekly import CAPACITY_COLUMNS
from analytics_pipeline.core.reporting.evidence import WeekEvidence, forecast_frame, service_figures
from analytics_pipeline.core.reporting.forecasts import MIN_CROSSING_PROBABILITY, capacity_scaling, performance_tuning
from analytics_pipeline.core.reporting.operations import alert_thresholds, resource_allocation, system_settings
from analytics_pipeline.core.reporting.recommendations import (
    OptimizationEngineConfig, OptimizationRecommendation, select,
)
from analytics_pipeline.core.reporting.rules_file import DEFAULT_RULES, apply_rules, load_rules

Rule = Callable[[WeekEvidence, OptimizationEngineConfig, datetime], list[OptimizationRecommendation]]
BUILT_IN_RULES: tuple[Rule, ...] = (capacity_scaling, performance_tuning, alert_thresholds, resource_allocation,
                                    system_settings, retraining, contamination)


def recommend(week: WeekEvidence, config: OptimizationEngineConfig = OptimizationEngineConfig(),
              rules_path: Path | None = DEFAULT_RULES, created: datetime | None = None) -> list[OptimizationRecommendation]:
    """The week's recommendations, best first, filtered by ``config``.

    ``rules_path``: a YAML rules file (core.reporting.rules_file) applied beside the built-in
    rules; None for none. ``created`` defaults to the end of the week, so a re-run of the same week
    gives the same report.
    """
    created = created or week.end
    found = [rec for rule in BUILT_IN_RULES for rec in rule(week, config, created)]
    if rules_path is not None:
        found += apply_rules(load_rules(rules_path), week, config, created, f"rules:{Path(rules_path).name}")
    return select(found, config)


@dataclass(frozen=True)
class WeeklyReport:
    """What the Monday reader gets: health, incidents, capacity, drift, recommendations."""

    partition: str
    start: datetime
    end: datetime
    generated_at: datetime
    logs: int
    anomalies: int
    health: Mapping[str, Any]                  # core.scoring.health.health_summary (or {})
    incidents: tuple[Incident, ...]            # most urgent first
    alerts: int
    capacity_warnings: pd.DataFrame            # CAPACITY_COLUMNS rows likely to cross
    forecasts_available: bool
    drift: DriftReport | None
    recommendations: tuple[OptimizationRecommendation, ...]
    services: pd.DataFrame                     # core.reporting.evidence.service_figures
    config: OptimizationEngineConfig

    @property
    def health_line(self) -> str:
        overall = (self.health or {}).get("overall")
        if not overall:
            return f"{self.logs:,} logs, {self.anomalies:,} anomalies"
        worst = next(iter((self.health.get("services") or {}).items()), None)
        tail = f"; worst service {worst[0]} {worst[1]['health_score']:.0f} ({worst[1]['status']})" if worst else ""
        return (f"{overall['health_score']:.0f}/100 ({overall['status']}), {self.logs:,} logs, "
                f"{self.anomalies:,} anomalies ({overall['anomaly_rate']:.2%}){tail}")

    @property
    def drift_line(self) -> str:
        return self.drift.summary() if self.drift is not None else "not checked (no drift report for the week)"


def build_report(week: WeekEvidence, config: OptimizationEngineConfig = OptimizationEngineConfig(),
                 rules_path: Path | None = DEFAULT_RULES) -> WeeklyReport:
    """The week's report; its recommendations are the same for the same evidence (created at the
    week's end, stable ids), only ``generated_at`` says when it was built."""
    recommendations = recommend(week, config, rules_path)
    capacity = forecast_frame(week.capacity, CAPACITY_COLUMNS, "capacity")
    warnings = capacity[capacity["probability"] >= MIN_CROSSING_PROBABILITY] \
        .sort_values("probability", ascending=False).reset_index(drop=True)
    return WeeklyReport(week.partition, week.start, week.end, datetime.now(timezone.utc), len(week.logs),
                        len(week.anomalies), dict(week.health or {}), week.incidents,
                        len(week.alerts), warnings, week.capacity is not None, week.drift,
                        tuple(recommendations), service_figures(week), config)
