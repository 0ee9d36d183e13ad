"""Plain-Python summaries of a log window, for asset metadata, the CLI and notebooks."""
from __future__ import annotations

from typing import Any

from analytics_pipeline.core.logs.schema import LEVELS, ValidationResult


def window_summary(result: ValidationResult, start: Any, end: Any) -> dict[str, Any]:
    """Row count, time span, counts per level and service, bad-document counts."""
    logs = result.logs
    span = (logs["timestamp"].min(), logs["timestamp"].max()) if len(logs) else (None, None)
    return {
        "window_start": str(start),
        "window_end": str(end),
        "row_count": int(len(logs)),
        "documents_read": int(result.total),
        "first_log": str(span[0]) if span[0] is not None else None,
        "last_log": str(span[1]) if span[1] is not None else None,
        "level_counts": {lvl: int((logs["level"] == lvl).sum()) for lvl in LEVELS},
        "service_counts": {str(k): int(v) for k, v in logs["service"].value_counts().items()},
        "bad_documents": int(result.n_bad),
        "bad_ratio": float(result.bad_ratio),
        "bad_counts": {k: int(v) for k, v in result.bad_counts.items()},
        "labelled_anomalies": int((logs["label"] == 1).sum()),
    }
