"""The week's forecasts in words: capacity warning lines (demo, notebook, asset metadata)."""
from __future__ import annotations

import pandas as pd

from analytics_pipeline.core.forecasting.weekly import WeeklyForecasts


def _amount(metric: str, value: float) -> str:
    if metric == "error_share":
        return f"{value:.1%}"
    if metric.startswith("latency"):
        return f"{value:,.0f} ms"
    return f"{value:,.4g}"


def warning_lines(week: WeeklyForecasts, limit: int = 5) -> list[str]:
    """One line per capacity warning, likeliest first; ``["none"]`` when there is none."""
    warnings = week.warnings()
    if not len(warnings):
        return ["none"]
    lines = [f"{r.service} {r.metric}: {r.probability:.0%} chance to reach {_amount(r.metric, r.threshold)}"
             + (f", first around {r.first_crossing:%a %d %b %H:%M}" if pd.notna(r.first_crossing) else "")
             + f" (now {_amount(r.metric, r.current)})"
             for r in warnings.head(limit).itertuples()]
    if len(warnings) > limit:
        lines.append(f"... and {len(warnings) - limit} more (asset forecasts, notebooks/forecasts.ipynb)")
    return lines
