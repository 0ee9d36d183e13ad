"""Realistic, labelled synthetic logs for the demo, the tests and the benchmarks.

Traffic is a non-homogeneous Poisson process with diurnal and weekly seasonality over the
services of :mod:`analytics_pipeline.synthetic.templates`, each with its own traffic share,
latency distribution and dependencies. Incidents of :data:`INCIDENT_TYPES` are injected on top
and their logs labelled (``label`` 1.0, ``incident_id``, ``incident_type``) until about
``anomaly_fraction`` of the logs are anomalous. Everything is vectorized with numpy and
deterministic for a seed: 1M logs take a few seconds.
"""
from __future__ import annotations

import math
from datetime import datetime
from typing import Iterator

import numpy as np
import pandas as pd

from analytics_pipeline.core.logs.schema import LEVELS
from analytics_pipeline.synthetic.incidents import INCIDENT_TYPES, IncidentInjector
from analytics_pipeline.synthetic.templates import (
    HOSTS, PODS_PER_SERVICE, SERVICE_NAMES, SERVICES, TEMPLATE_HAS_REQUEST, TEMPLATE_LEVEL, TEMPLATE_RT_FACTOR,
    Context, draw_status, render_messages,
)
from analytics_pipeline.synthetic.traffic import NS_PER_MIN, to_ns, traffic

__all__ = ["SERVICES", "INCIDENT_TYPES", "generate_logs", "generate_logs_with_incidents", "to_documents",
           "iter_document_batches"]


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
    t0, t1 = to_ns(start), to_ns(end)
    if t0 >= t1:
        raise ValueError(f"start must be before end, got start={start!r} end={end!r}")
    if not logs_per_minute > 0 or not math.isfinite(logs_per_minute):
        raise ValueError(f"logs_per_minute must be a positive number, got {logs_per_minute!r}")
    if not 0 <= anomaly_fraction < 0.5:
        raise ValueError(f"anomaly_fraction must be in [0, 0.5), got {anomaly_fraction!r}")
    # Independent streams, so changing one stage (e.g. a template) leaves the others' draws alone.
    traffic_rng, incident_rng, text_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    injector = IncidentInjector(traffic(t0, t1, logs_per_minute, traffic_rng), t0, t1, incident_rng)
    injector.run(anomaly_fraction * len(injector.logs.ts))
    logs, incidents = injector.finish()

    status = draw_status(logs.tid, text_rng)
    has_request = TEMPLATE_HAS_REQUEST[logs.tid]
    rt = np.where(has_request, np.round(logs.rt * TEMPLATE_RT_FACTOR[logs.tid], 1), np.nan)
    ctx = Context(rt=rt, status=status, service=logs.service, peer=logs.peer, sev=logs.sev, host=logs.host)
    message = render_messages(logs.tid, ctx, text_rng)

    minute = logs.ts // NS_PER_MIN
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
