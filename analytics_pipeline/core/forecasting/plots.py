"""PNG charts of series and forecasts (matplotlib, Agg), as bytes for metadata and MLflow."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend is chosen first)
import pandas as pd  # noqa: E402


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def service_chart_png(service: str, metrics: pd.DataFrame) -> bytes:
    """A small chart of one service: one panel per metric of the long metrics frame."""
    rows = metrics[metrics["service"] == service]
    names = sorted(rows["metric"].unique())
    fig, axes = plt.subplots(len(names), 1, figsize=(7, 1.1 * len(names) + 0.4), sharex=True, squeeze=False)
    for ax, metric in zip(axes[:, 0], names):
        part = rows[rows["metric"] == metric]
        ax.plot(part["timestamp"], part["value"], lw=0.7)
        ax.set_ylabel(metric.replace("_", " "), fontsize=7, rotation=0, ha="right")
        ax.tick_params(labelsize=6)
    axes[0, 0].set_title(service, fontsize=8)
    return _png(fig)


def forecast_png(title: str, history: pd.Series, forecast: pd.DataFrame, threshold: float | None = None,
                 history_days: float = 7.0) -> bytes:
    """The last days of history, the mean forecast and its 80%/95% bands (and a threshold line)."""
    fig, ax = plt.subplots(figsize=(8, 2.6))
    recent = history[history.index >= history.index[-1] - pd.Timedelta(days=history_days)] if len(history) else history
    ax.plot(recent.index, recent.to_numpy(), lw=0.8, color="black", label="observed")
    if len(forecast):
        ax.fill_between(forecast["timestamp"], forecast["lo_95"], forecast["hi_95"], alpha=0.2, color="C0", label="95%")
        ax.fill_between(forecast["timestamp"], forecast["lo_80"], forecast["hi_80"], alpha=0.35, color="C0", label="80%")
        ax.plot(forecast["timestamp"], forecast["mean"], lw=1, color="C0", label="forecast")
    if threshold is not None:
        ax.axhline(threshold, color="C3", ls="--", lw=0.8, label="threshold")
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="upper left")
    return _png(fig)
