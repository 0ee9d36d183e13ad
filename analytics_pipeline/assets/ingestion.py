"""``raw_logs``: the 30-day window of logs that a weekly partition reads from MongoDB."""

import pandas as pd
from dagster import (
    AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, Config, Output, asset,
)
from pydantic import Field

from analytics_pipeline.assets.metadata import counts_table, frame_table, to_metadata
from analytics_pipeline.core.logs.schema import LOG_COLUMNS
from analytics_pipeline.core.logs.summaries import window_summary
from analytics_pipeline.core.logs.windows import WINDOW_DAYS, window_for_partition
from analytics_pipeline.partitions import weekly_partitions
from analytics_pipeline.resources.mongodb import MONGODB_RETRY_POLICY, MongoDBResource


class RawLogsConfig(Config):
    window_days: int = Field(default=WINDOW_DAYS, ge=1, le=366, description="Days that end where the week ends")
    max_bad_ratio: float = Field(default=0.01, ge=0.0, le=1.0,
                                 description="The bad-document check fails above this share")


@asset(
    partitions_def=weekly_partitions,
    io_manager_key="parquet_io_manager",
    group_name="ingestion",
    kinds={"mongodb", "pandas", "parquet"},
    retry_policy=MONGODB_RETRY_POLICY,
    check_specs=[
        AssetCheckSpec("window_not_empty_and_valid", asset="raw_logs", blocking=True,
                       description="The window holds logs, with the canonical columns and types"),
        AssetCheckSpec("bad_document_ratio", asset="raw_logs", blocking=True,
                       description="Share of documents breaking the log contract is under the threshold"),
    ],
)
def raw_logs(context: AssetExecutionContext, config: RawLogsConfig, mongodb: MongoDBResource):
    """The logs of the 30 days ending where the partition's week ends, validated."""
    start, end = window_for_partition(context.partition_key, config.window_days)
    context.log.info(f"reading logs {start:%Y-%m-%d} .. {end:%Y-%m-%d} from {mongodb.redacted_uri}")
    result = mongodb.read_window(start, end)
    summary = window_summary(result, start, end)
    if result.n_bad:
        context.log.warning(f"set aside {result.n_bad} bad documents: {summary['bad_counts']}")

    yield Output(result.logs, metadata={
        "summary": f"{len(result.logs):,} logs {start:%Y-%m-%d} .. {end:%Y-%m-%d}, {result.n_bad:,} set aside",
        **to_metadata({k: v for k, v in summary.items() if not isinstance(v, dict)}),
        "dagster/row_count": summary["row_count"],
        "level_counts": counts_table(summary["level_counts"], "level"),
        "service_counts": counts_table(summary["service_counts"], "service"),
        "bad_counts": counts_table(summary["bad_counts"], "reason"),
        "preview": frame_table(result.logs[["timestamp", "level", "service", "message", "response_time", "status_code"]]),
    })

    schema_ok = tuple(result.logs.columns) == LOG_COLUMNS and isinstance(
        result.logs["timestamp"].dtype, pd.DatetimeTZDtype)
    yield AssetCheckResult(
        check_name="window_not_empty_and_valid",
        passed=bool(len(result.logs) > 0 and schema_ok),
        severity=AssetCheckSeverity.ERROR,
        metadata={"row_count": len(result.logs), "schema_ok": schema_ok,
                  "window": f"{start:%Y-%m-%d} .. {end:%Y-%m-%d}"},
    )
    yield AssetCheckResult(
        check_name="bad_document_ratio",
        passed=bool(result.bad_ratio <= config.max_bad_ratio),
        severity=AssetCheckSeverity.ERROR,
        metadata={"bad_ratio": float(result.bad_ratio), "threshold": config.max_bad_ratio,
                  "bad_documents": result.n_bad, **{f"bad/{k}": v for k, v in summary["bad_counts"].items()}},
    )
