"""The forecasting settings and their documented defaults (the asset's Config and the CLI use them)."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import pandas as pd

# Service-level objectives and capacities a capacity planner starts from; override per deployment.
DEFAULT_THRESHOLDS: Mapping[str, float] = MappingProxyType({
    "error_share": 0.05,     # 5% of a service's logs at ERROR or CRITICAL
    "latency_p50": 500.0,    # ms
    "latency_p95": 1000.0,   # ms: the latency SLO
    "latency_p99": 2500.0,   # ms
    "cpu": 85.0, "memory": 90.0, "disk": 90.0,  # percent of the host
})


# Objectives judged over a window rather than per step: an hour with 2 errors in 30 logs is not
# an error-share breach, a day above 5% is.
DEFAULT_OBJECTIVE_WINDOWS: Mapping[str, pd.Timedelta] = MappingProxyType({"error_share": pd.Timedelta(days=1)})


# Two-sided level of the one-step band of the metric anomalies: flags ~2 normal points in 1,000;
# on NAB it hits one more labelled window than 0.999 (26 of 28) at 3.6 instead of 3.0 false flags per 1,000.
DEFAULT_ANOMALY_LEVEL = 0.998


@dataclass(frozen=True)
class ForecastConfig:
    """How forecasts are made and checked.

    ``horizon`` is in steps of the series' own frequency; None means ``horizon_days`` days (7).
    The backtest forecasts the same horizon from ``origins`` origins ``origin_step`` steps apart
    (None: one day), the last one a full horizon before the end.
    """

    horizon: int | None = None
    horizon_days: float = 7.0
    origins: int = 3
    origin_step: int | None = None
    levels: tuple[float, ...] = (0.8, 0.95)
    coverage_tolerance: float = 0.05   # own intervals kept when backtest coverage is this close to nominal
    n_jobs: int = 2                    # series forecast in parallel (processes)
    paths: int = 1000                  # simulated paths for crossing probabilities
    seed: int = 0

    def __post_init__(self) -> None:
        if self.horizon is not None and self.horizon < 1:
            raise ValueError(f"horizon must be at least 1 step, got {self.horizon}")
        if self.horizon_days <= 0:
            raise ValueError(f"horizon_days must be positive, got {self.horizon_days}")
        if self.origins < 1:
            raise ValueError(f"origins must be at least 1, got {self.origins}")
        if self.origin_step is not None and self.origin_step < 1:
            raise ValueError(f"origin_step must be at least 1, got {self.origin_step}")
        if not self.levels or any(not 0 < level < 1 for level in self.levels):
            raise ValueError(f"interval levels must lie strictly between 0 and 1, got {self.levels}")
        if self.n_jobs < 1 or self.paths < 10:
            raise ValueError("n_jobs must be at least 1 and paths at least 10")


@dataclass(frozen=True)
class CapacityConfig:
    """Thresholds per metric, and what counts as a warning.

    ``volume`` has no absolute default: its capacity is ``volume_headroom`` times the window's
    busiest hour (set ``thresholds["volume"]`` to use a known capacity instead).
    """

    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    objective_windows: Mapping[str, pd.Timedelta] = field(default_factory=lambda: dict(DEFAULT_OBJECTIVE_WINDOWS))
    volume_headroom: float = 1.5
    warn_probability: float = 0.2      # a series is a capacity warning at or above this probability
    anomaly_level: float = DEFAULT_ANOMALY_LEVEL  # one-step band of the metric anomalies

    def __post_init__(self) -> None:
        if self.volume_headroom <= 0:
            raise ValueError(f"volume_headroom must be positive, got {self.volume_headroom}")
        if not 0 < self.warn_probability <= 1:
            raise ValueError(f"warn_probability must be in (0, 1], got {self.warn_probability}")
        if not 0.5 < self.anomaly_level < 1:
            raise ValueError(f"anomaly_level must be in (0.5, 1), got {self.anomaly_level}")
        bad = {k: v for k, v in self.thresholds.items() if not isinstance(v, (int, float)) or v != v}
        if bad:
            raise ValueError(f"thresholds must be numbers, got {bad}")

    def threshold(self, metric: str, peak: float) -> float | None:
        """The threshold of ``metric``; for volume without one, headroom times the peak."""
        if metric in self.thresholds:
            return float(self.thresholds[metric])
        if metric == "volume" and peak > 0:
            return float(self.volume_headroom * peak)
        return None

    def objective_steps(self, metric: str, step: pd.Timedelta) -> int:
        """How many steps of ``step`` the objective of ``metric`` is averaged over (1: each step)."""
        window = self.objective_windows.get(metric)
        return max(1, int(window // step)) if window is not None and step > pd.Timedelta(0) else 1
