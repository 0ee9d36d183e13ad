"""Evaluation plots as small PNGs (5x4 in at 90 dpi, a few tens of KB) for Dagster metadata.

Figures are built with ``matplotlib.figure.Figure`` and rendered by the Agg canvas, never through
``pyplot``: no display, no global figure state, safe in threads and in Dagster workers.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix, precision_recall_curve, roc_curve

from analytics_pipeline.core.detection.evaluation import labelled

FIGSIZE = (5.0, 4.0)
DPI = 90


def _new_axes(title: str) -> tuple[Figure, Any]:
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10)
    return fig, ax


def _png(fig: Figure) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _both_classes(y_true: Any, scores: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    _, y, s = labelled(y_true, scores)
    if not 0 < y.sum() < y.size:
        raise ValueError(f"the {what} needs labelled rows of both classes.")
    return y, s


def score_histogram_png(y_true: Any, scores: Any, threshold: float | None = None) -> bytes:
    """Histogram of anomaly scores, split by label where labels exist."""
    all_scores, y, s = labelled(y_true, scores)
    fig, ax = _new_axes("Anomaly score distribution")
    bins = np.histogram_bin_edges(all_scores, bins=50) if all_scores.size else 10
    if y.size:
        for value, name, color in ((0, "normal", "tab:blue"), (1, "anomaly", "tab:red")):
            if (y == value).any():
                # Densities, because anomalies are usually a small minority of the rows.
                ax.hist(s[y == value], bins=bins, density=True, alpha=0.6, color=color,
                        label=f"{name} (n={int((y == value).sum())})")
        ax.set_ylabel("density")
    else:
        ax.hist(all_scores, bins=bins, color="tab:gray", label=f"all (n={all_scores.size})")
        ax.set_ylabel("rows")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", linewidth=1, label="threshold")
    ax.set_xlabel("anomaly score")
    ax.legend(fontsize=8)
    return _png(fig)


def roc_curve_png(y_true: Any, scores: Any) -> bytes:
    """ROC curve with its AUC; needs both classes among the labelled rows."""
    y, s = _both_classes(y_true, scores, "ROC curve")
    fpr, tpr, _ = roc_curve(y, s)
    fig, ax = _new_axes(f"ROC (AUC = {np.trapezoid(tpr, fpr):.3f})")
    ax.plot(fpr, tpr, color="tab:blue")
    ax.plot([0, 1], [0, 1], color="gray", linestyle=":", linewidth=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    return _png(fig)


def pr_curve_png(y_true: Any, scores: Any) -> bytes:
    """Precision-recall curve, with the label prevalence as the no-skill baseline."""
    y, s = _both_classes(y_true, scores, "precision-recall curve")
    precision, recall, _ = precision_recall_curve(y, s)
    fig, ax = _new_axes("Precision-recall")
    ax.step(recall, precision, where="post", color="tab:blue")
    ax.axhline(y.mean(), color="gray", linestyle=":", linewidth=1, label="no skill")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    return _png(fig)


def confusion_matrix_png(y_true: Any, scores: Any, threshold: float) -> bytes:
    """Confusion matrix of the labelled rows when flagging scores above ``threshold``."""
    _, y, s = labelled(y_true, scores)
    if y.size == 0:
        raise ValueError("the confusion matrix needs labelled rows.")
    matrix = confusion_matrix(y, (s > threshold).astype(int), labels=[0, 1])
    fig, ax = _new_axes(f"Confusion matrix (threshold {threshold:.3g})")
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        color = "white" if count > matrix.max() / 2 else "black"
        ax.text(j, i, str(count), ha="center", va="center", color=color)
    ax.set_xticks([0, 1], ["normal", "anomaly"])
    ax.set_yticks([0, 1], ["normal", "anomaly"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    return _png(fig)


def write_evaluation_plots(y_true: Any, scores: Any, threshold: float,
                           out_dir: str | Path) -> dict[str, Path]:
    """Write the plots that the labels allow as PNG files; returns {name: path}.

    The histogram is always written; the confusion matrix needs labelled rows; ROC and PR curves
    need both classes.
    """
    _, y, _ = labelled(y_true, scores)
    plots = {"score_histogram": lambda: score_histogram_png(y_true, scores, threshold)}
    if y.size:
        plots["confusion_matrix"] = lambda: confusion_matrix_png(y_true, scores, threshold)
    if 0 < y.sum() < y.size:
        plots["roc_curve"] = lambda: roc_curve_png(y_true, scores)
        plots["pr_curve"] = lambda: pr_curve_png(y_true, scores)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, render in plots.items():
        paths[name] = out / f"{name}.png"
        paths[name].write_bytes(render())
    return paths
