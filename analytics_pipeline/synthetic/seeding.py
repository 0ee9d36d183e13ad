"""Seeding the ``logs`` collection with synthetic logs (the demo, the tests, the benchmarks)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pymongo.collection import Collection

from analytics_pipeline.core.logs import store
from analytics_pipeline.core.logs.store import InsertReport
from analytics_pipeline.synthetic.generator import generate_logs, iter_document_batches


def seed_synthetic(collection: Collection, days: float, logs_per_minute: float, seed: int = 42,
                   end: datetime | None = None) -> InsertReport:
    """Generate ``days`` of labelled synthetic logs ending at ``end`` (now) and insert them.

    The whole period is generated at once (about 500 MB at 1M logs) so that incidents may span
    midnight; documents are inserted in batches.
    """
    end = end or datetime.now(timezone.utc).replace(second=0, microsecond=0)
    store.ensure_log_indexes(collection)
    frame = generate_logs(end - timedelta(days=days), end, logs_per_minute=logs_per_minute, seed=seed)
    report = InsertReport(received=len(frame))
    for batch in iter_document_batches(frame):
        inserted, duplicates, _ = store.insert_documents(collection, batch)
        report.inserted += inserted
        report.duplicates += duplicates
    return report
