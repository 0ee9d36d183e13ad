"""Seeding rate and the 30-day window pull of 1M documents, against the local server.

The raw-cursor and bare-pymongoarrow figures are measured in the same run so that the share of
the time spent in the server (rather than in our code) is visible.
"""
from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pymongo  # noqa: E402

from analytics_pipeline.local import mongo_server as local_mongo  # noqa: E402
from analytics_pipeline.local.processes import free_port  # noqa: E402
from common import Figure, main, run_isolated  # noqa: E402

END = datetime(2026, 11, 15, tzinfo=timezone.utc)
DAYS = 30


def _seed(uri: str, n_target: int) -> tuple[int, float, float]:
    """Generate and insert about ``n_target`` logs over 30 days; (docs, generate s, insert s)."""
    from analytics_pipeline.core.logs import store as log_store
    from analytics_pipeline.synthetic.generator import generate_logs, to_documents

    col = pymongo.MongoClient(uri)["bench"]["logs"]
    col.drop()
    log_store.ensure_log_indexes(col)
    rate = n_target / (DAYS * 24 * 60)
    t0 = time.perf_counter()
    frame = generate_logs(END - timedelta(days=DAYS), END, logs_per_minute=rate, seed=7)
    gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    inserted, _, _ = log_store.insert_documents(col, to_documents(frame))
    return inserted, gen, time.perf_counter() - t0


def _pull_ours(uri: str) -> int:
    from analytics_pipeline.core.logs import store as log_store

    col = pymongo.MongoClient(uri)["bench"]["logs"]
    return len(log_store.read_window(col, END - timedelta(days=DAYS), END).logs)


def _pull_raw_cursor(uri: str) -> int:
    col = pymongo.MongoClient(uri)["bench"]["logs"]
    return sum(1 for _ in col.find({"timestamp": {"$gte": END - timedelta(days=DAYS), "$lt": END}}))


def _pull_bare_arrow(uri: str) -> int:
    from pymongoarrow.api import find_arrow_all

    from analytics_pipeline.core.logs.store import ARROW_SCHEMA

    col = pymongo.MongoClient(uri)["bench"]["logs"]
    return find_arrow_all(col, {"timestamp": {"$gte": END - timedelta(days=DAYS), "$lt": END}},
                          schema=ARROW_SCHEMA).num_rows


def run(quick: bool = False) -> list[Figure]:
    n = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        server = local_mongo.start(Path(tmp), port=free_port())
        try:
            inserted, gen_s, ins_s = _seed(server.uri, n)
            ours, ours_s, ours_rss = run_isolated(_pull_ours, server.uri)
            raw, raw_s, raw_rss = run_isolated(_pull_raw_cursor, server.uri)
            arrow, arrow_s, _ = run_isolated(_pull_bare_arrow, server.uri)
        finally:
            local_mongo.stop(Path(tmp))
    scale = f"{inserted:,} docs"
    return [
        Figure("synthetic generation", inserted / gen_s, "docs/s", note=scale),
        Figure("seeding insert rate (insert_many, unique log_id index)", inserted / ins_s, "docs/s", note=scale),
        Figure("window pull, our read_window (validated DataFrame)", ours_s, "s",
               goal="<= 20 s for 1M", passed=ours_s <= 20 * inserted / 1e6, note=f"{ours:,} rows"),
        Figure("window pull, peak RSS", ours_rss, "MB", goal="<= 1500 MB", passed=ours_rss <= 1500),
        Figure("window pull throughput", ours / ours_s, "docs/s"),
        Figure("baseline: bare pymongoarrow find_arrow_all", arrow_s, "s", note=f"{arrow:,} rows, no validation"),
        Figure("baseline: raw pymongo cursor (dicts, no pandas)", raw_s, "s", note=f"{raw:,} docs, peak {raw_rss:.0f} MB"),
        Figure("our overhead over bare pymongoarrow", ours_s / arrow_s, "x"),
    ]


if __name__ == "__main__":
    main(run)
