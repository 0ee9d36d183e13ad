"""Markdown tables for people (metadata, CLI, notebooks)."""
from __future__ import annotations

import pandas as pd

from analytics_pipeline.core.markdown import EMPTY, counts_table, frame_table, shorten


def test_counts_table_is_sorted_largest_first_with_thousands_separators():
    table = counts_table({"INFO": 12_000, "ERROR": 3, "WARN": 450}, "level")
    assert table.splitlines() == ["| level | count |", "|---|---:|", "| INFO | 12,000 |", "| WARN | 450 |",
                                  "| ERROR | 3 |"]
    assert "| 0.1235 |" in counts_table({"x": 0.123456}, "term", "weight")
    assert counts_table({}, "level") == EMPTY


def test_frame_table_shortens_long_texts_and_limits_rows():
    frame = pd.DataFrame({"service": ["a", "b", "c"], "message": ["x" * 200, "short", None]})
    table = frame_table(frame, rows=2, max_chars=20)
    assert len(table.splitlines()) == 4  # header, rule, two rows
    assert "x" * 19 + "…" in table and "x" * 20 not in table
    assert frame_table(frame.iloc[:0]) == "_(empty)_"
    assert shorten(42) == 42 and shorten("abc", 10) == "abc"
