"""Replacing a 100k-document partition: atomic (new set, pointer switch, cleanup) against the
delete-then-insert it replaced, side by side on the same local server.

Both re-write a partition that already holds 100k documents (the weekly re-run). "Extra storage
during the switch" is what the collection holds beyond one copy of the partition at the worst
moment: for the atomic write, just before the pointer switches (both sets present); for
delete-then-insert, nothing (but readers see an empty, then half-filled, partition meanwhile).
"""
from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bson  # noqa: E402
import pymongo  # noqa: E402

from analytics_pipeline.core.partition_store import replace_partition  # noqa: E402
from analytics_pipeline.local import mongo_server as local_mongo  # noqa: E402
from analytics_pipeline.local.processes import free_port  # noqa: E402
from common import Figure, main  # noqa: E402

BATCH = 10_000
PARTITION = "2026-11-08"


def _documents(n: int) -> list[dict]:
    """Anomaly-sized documents (the fields of the anomalies collection, typical lengths)."""
    return [{"log_id": f"log-{i:08d}", "service": f"service-{i % 10}", "is_anomaly": True,
             "anomaly_score": (i % 997) / 997, "severity": "high", "confidence": 0.8,
             "anomaly_type": "latency_spike", "message": f"GET /api/v1/orders/{i} took {i % 5000} ms",
             "contributors": [{"feature": "response_time", "value": i % 5000, "share": 0.6}],
             "recommended_actions": ["check the upstream dependency"], "model_version": 3}
            for i in range(n)]


def _batches(docs: list[dict]) -> Iterator[list[dict]]:
    for start in range(0, len(docs), BATCH):
        yield docs[start:start + BATCH]


def _atomic(col: pymongo.collection.Collection, docs: list[dict]) -> tuple[float, int]:
    peak = 0

    def batches() -> Iterator[list[dict]]:
        nonlocal peak
        yield from _batches(docs)
        peak = col.count_documents({})  # every new document is in; the pointer has not moved yet

    t0 = time.perf_counter()
    replace_partition(col, PARTITION, batches())
    return time.perf_counter() - t0, peak


def _delete_then_insert(col: pymongo.collection.Collection, docs: list[dict]) -> float:
    t0 = time.perf_counter()
    col.delete_many({"partition": PARTITION})
    for batch in _batches(docs):
        col.insert_many([{**d, "partition": PARTITION} for d in batch], ordered=False)
    return time.perf_counter() - t0


def run(quick: bool = False) -> list[Figure]:
    n = 20_000 if quick else 100_000
    docs = _documents(n)
    doc_bytes = sum(len(bson.encode(d)) for d in docs[:1000]) / 1000
    with tempfile.TemporaryDirectory() as tmp:
        server = local_mongo.start(Path(tmp), port=free_port())
        try:
            db = pymongo.MongoClient(server.uri)["bench"]
            atomic_col, plain_col = db["atomic"], db["plain"]
            plain_col.create_index("partition")
            _atomic(atomic_col, docs)  # the partition as last week's run left it
            _delete_then_insert(plain_col, docs)
            atomic_s, peak = _atomic(atomic_col, docs)
            plain_s = _delete_then_insert(plain_col, docs)
            assert atomic_col.count_documents({}) == plain_col.count_documents({}) == n
        finally:
            local_mongo.stop(Path(tmp))
    extra = peak - n
    return [
        Figure("delete-then-insert (not safe for readers)", plain_s, "s", note=f"{n:,} documents re-written"),
        Figure("atomic replace_partition", atomic_s, "s", note=f"{atomic_s / plain_s:.2f}x delete-then-insert"),
        Figure("extra documents held during the switch (atomic)", extra, "docs",
               goal=f"<= {n:,} (one copy)", passed=extra <= n,
               note=f"~{extra * doc_bytes / 2**20:.0f} MB of BSON at {doc_bytes:.0f} B/doc; 0 for delete-then-insert"),
    ]


if __name__ == "__main__":
    main(run)
