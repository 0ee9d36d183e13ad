"""Shared samples for the scoring tests: request-shaped records, a good record, the train/score split."""
from __future__ import annotations

import math

import pandas as pd


SPLIT = pd.Timestamp("2024-01-08", tz="UTC")


GOOD = {"timestamp": "2024-01-09T10:00:00Z", "level": "INFO", "service": "api-gateway",
        "message": "GET /api/v1/users/42 completed in 48ms status=200", "response_time": 48.0, "status_code": 200}


def records(frame: pd.DataFrame) -> list[dict]:
    """Request-shaped dicts: ISO timestamps, absent numbers left out."""
    out = []
    request = ["log_id", "timestamp", "level", "service", "message", "response_time", "status_code"]
    for row in frame[request].to_dict("records"):
        row["timestamp"] = row["timestamp"].isoformat()
        out.append({k: v for k, v in row.items() if not (isinstance(v, float) and math.isnan(v))})
    return out


def request_frame(later: pd.DataFrame) -> pd.DataFrame:
    columns = ["timestamp", "level", "service", "message", "response_time", "status_code", "log_id"]
    frame = later.iloc[:8][columns].copy()
    frame["timestamp"] = frame["timestamp"].map(lambda t: t.isoformat()).astype(object)
    frame.loc[frame.index[3], "timestamp"] = str(int(later["timestamp"].iloc[3].timestamp()))  # epoch seconds
    frame.loc[frame.index[5], "level"] = None
    frame.loc[frame.index[6], "timestamp"] = "garbage"
    return frame
