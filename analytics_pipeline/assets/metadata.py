"""Turning the core's plain summaries into Dagster metadata values."""
from __future__ import annotations

from typing import Any, Mapping

from dagster import MetadataValue


def to_metadata(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Scalars stay scalars; dicts and lists become JSON metadata (shown as tables in the UI)."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if isinstance(value, (dict, list)):
            out[key] = MetadataValue.json(value)
        elif value is None:
            out[key] = MetadataValue.text("—")
        else:
            out[key] = value
    return out


def counts_table(counts: Mapping[str, int], key_name: str) -> MetadataValue:
    """A small Markdown table of counts, largest first."""
    rows = sorted(counts.items(), key=lambda kv: -kv[1])
    lines = [f"| {key_name} | count |", "|---|---:|"] + [f"| {k} | {v:,} |" for k, v in rows]
    return MetadataValue.md("\n".join(lines) if rows else "_none_")
