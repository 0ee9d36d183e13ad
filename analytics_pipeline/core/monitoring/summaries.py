"""A drift report for people: Markdown for Dagster metadata, MLflow, the weekly report and notebooks."""
from __future__ import annotations

import pandas as pd

from analytics_pipeline.core.markdown import frame_table
from analytics_pipeline.core.monitoring.drift import DriftReport


def drifted_table(report: DriftReport, rows: int = 10) -> str:
    """The drifted features (or, when none, the largest effects), with test, effect and means."""
    shown = report.drifted if len(report.drifted) else report.features
    table = shown.head(rows)[["feature", "kind", "effect_name", "effect", "threshold", "q_value",
                              "wasserstein_sd", "reference_mean", "week_mean", "drifted"]].copy()
    for col in ("effect", "threshold", "wasserstein_sd", "reference_mean", "week_mean"):
        table[col] = pd.to_numeric(table[col], errors="coerce").round(3)
    table["q_value"] = table["q_value"].map(lambda q: f"{q:.1e}")
    return frame_table(table, rows=rows)


def drift_markdown(report: DriftReport) -> str:
    """The whole drift report: verdict, why, the model side, and the features."""
    s = report.scores
    lines = [
        f"**Verdict: {report.verdict}** ({'retraining advised' if report.retraining_advised else 'no retraining needed'})",
        "",
        *[f"- {reason}" for reason in report.reasons],
        "",
        f"Model v{report.model_version}: {report.week_rows:,} logs this week ({report.tested_rows:,} tested) against "
        f"{report.reference_rows:,} training rows.",
        "",
        "| model side | week | training | shift |",
        "|---|---:|---:|---|",
        f"| anomaly rate | {s.week_rate:.2%} | {s.training_rate:.2%} | x{s.rate_ratio:.2f} (p {s.rate_p_value:.1e}) |",
        f"| raw anomaly score | | | PSI {s.score_psi:.3f}, KS {s.score_ks:.3f} (p {s.score_p_value:.1e}) |",
        "",
        f"**Features** ({len(report.drifted)} of {len(report.features)} drifted; BH false discovery rate "
        f"{report.thresholds.alpha:g}):",
        "",
        drifted_table(report),
    ]
    return "\n".join(lines)
