"""Deduplication: anomalies folded into alerts by fingerprint within a deduplication window.

The fingerprint of an anomaly is its (service, anomaly type, masked message template): the
same thing going wrong in the same place, whatever ids, numbers and hosts the line carried
(core.features.text.mask_messages). An alert opens at the first anomaly of a fingerprint and
takes every repeat within ``deduplication_window_minutes`` of that first one; the next repeat
after the window opens a new alert. Windows are anchored at the alert's first anomaly (not
extended by each repeat), so an alert spans at most one window and a fingerprint that keeps
firing for hours yields one alert per window, which clustering chains back into one incident.

An alert keeps its count, first and last seen, maximum severity and score, its ``weight`` (its
anomalies counted by :data:`SEVERITY_WEIGHTS`), up to
:data:`SAMPLES` sample messages and log ids, and a ``status``: the first alert of a fingerprint
in the batch is ``open``; later ones (it fired again after the window) are duplicates of it
(``duplicate_of``), ``acknowledged`` when ``auto_acknowledge_duplicates`` is on.

Ids are content hashes: the same anomalies give the same ``alert_id`` on every run.
"""
from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics_pipeline.core.alerting.anomalies import ALERT_SEVERITIES
from analytics_pipeline.core.features.text import mask_messages

ALERT_COLUMNS: tuple[str, ...] = (
    "alert_id", "fingerprint", "service", "anomaly_type", "template", "count", "first_seen", "last_seen",
    "max_severity", "max_score", "weight", "sample_messages", "sample_log_ids", "status", "duplicate_of",
)
STATUSES: tuple[str, ...] = ("open", "acknowledged")
SAMPLES = 3
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(ALERT_SEVERITIES)}
# How much one anomaly counts towards an incident (``clustering_min_samples``) and a dependency
# episode. The severity bands are equally spaced in units of normal traffic's score spread
# (core.detection.severity), and each band up is far rarer in healthy traffic, so the weight
# doubles per band: min_samples=2 takes two critical anomalies, four high ones or sixteen low.
# (Measured: a detector's false alarms come in short bursts of a few high ones, which equal
# weights turned into dozens of one-minute "incidents" a week; see bench/bench_alerting.py.)
SEVERITY_WEIGHTS: dict[str, float] = {"low": 0.125, "medium": 0.25, "high": 0.5, "critical": 1.0}
_WEIGHT_OF_RANK = np.array([SEVERITY_WEIGHTS[s] for s in ALERT_SEVERITIES])
_NS_PER_MINUTE = 60 * 10**9


@dataclass(frozen=True)
class AlertSet:
    """Alerts (:data:`ALERT_COLUMNS`, ordered by ``first_seen``) and, for every anomaly row that
    went in, the position of its alert (``alert_of``)."""

    alerts: pd.DataFrame
    alert_of: np.ndarray


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def fingerprint(service: str, anomaly_type: str, template: str) -> str:
    """The stable id of (service, anomaly type, masked template)."""
    return _hash(f"{service}\x1f{anomaly_type}\x1f{template}")


def empty_alerts() -> pd.DataFrame:
    """A frame with :data:`ALERT_COLUMNS` and no rows."""
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in ALERT_COLUMNS})
    frame["count"] = frame["count"].astype(np.int64)
    for c in ("max_score", "weight"):
        frame[c] = frame[c].astype(float)
    for c in ("first_seen", "last_seen"):
        frame[c] = pd.Series(dtype="datetime64[ns, UTC]")
    return frame


def _window_starts(keys: np.ndarray, ts: list[int], window_ns: int) -> np.ndarray:
    """For rows sorted by (key, time): True where a row opens an alert (anchored windows)."""
    starts = np.zeros(len(ts), dtype=bool)
    bounds = np.r_[0, np.flatnonzero(np.diff(keys)) + 1, len(ts)].tolist()
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        i = lo
        while i < hi:  # one step per alert, not per anomaly
            starts[i] = True
            i = bisect.bisect_left(ts, ts[i] + window_ns, i + 1, hi)
    return starts


