"""The report's plots as PNG bytes (``matplotlib.figure.Figure`` and the Agg canvas, no pyplot
state, like core.alerting.plots): service health, drift effects, recommendations."""
from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analytics_pipeline.core.alerting.plots import timeline_png
from analytics_pipeline.core.monitoring.drift import DriftReport
from analytics_pipeline.core.reporting.engine import WeeklyReport
from analytics_pipeline.core.reporting.evidence import WeekEvidence

DPI = 90


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def health_png(report: WeeklyReport) -> bytes:
    """Health per service (worst at the top), coloured by status band."""
    services = list((report.health or {}).get("services", {}).items())[::-1]
    figure = Figure(figsize=(7, 0.3 * max(len(services), 3) + 1))
    ax = figure.add_subplot()
    colours = {"healthy": "#4c9f70", "degraded": "#e0a030", "unhealthy": "#c8453a"}
    if services:
        ax.barh([s for s, _ in services], [v["health_score"] for _, v in services],
                color=[colours.get(v["status"], "#888") for _, v in services])
    ax.set_xlim(0, 100)
    ax.set_xlabel("health (100 = no anomalies)")
    ax.set_title(f"Service health, week {report.partition}")
    return _png(figure)


def drift_png(drift: DriftReport, top: int = 12) -> bytes:
    """The largest effects over their thresholds; drifted ones in red, the threshold at 1."""
    frame = drift.features.assign(ratio=drift.features["effect"] / drift.features["threshold"]) \
        .sort_values("ratio", ascending=False).head(top).iloc[::-1]
    figure = Figure(figsize=(7, 0.3 * max(len(frame), 3) + 1))
    ax = figure.add_subplot()
    ax.barh(frame["feature"], frame["ratio"], color=np.where(frame["drifted"], "#c8453a", "#8aa4c8"))
    ax.axvline(1.0, color="black", linewidth=1, linestyle="--")
    ax.set_xlabel("effect / threshold (drifted when >= 1 and significant)")
    ax.set_title(f"Drift against model v{drift.model_version}'s training data: {drift.verdict}")
    return _png(figure)


def recommendations_png(report: WeeklyReport) -> bytes:
    """Expected improvement of each recommendation, shaded by confidence."""
    recs = list(report.recommendations)[::-1]
    figure = Figure(figsize=(7, 0.35 * max(len(recs), 2) + 1))
    ax = figure.add_subplot()
    if recs:
        ax.barh([f"{r.category}: {r.component}" for r in recs], [r.expected_improvement for r in recs],
                color=[(0.2, 0.4, 0.7, 0.3 + 0.7 * r.confidence) for r in recs])
    ax.set_xlabel("expected improvement (%)")
    ax.set_title("Recommendations (darker = more confident)")
    return _png(figure)


def report_plots(report: WeeklyReport, week: WeekEvidence) -> dict[str, bytes]:
    """Every plot of the report, by name (in the order they are shown)."""
    plots = {"health": health_png(report), "timeline": timeline_png(week.alerts, list(week.incidents))}
    if report.drift is not None:
        plots["drift"] = drift_png(report.drift)
    if report.recommendations:
        plots["recommendations"] = recommendations_png(report)
    return plots
