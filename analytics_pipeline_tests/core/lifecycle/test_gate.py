"""The promotion gate decides both ways, with and without labels."""
from __future__ import annotations

import numpy as np

from analytics_pipeline.core.detection.evaluation import score_separation
from analytics_pipeline.core.lifecycle.gate import GatePolicy, decide


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
