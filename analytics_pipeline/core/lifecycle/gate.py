"""The champion/challenger promotion gate: a pure decision on holdout metrics.

Both models are scored on the same holdout. With labels, the challenger must have a higher F1
and an ROC-AUC no worse than the champion's beyond ``auc_tolerance``. Without labels there is
no ground truth, so the rule asks for a model that behaves as configured on unseen data and
separates its anomalies at least as clearly:

* anomaly-rate stability: the share of holdout logs flagged stays within ``rate_tolerance``
  (relative) of the rate the model expects (its contamination, or with ``contamination="auto"`` the
  share it flagged in its own training window), and is no further from it than the champion's;
* score separation: (mean score of flagged - mean score of unflagged) / std of all scores is
  at least the champion's times (1 - ``separation_tolerance``), and one of the two improves.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping



@dataclass(frozen=True)
class GatePolicy:
    auc_tolerance: float = 0.01
    min_f1_gain: float = 0.0
    rate_tolerance: float = 0.5
    separation_tolerance: float = 0.05


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    reason: str
    rule: str  # "first_champion", "labelled", "unlabelled" or "invalid"
    compared: dict[str, Any] = field(default_factory=dict)


def _finite(metrics: Mapping[str, Any], key: str) -> float | None:
    v = metrics.get(key)
    return float(v) if v is not None and math.isfinite(float(v)) else None


def decide(challenger: Mapping[str, Any], champion: Mapping[str, Any] | None,
           expected_rate: float, policy: GatePolicy = GatePolicy()) -> GateDecision:
    """Decide whether ``challenger`` replaces ``champion``; metrics come from the same holdout.

    Expected keys: ``f1``, ``roc_auc`` (None without labels), ``anomaly_rate``, ``separation``.
    """
    rate = _finite(challenger, "anomaly_rate")
    if rate is None or _finite(challenger, "separation") is None:
        return GateDecision(False, "challenger produced no finite scores on the holdout", "invalid")
    if champion is None:
        return GateDecision(True, "no champion yet: the first valid model becomes champion",
                            "first_champion", {"challenger": dict(challenger)})
    compared = {"challenger": dict(challenger), "champion": dict(champion)}
    f1_c, f1_p = _finite(challenger, "f1"), _finite(champion, "f1")
    auc_c, auc_p = _finite(challenger, "roc_auc"), _finite(champion, "roc_auc")
    if None not in (f1_c, f1_p, auc_c, auc_p):
        better_f1 = f1_c > f1_p + policy.min_f1_gain
        auc_ok = auc_c >= auc_p - policy.auc_tolerance
        why = (f"F1 {f1_c:.4f} vs {f1_p:.4f} ({'higher' if better_f1 else 'not higher'}); "
               f"ROC-AUC {auc_c:.4f} vs {auc_p:.4f} "
               f"({'within' if auc_ok else 'worse than'} tolerance {policy.auc_tolerance})")
        return GateDecision(better_f1 and auc_ok, why, "labelled", compared)

    dev_c = abs(rate - expected_rate) / expected_rate
    # A champion logged before a metric existed (or with a non-finite one) compares as "unknown".
    rate_p, sep_p = _finite(champion, "anomaly_rate"), _finite(champion, "separation") or 0.0
    dev_p = math.nan if rate_p is None else abs(rate_p - expected_rate) / expected_rate
    sep_c = float(challenger["separation"])
    # Exact comparisons: equal rates give bit-equal deviations, and a tie must not count as progress.
    stable = dev_c <= policy.rate_tolerance and (not math.isfinite(dev_p) or dev_c <= dev_p)
    separated = sep_c >= sep_p * (1 - policy.separation_tolerance)
    improves = dev_c < dev_p or sep_c > sep_p or not math.isfinite(dev_p)
    why = (f"anomaly rate {rate:.4f} vs target {expected_rate:.4f} (deviation {dev_c:.2f} vs champion "
           f"{dev_p:.2f}); separation {sep_c:.3f} vs {sep_p:.3f}")
    return GateDecision(stable and separated and improves, why, "unlabelled", compared)
