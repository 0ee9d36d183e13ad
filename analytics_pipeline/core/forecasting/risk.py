"""Anomaly risk: the probability that a service has at least one metric anomaly next week.

Per service, the share of the window's 7-day stretches (starting on each of its days) that hold
a metric anomaly is the empirical weekly rate: it keeps the clustering of anomalies (an incident
flags several days in a row), which multiplying a daily rate over seven independent days would
not. It is shrunk towards the share of all services (a Beta prior worth ``prior_weeks``
independent weeks), so a service with little history gets the fleet's rate. By default the
prior's weight is estimated from the fleet (empirical Bayes, method of moments): services whose
rates differ no more than sampling noise would make them differ get the fleet's rate, and the
more they truly differ, the more each keeps its own. Calibration is checked on synthetic
backtests against the fleet's rate (Brier score; bench/bench_forecasting.py).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def _weekly_hits(days: set[pd.Timestamp], first: pd.Timestamp, n_days: int, horizon_days: int) -> np.ndarray:
    flagged = np.array([first + pd.Timedelta(days=d) in days for d in range(n_days)])
    stretches = max(n_days - horizon_days + 1, 1)
    return np.array([flagged[k:k + horizon_days].any() for k in range(stretches)])


def prior_strength(rates: np.ndarray, pooled: float, weeks: float) -> float:
    """The Beta prior's weight, in weeks, that the spread of the services' rates calls for.

    Under one common rate the services' rates vary by ``pooled (1 - pooled) / weeks`` (binomial
    sampling); only the spread beyond that is real difference between services (method of
    moments for the beta-binomial). No real spread: an infinite weight, the fleet's rate."""
    if len(rates) < 2 or not 0.0 < pooled < 1.0:
        return np.inf
    between = float(np.var(rates, ddof=1)) - pooled * (1.0 - pooled) / weeks
    return max(pooled * (1.0 - pooled) / between - 1.0, 0.0) if between > 0 else np.inf


def anomaly_risk(anomalies: pd.DataFrame, services: list[str], start: pd.Timestamp, end: pd.Timestamp,
                 horizon_days: int = 7, prior_weeks: float | None = None) -> pd.DataFrame:
    """``service, anomaly_probability`` for every service, from ``anomalies`` (service, timestamp)
    flagged in [start, end); ``prior_weeks`` None estimates the shrinkage from the fleet."""
    first = pd.Timestamp(start).tz_convert("UTC").floor("D") if pd.Timestamp(start).tzinfo else \
        pd.Timestamp(start, tz="UTC").floor("D")
    n_days = max(int(np.ceil((pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(days=1))), 1)
    stamps = pd.to_datetime(anomalies["timestamp"], utc=True).dt.floor("D") if len(anomalies) else pd.Series(dtype=object)
    by_service = {s: set(stamps[anomalies["service"] == s]) for s in services} if len(anomalies) else {}
    hits = [_weekly_hits(by_service.get(s, set()), first, n_days, horizon_days) for s in services]
    rates = np.array([h.mean() for h in hits], dtype=float)
    pooled = float(rates.mean()) if len(rates) else 0.0  # every service has the same stretches
    # Overlapping stretches share days: the evidence is worth the window's independent weeks.
    weeks = max(n_days / horizon_days, 1.0)
    strength = prior_strength(rates, pooled, weeks) if prior_weeks is None else float(prior_weeks)
    risk = np.full(len(rates), pooled) if np.isinf(strength) else (rates * weeks + pooled * strength) / (weeks + strength)
    return pd.DataFrame({"service": list(services), "anomaly_probability": np.asarray(risk, dtype=float)})


def brier_score(probability: np.ndarray, outcome: np.ndarray) -> tuple[float, float]:
    """Brier score of the forecasts and of always forecasting the base rate (lower is better)."""
    probability, outcome = np.asarray(probability, float), np.asarray(outcome, float)
    return float(np.mean((probability - outcome) ** 2)), float(np.mean((outcome.mean() - outcome) ** 2))
