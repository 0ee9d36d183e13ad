"""Champion/challenger promotion against the MLflow registry, with the export to saved_models/."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from analytics_pipeline.core import gate, model_export, tracking, training


def promote_if_better(logs: pd.DataFrame, challenger: dict[str, Any], policy: gate.GatePolicy,
                      saved_models_dir: Path) -> tuple[gate.GateDecision, int | None]:
    """The gate on this window's holdout; returns the decision and the champion afterwards.

    ``challenger`` holds ``version``, ``params`` and ``partition`` of the newly registered model.
    A promoted challenger becomes ``champion`` and is exported to ``saved_models_dir``; a
    rejected one is recorded there as ``testing``. The decision is tagged on the version.
    """
    _, holdout = training.time_split(logs, challenger["params"]["test_size"])
    contamination = float(challenger["params"]["contamination"])
    challenger_pipe = tracking.load_pipeline(f"models:/{tracking.MODEL_NAME}/{challenger['version']}")
    challenger_metrics, _ = training.holdout_metrics(challenger_pipe, holdout)
    current = tracking.version_by_alias(tracking.CHAMPION)
    champion_metrics = None
    if current is not None and int(current.version) != challenger["version"]:
        champion_pipe = tracking.load_pipeline(f"models:/{tracking.MODEL_NAME}/{current.version}")
        champion_metrics, _ = training.holdout_metrics(champion_pipe, holdout)
    decision = gate.decide(challenger_metrics, champion_metrics, contamination, policy)
    tags = {"gate.decision": "promoted" if decision.promote else "rejected", "gate.rule": decision.rule,
            "gate.reason": decision.reason, "gate.partition": challenger["partition"],
            "gate.compared_with": current.version if current is not None else "none"}
    tracking.tag_version(challenger["version"], tags)
    if decision.promote:
        tracking.set_champion(challenger["version"], tags)
        metadata = tracking.load_model(f"models:/{tracking.MODEL_NAME}/{challenger['version']}") \
            .unwrap_python_model().metadata
        model_export.export_champion(challenger_pipe, challenger["version"],
                                     {**metadata, "gate": tags}, saved_models_dir)
        return decision, challenger["version"]
    model_export.record_version(saved_models_dir, challenger["version"], "testing",
                                {"gate": tags, "metrics": challenger_metrics})
    return decision, int(current.version) if current is not None else None
