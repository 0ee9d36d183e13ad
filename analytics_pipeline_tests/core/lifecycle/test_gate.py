"""The promotion gate decides both ways, with and without labels."""
from __future__ import annotations

import numpy as np

from analytics_pipeline.core.detection.evaluation import score_separation
from analytics_pipeline.core.lifecycle.gate import GateDecision, GatePolicy, decide


def m(f1=None, auc=None, rate=0.1, sep=2.0):
    return {"f1": f1, "roc_auc": auc, "anomaly_rate": rate, "separation": sep}


def test_first_valid_model_becomes_champion():
    assert decide(m(0.5, 0.8), None, 0.1).promote
    assert decide(m(0.5, 0.8), None, 0.1).rule == "first_champion"
    assert not decide(m(rate=float("nan")), None, 0.1).promote


def test_labelled_gate_needs_higher_f1_and_no_worse_auc():
    assert decide(m(0.80, 0.90), m(0.70, 0.90), 0.1).promote
    assert not decide(m(0.60, 0.95), m(0.70, 0.90), 0.1).promote            # worse F1
    assert not decide(m(0.70, 0.95), m(0.70, 0.90), 0.1).promote            # equal F1 is not better
    assert not decide(m(0.90, 0.85), m(0.70, 0.90), 0.1).promote            # AUC dropped past tolerance
    assert decide(m(0.90, 0.895), m(0.70, 0.90), 0.1).promote               # within tolerance
    assert not decide(m(0.75, 0.9), m(0.70, 0.9), 0.1, GatePolicy(min_f1_gain=0.1)).promote


def test_unlabelled_gate_uses_rate_stability_and_separation():
    champion = m(rate=0.14, sep=2.0)
    assert decide(m(rate=0.11, sep=2.1), champion, 0.1).promote
    assert not decide(m(rate=0.30, sep=3.0), champion, 0.1).promote         # unstable rate
    assert not decide(m(rate=0.11, sep=1.0), champion, 0.1).promote         # separates worse
    decision = decide(m(rate=0.11, sep=2.1), champion, 0.1)
    assert decision.rule == "unlabelled" and "separation" in decision.reason


def test_score_separation():
    scores = np.array([0.1, 0.2, 0.1, 0.9, 0.8])
    assert score_separation(scores, scores > 0.5) > 1.5
    assert score_separation(scores, np.zeros(5, dtype=bool)) == 0.0


# Each clause of the unlabelled rule, alone: the test fails if the clause is removed.

def test_unlabelled_challenger_no_closer_to_the_target_than_the_champion_is_refused():
    # Within the rate tolerance and better separated, but further from the target than the champion.
    decision = decide(m(rate=0.13, sep=2.5), m(rate=0.11, sep=2.0), 0.1)
    assert not decision.promote and "deviation 0.30 vs champion 0.10" in decision.reason


def test_unlabelled_rate_tolerance_is_relative_and_inclusive():
    champion = m(rate=0.2, sep=1.0)  # deviation 1.0: any stable challenger is closer
    assert decide(m(rate=0.15, sep=1.0), champion, 0.1).promote                       # deviation 0.5
    assert not decide(m(rate=0.151, sep=1.0), champion, 0.1).promote                 # deviation 0.51
    assert decide(m(rate=0.151, sep=1.0), champion, 0.1, GatePolicy(rate_tolerance=0.6)).promote


def test_unlabelled_separation_may_dip_within_its_tolerance_when_the_rate_improves():
    champion = m(rate=0.12, sep=2.0)
    assert decide(m(rate=0.10, sep=1.92), champion, 0.1).promote                      # 4% lower: within 5%
    assert not decide(m(rate=0.10, sep=1.88), champion, 0.1).promote                  # 6% lower
    assert not decide(m(rate=0.10, sep=1.92), champion, 0.1, GatePolicy(separation_tolerance=0.0)).promote


def test_unlabelled_challenger_must_improve_something():
    champion = m(rate=0.11, sep=2.0)
    assert not decide(m(rate=0.11, sep=2.0), champion, 0.1).promote                   # a tie is no reason
    assert decide(m(rate=0.11, sep=2.01), champion, 0.1).promote                      # better separation
    assert decide(m(rate=0.105, sep=2.0), champion, 0.1).promote                      # closer to the target


