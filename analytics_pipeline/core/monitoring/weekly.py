"""One week's drift check from what the weekly graph has: the window's logs, its scored rows, the
model version that scored them, and the earlier weeks' checks in MLflow."""
from __future__ import annotations

import numpy as np
import pandas as pd

from analytics_pipeline.core.lifecycle.registry import load_pipeline
from analytics_pipeline.core.logs.windows import week_bounds
from analytics_pipeline.core.monitoring.drift import (
    DriftReport, DriftThresholds, compare, tested_names, with_calibration,
)
from analytics_pipeline.core.monitoring.tracking import effect_history, reference_of_version


class EmptyWeekError(ValueError):
    """The week holds no logs: there is nothing to compare."""


def in_week(frame: pd.DataFrame, partition: str, column: str = "timestamp") -> pd.DataFrame:
    """The rows of ``frame`` whose ``column`` falls in the partition's week."""
    start, end = week_bounds(partition)
    stamps = pd.DatetimeIndex(frame[column])
    stamps = stamps.tz_localize("UTC") if stamps.tz is None else stamps
    return frame[(stamps >= pd.Timestamp(start)) & (stamps < pd.Timestamp(end))]


def scoring_version(scored: pd.DataFrame) -> int:
    """The model version that scored the rows (the latest when they are mixed)."""
    versions = pd.to_numeric(scored["model_version"], errors="coerce").dropna()
    if versions.empty:
        raise ValueError("the scored logs carry no model_version: cannot tell which model's reference to use")
    return int(versions.max())


def check_week(partition: str, window_logs: pd.DataFrame, window_scored: pd.DataFrame,
               thresholds: DriftThresholds = DriftThresholds(), calibrate: bool = True) -> DriftReport:
    """The week's logs, featurized by the model that scored them, against that model's training
    reference; thresholds calibrated on the earlier weeks' checks when there are enough."""
    week_logs = in_week(window_logs, partition)
    week_scored = in_week(window_scored, partition)
    if week_logs.empty:
        raise EmptyWeekError(f"the week {partition} holds no logs: nothing to check for drift")
    version = scoring_version(week_scored)
    reference = reference_of_version(version)
    if calibrate:
        thresholds = with_calibration(thresholds, effect_history(partition, tested_names(reference)))
    matrix = load_pipeline(version)[0].transform(week_logs.reset_index(drop=True))
    return compare(reference, np.asarray(matrix), week_scored["raw_score"].to_numpy(dtype=float),
                   week_scored["is_anomaly"].to_numpy(dtype=bool), thresholds, model_version=version)
