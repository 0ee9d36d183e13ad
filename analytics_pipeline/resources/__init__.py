"""Dagster resources: MongoDB, MLflow, and the Parquet IO manager."""