def test_unlabelled_champion_without_a_rate_is_replaced_by_a_stable_challenger():
    champion = {"f1": None, "roc_auc": None, "anomaly_rate": None, "separation": 3.0}
    assert decide(m(rate=0.12, sep=3.0), champion, 0.1).promote
    assert not decide(m(rate=0.2, sep=3.0), champion, 0.1).promote                    # still must be stable
    assert not decide(m(rate=0.12, sep=2.0), champion, 0.1).promote                   # and separate as well


def test_labelled_rule_needs_both_models_labelled_and_the_boundaries_are_exact():
    # AUC exactly at the tolerance passes; the labelled rule is used only when both have F1 and AUC.
    assert decide(m(0.8, 0.5), m(0.7, 0.75), 0.1, GatePolicy(auc_tolerance=0.25)).rule == "labelled"
    assert decide(m(0.8, 0.5), m(0.7, 0.75), 0.1, GatePolicy(auc_tolerance=0.25)).promote
    assert not decide(m(0.8, 0.5), m(0.7, 0.75), 0.1, GatePolicy(auc_tolerance=0.24)).promote
    assert decide(m(0.75, 0.9), m(0.5, 0.9), 0.1, GatePolicy(min_f1_gain=0.25)).promote is False
    unlabelled_champion = m(rate=0.11, sep=2.0)
    assert decide(m(0.9, 0.99, rate=0.11, sep=2.0), unlabelled_champion, 0.1).rule == "unlabelled"


def test_a_challenger_without_finite_scores_is_invalid_even_against_a_champion():
    for bad in (m(rate=float("nan")), m(sep=float("inf")), m(rate=None)):
        decision = decide(bad, m(0.5, 0.8), 0.1)
        assert not decision.promote and decision.rule == "invalid"


def test_exact_boundaries_of_the_unlabelled_rule():
    # Binary-exact values: deviation exactly at the tolerance, separation exactly at its floor, ties.
    far_champion = m(rate=0.5, sep=2.0)                                                # deviation 1.0
    assert decide(m(rate=0.375, sep=2.0), far_champion, 0.25).promote                 # deviation 0.5
    assert decide(m(rate=0.375, sep=1.5), m(rate=0.5, sep=2.0), 0.25,
                  GatePolicy(separation_tolerance=0.25)).promote                      # sep at 2.0 x 0.75
    tie = m(rate=0.375, sep=2.0)
    assert not decide(m(rate=0.375, sep=2.0), tie, 0.25).promote                      # a tie on both
    assert decide(m(rate=0.375, sep=2.5), tie, 0.25).promote                          # equal deviation is stable
    champion_without_separation = {"f1": None, "roc_auc": None, "anomaly_rate": None, "separation": None}
    assert decide(m(rate=0.11, sep=0.5), champion_without_separation, 0.1).promote


def test_decisions_say_why_and_keep_what_they_compared():
    challenger, champion = m(0.8, 0.9), m(0.7, 0.95)
    assert decide(challenger, None, 0.1) == GateDecision(
        True, "no champion yet: the first valid model becomes champion", "first_champion",
        {"challenger": challenger})
    assert decide(m(rate=float("nan")), champion, 0.1) == GateDecision(
        False, "challenger produced no finite scores on the holdout", "invalid")
    assert decide(challenger, champion, 0.1) == GateDecision(
        False, "F1 0.8000 vs 0.7000 (higher); ROC-AUC 0.9000 vs 0.9500 (worse than tolerance 0.01)",
        "labelled", {"challenger": challenger, "champion": champion})
    assert decide(m(0.6, 0.95), m(0.7, 0.95), 0.1).reason == (
        "F1 0.6000 vs 0.7000 (not higher); ROC-AUC 0.9500 vs 0.9500 (within tolerance 0.01)")
    unlabelled, unlabelled_champion = m(rate=0.11, sep=2.1), m(rate=0.14, sep=2.0)
    assert decide(unlabelled, unlabelled_champion, 0.1) == GateDecision(
        True, "anomaly rate 0.1100 vs target 0.1000 (deviation 0.10 vs champion 0.40); separation 2.100 vs 2.000",
        "unlabelled", {"challenger": unlabelled, "champion": unlabelled_champion})
