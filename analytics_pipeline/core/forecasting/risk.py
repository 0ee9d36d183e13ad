"""Anomaly risk: the probability that a service has at least one metric anomaly next week.

Per service, the share of the window's days with a metric anomaly, shrunk towards the share of
all services (a Beta prior worth ``prior_days`` days, so a service with little history gets the
fleet's rate), gives a daily probability ``p``; next week's risk is ``1 - (1 - p) ** 7``. Its
calibration is checked on synthetic backtests against the base rate (Brier score; bench/).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def anomaly_risk(anomalies: pd.DataFrame, services: list[str], start: pd.Timestamp, end: pd.Timestamp,
                 horizon_days: float = 7.0, prior_days: float = 7.0) -> pd.DataFrame:
    """``service, anomaly_probability`` for every service, from ``anomalies`` (service, timestamp)
    flagged in [start, end)."""
    days = max((pd.Timestamp(end) - pd.Timestamp(start)) / pd.Timedelta(days=1), 1.0)
    if len(anomalies):
        flagged_days = anomalies.assign(day=pd.to_datetime(anomalies["timestamp"], utc=True).dt.floor("D")) \
            .groupby("service")["day"].nunique()
    else:
        flagged_days = pd.Series(dtype=float)
    counts = np.array([float(flagged_days.get(s, 0)) for s in services])
    pooled = counts.sum() / (days * len(services)) if services else 0.0
    daily = (counts + pooled * prior_days) / (days + prior_days)
    risk = 1 - (1 - np.clip(daily, 0, 1)) ** horizon_days
    return pd.DataFrame({"service": list(services), "anomaly_probability": risk})


def brier_score(probability: np.ndarray, outcome: np.ndarray) -> tuple[float, float]:
    """Brier score of the forecasts and of always forecasting the base rate (lower is better)."""
    probability, outcome = np.asarray(probability, float), np.asarray(outcome, float)
    return float(np.mean((probability - outcome) ** 2)), float(np.mean((outcome.mean() - outcome) ** 2))
