"""Small hand-built log frames shared by the feature and text tests."""
from __future__ import annotations

import numpy as np
import pandas as pd

MONDAY = pd.Timestamp("2024-01-01 00:00", tz="UTC")
MESSAGES = [
    "GET /api/v1/users/{i} completed in {ms}ms status=200",
    "User {i} authenticated from 10.0.{j}.{k}",
    "Query on orders returned {i} rows in {ms}ms",
    "Request {uuid} failed: connection refused after {ms} ms",
    "Cache miss for key session:{i}",
    "Health check OK",
]
SERVICES = ["api", "auth", "db", "cache", "search", "queue"]


def frame(rows: list[tuple]) -> pd.DataFrame:
    """Logs from (seconds after Monday 00:00, level, service, message, response_time, status)."""
    return pd.DataFrame({
        "log_id": [f"l{i}" for i in range(len(rows))],
        "timestamp": [MONDAY + pd.Timedelta(seconds=r[0]) for r in rows],
        "level": [r[1] for r in rows],
        "service": [r[2] for r in rows],
        "message": [r[3] for r in rows],
        "response_time": [r[4] for r in rows],
        "status_code": [r[5] for r in rows],
    })


def sample_logs(n: int = 300, seed: int = 0, start_s: float = 0.0) -> pd.DataFrame:
    """Several services, bursts and gaps, duplicated timestamps, some missing response times."""
    rng = np.random.default_rng(seed)
    gaps = np.where(rng.random(n) < 0.05, rng.uniform(300, 900, n), rng.exponential(8, n))
    gaps[rng.random(n) < 0.08] = 0.0  # duplicated timestamps
    seconds = start_s + np.round(np.cumsum(gaps), 1)
    rows = []
    for i in range(n):
        template = MESSAGES[rng.integers(len(MESSAGES))]
        message = template.format(i=rng.integers(1, 10**5), ms=rng.integers(1, 900), j=rng.integers(256),
                                  k=rng.integers(256), uuid=f"{rng.integers(16**8):08x}-1b2c-4d5e-8f90-123456789abc")
        level = rng.choice(["DEBUG", "INFO", "INFO", "INFO", "WARN", "ERROR", "CRITICAL"])
        rt = float(rng.lognormal(3, 1)) if rng.random() > 0.1 else np.nan
        rows.append((seconds[i], level, SERVICES[rng.integers(len(SERVICES))], message, rt,
                     float(rng.choice([200, 404, 500]))))
    return frame(rows)
