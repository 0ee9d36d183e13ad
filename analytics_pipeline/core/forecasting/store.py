"""The ``forecasts`` collection: one document per series and forecast step, replaced per partition."""
from __future__ import annotations

import pandas as pd
from pymongo.collection import Collection

from analytics_pipeline.core.forecasting.weekly import WeeklyForecasts
from analytics_pipeline.core.partition_store import PartitionWrite, frame_documents, read_partition, replace_partition

FORECASTS_COLLECTION = "forecasts"
SKILL_FIELDS = ("mase", "naive_mase", "coverage_80", "coverage_95")
FORECAST_FIELDS = ("service", "metric", "timestamp", "mean", "lo_80", "hi_80", "lo_95", "hi_95", "model",
                   *SKILL_FIELDS)


def forecast_documents(week: WeeklyForecasts) -> pd.DataFrame:
    """The forecast rows with their series' backtest skill beside them."""
    skill = week.skill[["service", "metric", *SKILL_FIELDS]]
    return week.forecasts.merge(skill, on=["service", "metric"], how="left")


def write_forecasts(collection: Collection, week: WeeklyForecasts, partition: str) -> PartitionWrite:
    """Replace the partition's forecasts (atomically for readers; see core.partition_store)."""
    return replace_partition(collection, partition, frame_documents(forecast_documents(week), FORECAST_FIELDS))


def read_forecasts(collection: Collection, partition: str) -> pd.DataFrame:
    """The partition's forecasts as a frame (timestamps in UTC)."""
    rows = list(read_partition(collection, partition, projection={"_id": 0, "partition": 0, "write_id": 0}))
    frame = pd.DataFrame(rows, columns=list(FORECAST_FIELDS)) if not rows else pd.DataFrame(rows)
    if len(frame):
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.sort_values(["service", "metric", "timestamp"]).reset_index(drop=True) if len(frame) else frame
