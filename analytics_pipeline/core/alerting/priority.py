"""How urgent an incident is (priority 0-100, P1-P4) and how far it has escalated.

Priority = 100 x sum(weight_f x factor_f) / sum(weight_f), weights from ``priority_factors``,
each factor 0-1:

- ``severity``: the worst anomaly: low 0.25, medium 0.5, high 0.75, critical 1;
- ``duration``: minutes from first to last alert over twice the escalation time, capped at 1;
- ``frequency``: anomalies, log10(1 + n) / 3, capped at 1 (1,000 anomalies reach 1);
- ``breadth``: services involved beyond the first, over 3, capped at 1 (4 services reach 1);
- ``component_criticality``: of the incident's services, the most dependents in the learned
  dependency graph, over the most any service has (0 when nothing was learned).

Labels: P1 from 70, P2 from 50, P3 from 30, else P4.

Escalation: an incident is open from its first to its last alert; it rises one level for each
``escalation_time_minutes`` it stays open, up to :data:`ESCALATION_LEVELS`' last.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

SEVERITY_FACTOR = {"low": 0.25, "medium": 0.5, "high": 0.75, "critical": 1.0}
PRIORITY_LABELS: tuple[tuple[float, str], ...] = ((70.0, "P1"), (50.0, "P2"), (30.0, "P3"), (0.0, "P4"))
ESCALATION_LEVELS: tuple[str, ...] = ("on-call engineer", "team lead", "engineering manager", "incident commander")


@dataclass(frozen=True)
class Escalation:
    """Level 0 (the on-call engineer) up to 3, who that is, and why."""

    level: int
    notify: str
    reason: str


def priority_factors(max_severity: str, duration_minutes: float, anomalies: int, services: int,
                     criticality: float, escalation_time_minutes: float) -> dict[str, float]:
    """Each factor of the priority, 0-1 (see the module docstring)."""
    return {
        "severity": SEVERITY_FACTOR.get(max_severity, 0.0),
        "duration": min(1.0, duration_minutes / (2.0 * escalation_time_minutes)),
        "frequency": min(1.0, math.log10(1 + anomalies) / 3.0),
        "breadth": min(1.0, (services - 1) / 3.0),
        "component_criticality": min(1.0, max(0.0, criticality)),
    }


def priority_score(factors: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """The weighted mean of the factors, 0-100."""
    total = sum(weights.values())
    return round(100.0 * sum(w * factors.get(name, 0.0) for name, w in weights.items()) / total, 1)


def priority_label(score: float) -> str:
    return next(label for floor, label in PRIORITY_LABELS if score >= floor)


def escalation(duration_minutes: float, escalation_time_minutes: float) -> Escalation:
    """The level reached after ``duration_minutes`` open."""
    steps = int(duration_minutes // escalation_time_minutes)
    level = min(steps, len(ESCALATION_LEVELS) - 1)
    if steps == 0:
        reason = f"open {duration_minutes:.0f} min, under the {escalation_time_minutes:g} min escalation time"
    else:
        reason = f"open {duration_minutes:.0f} min: {steps} x {escalation_time_minutes:g} min escalation time"
    return Escalation(level, ESCALATION_LEVELS[level], reason)
