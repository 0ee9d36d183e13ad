"""An optimization recommendation (the seed's ``OptimizationRecommendation`` fields plus its
evidence), the engine's filters (the seed's ``OptimizationEngineConfig``), and ranking."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping

CATEGORIES: tuple[str, ...] = ("configuration_tuning", "resource_allocation", "performance_tuning",
                               "capacity_scaling", "alert_thresholds", "system_settings")
EFFORTS: tuple[str, ...] = ("low", "medium", "high")
RISKS: tuple[str, ...] = ("low", "medium", "high")
PRIORITIES: tuple[str, ...] = ("critical", "high", "medium", "low")
_RISK_WEIGHT = {"low": 1.0, "medium": 0.8, "high": 0.6}


@dataclass(frozen=True)
class OptimizationRecommendation:
    """What to change, why (``evidence``: this week's figures), and what it should bring."""

    id: str
    category: str
    title: str
    description: str
    current_value: str
    recommended_value: str
    expected_improvement: float        # percent, of the figure named in ``description``
    confidence: float                  # 0-1, from the rule's statistics (see docs/reporting.md)
    implementation_steps: tuple[str, ...]
    estimated_effort: str              # low | medium | high
    risk_level: str                    # low | medium | high
    component: str                     # the service (or "detector", "alerting") it is about
    priority: str                      # critical | high | medium | low, from priority_score
    created_at: datetime
    expires_at: datetime
    evidence: tuple[str, ...] = ()     # one sentence per figure it rests on
    metrics: Mapping[str, float] = field(default_factory=dict)  # the figures themselves
    source: str = "data"               # "data" (built-in rule) or "rules:<file>" (YAML rule)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}: one of {', '.join(CATEGORIES)}")
        if self.estimated_effort not in EFFORTS or self.risk_level not in RISKS:
            raise ValueError(f"effort and risk are one of {', '.join(RISKS)}, got "
                             f"{self.estimated_effort!r} and {self.risk_level!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")

    @property
    def priority_score(self) -> float:
        """Expected improvement weighted by confidence and discounted by risk (ranking key)."""
        return self.expected_improvement * self.confidence * _RISK_WEIGHT[self.risk_level]


@dataclass(frozen=True)
class OptimizationEngineConfig:
    """What the engine looks at and which recommendations it keeps (the seed's settings)."""

    analysis_window_hours: float = 168.0     # the week
    prediction_horizon_hours: float = 168.0  # capacity crossings further out are not acted on yet
    min_confidence_threshold: float = 0.7
    min_expected_improvement: float = 5.0    # percent
    max_recommendations: int = 10
    recommendation_ttl_hours: float = 168.0  # a recommendation expires with next week's report
    enabled_categories: tuple[str, ...] = CATEGORIES

    def __post_init__(self) -> None:
        for name in ("analysis_window_hours", "prediction_horizon_hours", "recommendation_ttl_hours"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0.0 <= self.min_confidence_threshold <= 1.0:
            raise ValueError(f"min_confidence_threshold must be in [0, 1], got {self.min_confidence_threshold}")
        if self.min_expected_improvement < 0 or self.max_recommendations < 1:
            raise ValueError("min_expected_improvement must be >= 0 and max_recommendations >= 1")
        unknown = set(self.enabled_categories) - set(CATEGORIES)
        if unknown:
            raise ValueError(f"unknown categories {sorted(unknown)}: one of {', '.join(CATEGORIES)}")


def priority_of(expected_improvement: float, confidence: float, risk: str) -> str:
    """critical >= 40, high >= 20, medium >= 8, else low, on improvement x confidence x risk weight."""
    score = expected_improvement * confidence * _RISK_WEIGHT[risk]
    return "critical" if score >= 40 else "high" if score >= 20 else "medium" if score >= 8 else "low"


def recommendation_id(partition: str, category: str, component: str, key: str = "") -> str:
    """Stable across re-runs of the same week, so a re-materialized report names the same items."""
    digest = hashlib.sha1(f"{partition}|{category}|{component}|{key}".encode()).hexdigest()[:10]
    return f"rec-{partition}-{digest}"


def make(partition: str, created_at: datetime, config: OptimizationEngineConfig, *, category: str, component: str,
         title: str, description: str, current_value: str, recommended_value: str, expected_improvement: float,
         confidence: float, steps: tuple[str, ...], effort: str, risk: str, evidence: tuple[str, ...],
         metrics: Mapping[str, Any], key: str = "", source: str = "data") -> OptimizationRecommendation:
    """A recommendation with its id, priority and validity filled in."""
    improvement = round(float(max(0.0, min(expected_improvement, 100.0))), 1)
    confidence = round(float(max(0.0, min(confidence, 1.0))), 3)
    return OptimizationRecommendation(
        recommendation_id(partition, category, component, key), category, title, description, current_value,
        recommended_value, improvement, confidence, steps, effort, risk, component,
        priority_of(improvement, confidence, risk), created_at,
        created_at + timedelta(hours=config.recommendation_ttl_hours), evidence,
        {k: float(v) for k, v in metrics.items()}, source)


def select(recommendations: list[OptimizationRecommendation],
           config: OptimizationEngineConfig) -> list[OptimizationRecommendation]:
    """Those that pass the config's filters, best first, at most ``max_recommendations``."""
    kept = [r for r in recommendations if r.category in config.enabled_categories
            and r.confidence >= config.min_confidence_threshold
            and r.expected_improvement >= config.min_expected_improvement]
    kept.sort(key=lambda r: (-r.priority_score, r.id))
    return kept[:config.max_recommendations]
