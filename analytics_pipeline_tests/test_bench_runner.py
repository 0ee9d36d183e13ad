"""``bench/run.py --only NAME`` updates NAME's section of BENCHMARKS.md and keeps every other one."""
from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH_RUN = Path(__file__).resolve().parents[1] / "bench" / "run.py"


def _runner():
    spec = importlib.util.spec_from_file_location("bench_run", BENCH_RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_partial_run_replaces_its_section_and_keeps_the_others():
    previous = "# Benchmarks\n\n- Date: then\n\n## alpha\n\n| a | 1 |\n\n## gamma\n\n| g | 3 |\n"
    partial = "# Benchmarks\n\n- Date: now\n\n## gamma\n\n| g | 4 |\n\n## beta\n\n| b | 2 |\n"
    merged = _runner().merge(previous, partial)
    assert merged.startswith("# Benchmarks\n\n- Date: then\n")
    assert [line for line in merged.splitlines() if line.startswith("## ")] == ["## alpha", "## beta", "## gamma"]
    assert "| a | 1 |" in merged and "| g | 4 |" in merged and "| g | 3 |" not in merged
    assert merged.count("_Measured ") == 2  # the re-run sections say when they were measured
