"""Rolling-origin backtests: each candidate forecasts the horizon from several origins; MASE
against the in-sample seasonal naive error, and the standardized errors for the intervals."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analytics_pipeline.core.forecasting.models import BASELINE, CANDIDATES, COMBINATION, MEMBERS, ModelForecast, combine


@dataclass
class CandidateBacktest:
    """One candidate across the origins: MASE per origin, standardized errors with their origin,
    and the parameters of its first (optimised) fit, reused by the later ones."""

    name: str
    mase: list[float] = field(default_factory=list)
    standardized: list[np.ndarray] = field(default_factory=list)
    origin: list[np.ndarray] = field(default_factory=list)
    params: object = None
    failed: str = ""

    @property
    def score(self) -> float:
        return float(np.mean(self.mase)) if self.mase and not self.failed else float("inf")


def origins_for(n: int, horizon: int, count: int, step: int, min_train: int) -> tuple[list[int], int]:
    """Origins (index of the first forecast point) and the horizon the backtest can afford."""
    affordable = n - min_train - (count - 1) * step
    horizon = min(horizon, affordable)
    if horizon < 1:
        return [], 0
    last = n - horizon
    return [last - i * step for i in reversed(range(count))], horizon


def mase_scale(train: np.ndarray, period: int) -> float:
    """Mean absolute seasonal-naive error in the training part (the MASE denominator)."""
    lag = period if len(train) > period else 1
    diffs = np.abs(train[lag:] - train[:-lag]) if len(train) > lag else np.array([])
    return float(np.mean(diffs)) if len(diffs) else 0.0


def _mase(actual: np.ndarray, predicted: np.ndarray, scale: float) -> float:
    error = float(np.mean(np.abs(actual - predicted))) if len(actual) else 0.0
    if scale > 0:
        return error / scale
    return 0.0 if error == 0 else 1e6  # a flat training part: any error is infinitely worse than none


def run_backtest(filled: np.ndarray, observed: np.ndarray, names: list[str], horizon: int, origins: list[int],
                 period: int, weekly: int | None) -> dict[str, CandidateBacktest]:
    """Every named candidate from every origin; errors only where the series was observed."""
    results = {name: CandidateBacktest(name) for name in names}
    for k, origin in enumerate(origins):
        train = filled[:origin]
        actual_mask = observed[origin:origin + horizon]
        actual = filled[origin:origin + horizon][actual_mask]
        scale = mase_scale(train, period)
        outputs: dict[str, ModelForecast] = {}
        for name, result in results.items():
            if result.failed:
                continue
            try:
                if name == COMBINATION:
                    out = combine([outputs[m] for m in MEMBERS])  # a member that failed drops it out too
                else:
                    out = CANDIDATES[name](train, horizon, period, weekly, params=result.params)
            except (ValueError, KeyError, np.linalg.LinAlgError) as exc:  # a model that cannot fit drops out
                result.failed = f"{type(exc).__name__}: {exc}"
                continue
            outputs[name] = out
            if not np.all(np.isfinite(out.mean)):
                result.failed = "non-finite forecast"
                continue
            result.params = result.params if result.params is not None else out.params
            mean, sigma = out.mean[actual_mask], out.sigma[actual_mask]
            result.mase.append(_mase(actual, mean, scale))
            result.standardized.append((actual - mean) / np.maximum(sigma, 1e-9))
            result.origin.append(np.full(len(actual), k))
    if BASELINE in results and results[BASELINE].failed:
        raise RuntimeError(f"the seasonal naive baseline failed: {results[BASELINE].failed}")
    return results