def deduplicate(anomalies: pd.DataFrame, window_minutes: float, auto_acknowledge: bool = True) -> AlertSet:
    """Fold anomalies (core.alerting.anomalies.ANOMALY_COLUMNS) into alerts; see the module docstring."""
    n = len(anomalies)
    if n == 0:
        return AlertSet(empty_alerts(), np.zeros(0, dtype=np.int64))
    templates, template_code = mask_messages(anomalies["message"].to_numpy(dtype=object))
    service = anomalies["service"].to_numpy(dtype=object)
    anomaly_type = anomalies["anomaly_type"].to_numpy(dtype=object)
    key = pd.DataFrame({"s": service, "t": anomaly_type, "m": template_code}).groupby(
        ["s", "t", "m"], sort=False).ngroup().to_numpy()
    ts = pd.DatetimeIndex(anomalies["timestamp"]).as_unit("ns").asi8
    order = np.lexsort((ts, key))
    sorted_ts = ts[order]
    starts = _window_starts(key[order], sorted_ts.tolist(), int(window_minutes * _NS_PER_MINUTE))
    first = np.flatnonzero(starts)
    rank = SEVERITY_RANK.get
    severity = np.fromiter((rank(s, 0) for s in anomalies["severity"].to_numpy(dtype=object)), np.int64, n)[order]
    score = anomalies["anomaly_score"].to_numpy(dtype=float)[order]
    sizes = np.diff(np.r_[first, n])
    row = order[first]
    prints = {k: fingerprint(service[r], anomaly_type[r], templates[template_code[r]])
              for k, r in zip(key[row].tolist(), row.tolist())}
    alert_fp = [prints[k] for k in key[row].tolist()]
    messages, log_ids = anomalies["message"].to_numpy(dtype=object), anomalies["log_id"].to_numpy(dtype=object)
    samples = [order[f:f + min(c, SAMPLES)] for f, c in zip(first.tolist(), sizes.tolist())]
    alerts = pd.DataFrame({
        "fingerprint": alert_fp, "service": service[row], "anomaly_type": anomaly_type[row],
        "template": templates[template_code[row]], "count": sizes.astype(np.int64),
        "first_seen": sorted_ts[first], "last_seen": np.maximum.reduceat(sorted_ts, first),
        "max_severity": np.asarray(ALERT_SEVERITIES, dtype=object)[np.maximum.reduceat(severity, first)],
        "max_score": np.fmax.reduceat(score, first),
        "weight": np.add.reduceat(_WEIGHT_OF_RANK[severity], first),
        "sample_messages": [messages[s].tolist() for s in samples],
        "sample_log_ids": [log_ids[s].tolist() for s in samples],
    })
    alerts["alert_id"] = [f"al-{_hash(f'{p}/{t}')}" for p, t in zip(alert_fp, alerts["first_seen"].tolist())]
    arrangement = np.lexsort((alerts["fingerprint"].to_numpy(), alerts["first_seen"].to_numpy()))
    alerts = alerts.iloc[arrangement].reset_index(drop=True)
    position = np.empty(len(arrangement), dtype=np.int64)
    position[arrangement] = np.arange(len(arrangement))
    alert_of = np.empty(n, dtype=np.int64)
    alert_of[order] = position[np.cumsum(starts) - 1]
    for c in ("first_seen", "last_seen"):
        alerts[c] = pd.to_datetime(alerts[c], utc=True)
    _set_status(alerts, auto_acknowledge)
    return AlertSet(alerts[list(ALERT_COLUMNS)], alert_of)


def _set_status(alerts: pd.DataFrame, auto_acknowledge: bool) -> None:
    """The first alert of a fingerprint is open; later ones are its duplicates."""
    first_id = alerts.groupby("fingerprint", sort=False)["alert_id"].transform("first")
    repeat = first_id != alerts["alert_id"]
    alerts["duplicate_of"] = first_id.where(repeat, None).astype(object)
    alerts["status"] = np.where(repeat & auto_acknowledge, "acknowledged", "open").astype(object)
