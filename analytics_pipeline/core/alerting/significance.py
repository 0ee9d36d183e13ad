"""Is a group of alerts more than a service's usual background of flagged logs?

A detector flags some logs of healthy services too. A group of alerts is an incident only when
it holds more anomalies than its services' background rate would produce by chance over its
time span. The background rate of a service is its anomalies per minute over the hours of the
data, leaving out the busiest tenth of its hours, and at least the busiest one (where incidents
are), so that incidents do not raise the bar for themselves; with a single hour of data there is
no background to compare with, and the rate is 0. The chance is Poisson: P(N >= anomalies) with mean rate x span,
the span being at least :data:`MIN_SPAN_MINUTES`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
from scipy.stats import poisson

MIN_SPAN_MINUTES = 5.0
QUIET_SHARE = 0.9  # the quietest 90% of a service's hours are its background
_NS_PER_HOUR = 3600 * 10**9


@dataclass(frozen=True)
class BackgroundRates:
    """Anomalies per minute of each service outside its incidents."""

    per_minute: Mapping[str, float] = field(default_factory=dict)
    span_minutes: float = 0.0

    @property
    def tests(self) -> float:
        """How many places a chance group could appear: services x windows of MIN_SPAN_MINUTES."""
        return max(1.0, len(self.per_minute) * self.span_minutes / MIN_SPAN_MINUTES)

    def expected(self, services: Iterable[str], first_ns: int, last_ns: int) -> float:
        span = max((last_ns - first_ns) / 6e10, MIN_SPAN_MINUTES)
        return span * sum(self.per_minute.get(s, 0.0) for s in services)

    def p_value(self, anomalies: int, services: Iterable[str], first_ns: int, last_ns: int) -> float:
        """P(at least ``anomalies`` from the background alone over [first, last]), times
        :attr:`tests` (Bonferroni: the chance of such a group anywhere in the data)."""
        return min(1.0, self.tests * float(poisson.sf(anomalies - 1, self.expected(services, first_ns, last_ns))))


def background_rates(service: np.ndarray, time_ns: np.ndarray, counts: np.ndarray) -> BackgroundRates:
    """Each service's background anomaly rate from its alerts (service, first seen, count)."""
    if len(service) == 0:
        return BackgroundRates()
    hour = time_ns // _NS_PER_HOUR
    hours = int(hour.max() - hour.min()) + 1
    frame = pd.DataFrame({"s": service, "h": hour - hour.min(), "c": counts})
    rates = {}
    for name, group in frame.groupby("s", sort=True):
        hourly = np.bincount(group["h"].to_numpy(), weights=group["c"].to_numpy(), minlength=hours)
        quiet = np.sort(hourly)[:hours - max(1, math.ceil((1 - QUIET_SHARE) * hours))]
        rates[str(name)] = float(quiet.mean()) / 60.0 if len(quiet) else 0.0
    return BackgroundRates(rates, hours * 60.0)
