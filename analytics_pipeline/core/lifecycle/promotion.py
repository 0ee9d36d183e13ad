"""Champion/challenger promotion against the MLflow registry, with the export to saved_models/."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analytics_pipeline.core.detection.training import holdout_metrics
from analytics_pipeline.core.lifecycle.candidate import ModelCandidate
from analytics_pipeline.core.lifecycle.gate import GateDecision, GatePolicy, decide
from analytics_pipeline.core.lifecycle.registry import load_model, load_pipeline, set_champion, tag_version, \
    version_by_alias
from analytics_pipeline.core.registry_names import CHAMPION
from analytics_pipeline.core.scoring.saved_models import export_champion, record_version


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
    tagged on the version.
    """
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
        set_champion(candidate.version, tags)
        model = load_model(candidate.version).unwrap_python_model()
        export_champion(model.pipeline, candidate.version, {**model.metadata, "gate": tags}, saved_models_dir)
        return PromotionResult(decision, candidate.version, candidate.version)
    record_version(saved_models_dir, candidate.version, "testing",
                   {"gate": tags, "metrics": candidate.holdout.metrics})
    return PromotionResult(decision, candidate.version, int(current.version) if current is not None else None)
