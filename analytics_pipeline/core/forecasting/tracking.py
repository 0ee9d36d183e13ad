"""The week's forecast quality in the MLflow experiment ``forecasts``: one run per partition with
per-series backtest metrics, the week's medians, and a few forecast plots."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Mapping

import mlflow
import numpy as np

from analytics_pipeline.core.forecasting.weekly import WeeklyForecasts
from analytics_pipeline.core.lifecycle.runs import configure

FORECASTS_EXPERIMENT = "forecasts"


def _key(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_\-./ ]", "_", "/".join(parts))


def week_metrics(week: WeeklyForecasts) -> dict[str, float]:
    """Medians over the series, and each series' MASE, naive MASE and coverage."""
    skill = week.skill
    metrics: dict[str, float] = {
        "series": float(len(skill)),
        "median_mase": float(skill["mase"].median()), "median_naive_mase": float(skill["naive_mase"].median()),
        "share_beating_naive": float((skill["mase"] < skill["naive_mase"]).mean()) if len(skill) else 0.0,
        "median_coverage_80": float(skill["coverage_80"].median()),
        "median_coverage_95": float(skill["coverage_95"].median()),
        "capacity_warnings": float(len(week.warnings())), "metric_anomalies": float(len(week.metric_anomalies)),
    }
    for row in skill.itertuples():
        for name in ("mase", "naive_mase", "coverage_80", "coverage_95"):
            metrics[_key(name, row.service, row.metric)] = float(getattr(row, name))
    return {k: v for k, v in metrics.items() if np.isfinite(v)}


def log_week(tracking_uri: str, partition: str, week: WeeklyForecasts, plots: Mapping[str, bytes]) -> str:
    """Log the week as a run named after the partition; returns the run id."""
    configure(tracking_uri, experiment_name=FORECASTS_EXPERIMENT)
    with mlflow.start_run(run_name=f"forecasts-{partition}") as run:
        mlflow.set_tags({"partition": partition})
        mlflow.log_params({"series": len(week.skill), "models": ",".join(sorted(week.skill["model"].unique()))})
        mlflow.log_metrics(week_metrics(week))
        mlflow.log_text(week.skill.to_csv(index=False), "skill.csv")
        mlflow.log_text(week.capacity.to_csv(index=False), "capacity.csv")
        with tempfile.TemporaryDirectory() as tmp:
            for name, png in plots.items():
                path = Path(tmp) / f"{_key(name).replace('/', '_')}.png"
                path.write_bytes(png)
                mlflow.log_artifact(str(path), "plots")
        return run.info.run_id
