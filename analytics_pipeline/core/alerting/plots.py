"""The incident timeline: services down the side, time along, the most urgent incidents in colour.

Built with ``matplotlib.figure.Figure`` and the Agg canvas (no pyplot state), like
core.detection.plots.
"""
from __future__ import annotations

import io
from typing import Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analytics_pipeline.core.alerting.incidents import Incident

DPI = 90
_OTHER = "#c8c8c8"


def timeline_figure(alerts: pd.DataFrame, incidents: Sequence[Incident], top: int = 8,
                    title: str = "Alerts and incidents") -> Figure:
    """Every alert as a dot (size: its anomalies) on its service's row; each of the ``top`` most
    urgent incidents as coloured bars over its services, labelled with priority and root cause;
    alerts of other incidents and of none in grey. Alerts without a ``cluster_id`` column (as
    the ``alerts`` collection stores them) are matched to incidents by the incidents' alert ids."""
    if "cluster_id" not in alerts:
        holder = {a: i.cluster_id for i in incidents for a in i.alerts}
        alerts = alerts.assign(cluster_id=alerts["alert_id"].map(holder))
    services = sorted(set(alerts["service"])) if len(alerts) else []
    fig = Figure(figsize=(11.0, max(3.0, 0.45 * len(services) + 1.6)), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10)
    if not len(alerts):
        ax.text(0.5, 0.5, "no alerts", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    row = {s: k for k, s in enumerate(services)}
    palette = [f"C{k}" for k in (0, 1, 2, 3, 4, 5, 6, 8, 9)]  # not C7: grey means "other"
    shown = {i.cluster_id: (palette[k % len(palette)], i) for k, i in enumerate(incidents[:top])}
    colour = alerts["cluster_id"].map(lambda c: shown[c][0] if c in shown else _OTHER)
    y = alerts["service"].map(row).to_numpy(dtype=float)
    size = 8 + 12 * np.log10(alerts["count"].to_numpy(dtype=float))
    grey = (colour == _OTHER).to_numpy()
    for mask, z in ((grey, 1), (~grey, 3)):
        ax.scatter(alerts["first_seen"][mask], y[mask], s=size[mask], c=colour[mask], alpha=0.8, linewidths=0, zorder=z)
    for cluster, (c, incident) in shown.items():
        members = alerts[alerts["cluster_id"] == cluster]
        for service, group in members.groupby("service"):
            ax.plot([group["first_seen"].min(), group["last_seen"].max()], [row[service]] * 2, color=c,
                    linewidth=6, alpha=0.35, solid_capstyle="butt", zorder=2)
        label = f"{incident.priority} {incident.first_alert_time:%a %H:%M} root cause {incident.root_cause}"
        ax.plot([], [], color=c, linewidth=6, alpha=0.6, label=label)
    ax.set_yticks(range(len(services)), services, fontsize=8)
    ax.set_ylim(-0.8, len(services) - 0.2)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    if shown:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def timeline_png(alerts: pd.DataFrame, incidents: Sequence[Incident], top: int = 8) -> bytes:
    """:func:`timeline_figure` as PNG bytes (Dagster metadata)."""
    buf = io.BytesIO()
    timeline_figure(alerts, incidents, top).savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()
