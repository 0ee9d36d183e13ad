"""Prediction intervals: Gaussian bands from a model's own sigma, checked on backtest errors and
widened or narrowed (split-conformal scaling) when their coverage is off.

A level's scale is the ``level`` quantile of the backtest's |error| / (z * sigma): multiplying
sigma by it makes the band cover exactly that share of the backtest errors. The coverage
reported is honest: each origin's errors are judged with the scale learned from the other
origins (leave one origin out).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm


def z_value(level: float) -> float:
    """Half-width of a two-sided ``level`` Gaussian band, in sigmas."""
    return float(norm.ppf(0.5 + level / 2))


def level_name(level: float) -> str:
    """0.8 -> '80', 0.95 -> '95' (column suffixes)."""
    return f"{level * 100:g}"


@dataclass(frozen=True)
class Calibration:
    """Per level: the scale applied to sigma, the own and the corrected backtest coverage."""

    scale: dict[float, float]
    own_coverage: dict[float, float]
    coverage: dict[float, float]

    @property
    def corrected(self) -> bool:
        return any(abs(s - 1.0) > 1e-12 for s in self.scale.values())


def _scale(ratio: np.ndarray, level: float) -> float:
    if len(ratio) == 0:
        return 1.0
    return float(max(np.quantile(ratio, level, method="higher"), 1e-6)) / z_value(level)


def calibrate(standardized: np.ndarray, origin: np.ndarray, levels: tuple[float, ...],
              tolerance: float) -> Calibration:
    """Scales from standardized backtest errors (error / own sigma) labelled by origin."""
    ratio = np.abs(standardized)
    finite = np.isfinite(ratio)
    ratio, origin = ratio[finite], origin[finite]
    scale, own, honest = {}, {}, {}
    origins = np.unique(origin)
    for level in levels:
        z = z_value(level)
        own[level] = float(np.mean(ratio <= z)) if len(ratio) else float("nan")
        off = not len(ratio) or abs(own[level] - level) > tolerance
        scale[level] = _scale(ratio, level) if off and len(ratio) else 1.0
        if not off or len(origins) < 2:
            honest[level] = float(np.mean(ratio <= z * scale[level])) if len(ratio) else float("nan")
            continue
        hits = [ratio[origin == o] <= z * _scale(ratio[origin != o], level) for o in origins]
        honest[level] = float(np.mean(np.concatenate(hits)))
    return Calibration(scale, own, honest)


def band_columns(mean: np.ndarray, sigma: np.ndarray, calibration: Calibration) -> dict[str, np.ndarray]:
    """``lo_80, hi_80, lo_95, hi_95``-style columns around ``mean``."""
    out: dict[str, np.ndarray] = {}
    for level, scale in sorted(calibration.scale.items()):
        half = z_value(level) * scale * sigma
        out[f"lo_{level_name(level)}"] = mean - half
        out[f"hi_{level_name(level)}"] = mean + half
    return out
