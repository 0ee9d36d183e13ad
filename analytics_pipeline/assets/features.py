"""``log_features``: the 78-feature matrix of the window (rows in ``raw_logs`` order)."""
import numpy as np
import pandas as pd
from dagster import (
    AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, Config,
    Output, asset,
)
from pydantic import Field

from analytics_pipeline.assets import metadata
from analytics_pipeline.core.features.featurizer import FEATURE_COUNT, SCALER_TYPES, LogFeaturizer
from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.partitions import weekly_partitions

class LogFeaturesConfig(Config):
    scaler_type: str = Field(default=TrainingConfig().scaler_type, description=", ".join(SCALER_TYPES))


@asset(
    partitions_def=weekly_partitions,
    io_manager_key="parquet_io_manager",
    group_name="features",
    kinds={"scikit-learn", "parquet"},
    check_specs=[AssetCheckSpec("exactly_78_finite_features", asset="log_features", blocking=True,
                                description="78 named columns, no NaN or infinity")],
)
def log_features(context: AssetExecutionContext, config: LogFeaturesConfig, raw_logs: pd.DataFrame):
    """LogFeaturizer fitted on the window and applied to it (for exploration and checks)."""
    featurizer = LogFeaturizer(scaler_type=config.scaler_type)
    matrix = featurizer.fit_transform(raw_logs)
    names = list(featurizer.get_feature_names_out())
    frame = pd.DataFrame(matrix, columns=names)
    nulls = {n: int(v) for n, v in frame.isna().sum().items() if v}
    constant = [n for n in names if frame[n].nunique(dropna=False) <= 1]
    tfidf = [n for n in names if n.startswith("tfidf_")]
    top_terms = frame[tfidf].mean().sort_values(ascending=False).head(15) if tfidf and len(frame) else pd.Series(dtype=float)
    yield Output(frame, metadata={
        "summary": f"{frame.shape[0]:,} logs x {frame.shape[1]} features",
        "shape": f"{frame.shape[0]} x {frame.shape[1]}",
        "dagster/row_count": len(frame),
        "n_features": frame.shape[1],
        **metadata.to_metadata({"constant_features": constant, "null_counts": nulls,
                                "service_slots": [str(s) for s in featurizer.services_]}),
        "top_tfidf_terms": metadata.counts_table(
            {k.removeprefix("tfidf_"): round(float(v), 4) for k, v in top_terms.items()}, "term", "mean weight"),
        "preview": metadata.frame_table(frame.iloc[:, :12].round(3), rows=5),
    })
    finite = bool(np.isfinite(matrix).all())
    yield AssetCheckResult(
        check_name="exactly_78_finite_features",
        passed=frame.shape[1] == FEATURE_COUNT and finite,
        severity=AssetCheckSeverity.ERROR,
        metadata={"n_features": frame.shape[1], "all_finite": finite},
    )
