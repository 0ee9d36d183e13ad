"""``AlertIntelligenceConfig``: every setting of alerting, with the seed's names and defaults.

The one home of the defaults: the Dagster configs of the ``alerts`` and ``alert_clusters`` assets
and the ``cluster-alerts`` command take theirs from here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

ALGORITHMS: tuple[str, ...] = ("dbscan", "kmeans", "hierarchical", "rule_based")

# What an incident's priority is made of (core.alerting.priority), and the default weights: the
# seed's four factors with "breadth" (services involved) added, which the seed left out.
PRIORITY_FACTORS: tuple[str, ...] = ("severity", "duration", "frequency", "breadth", "component_criticality")
DEFAULT_PRIORITY_FACTORS: Mapping[str, float] = MappingProxyType(
    {"severity": 0.35, "duration": 0.25, "frequency": 0.15, "breadth": 0.15, "component_criticality": 0.1})


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")


@dataclass(frozen=True)
class AlertIntelligenceConfig:
    """Alerting settings (defaults from the seed's ``AlertIntelligenceConfig``).

    - ``clustering_algorithm``: one of :data:`ALGORITHMS`.
    - ``clustering_eps``: the largest alert distance (0-1, core.alerting.features) that joins two
      alerts: DBSCAN's radius and the hierarchical cut; k-means takes its k from the sets of
      alerts it connects.
    - ``clustering_min_samples``: the weight of anomalies (count x severity weight) an incident
      needs; DBSCAN's ``min_samples``. Lighter groups stay alerts without an incident.
    - ``similarity_threshold``: template cosine similarity above which two templates count as
      the same (rule-based grouping, and same-service alerts in the alert distance).
    - ``correlation_window_minutes``: alerts further apart never join; service pairs must
      co-occur within it to count as dependent.
    - ``deduplication_window_minutes``: repeats of a fingerprint within this time of the alert's
      first occurrence are folded into it.
    - ``auto_acknowledge_duplicates``: later alerts of a fingerprint already raised in the batch
      are ``acknowledged`` instead of ``open``.
    - ``max_root_cause_candidates``: candidates kept per incident.
    - ``escalation_time_minutes``: an incident escalates one level per this much time open.
    - ``priority_factors``: weights of :data:`PRIORITY_FACTORS` (normalized by their sum).
    - ``significance_level`` (not a seed setting): a group of alerts becomes an incident only
      when its services' background anomaly rate would produce that many anomalies in its time
      span, anywhere in the data, with probability below this (Poisson, Bonferroni over
      services x 5-minute windows; core.alerting.significance), so a noisy detector's scatter
      is not paged.
    """

    clustering_algorithm: str = "dbscan"
    clustering_eps: float = 0.5
    clustering_min_samples: int = 2
    similarity_threshold: float = 0.8
    correlation_window_minutes: float = 15.0
    deduplication_window_minutes: float = 5.0
    auto_acknowledge_duplicates: bool = True
    max_root_cause_candidates: int = 5
    escalation_time_minutes: float = 60.0
    priority_factors: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PRIORITY_FACTORS))
    significance_level: float = 0.001

    def __post_init__(self) -> None:
        if self.clustering_algorithm not in ALGORITHMS:
            raise ValueError(f"clustering_algorithm must be one of {', '.join(ALGORITHMS)}, "
                             f"got {self.clustering_algorithm!r}")
        if not (isinstance(self.clustering_eps, (int, float)) and 0 < self.clustering_eps < 1):
            raise ValueError(f"clustering_eps must be in (0, 1) (an alert distance), got {self.clustering_eps!r}")
        if not isinstance(self.clustering_min_samples, int) or self.clustering_min_samples < 1:
            raise ValueError(f"clustering_min_samples must be an integer >= 1, got {self.clustering_min_samples!r}")
        if not (isinstance(self.similarity_threshold, (int, float)) and 0 < self.similarity_threshold <= 1):
            raise ValueError(f"similarity_threshold must be in (0, 1], got {self.similarity_threshold!r}")
        for name in ("correlation_window_minutes", "deduplication_window_minutes", "escalation_time_minutes"):
            _positive(name, getattr(self, name))
        if not isinstance(self.max_root_cause_candidates, int) or self.max_root_cause_candidates < 1:
            raise ValueError(f"max_root_cause_candidates must be an integer >= 1, got {self.max_root_cause_candidates!r}")
        if not (isinstance(self.significance_level, (int, float)) and 0 < self.significance_level <= 1):
            raise ValueError(f"significance_level must be in (0, 1], got {self.significance_level!r}")
        object.__setattr__(self, "priority_factors", MappingProxyType(_checked_factors(self.priority_factors)))

    def as_params(self) -> dict[str, Any]:
        """Plain values (for metadata and logs)."""
        return {name: dict(value) if isinstance(value, Mapping) else value
                for name, value in self.__dict__.items()}


def _checked_factors(factors: Mapping[str, Any]) -> dict[str, float]:
    if not isinstance(factors, Mapping) or not factors:
        raise ValueError(f"priority_factors must be a non-empty mapping of {', '.join(PRIORITY_FACTORS)} to weights")
    unknown = sorted(set(factors) - set(PRIORITY_FACTORS))
    if unknown:
        raise ValueError(f"unknown priority factor(s) {', '.join(map(repr, unknown))}; "
                         f"valid: {', '.join(PRIORITY_FACTORS)}")
    out = {}
    for name, weight in factors.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"priority factor {name!r} must be a number >= 0, got {weight!r}")
        out[name] = float(weight)
    if sum(out.values()) <= 0:
        raise ValueError("priority_factors must give at least one factor a positive weight")
    return out
