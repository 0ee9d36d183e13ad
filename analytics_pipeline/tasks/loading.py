"""Importing a log file into MongoDB, with validation."""
from __future__ import annotations

from pathlib import Path

from pymongo.collection import Collection

from analytics_pipeline.core.logs import store
from analytics_pipeline.core.logs.files import read_log_file
from analytics_pipeline.core.logs.store import InsertReport


def load_file(collection: Collection, path: Path) -> InsertReport:
    """Validate and import a log file; bad records are counted by reason, good ones inserted."""
    store.ensure_log_indexes(collection)
    report = InsertReport()
    for chunk in read_log_file(path):
        report.add(store.insert_records(collection, chunk))
    return report
