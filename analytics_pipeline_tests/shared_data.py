"""Where the team's real, labelled data lives (BlueGene/L logs, Numenta Anomaly Benchmark series)."""
from __future__ import annotations

import os
from pathlib import Path


def _shared_data() -> Path:
    """The team's shared data: $ANALYTICS_PIPELINE_SHARED_DATA, ../shared/data beside the
    checkout (as CI lays it out), or the workplace's /work/shared/data."""
    candidates = [os.environ.get("ANALYTICS_PIPELINE_SHARED_DATA"),
                  Path(__file__).resolve().parents[2] / "shared" / "data", "/work/shared/data"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "bgl_2k.jsonl").exists():
            return Path(candidate)
    raise RuntimeError("bgl_2k.jsonl not found: set ANALYTICS_PIPELINE_SHARED_DATA to the shared/data folder")


SHARED_DATA = _shared_data()
BGL_PATH = SHARED_DATA / "bgl_2k.jsonl"
NAB_DIR = SHARED_DATA / "nab"
