"""Small Markdown tables for people: Dagster metadata, the CLI, notebooks and reports.

A leaf module (pandas only), so that every package can render what it summarizes the same way.
"""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

EMPTY = "_none_"


def shorten(value: Any, max_chars: int = 80) -> Any:
    """A long string cut to ``max_chars`` with an ellipsis; anything else as it is."""
    if isinstance(value, str) and len(value) > max_chars:
        return value[: max_chars - 1] + "…"
    return value


def frame_table(frame: pd.DataFrame, rows: int = 10, max_chars: int = 80) -> str:
    """The first ``rows`` rows of a frame as a Markdown table, long texts shortened."""
    head = frame.head(rows).copy()
    for col in head.columns:
        if head[col].dtype == object:
            head[col] = head[col].map(lambda v: shorten(v, max_chars))
    return head.to_markdown(index=False) if len(head) else "_(empty)_"


def counts_table(counts: Mapping[str, Any], key_name: str, value_name: str = "count") -> str:
    """A two-column table of counts (or any numbers), largest first."""
    rows = sorted(counts.items(), key=lambda kv: -kv[1])
    if not rows:
        return EMPTY
    lines = [f"| {key_name} | {value_name} |", "|---|---:|"]
    lines += [f"| {k} | {v:,} |" if isinstance(v, int) else f"| {k} | {v:,.4g} |" for k, v in rows]
    return "\n".join(lines)
