"""``scored_logs`` (the window scored by the champion) and ``anomalies`` (written to MongoDB)."""
import json

import pandas as pd
from dagster import AssetExecutionContext, Failure, MaterializeResult, Output, asset

from analytics_pipeline.assets import metadata
from analytics_pipeline.core.lifecycle.registry import load_model, version_by_alias
from analytics_pipeline.core.registry_names import CHAMPION, MODEL_NAME
from analytics_pipeline.core.scoring.anomaly_store import ANOMALIES_COLLECTION, write_anomalies
from analytics_pipeline.core.scoring.health import health_summary, health_table
from analytics_pipeline.core.scoring.scorer import score_logs
from analytics_pipeline.partitions import weekly_partitions
from analytics_pipeline.resources.mlflow_tracking import MLflowResource
from analytics_pipeline.resources.mongodb import MONGODB_RETRY_POLICY, MongoDBResource

# Nested explanation fields are kept as JSON text in Parquet (one flat, typed table).
_NESTED = ("contributors", "recommended_actions")


@asset(partitions_def=weekly_partitions, io_manager_key="parquet_io_manager", group_name="detection",
       deps=["champion_model"], kinds={"mlflow", "pandas", "parquet"})
def scored_logs(context: AssetExecutionContext, raw_logs: pd.DataFrame,
                mlflow_tracking: MLflowResource) -> Output[pd.DataFrame]:
    """Every log of the window with score, severity, type, explanation, by ``@champion``."""
    mlflow_tracking.setup()
    champion = version_by_alias(CHAMPION)
    if champion is None:
        raise Failure(description=f"no champion registered for {MODEL_NAME}: train a model first")
    model = load_model(int(champion.version)).unwrap_python_model()
    scored = score_logs(model.pipeline, model.metadata, raw_logs, model_version=int(champion.version))
    health = health_summary(scored)
    anomalies = scored[scored["is_anomaly"]]
    top = anomalies.sort_values("anomaly_score", ascending=False).head(10)
    stored = scored.copy()
    for col in _NESTED:
        stored[col] = stored[col].map(lambda v: json.dumps(v, default=str) if isinstance(v, (list, dict)) else None)
    score = health.get("overall", {}).get("health_score")
    health_text = f"health {score:.0f}/100" if isinstance(score, (int, float)) else "no health score"
    return Output(stored, metadata={
        "summary": f"{len(scored):,} logs by champion v{champion.version}: {len(anomalies):,} anomalies "
                   f"({len(anomalies) / max(len(scored), 1):.1%}), {health_text}",
        "dagster/row_count": len(scored),
        "model_version": int(champion.version),
        "anomalies": len(anomalies),
        "anomaly_rate": float(len(anomalies) / len(scored)) if len(scored) else 0.0,
        "severity_counts": metadata.counts_table(scored["severity"].value_counts().to_dict(), "severity"),
        "anomaly_type_counts": metadata.counts_table(anomalies["anomaly_type"].value_counts().to_dict(), "type"),
        "health": metadata.md(health_table(health)),
        **metadata.to_metadata({"health_summary": health}),
        "top_anomalies": metadata.frame_table(
            top[["timestamp", "service", "severity", "anomaly_type", "anomaly_score", "message"]].round(3)),
    })


@asset(partitions_def=weekly_partitions, group_name="detection", kinds={"mongodb"}, retry_policy=MONGODB_RETRY_POLICY)
def anomalies(context: AssetExecutionContext, scored_logs: pd.DataFrame, mongodb: MongoDBResource) -> MaterializeResult:
    """The week's anomalous logs in the ``anomalies`` collection, replacing the partition's old ones."""
    found = scored_logs[scored_logs["is_anomaly"]].copy()
    for col in _NESTED:
        found[col] = found[col].map(lambda v: json.loads(v) if isinstance(v, str) else [])
    with mongodb.failing_clearly("writing the anomalies"):
        written = write_anomalies(mongodb.db()[ANOMALIES_COLLECTION], found, context.partition_key)
    context.log.info(f"anomalies for {context.partition_key}: replaced {written.replaced} with {written.inserted}")
    return MaterializeResult(metadata={
        "summary": f"{written.inserted:,} written to {ANOMALIES_COLLECTION} (replaced {written.replaced:,})",
        "inserted": written.inserted, "replaced": written.replaced, "write_id": written.write_id,
        "collection": f"{mongodb.db().name}.{ANOMALIES_COLLECTION}",
        "by_severity": metadata.counts_table(found["severity"].value_counts().to_dict(), "severity"),
    })
