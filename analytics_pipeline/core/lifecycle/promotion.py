"""Champion/challenger promotion against the MLflow registry, with the export to saved_models/."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analytics_pipeline.core.detection.training import holdout_metrics
from analytics_pipeline.core.lifecycle.candidate import ModelCandidate
from analytics_pipeline.core.lifecycle.gate import GateDecision, GatePolicy, decide
from analytics_pipeline.core.lifecycle.registry import (
    load_model,
    load_pipeline,
    restore_champion,
    set_champion,
    tag_version,
    version_by_alias,
)
from analytics_pipeline.core.registry_names import CHAMPION
from analytics_pipeline.core.scoring.saved_models import active_version, export_champion, record_version


@dataclass(frozen=True)
class PromotionResult:
    """The gate's decision and who is champion afterwards (None: nobody yet)."""

    decision: GateDecision
    challenger_version: int
    champion_version: int | None

    @property
    def promoted(self) -> bool:
        return self.decision.promote


def promote_if_better(candidate: ModelCandidate, holdout: pd.DataFrame, policy: GatePolicy,
                      saved_models_dir: Path) -> PromotionResult:
    """The gate on the candidate's holdout (``training.holdout_of`` gives those rows).

    The challenger's holdout metrics come from training; only the current champion is scored
    here, on the same rows. A promoted challenger becomes ``champion`` and is exported to
    ``saved_models_dir``; a rejected one is recorded there as ``testing``. The decision is
    tagged on the version. If the export fails, the champion alias moves back and the error
    propagates: the registry and ``saved_models_dir`` stay as they were.
    """
    sync_saved_models(saved_models_dir)
    current = version_by_alias(CHAMPION)
    champion_metrics = None
    if current is not None and int(current.version) != candidate.version:
        champion_metrics, _ = holdout_metrics(load_pipeline(int(current.version)), holdout)
    decision = decide(candidate.holdout.metrics, champion_metrics, candidate.expected_rate, policy)
    tags = {"gate.decision": "promoted" if decision.promote else "rejected", "gate.rule": decision.rule,
            "gate.reason": decision.reason, "gate.partition": candidate.partition,
            "gate.compared_with": current.version if current is not None else "none"}
    tag_version(candidate.version, tags)
    if decision.promote:
        change = set_champion(candidate.version, tags)
        try:
            _export(candidate.version, tags, saved_models_dir)
        except BaseException as exc:
            restore_champion(change)
            tag_version(candidate.version, {"gate.decision": "promotion_failed",
                                            "gate.reason": f"export to saved_models failed: {exc}"})
            raise
        return PromotionResult(decision, candidate.version, candidate.version)
    record_version(saved_models_dir, candidate.version, "testing",
                   {"gate": tags, "metrics": candidate.holdout.metrics})
    return PromotionResult(decision, candidate.version, int(current.version) if current is not None else None)


def sync_saved_models(saved_models_dir: Path) -> int | None:
    """Export the champion when ``saved_models_dir`` lags behind it; returns the version exported.

    Only a process killed between moving the alias and finishing the export leaves them apart;
    the registry's alias is the truth, so the next promotion completes that export first.
    """
    champion = version_by_alias(CHAMPION)
    if champion is None or active_version(saved_models_dir) == int(champion.version):
        return None
    _export(int(champion.version), {k: v for k, v in champion.tags.items() if k.startswith("gate.")},
            saved_models_dir)
    return int(champion.version)


def _export(version: int, gate_tags: dict[str, Any], saved_models_dir: Path) -> None:
    model = load_model(version).unwrap_python_model()
    export_champion(model.pipeline, version, {**model.metadata, "gate": gate_tags}, saved_models_dir)
