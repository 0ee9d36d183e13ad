"""Ranked root-cause candidates of an incident, each with the evidence for it.

Candidates are the incident's services, and the services its alerts name without alerting
themselves (a database that logs nothing while every caller says "Giving up on db-postgres").
Each is scored from three kinds of evidence, each 0-1:

- **failed first** (weight 0.35): 1 for the service whose first alert came first, falling
  linearly to 0 for the last to start; 0 for a named service with no alert of its own;
- **named** (0.4): the share of the other services whose alerts name it in their messages
  (what the callers say outweighs who happened to log first: a silent database named by
  every caller is the likelier cause than the first caller);
- **upstream** (0.25): the share of the other services it leads by a learned dependency
  (core.alerting.dependencies: its anomalies start before theirs more often than chance).

Services whose trouble began more than a correlation window before the candidate's own first
alert count for neither "named" nor "upstream": it cannot have caused what started before it.

The incident's ``confidence`` is the top candidate's share of the top two scores (0.5: a tie,
1.0: no rival; a single-service incident has no rival).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from analytics_pipeline.core.alerting.dependencies import DependencyGraph
from analytics_pipeline.core.markdown import shorten

WEIGHTS = {"first": 0.35, "named": 0.4, "upstream": 0.25}


@dataclass(frozen=True)
class RootCauseCandidate:
    """A service that may have started the incident, its score (0-1) and why."""

    service: str
    score: float
    evidence: tuple[str, ...]
    first_alert_time: datetime | None  # None: it raised no alert of its own
    first_signal: str  # the template of its first alert, or the line that named it


def utc_datetime(ns: int) -> datetime:
    """Epoch nanoseconds as an aware UTC datetime (whole milliseconds, as BSON keeps them)."""
    return pd.Timestamp(int(ns) // 10**6 * 10**6, tz="UTC").to_pydatetime()


def _minutes(delta_ns: float) -> str:
    return f"{delta_ns / 6e10:.1f} min"


def _onsets(own: np.ndarray, first_ns: np.ndarray) -> dict[str, int]:
    """Each service's first alert time, earliest first."""
    onset: dict[str, int] = {}
    for service, t in zip(own.tolist(), first_ns.tolist()):
        if t < onset.get(service, t + 1):
            onset[service] = t
    return dict(sorted(onset.items(), key=lambda kv: (kv[1], kv[0])))


def rank_root_causes(own: np.ndarray, first_ns: np.ndarray, templates: np.ndarray, samples: np.ndarray,
                     named: np.ndarray, services: tuple[str, ...], graph: DependencyGraph,
                     max_candidates: int) -> list[RootCauseCandidate]:
    """Candidates for the incident whose alerts have these services (``own``), first-seen times,
    templates and first sample messages, best first. ``named`` is those alerts' rows of the
    alerts x ``services`` matrix of named services."""
    onset = _onsets(own, first_ns)
    window_ns = int(graph.window_minutes * 6e10)
    alerting = list(onset)
    t0, t_last = onset[alerting[0]], onset[alerting[-1]]
    silent = [services[c] for c in np.flatnonzero(named.any(axis=0)) if services[c] not in onset]
    candidates = []
    for service in alerting + sorted(silent):
        others = [s for s in alerting if s != service]
        # A service cannot have caused what began well before it did: those others neither
        # name it nor follow it as evidence.
        after = [s for s in others if service not in onset or onset[s] >= onset[service] - window_ns]
        evidence, parts = [], {"first": 0.0, "named": 0.0, "upstream": 0.0}
        signal = ""
        if service in onset:
            start = onset[service]
            if not others:
                parts["first"] = 1.0
                evidence.append("the only service with alerts in this incident")
            else:
                parts["first"] = 1.0 - (start - t0) / (t_last - t0) if t_last > t0 else 1.0
                if start == t0:
                    later = [(t, s) for s, t in onset.items() if t > start]
                    evidence.append(f"failed first: {pd.Timestamp(start, tz='UTC'):%Y-%m-%d %H:%M:%S}"
                                    + (f", {_minutes(later[0][0] - start)} before {later[0][1]}" if later else ""))
                else:
                    evidence.append(f"started {_minutes(start - t0)} after {alerting[0]}")
            rows = np.flatnonzero(own == service)
            signal = str(templates[rows[np.argmin(first_ns[rows])]])
        else:
            evidence.append("raised no alert of its own in this incident")
        if others:
            naming_rows = np.flatnonzero(named[:, services.index(service)] & np.isin(own, after))
            namers = sorted(set(own[naming_rows].tolist()))
            if namers:
                parts["named"] = len(namers) / len(others)
                signal = signal or str(templates[naming_rows[0]])
                evidence.append(f"named in the messages of {len(namers)} of {len(others)} other services "
                                f"({', '.join(namers)}): \"{shorten(str(samples[naming_rows[0]]), 90)}\"")
            led = [(s, e) for s in after if (e := graph.leads(service, s)) is not None]
            if led:
                parts["upstream"] = len(led) / len(others)
                s, e = led[0]
                evidence.append(f"upstream of {len(led)} of {len(others)} other services by learned dependency "
                                f"(e.g. {service} -> {s}: starts {e.lag_minutes:.1f} min earlier, "
                                f"{e.co_occurrences} of {e.episodes} episodes)")
        score = sum(WEIGHTS[k] * v for k, v in parts.items())
        when = utc_datetime(onset[service]) if service in onset else None
        candidates.append(RootCauseCandidate(service, round(float(score), 4), tuple(evidence), when, signal))
    candidates.sort(key=lambda c: (-c.score, c.first_alert_time is None, c.first_alert_time or datetime.max, c.service))
    return candidates[:max_candidates]


def confidence(candidates: list[RootCauseCandidate]) -> float:
    """The top candidate's share of the top two scores (1.0 without a rival)."""
    if len(candidates) < 2 or candidates[0].score <= 0:
        return 1.0 if candidates and candidates[0].score > 0 else 0.0
    return round(candidates[0].score / (candidates[0].score + candidates[1].score), 4)
