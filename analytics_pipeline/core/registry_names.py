"""Names the MLflow registry and tracking store share across the platform.

A leaf module (it imports nothing), so that scoring, lifecycle, assets, tasks and notebooks can
all name the registered model and its aliases without importing one another.
"""
from __future__ import annotations

EXPERIMENT_NAME = "log-anomaly-detection"
MODEL_NAME = "log-anomaly-detector"
CHAMPION = "champion"    # the version that scores the weekly window and is served
CHALLENGER = "challenger"  # the newest trained version, whether or not it was promoted


def model_uri(version_or_alias: int | str, model_name: str = MODEL_NAME) -> str:
    """``models:/NAME/3`` for a version number, ``models:/NAME@champion`` for an alias."""
    if isinstance(version_or_alias, int) or str(version_or_alias).isdigit():
        return f"models:/{model_name}/{int(version_or_alias)}"
    return f"models:/{model_name}@{version_or_alias}"
