"""Anomaly risk: the probability that a service has at least one metric anomaly next week.

Per service, the share of the window's 7-day stretches (starting on each of its days) that hold
a metric anomaly is the empirical weekly rate: it keeps the clustering of anomalies (an incident
flags several days in a row), which multiplying a daily rate over seven independent days would
not. It is shrunk towards the share of all services (a Beta prior worth ``prior_weeks``
stretches), so a service with little history gets the fleet's rate. Calibration is checked on
synthetic backtests against the base rate (Brier score; bench/bench_forecasting.py).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def _weekly_hits(days: set[pd.Timestamp], first: pd.Timestamp, n_days: int, horizon_days: int) -> np.ndarray:
    flagged = np.array([first + pd.Timedelta(days=d) in days for d in range(n_days)])
    stretches = max(n_days - horizon_days + 1, 1)
    return np.array([flagged[k:k + horizon_days].any() for k in range(stretches)])


def anomaly_risk(anomalies: pd.DataFrame, services: list[str], start: pd.Timestamp, end: pd.Timestamp,
                 horizon_days: int = 7, prior_weeks: float = 4.0) -> pd.DataFrame:
    """``service, anomaly_probability`` for every service, from ``anomalies`` (service, timestamp)
    flagged in [start, end)."""
    first = pd.Timestamp(start).tz_convert("UTC").floor("D") if pd.Timestamp(start).tzinfo else \
        pd.Timestamp(start, tz="UTC").floor("D")
    n_days = max(int(np.ceil((pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(days=1))), 1)
    stamps = pd.to_datetime(anomalies["timestamp"], utc=True).dt.floor("D") if len(anomalies) else pd.Series(dtype=object)
    by_service = {s: set(stamps[anomalies["service"] == s]) for s in services} if len(anomalies) else {}
    hits = [_weekly_hits(by_service.get(s, set()), first, n_days, horizon_days) for s in services]
    pooled = float(np.mean(np.concatenate(hits))) if hits else 0.0
    risk = [(h.sum() + pooled * prior_weeks) / (len(h) + prior_weeks) for h in hits]
    return pd.DataFrame({"service": list(services), "anomaly_probability": np.asarray(risk, dtype=float)})


def brier_score(probability: np.ndarray, outcome: np.ndarray) -> tuple[float, float]:
    """Brier score of the forecasts and of always forecasting the base rate (lower is better)."""
    probability, outcome = np.asarray(probability, float), np.asarray(outcome, float)
    return float(np.mean((probability - outcome) ** 2)), float(np.mean((outcome.mean() - outcome) ** 2))
