"""MLflow as a Dagster resource: a thin, project-owned wrapper around core.lifecycle.runs."""
from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from analytics_pipeline.core.lifecycle.runs import configure
from analytics_pipeline.core.redaction import redact
from analytics_pipeline.core.registry_names import EXPERIMENT_NAME
from analytics_pipeline.core.settings import get_settings


class MLflowResource(ConfigurableResource):
    """Tracking store and experiment; empty fields fall back to the environment's defaults."""

    tracking_uri: str | None = Field(default=None, description="Empty: $MLFLOW_TRACKING_URI or sqlite under mlruns/")
    experiment_name: str = Field(default=EXPERIMENT_NAME)

    def setup(self) -> str:
        """Configure the process-wide MLflow client; returns the experiment id."""
        uri = self.tracking_uri or get_settings().mlflow_tracking_uri
        try:
            return configure(uri, experiment_name=self.experiment_name)
        except Exception as exc:  # any store error: say which store, never with its password
            raise ConnectionError(f"cannot use MLflow tracking store {redact(uri)}: {redact(str(exc))}") from None
