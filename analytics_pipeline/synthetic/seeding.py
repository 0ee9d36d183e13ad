"""Seeding the ``logs`` collection with synthetic logs (the demo, the tests, the benchmarks)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pandas as pd
from pymongo.collection import Collection

from analytics_pipeline.core.logs import store
from analytics_pipeline.core.logs.store import InsertReport
from analytics_pipeline.synthetic.generator import generate_logs, iter_document_batches

SEED_BATCH = 10_000  # small enough for a progress bar that moves every few seconds


def synthetic_window(days: float, logs_per_minute: float, seed: int = 42,
                     end: datetime | None = None) -> pd.DataFrame:
    """``days`` of labelled synthetic logs ending at ``end`` (default: this minute).

    The whole period is generated at once (about 500 MB at 1M logs) so that incidents may span
    midnight.
    """
    end = end or datetime.now(timezone.utc).replace(second=0, microsecond=0)
    return generate_logs(end - timedelta(days=days), end, logs_per_minute=logs_per_minute, seed=seed)


def insert_synthetic(collection: Collection, frame: pd.DataFrame,
                     on_batch: Callable[[int], None] | None = None) -> InsertReport:
    """Insert a synthetic frame in batches; ``on_batch(n)`` after each (for a progress bar)."""
    store.ensure_log_indexes(collection)
    report = InsertReport(received=len(frame))
    for batch in iter_document_batches(frame, batch_size=SEED_BATCH):
        inserted, duplicates, _ = store.insert_documents(collection, batch)
        report.inserted += inserted
        report.duplicates += duplicates
        if on_batch is not None:
            on_batch(len(batch))
    return report


def seed_synthetic(collection: Collection, days: float, logs_per_minute: float, seed: int = 42,
                   end: datetime | None = None) -> InsertReport:
    """Generate ``days`` of labelled synthetic logs ending at ``end`` (now) and insert them."""
    return insert_synthetic(collection, synthetic_window(days, logs_per_minute, seed, end))
