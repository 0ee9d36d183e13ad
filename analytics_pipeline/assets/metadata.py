"""Every Dagster metadata value the assets show: the core's summaries and Markdown, wrapped.

Markdown that people also want outside Dagster (notebooks, the CLI, reports) is built in core
(core.markdown and the packages' own ``*_table`` functions); this module only wraps it.
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
from dagster import MetadataValue

from analytics_pipeline.core import markdown


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


def counts_table(counts: Mapping[str, Any], key_name: str, value_name: str = "count") -> MetadataValue:
    """A small Markdown table of counts, largest first."""
    return MetadataValue.md(markdown.counts_table(counts, key_name, value_name))


def frame_table(frame: pd.DataFrame, rows: int = 10) -> MetadataValue:
    """The first rows of a frame as a Markdown table, long texts shortened."""
    return MetadataValue.md(markdown.frame_table(frame, rows=rows))


def md(text: str) -> MetadataValue:
    """Markdown built in core."""
    return MetadataValue.md(text)


def _inline_png(name: str, png: bytes) -> str:
    return f"**{name}**\n\n![{name}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def images(paths: Mapping[str, Path]) -> MetadataValue:
    """PNG plots inlined as Markdown images (the Dagster UI renders data URIs)."""
    return MetadataValue.md("\n\n".join(_inline_png(name, Path(path).read_bytes()) for name, path in paths.items()))


def png(name: str, data: bytes) -> MetadataValue:
    """One PNG made in memory, inlined like :func:`images`."""
    return MetadataValue.md(_inline_png(name, data))
