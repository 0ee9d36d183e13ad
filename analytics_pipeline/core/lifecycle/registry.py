"""The registered model's versions and aliases: register a challenger, move the champion.

Aliases (core.registry_names): ``challenger`` (newest trained) and ``champion`` (serving). Who was
champion when is kept as tags on each version (``champion_from`` / ``champion_until``), written by
:func:`set_champion`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from analytics_pipeline.core.registry_names import CHALLENGER, CHAMPION, MODEL_NAME, model_uri


def register_challenger(uri: str, tags: Mapping[str, Any]) -> ModelVersion:
    """Register the logged model at ``uri`` as a new version and point ``challenger`` at it."""
    client = MlflowClient()
    version = mlflow.register_model(uri, MODEL_NAME)
    tag_version(version.version, tags)
    client.set_registered_model_alias(MODEL_NAME, CHALLENGER, version.version)
    return client.get_model_version(MODEL_NAME, version.version)


def version_by_alias(alias: str) -> ModelVersion | None:
    """The version an alias points at, or None when the alias (or the model) does not exist."""
    try:
        return MlflowClient().get_model_version_by_alias(MODEL_NAME, alias)
    except MlflowException:
        return None


def tag_version(version: str | int, tags: Mapping[str, Any]) -> None:
    """Set tags (values as text) on one version of the model."""
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, str(version), key, str(value))


@dataclass(frozen=True)
class ChampionChange:
    """What :func:`set_champion` changed, so :func:`restore_champion` can undo it."""

    version: str
    previous: str | None
    stamped_at: str


def set_champion(version: str | int, decision_tags: Mapping[str, Any]) -> ChampionChange:
    """Move ``champion`` to ``version``, then stamp when the reign of each version starts/ends.

    The alias moves first: it is the one change that decides who scores, so a process killed
    after it has promoted, and one killed before it has not.
    """
    client = MlflowClient()
    now = datetime.now(timezone.utc).isoformat()
    previous = version_by_alias(CHAMPION)
    previous_version = str(previous.version) if previous is not None else None
    client.set_registered_model_alias(MODEL_NAME, CHAMPION, str(version))
    if previous_version is not None and previous_version != str(version):
        tag_version(previous_version, {"champion_until": now, "replaced_by": version})
    tag_version(version, {"champion_from": now, **decision_tags})
    return ChampionChange(str(version), previous_version, now)


def restore_champion(change: ChampionChange) -> None:
    """Undo :func:`set_champion`: the alias back where it was, the reign stamps removed."""
    client = MlflowClient()
    if change.previous is None:
        client.delete_registered_model_alias(MODEL_NAME, CHAMPION)
    else:
        client.set_registered_model_alias(MODEL_NAME, CHAMPION, change.previous)
    if change.previous != change.version:
        _delete_tags(change.version, ("champion_from",))
        if change.previous is not None:
            _delete_tags(change.previous, ("champion_until", "replaced_by"))


def _delete_tags(version: str, keys: tuple[str, ...]) -> None:
    client = MlflowClient()
    present = client.get_model_version(MODEL_NAME, version).tags
    for key in keys:
        if key in present:
            client.delete_model_version_tag(MODEL_NAME, version, key)


def model_versions(run_id: str | None = None) -> list[ModelVersion]:
    """The model's versions (those one run registered, with ``run_id``), oldest first."""
    query = f"name='{MODEL_NAME}'" + (f" and run_id='{run_id}'" if run_id else "")
    return sorted(MlflowClient().search_model_versions(query), key=lambda v: int(v.version))


def remove_unpromoted_version(version: ModelVersion) -> int | None:
    """Delete a version that has never been champion; returns its number (None: kept)."""
    champion = version_by_alias(CHAMPION)
    if "champion_from" in version.tags or (champion is not None and champion.version == version.version):
        return None
    MlflowClient().delete_model_version(MODEL_NAME, version.version)
    return int(version.version)


def point_alias_at_newest(alias: str) -> None:
    """Point ``alias`` at the newest version (when deleting a version removed it)."""
    versions = model_versions()
    if versions and version_by_alias(alias) is None:
        MlflowClient().set_registered_model_alias(MODEL_NAME, alias, versions[-1].version)


def champion_history() -> pd.DataFrame:
    """Every version that has been champion, with when it started and ended (None: still is)."""
    rows = []
    for v in MlflowClient().search_model_versions(f"name='{MODEL_NAME}'"):
        if "champion_from" in v.tags:
            rows.append({"version": int(v.version), "champion_from": v.tags["champion_from"],
                         "champion_until": v.tags.get("champion_until"), "run_id": v.run_id,
                         "reason": v.tags.get("gate.reason")})
    return pd.DataFrame(rows, columns=["version", "champion_from", "champion_until", "run_id", "reason"]) \
        .sort_values("version").reset_index(drop=True)


def load_model(version_or_alias: int | str) -> Any:
    """The registered pyfunc model of a version number or an alias."""
    return mlflow.pyfunc.load_model(model_uri(version_or_alias))


def load_pipeline(version_or_alias: int | str) -> Any:
    """The scikit-learn Pipeline inside a registered version (number or alias)."""
    return load_model(version_or_alias).unwrap_python_model().pipeline
