"""A row-by-row reference for :class:`LogFeaturizer`'s 78 features, for tests and benchmarks.

Plain Python over the rows, one log at a time, with the definitions of the feature module's
docstring spelled out directly. It only borrows the fitted featurizer's learned parameters
(services, imputation values, vocabulary, idf, scaler) and the message masking; everything else
(parsing, windows, statistics, tf-idf, scaling) is recomputed here independently, so agreement
with the vectorized featurizer checks the vectorization.
"""
from __future__ import annotations

import bisect
import math
import statistics
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from analytics_pipeline.core.features.columns import MAX_RESPONSE_MS, MAX_STATUS_CODE
from analytics_pipeline.core.features.featurizer import LogFeaturizer
from analytics_pipeline.core.features.scaling import ServiceScaler
from analytics_pipeline.core.features.text import TOKEN_PATTERN, mask_message
from analytics_pipeline.core.logs.schema import LEVELS, normalize_level
from analytics_pipeline.core.logs.timestamps import parse_timestamp

NS_PER_SECOND = 10**9


def _number(value: Any, largest: float) -> float | None:
    """A finite number in [0, largest], or None (missing) for anything else."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) and 0 <= x <= largest else None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def _records(logs: pd.DataFrame | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(logs, pd.DataFrame):
        frame = logs.astype(object).where(logs.notna(), None)
        return frame.to_dict("records")
    return [dict(r) for r in logs]


def _scale(featurizer: LogFeaturizer, values: list[float], service: str) -> list[float]:
    scaler = featurizer.scaler_
    if scaler is None:
        return values
    if isinstance(scaler, ServiceScaler):  # the service's own row when it has one, else the global row
        r = scaler.services_.index(service) if service in scaler.services_ else len(scaler.services_)
        return [v * f + o for v, f, o in zip(values, scaler.factor_[r], scaler.offset_[r])]
    if isinstance(scaler, StandardScaler):
        return [(v - m) / s for v, m, s in zip(values, scaler.mean_, scaler.scale_)]
    if isinstance(scaler, RobustScaler):
        return [(v - c) / s for v, c, s in zip(values, scaler.center_, scaler.scale_)]
    if isinstance(scaler, MinMaxScaler):
        return [v * s + m for v, s, m in zip(values, scaler.scale_, scaler.min_)]
    raise TypeError(f"unknown scaler {scaler!r}")


def reference_transform(featurizer: LogFeaturizer, logs: pd.DataFrame | Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The feature matrix of ``logs``, computed one row at a time with a fitted ``featurizer``."""
    rows = _records(logs)
    window = featurizer.window_.value
    k = featurizer.top_n_services
    n_text = featurizer.max_tfidf_features

    # Parse every row.
    parsed = []
    for r in rows:
        ts = parse_timestamp(r["timestamp"])
        level = normalize_level(r["level"]) if isinstance(r.get("level"), str) else None
        parsed.append({
            "ts": ts.value,
            "level": level,
            "service": _text(r.get("service")),
            "message": _text(r.get("message")),
            "rt": _number(r.get("response_time"), MAX_RESPONSE_MS),
            "sc": _number(r.get("status_code"), MAX_STATUS_CODE),
        })

    # Rows of each service sorted by time, and all timestamps sorted, to find each row's window.
    by_service: dict[str, list[tuple[int, int]]] = {}
    for i, p in enumerate(parsed):
        by_service.setdefault(p["service"], []).append((p["ts"], i))
    for members in by_service.values():
        members.sort()
    all_times = sorted(p["ts"] for p in parsed)

    analyze = CountVectorizer(token_pattern=TOKEN_PATTERN, ngram_range=tuple(featurizer.ngram_range),
                              lowercase=True).build_analyzer()
    out = np.zeros((len(rows), 18 + k + n_text), dtype=np.float32)
    for i, p in enumerate(parsed):
        t = p["ts"]
        members = by_service[p["service"]]
        times = [s for s, _ in members]
        first_tie, last_tie = bisect.bisect_left(times, t), bisect.bisect_right(times, t)
        # Trailing window of the same service: (t - window, t], rows sharing t included.
        same = [parsed[j] for _, j in members[bisect.bisect_right(times, t - window):last_tie]]
        if last_tie - first_tie > 1:
            gap = 0.0
        elif first_tie > 0:
            gap = (t - times[first_tie - 1]) / NS_PER_SECOND
        else:
            gap = window / NS_PER_SECOND
        logs_in_window = bisect.bisect_right(all_times, t) - bisect.bisect_right(all_times, t - window)
        observed = [q["rt"] for q in same if q["rt"] is not None]
        if observed:
            mean = sum(observed) / len(observed)
            std = math.sqrt(sum((v - mean) ** 2 for v in observed) / len(observed))
            median = statistics.median(observed)
        else:
            mean, std, median = featurizer.response_time_fill_, 0.0, featurizer.response_time_fill_
        error_rate = sum(q["level"] in ("ERROR", "CRITICAL") for q in same) / len(same)

        when = pd.Timestamp(t, tz="UTC")
        hour = when.hour + when.minute / 60 + (when.second + when.microsecond / 1e6 + when.nanosecond / 1e9) / 3600
        day = when.dayofweek
        rt = p["rt"] if p["rt"] is not None else featurizer.response_time_fill_
        sc = p["sc"] if p["sc"] is not None else featurizer.status_code_fill_
        numerical = [rt, sc, math.sin(2 * math.pi * hour / 24), math.cos(2 * math.pi * hour / 24),
                     math.sin(2 * math.pi * day / 7), math.cos(2 * math.pi * day / 7), gap, float(logs_in_window)]
        rolling = [mean, std, median, error_rate, float(len(same))]
        scaled = _scale(featurizer, numerical + rolling, p["service"])

        out[i, :8] = scaled[:8]
        if p["level"] is not None:
            out[i, 8 + LEVELS.index(p["level"])] = 1.0
        if p["service"] in featurizer.services_:
            out[i, 13 + featurizer.services_.index(p["service"])] = 1.0
        out[i, 13 + k:18 + k] = scaled[8:]

        counts: dict[int, int] = {}
        for token in analyze(mask_message(p["message"])):
            if token in featurizer.vocabulary_:
                j = featurizer.vocabulary_[token]
                counts[j] = counts.get(j, 0) + 1
        weights = {j: c * featurizer.idf_[j] for j, c in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        for j, w in weights.items():
            out[i, 18 + k + j] = w / norm
    return out
