"""Realistic, labelled synthetic logs for the demo, the tests and the benchmarks.

Traffic is a non-homogeneous Poisson process with diurnal and weekly seasonality over the
services of :mod:`analytics_pipeline.synthetic_templates`, each with its own traffic share,
latency distribution and dependencies. Incidents of :data:`INCIDENT_TYPES` are injected on top
and their logs labelled (``label`` 1.0, ``incident_id``, ``incident_type``) until about
``anomaly_fraction`` of the logs are anomalous. Everything is vectorized with numpy and
deterministic for a seed: 1M logs take a few seconds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Iterator

import numpy as np
import pandas as pd

from analytics_pipeline.core.schema import LEVELS
from analytics_pipeline.synthetic_templates import (
    HOSTS, INCIDENT_TEMPLATES, PODS_PER_SERVICE, SERVICE_INDEX, SERVICE_NAMES, SERVICE_TEMPLATES,
    SERVICES, SLOW_TEMPLATE, TEMPLATE_HAS_REQUEST, TEMPLATE_LEVEL, TEMPLATE_RT_FACTOR, Context,
    draw_status, render_messages,
)

__all__ = ["SERVICES", "INCIDENT_TYPES", "generate_logs", "generate_logs_with_incidents", "to_documents",
           "iter_document_batches"]

INCIDENT_TYPES: tuple[str, ...] = (
    "latency_spike", "error_rate_burst", "throughput_drop", "creeping_latency", "new_pattern",
    "cascading_failure",
)

_NS_PER_MS = 1_000_000
_NS_PER_MIN = 60_000 * _NS_PER_MS
_N_SERVICES = len(SERVICES)
_SHARES = np.array([s.share for s in SERVICES]) / sum(s.share for s in SERVICES)
_MEDIAN = np.array([s.median_ms for s in SERVICES])
_SIGMA = np.array([s.sigma for s in SERVICES])
_DEPS = [[SERVICE_INDEX[d] for d in s.deps] for s in SERVICES]
_DEPENDENTS = [[j for j in range(_N_SERVICES) if i in _DEPS[j]] for i in range(_N_SERVICES)]
# Services whose callers' lines can name them (the "dep" of a normal line): dependencies,
# or the callers for leaf services such as the database.
_PEERS = [d or _DEPENDENTS[i] for i, d in enumerate(_DEPS)]

# Incident durations in minutes, and the services each incident type can hit.
_DURATION = {"latency_spike": (30, 120), "error_rate_burst": (15, 60), "throughput_drop": (30, 120),
             "creeping_latency": (360, 960), "new_pattern": (30, 90), "cascading_failure": (30, 90)}
_HTTP_SERVICES = [i for i, s in enumerate(SERVICES) if s.routes]
_ELIGIBLE = {
    "latency_spike": list(range(_N_SERVICES)),
    "error_rate_burst": _HTTP_SERVICES,
    "throughput_drop": [i for i in _HTTP_SERVICES if _DEPS[i]],
    "creeping_latency": [i for i in _HTTP_SERVICES if i != SERVICE_INDEX["api-gateway"]],
    "new_pattern": list(range(_N_SERVICES)),
    "cascading_failure": [i for i in range(_N_SERVICES) if _DEPENDENTS[i]],
}
# Labelled logs per normal log of the hit services in the window, to size incidents to the budget.
_LABEL_GAIN = {"error_rate_burst": 6.5, "throughput_drop": 0.07, "creeping_latency": 0.6,
               "new_pattern": 1.45, "cascading_failure": 2.0}
_GOLDEN = (math.sqrt(5) - 1) / 2  # low-discrepancy starts spread incidents over any period


def _daily_profile(hour: np.ndarray) -> np.ndarray:
    """Relative volume by UTC hour: night trough, morning and afternoon business peaks, evening tail."""
    bump = lambda mu, width: np.exp(-(((hour - mu) / width) ** 2))  # noqa: E731
    return 0.22 + 1.0 * bump(10.5, 2.8) + 0.85 * bump(15.0, 3.0) + 0.3 * bump(20.5, 2.0)


_WEEKLY = np.array([1.12, 1.15, 1.15, 1.12, 1.05, 0.55, 0.45])  # Monday .. Sunday
# Normalized so that logs_per_minute is the average rate over a whole week.
_WEEK_MEAN = float(np.mean(_daily_profile(np.arange(1440) / 60 + 1 / 120)) * _WEEKLY.mean())


def _rate_per_minute(minutes: np.ndarray, logs_per_minute: float) -> np.ndarray:
    hour = (minutes % 1440) / 60 + 1 / 120
    weekday = (minutes // 1440 + 3) % 7  # 1970-01-01 was a Thursday
    return logs_per_minute * _daily_profile(hour) * _WEEKLY[weekday] / _WEEK_MEAN


def _to_ns(value: datetime) -> int:
    """Epoch nanoseconds; naive datetimes are taken as UTC, like BSON dates."""
    ts = pd.Timestamp(value)
    return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).value


@dataclass
class _Logs:
    """Column arrays of logs before rendering (one row per log)."""

    ts: np.ndarray       # epoch ns, whole milliseconds
    service: np.ndarray
    tid: np.ndarray      # template id
    rt: np.ndarray       # base latency times incident multipliers (template factor comes last)
    peer: np.ndarray
    host: np.ndarray
    sev: np.ndarray
    inc: np.ndarray      # incident number, -1 for normal traffic

    @classmethod
    def draw(cls, ts: np.ndarray, service: np.ndarray, rng: np.random.Generator) -> "_Logs":
        """Normal-traffic attributes for logs at ``ts`` from ``service``."""
        n = len(ts)
        tid = np.empty(n, dtype=np.int32)
        peer = np.empty(n, dtype=np.int32)
        for s in range(_N_SERVICES):
            idx = np.flatnonzero(service == s)
            ids, p = SERVICE_TEMPLATES[s]
            tid[idx] = rng.choice(ids, len(idx), p=p)
            peer[idx] = np.asarray(_PEERS[s])[rng.integers(0, len(_PEERS[s]), len(idx))]
        rt = _MEDIAN[service] * np.exp(_SIGMA[service] * rng.standard_normal(n))
        return cls(ts, service, tid, rt, peer, rng.integers(0, PODS_PER_SERVICE, n).astype(np.int8),
                   np.zeros(n), np.full(n, -1, dtype=np.int32))

    def take(self, idx: np.ndarray) -> "_Logs":
        return _Logs(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))


def _traffic(t0: int, t1: int, logs_per_minute: float, rng: np.random.Generator) -> _Logs:
    """Normal traffic: Poisson counts per minute at the seasonal rate, uniform inside the minute."""
    minutes = np.arange(t0 // _NS_PER_MIN, -(-t1 // _NS_PER_MIN), dtype=np.int64)
    rate = _rate_per_minute(minutes, logs_per_minute)
    # Hour-to-hour wobble: real traffic is over-dispersed compared with a pure Poisson process.
    hours = (minutes - minutes[0]) // 60
    rate = rate * rng.lognormal(0.0, 0.08, int(hours[-1]) + 1)[hours]
    counts = rng.poisson(rate)
    ts = np.repeat(minutes * _NS_PER_MIN, counts) + rng.integers(0, 60_000, int(counts.sum())) * _NS_PER_MS
    ts = np.sort(ts[(ts >= t0) & (ts < t1)])
    service = rng.choice(_N_SERVICES, len(ts), p=_SHARES).astype(np.int32)
    return _Logs.draw(ts, service, rng)


@dataclass
class _Incident:
    kind: str
    service: int
    start: int
    end: int
    labelled: int = 0
    failing: tuple[int, ...] = ()  # every service hit, the first one first


class _Injector:
    """Plans incidents one by one and applies them to the traffic until the label budget is met."""

    def __init__(self, logs: _Logs, t0: int, t1: int, rng: np.random.Generator) -> None:
        self.logs, self.t0, self.t1, self.rng = logs, t0, t1, rng
        self.keep = np.ones(len(logs.ts), dtype=bool)
        self.extra: list[_Logs] = []
        self.incidents: list[_Incident] = []

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
            duration = min(int(rng.uniform(lo, hi) * _NS_PER_MIN), span)
            # Shrink an incident that would overshoot the budget (short periods, busy services).
            where = (offset + k * _GOLDEN) % 1.0
            expected = self._expected(kind, service, self.t0 + int(where * (span - duration)), duration)
            if expected > 1.3 * (budget - labelled):
                duration = min(span, max(3 * _NS_PER_MIN, int(duration * (budget - labelled) / expected)))
            duration -= duration % _NS_PER_MS  # whole milliseconds, like the traffic (and BSON)
            start = -(-(self.t0 + int(where * (span - duration))) // _NS_PER_MS) * _NS_PER_MS
            inc = _Incident(kind, service, start, start + duration, failing=(service,))
            inc.labelled = getattr(self, "_" + kind)(len(self.incidents), inc)
            self.incidents.append(inc)
            labelled += inc.labelled

    def _expected(self, kind: str, service: int, start: int, duration: int) -> float:
        """Rough number of logs an incident would label (its services' traffic in the window)."""
        services = [service] + (_DEPENDENTS[service] if kind == "cascading_failure" else [])
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
        if n <= 0 or end - start < _NS_PER_MS:
            return 0
        ts = start + rng.integers(0, (end - start) // _NS_PER_MS, n) * _NS_PER_MS
        extra = _Logs.draw(ts, np.full(n, service, dtype=np.int32), rng)
        ids, p = INCIDENT_TEMPLATES[kind]
        extra.tid[:] = rng.choice(ids, n, p=p)
        extra.rt *= rt_factor
        if peer is not None:
            extra.peer[:] = peer
        extra.sev[:] = sev
        extra.inc[:] = k
        self.extra.append(extra)
        return n

    def _latency_spike(self, k: int, inc: _Incident) -> int:
        pos = self._positions(inc.start, inc.end, [inc.service])
        self.logs.rt[pos] *= self.rng.uniform(5, 20) * self.rng.lognormal(0, 0.25, len(pos))
        self.logs.tid[pos[self.rng.random(len(pos)) < 0.3]] = SLOW_TEMPLATE[inc.service]
        self.logs.inc[pos] = k
        return len(pos)

    def _error_rate_burst(self, k: int, inc: _Incident) -> int:
        pos = self._positions(inc.start, inc.end, [inc.service])
        self._relabel(pos, "error", self.rng.uniform(0.5, 0.8))
        self.logs.inc[pos] = k
        n_extra = self.rng.poisson(max(len(pos), 1) * self.rng.uniform(3, 8))
        return len(pos) + self._add(n_extra, inc.service, inc.start, inc.end, "error", k)

    def _throughput_drop(self, k: int, inc: _Incident) -> int:
        pos = self._positions(inc.start, inc.end, [inc.service])
        survives = self.rng.random(len(pos)) < self.rng.uniform(0.03, 0.1)
        self.keep[pos[~survives]] = False
        # The few logs still emitted are the service struggling: timeouts, retries, saturation.
        survivors = pos[survives]
        ids, p = INCIDENT_TEMPLATES["timeout"]
        self.logs.tid[survivors] = self.rng.choice(ids, len(survivors), p=p)
        self.logs.inc[survivors] = k
        return len(survivors)

    def _creeping_latency(self, k: int, inc: _Incident) -> int:
        pos = self._positions(inc.start, inc.end, [inc.service])
        progress = (self.logs.ts[pos] - inc.start) / (inc.end - inc.start)
        peak = self.rng.uniform(6, 15)  # a leak: latency grows exponentially until the OOM kill
        self.logs.rt[pos] *= peak ** progress * self.rng.lognormal(0, 0.1, len(pos))
        self.logs.sev[pos] = progress
        elevated = pos[peak ** progress >= 2.0]  # only the clearly elevated part is labelled
        gc = elevated[self.rng.random(len(elevated)) < 0.3 * self.logs.sev[elevated] ** 2]
        self.logs.tid[gc] = INCIDENT_TEMPLATES["gc"][0][0]
        self.logs.inc[elevated] = k
        return len(elevated) + self._add(1, inc.service, inc.end - _NS_PER_MS, inc.end, "oom", k, sev=1.0)

    def _new_pattern(self, k: int, inc: _Incident) -> int:
        pos = self._positions(inc.start, inc.end, [inc.service])
        novel = self._relabel(pos, "novel", self.rng.uniform(0.3, 0.6))
        self.logs.inc[novel] = k
        n_extra = self.rng.poisson(max(len(pos), 1) * self.rng.uniform(0.5, 1.5))
        return len(novel) + self._add(n_extra, inc.service, inc.start, inc.end, "novel", k)

    def _cascading_failure(self, k: int, inc: _Incident) -> int:
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
            callers = {d: s for s, _ in tier for d in _DEPENDENTS[s] if d not in inc.failing}
            tier = list(callers.items())
            delay = int(rng.uniform(120, 360)) * 1000 * _NS_PER_MS
            start, end = start + delay, min(end + delay, self.t1)
            if not tier or start >= self.t1:
                break
        return n

    def finish(self) -> tuple[_Logs, list[_Incident]]:
        """All logs in time order, incidents renumbered by start (inc-0001 is the first);
        incidents that labelled nothing (e.g. a drop on an already quiet night) are left out."""
        parts = [self.logs.take(np.flatnonzero(self.keep))] + self.extra
        merged = _Logs(*(np.concatenate([getattr(p, f) for p in parts]) for f in _Logs.__dataclass_fields__))
        merged = merged.take(np.argsort(merged.ts, kind="stable"))
        used = sorted((i for i, inc in enumerate(self.incidents) if inc.labelled),
                      key=lambda i: self.incidents[i].start)
        renumber = np.full(len(self.incidents) + 1, -1, dtype=np.int32)
        renumber[used] = np.arange(len(used))
        merged.inc = renumber[merged.inc]  # -1 maps to the trailing -1
        return merged, [self.incidents[i] for i in used]


def generate_logs(start: datetime, end: datetime, logs_per_minute: float = 20.0, seed: int = 42,
                  anomaly_fraction: float = 0.03) -> pd.DataFrame:
    """Labelled synthetic logs in [start, end), in :data:`LOG_COLUMNS` order plus ``host``.

    ``logs_per_minute`` is the average rate over a week (business hours get more, nights and
    weekends less). Naive datetimes are taken as UTC. Same arguments, same frame.
    """
    return generate_logs_with_incidents(start, end, logs_per_minute, seed, anomaly_fraction)[0]


def generate_logs_with_incidents(start: datetime, end: datetime, logs_per_minute: float = 20.0,
                                 seed: int = 42, anomaly_fraction: float = 0.03
                                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`generate_logs` plus the ground-truth incident table, one row per ``incident_id``.

    Its ``start``/``end`` are the planned window (a cascade's ends with its last tier), which
    is wider than the labelled logs: a throughput drop is mostly missing logs, and a creeping
    latency is labelled only once clearly elevated. ``service`` is where it began, ``services``
    every service hit (comma-separated), ``n_logs`` its labelled logs.
    """
    t0, t1 = _to_ns(start), _to_ns(end)
    if t0 >= t1:
        raise ValueError(f"start must be before end, got start={start!r} end={end!r}")
    if not logs_per_minute > 0 or not math.isfinite(logs_per_minute):
        raise ValueError(f"logs_per_minute must be a positive number, got {logs_per_minute!r}")
    if not 0 <= anomaly_fraction < 0.5:
        raise ValueError(f"anomaly_fraction must be in [0, 0.5), got {anomaly_fraction!r}")
    # Independent streams, so changing one stage (e.g. a template) leaves the others' draws alone.
    traffic_rng, incident_rng, text_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    injector = _Injector(_traffic(t0, t1, logs_per_minute, traffic_rng), t0, t1, incident_rng)
    injector.run(anomaly_fraction * len(injector.logs.ts))
    logs, incidents = injector.finish()

    status = draw_status(logs.tid, text_rng)
    has_request = TEMPLATE_HAS_REQUEST[logs.tid]
    rt = np.where(has_request, np.round(logs.rt * TEMPLATE_RT_FACTOR[logs.tid], 1), np.nan)
    ctx = Context(rt=rt, status=status, service=logs.service, peer=logs.peer, sev=logs.sev, host=logs.host)
    message = render_messages(logs.tid, ctx, text_rng)

    minute = logs.ts // _NS_PER_MIN
    rank = np.arange(len(minute)) - np.searchsorted(minute, minute)  # position inside its minute
    ids = np.array([None] + [f"inc-{i + 1:04d}" for i in range(len(incidents))], dtype=object)
    types = np.array([None] + [inc.kind for inc in incidents], dtype=object)
    frame = pd.DataFrame({
        # Stable ids: the same minute and rank for the same seed name the same log across runs.
        "log_id": list(map(f"syn-{seed}-{{}}-{{}}".format, minute.tolist(), rank.tolist())),
        "timestamp": pd.DatetimeIndex(logs.ts.view("datetime64[ns]"), tz="UTC"),
        "level": np.asarray(LEVELS, dtype=object)[TEMPLATE_LEVEL[logs.tid]],
        "service": SERVICE_NAMES[logs.service],
        "message": message,
        "response_time": rt,
        "status_code": status,
        "label": (logs.inc >= 0).astype("float64"),
        "incident_id": ids[logs.inc + 1],
        "incident_type": types[logs.inc + 1],
        "host": HOSTS[logs.service * PODS_PER_SERVICE + logs.host],
    }, copy=False)  # the arrays are fresh; copying 1M-row object columns costs ~0.2 s
    table = pd.DataFrame({
        "incident_id": ids[1:], "incident_type": types[1:],
        "service": np.array([SERVICE_NAMES[inc.service] for inc in incidents], dtype=object),
        "services": np.array([",".join(SERVICE_NAMES[list(inc.failing)]) for inc in incidents], dtype=object),
        "start": pd.to_datetime(np.array([inc.start for inc in incidents], dtype=np.int64), utc=True),
        "end": pd.to_datetime(np.array([inc.end for inc in incidents], dtype=np.int64), utc=True),
        "n_logs": np.array([inc.labelled for inc in incidents], dtype=np.int64),
    })
    return frame, table


def to_documents(frame: pd.DataFrame) -> list[dict]:
    """MongoDB-ready documents: aware UTC datetimes, python scalars, absent fields left out.

    Integer-valued fields (``status_code``, ``label``) become ints; there is no ``_id`` (MongoDB
    assigns one; ``log_id`` is the stable key).
    """
    n = len(frame)
    values: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}
    for name in frame.columns:
        col = frame[name]
        missing[name] = col.isna().to_numpy()
        if isinstance(col.dtype, pd.DatetimeTZDtype) or col.dtype.kind == "M":
            stamps = pd.DatetimeIndex(col)
            stamps = stamps.tz_localize("UTC") if stamps.tz is None else stamps.tz_convert("UTC")
            values[name] = stamps.to_pydatetime()
        elif name in ("status_code", "label") and col.dtype.kind == "f":
            values[name] = np.where(missing[name], 0, col.to_numpy()).astype(np.int64).astype(object)
        elif col.dtype.kind in "fiub":
            values[name] = col.to_numpy().astype(object)  # python scalars: BSON has no numpy types
        else:
            values[name] = col.to_numpy(dtype=object)
    # Rows sharing the same set of present fields are built in one pass with a fixed key tuple;
    # the pattern is a bit set over the columns that have gaps at all.
    gappy = [name for name in frame.columns if missing[name].any()]
    pattern = np.zeros(n, dtype=object if len(gappy) > 62 else np.int64)
    for j, name in enumerate(gappy):
        pattern += missing[name].astype(np.int64) * (1 << j)
    out = np.empty(n, dtype=object)
    for code in np.unique(pattern):
        idx = np.flatnonzero(pattern == code)
        keys = tuple(c for c in frame.columns if c not in gappy or not (int(code) >> gappy.index(c)) & 1)
        out[idx] = [dict(zip(keys, row)) for row in zip(*(values[c][idx] for c in keys))]
    return out.tolist()


def iter_document_batches(frame: pd.DataFrame, batch_size: int = 50_000) -> Iterator[list[dict]]:
    """:func:`to_documents` in batches, so loading a large frame never holds every dict at once."""
    for first in range(0, len(frame), batch_size):
        yield to_documents(frame.iloc[first:first + batch_size])
