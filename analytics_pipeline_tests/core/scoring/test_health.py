"""Health scores per service and overall."""
from __future__ import annotations

import json

import pandas as pd

from analytics_pipeline.core.scoring.health import health_summary


def test_health_summary_shape_and_bounds(scored):
    summary = health_summary(scored)
    json.dumps(summary, allow_nan=False)
    overall = summary["overall"]
    assert set(overall) == {"health_score", "status", "logs", "anomalies", "anomaly_rate", "by_severity", "by_type"}
    assert overall["logs"] == len(scored) and sum(overall["by_severity"].values()) == len(scored)
    assert overall["anomalies"] == int(scored["is_anomaly"].sum()) == sum(overall["by_type"].values())
    assert set(summary["services"]) == set(scored["service"])
    scores = [s["health_score"] for s in summary["services"].values()]
    assert scores == sorted(scores) and all(0 <= s <= 100 for s in scores)
    assert sum(s["logs"] for s in summary["services"].values()) == len(scored)


def test_health_formula():
    frame = pd.DataFrame({"service": ["a"] * 100 + ["b"] * 10,
                          "severity": ["low"] * 10 + ["critical"] * 5 + ["normal"] * 85 + ["critical"] * 10,
                          "anomaly_type": ["latency_spike"] * 15 + [None] * 85 + ["memory_leak"] * 10})
    summary = health_summary(frame)
    assert summary["services"]["a"]["health_score"] == 50.0  # 100 - (10 * 1 + 5 * 8)
    assert summary["services"]["b"]["health_score"] == 0.0   # clamped: 100 - 800
    assert summary["services"]["b"]["status"] == "unhealthy" and list(summary["services"]) == ["b", "a"]
    assert summary["overall"]["by_type"] == {"latency_spike": 15, "memory_leak": 10}
