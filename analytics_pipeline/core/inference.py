"""Scoring raw log records with a trained Pipeline (batch path used by the served model)."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from analytics_pipeline.core.schema import validate_frame


def score_records_frame(pipeline: Any, metadata: Mapping[str, Any], records: pd.DataFrame,
                        params: Mapping[str, Any]) -> pd.DataFrame:
    """One result row per input record; invalid records get an ``error`` and no score."""
    result = validate_frame(records.reset_index(drop=True))
    out = pd.DataFrame({"log_id": records.get("log_id", pd.Series([None] * len(records))).astype(object),
                        "anomaly_score": np.nan, "is_anomaly": False, "error": None})
    good = np.setdiff1d(np.arange(len(records)), result.rejected_positions)
    if len(good):
        scores = pipeline[-1].anomaly_score(pipeline[:-1].transform(result.logs))
        out.loc[good, "anomaly_score"] = scores
        out.loc[good, "is_anomaly"] = scores > float(metadata["threshold"])
    out.loc[result.rejected_positions, "error"] = result.rejected_reasons
    return out
