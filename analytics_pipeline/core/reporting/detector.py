"""Built-in rules about the detector itself (configuration tuning): retrain after drift, and a
contamination that flags far more than the incidents explain."""
from __future__ import annotations

from datetime import datetime

from analytics_pipeline.core.reporting.evidence import WeekEvidence
from analytics_pipeline.core.reporting.recommendations import (
    OptimizationEngineConfig, OptimizationRecommendation, make,
)

EXCESS_FLAGGING = 2.0  # flagged share over the incident-backed share that calls a fixed contamination too high


def _gate_text(week: WeekEvidence) -> str:
    gate = week.gate
    if gate is None or not gate.champion:
        return "no gate metrics in MLflow"
    def shown(metrics: dict[str, float]) -> str:
        return ", ".join(f"{k} {metrics[k]:.3f}" for k in ("precision", "recall", "f1", "roc_auc", "anomaly_rate")
                         if metrics.get(k) is not None) or "no metrics"

    text = f"champion v{gate.champion_version} holdout: {shown(gate.champion)}"
    if gate.challenger_version is not None and gate.challenger_version != gate.champion_version:
        text += f"; challenger v{gate.challenger_version} (not promoted): {shown(gate.challenger)}"
    return text


def retraining(week: WeekEvidence, config: OptimizationEngineConfig,
               created: datetime) -> list[OptimizationRecommendation]:
    """Retrain when the drift check advises it (core.monitoring.drift)."""
    drift = week.drift
    if drift is None or not drift.retraining_advised:
        return []
    ratio = drift.scores.rate_ratio
    off = 1.0 - 1.0 / max(ratio, 1.0 / ratio) if ratio > 0 else 1.0
    # How far the week sits from what the model learned: the rate's relative error, or the
    # drifted share of the features, whichever is larger.
    improvement = 100.0 * max(off, len(drift.drifted) / max(len(drift.features), 1))
    top = drift.drifted.head(3)
    return [make(
        week.partition, created, config, category="configuration_tuning", component="detector",
        title=f"Retrain the detector: {drift.verdict} drift against v{drift.model_version}'s training data",
        description="; ".join(drift.reasons) + ".",
        current_value=f"champion v{drift.model_version} (trained before the shift)",
        recommended_value="retrain on the latest 30-day window (the drift sensor can launch it)",
        expected_improvement=improvement, confidence=min(0.99, 0.7 + 0.1 * len(drift.reasons)),
        steps=("Launch the retrain job for this week (or turn on the drift sensor)",
               "Check the gate's decision and the new champion's anomaly rate next week"),
        effort="low", risk="low",
        evidence=(*drift.reasons,
                  *(f"{r.feature}: {r.effect_name} {r.effect:.2f} (mean {r.reference_mean:.3g} -> {r.week_mean:.3g})"
                    for r in top.itertuples()), _gate_text(week)),
        metrics={"drifted_features": len(drift.drifted), "score_psi": drift.scores.score_psi,
                 "anomaly_rate_ratio": min(ratio, 1e6)})]


def contamination(week: WeekEvidence, config: OptimizationEngineConfig,
                  created: datetime) -> list[OptimizationRecommendation]:
    """A fixed contamination that flags far more logs than the week's incidents hold."""
    gate = week.gate
    if gate is None or gate.contamination in (None, "auto") or not len(week.logs):
        return []
    share = week.anomaly_share
    in_incidents = sum(i.anomaly_count for i in week.incidents) / len(week.logs)
    if share < EXCESS_FLAGGING * max(in_incidents, 1e-9):
        return []
    suggested = max(in_incidents * 1.5, 0.001)
    return [make(
        week.partition, created, config, category="configuration_tuning", component="detector",
        title=f"Lower the detector's contamination: it flags {share:.1%} of logs, incidents hold {in_incidents:.2%}",
        description=f"With contamination={gate.contamination} the champion flagged {len(week.anomalies):,} of "
                    f"{len(week.logs):,} logs ({share:.2%}); the week's incidents hold {in_incidents:.2%} of the logs. "
                    "The rest are alerts nobody acts on.",
        current_value=f"contamination={gate.contamination}",
        recommended_value=f"contamination=auto (or {suggested:.3f})",
        expected_improvement=100.0 * (1 - in_incidents / share), confidence=0.8,
        steps=("Train with contamination=auto in the anomaly_model launchpad config",
               "Compare precision and anomaly rate of the new challenger at the gate"),
        effort="low", risk="medium",
        evidence=(f"observed anomaly share {share:.2%}", f"incident-backed share {in_incidents:.2%}", _gate_text(week)),
        metrics={"anomaly_share": share, "incident_share": in_incidents})]
