"""Incidents injected into normal traffic, each with its signature in latency, errors, volume or text.

Incidents of :data:`INCIDENT_TYPES` are planned one by one and applied on top of the traffic, their
logs labelled (``label`` 1.0, ``incident_id``, ``incident_type``), until about the requested share
of the logs is anomalous.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analytics_pipeline.synthetic.templates import INCIDENT_TEMPLATES, SERVICE_INDEX, SERVICES, SLOW_TEMPLATE
from analytics_pipeline.synthetic.traffic import DEPENDENTS, DEPS, N_SERVICES, NS_PER_MIN, NS_PER_MS, LogDraft

INCIDENT_TYPES: tuple[str, ...] = (
    "latency_spike", "error_rate_burst", "throughput_drop", "creeping_latency", "new_pattern",
    "cascading_failure",
)

# Incident durations in minutes, and the services each incident type can hit.
_DURATION = {"latency_spike": (30, 120), "error_rate_burst": (15, 60), "throughput_drop": (30, 120),
             "creeping_latency": (360, 960), "new_pattern": (30, 90), "cascading_failure": (30, 90)}
_HTTP_SERVICES = [i for i, s in enumerate(SERVICES) if s.routes]
_ELIGIBLE = {
    "latency_spike": list(range(N_SERVICES)),
    "error_rate_burst": _HTTP_SERVICES,
    "throughput_drop": [i for i in _HTTP_SERVICES if DEPS[i]],
    "creeping_latency": [i for i in _HTTP_SERVICES if i != SERVICE_INDEX["api-gateway"]],
    "new_pattern": list(range(N_SERVICES)),
    "cascading_failure": [i for i in range(N_SERVICES) if DEPENDENTS[i]],
}
# Labelled logs per normal log of the hit services in the window, to size incidents to the budget.
_LABEL_GAIN = {"error_rate_burst": 6.5, "throughput_drop": 0.07, "creeping_latency": 0.6,
               "new_pattern": 1.45, "cascading_failure": 2.0}
_GOLDEN = (math.sqrt(5) - 1) / 2  # low-discrepancy starts spread incidents over any period


@dataclass
class Incident:
    kind: str
    service: int
    start: int
    end: int
    labelled: int = 0
    failing: tuple[int, ...] = ()  # every service hit, the first one first


class IncidentInjector:
    """Plans incidents one by one and applies them to the traffic until the label budget is met."""

    def __init__(self, logs: LogDraft, t0: int, t1: int, rng: np.random.Generator) -> None:
        self.logs, self.t0, self.t1, self.rng = logs, t0, t1, rng
        self.keep = np.ones(len(logs.ts), dtype=bool)
        self.extra: list[LogDraft] = []
        self.incidents: list[Incident] = []

    def run(self, budget: float) -> None:
        rng, span = self.rng, self.t1 - self.t0
        labelled, offset = 0, rng.random()
        for k in range(10_000):
            if labelled >= 0.97 * budget or budget - labelled < 2:
                break
            if k % len(INCIDENT_TYPES) == 0:  # every type once per round, in a seeded order
                order = rng.permutation(len(INCIDENT_TYPES))
            kind = INCIDENT_TYPES[order[k % len(INCIDENT_TYPES)]]
            service = int(rng.choice(_ELIGIBLE[kind]))
            lo, hi = _DURATION[kind]
            duration = min(int(rng.uniform(lo, hi) * NS_PER_MIN), span)
            # Shrink an incident that would overshoot the budget (short periods, busy services).
            where = (offset + k * _GOLDEN) % 1.0
            expected = self._expected(kind, service, self.t0 + int(where * (span - duration)), duration)
            if expected > 1.3 * (budget - labelled):
                duration = min(span, max(3 * NS_PER_MIN, int(duration * (budget - labelled) / expected)))
            duration -= duration % NS_PER_MS  # whole milliseconds, like the traffic (and BSON)
            start = -(-(self.t0 + int(where * (span - duration))) // NS_PER_MS) * NS_PER_MS
            inc = Incident(kind, service, start, start + duration, failing=(service,))
            inc.labelled = getattr(self, "_" + kind)(len(self.incidents), inc)
            self.incidents.append(inc)
            labelled += inc.labelled

    def _expected(self, kind: str, service: int, start: int, duration: int) -> float:
        """Rough number of logs an incident would label (its services' traffic in the window)."""
        services = [service] + (DEPENDENTS[service] if kind == "cascading_failure" else [])
        return _LABEL_GAIN.get(kind, 1.0) * len(self._positions(start, start + duration, services))

    def _positions(self, start: int, end: int, services: list[int]) -> np.ndarray:
        """Unlabelled, kept normal logs of ``services`` in [start, end)."""
        lo, hi = np.searchsorted(self.logs.ts, [start, end])
        pos = lo + np.flatnonzero(np.isin(self.logs.service[lo:hi], services))
        return pos[(self.logs.inc[pos] < 0) & self.keep[pos]]

    def _relabel(self, pos: np.ndarray, kind: str, fraction: float) -> np.ndarray:
        """Switch a random ``fraction`` of ``pos`` to the incident's lines; returns those positions."""
        chosen = pos[self.rng.random(len(pos)) < fraction]
        ids, p = INCIDENT_TEMPLATES[kind]
        self.logs.tid[chosen] = self.rng.choice(ids, len(chosen), p=p)
        return chosen

    def _add(self, n: int, service: int, start: int, end: int, kind: str, k: int,
             rt_factor: float = 1.0, peer: int | None = None, sev: float = 0.0) -> int:
        """Extra logs an incident emits (error storms, new lines); all labelled with ``k``."""
        rng = self.rng
        end = min(end, self.t1)
        if n <= 0 or end - start < NS_PER_MS:
            return 0
        ts = start + rng.integers(0, (end - start) // NS_PER_MS, n) * NS_PER_MS
        extra = LogDraft.draw(ts, np.full(n, service, dtype=np.int32), rng)
        ids, p = INCIDENT_TEMPLATES[kind]
        extra.tid[:] = rng.choice(ids, n, p=p)
        extra.rt *= rt_factor
        if peer is not None:
            extra.peer[:] = peer
        extra.sev[:] = sev
        extra.inc[:] = k
        self.extra.append(extra)
        return n

    def _latency_spike(self, k: int, inc: Incident) -> int:
        pos = self._positions(inc.start, inc.end, [inc.service])
        self.logs.rt[pos] *= self.rng.uniform(5, 20) * self.rng.lognormal(0, 0.25, len(pos))
        self.logs.tid[pos[self.rng.random(len(pos)) < 0.3]] = SLOW_TEMPLATE[inc.service]
        self.logs.inc[pos] = k
        return len(pos)

    def _error_rate_burst(self, k: int, inc: Incident) -> int:
        pos = self._positions(inc.start, inc.end, [inc.service])
        self._relabel(pos, "error", self.rng.uniform(0.5, 0.8))
        self.logs.inc[pos] = k
        n_extra = self.rng.poisson(max(len(pos), 1) * self.rng.uniform(3, 8))
        return len(pos) + self._add(n_extra, inc.service, inc.start, inc.end, "error", k)

    def _throughput_drop(self, k: int, inc: Incident) -> int:
        pos = self._positions(inc.start, inc.end, [inc.service])
        survives = self.rng.random(len(pos)) < self.rng.uniform(0.03, 0.1)
        self.keep[pos[~survives]] = False
        # The few logs still emitted are the service struggling: timeouts, retries, saturation.
        survivors = pos[survives]
        ids, p = INCIDENT_TEMPLATES["timeout"]
        self.logs.tid[survivors] = self.rng.choice(ids, len(survivors), p=p)
        self.logs.inc[survivors] = k
        return len(survivors)

    def _creeping_latency(self, k: int, inc: Incident) -> int:
        pos = self._positions(inc.start, inc.end, [inc.service])
        progress = (self.logs.ts[pos] - inc.start) / (inc.end - inc.start)
        peak = self.rng.uniform(6, 15)  # a leak: latency grows exponentially until the OOM kill
        self.logs.rt[pos] *= peak ** progress * self.rng.lognormal(0, 0.1, len(pos))
        self.logs.sev[pos] = progress
        elevated = pos[peak ** progress >= 2.0]  # only the clearly elevated part is labelled
        gc = elevated[self.rng.random(len(elevated)) < 0.3 * self.logs.sev[elevated] ** 2]
        self.logs.tid[gc] = INCIDENT_TEMPLATES["gc"][0][0]
        self.logs.inc[elevated] = k
        return len(elevated) + self._add(1, inc.service, inc.end - NS_PER_MS, inc.end, "oom", k, sev=1.0)

    def _new_pattern(self, k: int, inc: Incident) -> int:
        pos = self._positions(inc.start, inc.end, [inc.service])
        novel = self._relabel(pos, "novel", self.rng.uniform(0.3, 0.6))
        self.logs.inc[novel] = k
        n_extra = self.rng.poisson(max(len(pos), 1) * self.rng.uniform(0.5, 1.5))
        return len(novel) + self._add(n_extra, inc.service, inc.start, inc.end, "novel", k)

    def _cascading_failure(self, k: int, inc: Incident) -> int:
        """The root fails; its dependents fail a few minutes later, then their dependents."""
        rng, n = self.rng, 0
        tier, start, end = [(inc.service, inc.service)], inc.start, inc.end  # (service, what it blames)
        for depth in range(3):
            kind = "root_failure" if depth == 0 else "upstream_failure"
            inc.failing += tuple(service for service, _ in tier if service not in inc.failing)
            for service, parent in tier:
                pos = self._positions(start, end, [service])
                self._relabel(pos, kind, 0.6 if depth == 0 else 0.5)
                self.logs.rt[pos] *= rng.uniform(5, 15) if depth == 0 else rng.uniform(3, 8)
                self.logs.peer[pos] = parent
                self.logs.inc[pos] = k
                n_extra = rng.poisson(max(len(pos), 1) * (1.5 if depth == 0 else 0.8))
                n += len(pos) + self._add(n_extra, service, start, end, kind, k, 5.0, parent)
            inc.end = end
            callers = {d: s for s, _ in tier for d in DEPENDENTS[s] if d not in inc.failing}
            tier = list(callers.items())
            delay = int(rng.uniform(120, 360)) * 1000 * NS_PER_MS
            start, end = start + delay, min(end + delay, self.t1)
            if not tier or start >= self.t1:
                break
        return n

    def finish(self) -> tuple[LogDraft, list[Incident]]:
        """All logs in time order, incidents renumbered by start (inc-0001 is the first);
        incidents that labelled nothing (e.g. a drop on an already quiet night) are left out."""
        parts = [self.logs.take(np.flatnonzero(self.keep))] + self.extra
        merged = LogDraft(*(np.concatenate([getattr(p, f) for p in parts]) for f in LogDraft.__dataclass_fields__))
        merged = merged.take(np.argsort(merged.ts, kind="stable"))
        used = sorted((i for i, inc in enumerate(self.incidents) if inc.labelled),
                      key=lambda i: self.incidents[i].start)
        renumber = np.full(len(self.incidents) + 1, -1, dtype=np.int32)
        renumber[used] = np.arange(len(used))
        merged.inc = renumber[merged.inc]  # -1 maps to the trailing -1
        return merged, [self.incidents[i] for i in used]
