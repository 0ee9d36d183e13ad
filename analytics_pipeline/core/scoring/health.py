"""Health scores per service and overall, from scored logs (core.inference output).

Formula (per service, and overall over all logs)::

    health = clamp(100 - 100 * sum(weight[s] * anomalies[s] / logs), 0, 100)
    weight = {low: 1, medium: 2, high: 4, critical: 8}

i.e. 100 minus the severity-weighted anomaly rate in percent: 10% of logs flagged "low" costs 10
points, 5% "critical" costs 40. The default detector flags incidents rather than a fixed share
(about 0.2% of a quiet synthetic week's logs are false alarms, mostly "low"), so a quiet service
sits near 100; a model trained with the seed's ``contamination=0.1`` flags a tenth of every window
and costs about 10 points even when nothing happens. Status: ``healthy`` (>= 85), ``degraded``
(>= 60), ``unhealthy`` (below).
"""
from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from analytics_pipeline.core.detection.anomaly_types import ANOMALY_TYPES
from analytics_pipeline.core.detection.severity import SEVERITIES

SEVERITY_WEIGHTS: dict[str, int] = {"low": 1, "medium": 2, "high": 4, "critical": 8}
STATUS_BANDS: tuple[tuple[float, str], ...] = ((85.0, "healthy"), (60.0, "degraded"), (0.0, "unhealthy"))
FORMULA = ("health = clamp(100 - 100 * sum(weight[severity] * anomalies[severity] / logs), 0, 100); "
           "weights low=1, medium=2, high=4, critical=8")


def _status(score: float) -> str:
    return next(name for floor, name in STATUS_BANDS if score >= floor)


def _summary(logs: int, by_severity: dict[str, int], by_type: dict[str, int]) -> dict[str, Any]:
    penalty = sum(SEVERITY_WEIGHTS[s] * by_severity[s] for s in SEVERITY_WEIGHTS) / logs if logs else 0.0
    score = round(min(100.0, max(0.0, 100.0 - 100.0 * penalty)), 2)
    anomalies = sum(by_severity[s] for s in SEVERITY_WEIGHTS)
    return {"health_score": score, "status": _status(score), "logs": logs, "anomalies": anomalies,
            "anomaly_rate": round(anomalies / logs, 6) if logs else 0.0,
            "by_severity": by_severity, "by_type": by_type}


def _counts(frame: pd.DataFrame, column: str, names: tuple[str, ...]) -> pd.DataFrame:
    """Rows per (service, value) as a service x names table of ints (missing names: 0)."""
    table = pd.crosstab(frame["service"], frame[column]) if len(frame) else pd.DataFrame()
    extra = [c for c in table.columns if c not in names]  # types added after this module
    return table.reindex(columns=[*names, *extra], fill_value=0).astype("int64")


def health_summary(scored: pd.DataFrame) -> dict[str, Any]:
    """Health per service (worst first) and overall, with counts per severity and anomaly type.

    ``scored`` needs ``service``, ``severity`` and ``anomaly_type`` columns; rows without a
    severity (records that failed validation) are left out. The result is plain JSON data.
    """
    scored = scored[scored["severity"].notna()]
    severity = _counts(scored, "severity", SEVERITIES)
    kinds = _counts(scored[scored["anomaly_type"].notna()], "anomaly_type", ANOMALY_TYPES)
    kinds = kinds.reindex(index=severity.index, fill_value=0)
    services = {}
    for service in severity.index:
        row = severity.loc[service]
        services[str(service)] = _summary(int(row.sum()), {s: int(row[s]) for s in SEVERITIES},
                                          {k: int(v) for k, v in kinds.loc[service].items() if v})
    overall = _summary(len(scored), {s: int(severity[s].sum()) for s in SEVERITIES},
                       {str(k): int(v) for k, v in kinds.sum().items() if v})
    ordered = dict(sorted(services.items(), key=lambda item: (item[1]["health_score"], item[0])))
    return {"overall": overall, "services": ordered, "formula": FORMULA}


def health_table(health: Mapping[str, Any]) -> str:
    """Overall health and one row per service (worst first) as Markdown."""
    lines = [f"**Overall health: {health['overall']['health_score']:.1f} / 100**", "",
             "| service | health | status | anomalies | logs |", "|---|---:|---|---:|---:|"]
    lines += [f"| {s} | {v['health_score']:.1f} | {v['status']} | {v['anomalies']:,} | {v['logs']:,} |"
              for s, v in health["services"].items()]
    return "\n".join(lines)
