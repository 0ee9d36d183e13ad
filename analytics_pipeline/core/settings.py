"""Settings from the environment, with working local defaults (see README "Configuration")."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the checkout: analytics_pipeline/core/settings.py
DEFAULT_DATABASE = "log_analytics"
DEFAULT_LOCAL_MONGO_PORT = 27027  # not 27017, so a real mongod on the machine is never shadowed


@dataclass(frozen=True)
class Settings:
    """Resolved configuration; read once per process by :func:`get_settings`."""

    mongodb_uri: str | None
    mongodb_database: str
    mlflow_tracking_uri: str
    dagster_home: Path
    local_dir: Path
    saved_models_dir: Path
    mlruns_dir: Path

    @property
    def local_mongo_dir(self) -> Path:
        return self.local_dir / "mongo"


def get_settings() -> Settings:
    """Read the environment now (not at import time, so tests can set variables first)."""
    root = Path(os.environ.get("ANALYTICS_PIPELINE_ROOT", PROJECT_ROOT)).resolve()
    mlruns = root / "mlruns"
    return Settings(
        mongodb_uri=os.environ.get("MONGODB_URI") or None,
        mongodb_database=os.environ.get("MONGODB_DATABASE") or DEFAULT_DATABASE,
        mlflow_tracking_uri=os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{mlruns / 'mlflow.db'}",
        dagster_home=Path(os.environ.get("DAGSTER_HOME") or root / ".dagster_home").resolve(),
        local_dir=Path(os.environ.get("ANALYTICS_PIPELINE_LOCAL_DIR") or root / ".local").resolve(),
        saved_models_dir=Path(os.environ.get("SAVED_MODELS_DIR") or root / "saved_models").resolve(),
        mlruns_dir=mlruns,
    )


def ensure_dagster_home(path: Path) -> Path:
    """Create DAGSTER_HOME with a dagster.yaml (telemetry off) if it has none."""
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return path
