"""Why a log was flagged: anomaly type, expected value and deviation, top contributing features.

Explanations are computed for anomalies only, against what "normal" looked like in training (the
feature profile stored with the model, see :func:`log_profile` and ``training.feature_profile``).

Anomaly type: the first rule that matches, in this order ("the context" is the trailing rolling
window of the log's service within the scored batch; rules that need it apply only when the batch
covers that whole window before the log, so single logs are typed from their own fields). With the
multi-view detector, the view whose evidence is strongest (core.detection.multiview) decides which
rules apply: health-view anomalies take rules 3-6, novelty and burst anomalies are
``new_message_pattern``, content anomalies ``unusual_content`` (``new_message_pattern`` when their
template is rare); rules 1-2 apply to all. Other detectors take rules 1-9 in order.

1. ``memory_leak``: the message speaks of memory (OutOfMemory, OOM, heap, GC, exit code 137).
2. ``resource_spike``: it speaks of an exhausted or saturated resource (connection/worker pool,
   too many connections or open files, CPU, disk full).
3. ``throughput_drop`` (context): the service's logs in the window are at most 20% of its training
   mean for that hour of the day (and that mean is at least 5 logs).
4. ``error_rate_spike`` (context): an error row (ERROR/CRITICAL or status >= 500) while the
   service's error rate in the window is at least 3x its training rate and at least 10%.
5. ``latency_spike``: the response time is at least 3x the service's training median and above
   its training p95.
6. ``performance_degradation``: the response time is above the service's training p95, or
   (context) the window's mean response time is at least 2x the training median.
7. ``new_message_pattern``: the masked message template is new, or rare in training (under 1
   in 10,000 training logs: a line seen only during past incidents is still news).
8. ``unusual_content`` (multi-view only): what the log says is unlike the training logs.
9. ``unusual_pattern``: anything else (an unusual combination of otherwise ordinary values).

``explanation`` is one sentence for people (core.detection.anomaly_types.sentence). A
``new_message_pattern`` names its template and how often training saw it ("seen 0 times in 30
days of training"), and its first contributor is ``template_seen_in_training`` (the count, against
the range of counts of ordinary logs' templates).

``expected_value`` / ``deviation`` (deviation = observed / expected):

- latency types (latency_spike, performance_degradation, memory_leak, resource_spike): the
  service's training median response time in ms; observed is the log's response time, or the
  window's mean response time when the log has none or when the window's mean, not the log, is
  what is slow (performance_degradation by rule 6's second half). None when neither is known.
- error_rate_spike: the service's training error rate (share of ERROR/CRITICAL logs); observed is
  the window's error rate; the expected rate is floored at 1% in the ratio.
- throughput_drop: the service's training mean of logs per rolling window at that UTC hour;
  observed is the window's log count (a ratio below 1).
- new_message_pattern, unusual_content, unusual_pattern: None (no single expected number).

Contributors: up to five model inputs outside their training [p05, p95] range, rarest first:
beyond the training min/max, then outside [p01, p99], then outside [p05, p95]; ties by distance
past the range in training standard deviations. A row with none gets its single input farthest
from the training median. Values and ranges of the 13 continuous inputs are given in their
original units (ms, seconds, counts, rates), the others (one-hot, TF-IDF) as the model sees them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from analytics_pipeline.core.detection.anomaly_types import (
    LATENCY_TYPES, MEMORY_WORDS, RECOMMENDED_ACTIONS, RESOURCE_WORDS, mentions, sentence,
)
from analytics_pipeline.core.features.novelty import TemplateStats
from analytics_pipeline.core.features.scaling import ServiceScaler
from analytics_pipeline.core.features.text import as_text, mask_message, mask_messages

_MAX_CONTRIBUTORS = 5
_COMMON_TEMPLATE_SHARE = 1e-4  # templates rarer than this in training count as new
_ERROR_LEVELS = frozenset({"ERROR", "CRITICAL"})


def template_key(template: str) -> str:
    """A short, stable key of a masked message template (stored in the profile, not the text)."""
    return hashlib.blake2b(template.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def log_profile(logs: pd.DataFrame, window: pd.Timedelta) -> dict[str, Any]:
    """Per-service baselines of the training logs for the type rules, and the common templates."""
    if len(logs) == 0:
        return {"training_days": 0.0, "training_logs": 0, "service_error_rate": {},
                "service_logs_per_window_by_hour": {}, "message_templates": []}
    errors = logs["level"].isin(list(_ERROR_LEVELS))
    error_rate = errors.groupby(logs["service"]).mean()
    # Mean logs per rolling window at each UTC hour: count per (service, hour) over the hours seen.
    ts = logs["timestamp"]
    hour_of_day = ts.dt.hour
    hours_seen = ts.dt.floor("h").drop_duplicates().dt.hour.value_counts()
    per_hour = logs.groupby([logs["service"], hour_of_day]).size().unstack(fill_value=0)
    per_hour = per_hour.reindex(columns=range(24), fill_value=0)
    windows_per_hour = pd.Timedelta(hours=1) / window
    rate = per_hour.div(hours_seen.reindex(range(24)).to_numpy() * windows_per_hour)
    templates, codes = mask_messages(logs["message"].to_numpy())
    counts = np.bincount(codes, minlength=len(templates))
    common = np.flatnonzero(counts >= _COMMON_TEMPLATE_SHARE * len(logs))  # at most 10,000
    span = ts.max() - ts.min()
    return {
        "training_days": round(span / pd.Timedelta(days=1), 2),
        "training_logs": int(len(logs)),
        "service_error_rate": {str(s): float(r) for s, r in error_rate.items()},
        "service_logs_per_window_by_hour": {
            str(s): [None if not np.isfinite(v) else round(float(v), 3) for v in row]
            for s, row in zip(rate.index, rate.to_numpy())},
        "message_templates": sorted(template_key(templates[i]) for i in common),
    }


@dataclass
class Explanations:
    """Per anomaly (aligned with the rows passed to :meth:`Explainer.explain`)."""

    anomaly_type: list[str]
    expected_value: list[float | None]
    deviation: list[float | None]
    contributors: list[list[dict[str, Any]]]
    recommended_actions: list[list[str]]
    explanation: list[str]


def _array(profile: Mapping[str, Any], key: str, fallback: str) -> np.ndarray:
    return np.asarray(profile.get(key, profile[fallback]), dtype=np.float64)


class Explainer:
    """Explanations for one model; built once per model (cheap), used for every batch."""

    def __init__(self, featurizer: Any, profile: Mapping[str, Any]) -> None:
        names = featurizer.get_feature_names_out()
        self.names = [str(n) for n in names]
        suffix = self.names[7].removeprefix("logs_in_last_")  # the rolling window, e.g. "5min"
        self.rt_mean, self.error_rate, self.volume = (
            self.names.index(f"{stat}_{suffix}") for stat in ("rt_mean", "error_rate", "log_volume"))
        self.window_ns = int(featurizer.window_.value)
        self.p05, self.p50, self.p95 = (_array(profile, k, k) for k in ("p05", "p50", "p95"))
        self.p01, self.p99 = _array(profile, "p01", "p05"), _array(profile, "p99", "p95")
        self.low, self.high = _array(profile, "min", "p01"), _array(profile, "max", "p99")
        self.std = np.maximum(np.asarray(profile["std"], dtype=np.float64), 1e-9)
        # The 13 continuous inputs (numerical, then rolling) are scaled by an affine map per
        # column; its inverse (a + b * x) puts values and ranges back in original units for people.
        self.continuous = [*range(8), *range(self.rt_mean, self.volume + 1)]
        self.offset = np.zeros(len(names))
        self.factor = np.ones(len(names))
        # Per-service scaling has one affine map per service: rows are unscaled with their own.
        self.service_scaler = featurizer.scaler_ if isinstance(featurizer.scaler_, ServiceScaler) else None
        if featurizer.scaler_ is not None:
            zero = featurizer.scaler_.inverse_transform(np.zeros((1, len(self.continuous))))[0]
            one = featurizer.scaler_.inverse_transform(np.ones((1, len(self.continuous))))[0]
            self.offset[self.continuous], self.factor[self.continuous] = zero, one - zero
        self.rt_fill = float(featurizer.response_time_fill_)
        self.service_rt = profile.get("service_response_time_ms", {})
        self.service_errors = profile.get("service_error_rate", {})
        self.base_error = float(profile.get("error_rate", 0.0))
        self.service_volume = profile.get("service_logs_per_window_by_hour", {})
        self.templates = frozenset(profile.get("message_templates", ()))
        self.training_days = profile.get("training_days")
        self.stats: TemplateStats | None = getattr(featurizer, "templates_", None)
        if self.stats is not None:  # the counts of ordinary logs' templates: p05..p95 over training logs
            counts = np.fromiter(self.stats.counts.values(), dtype=np.float64, count=len(self.stats.counts))
            order = np.argsort(counts)
            cumulative = np.cumsum(counts[order]) / max(counts.sum(), 1.0)
            self.common_counts = [float(counts[order][np.searchsorted(cumulative, q)]) for q in (0.05, 0.95)]

    def affine_rows(self, services: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per-row (offset, factor) with ``original = offset + factor * model input``."""
        offset = np.tile(self.offset, (len(services), 1))
        factor = np.tile(self.factor, (len(services), 1))
        if self.service_scaler is not None and len(services):
            rows = self.service_scaler.rows(services)
            factor[:, self.continuous] = 1.0 / self.service_scaler.factor_[rows]
            offset[:, self.continuous] = -self.service_scaler.offset_[rows] * factor[:, self.continuous]
        return offset, factor

    def unscaled(self, X: np.ndarray, column: int, affine: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        offset, factor = affine
        return offset[:, column] + factor[:, column] * X[:, column].astype(np.float64)

    def explain(self, X: np.ndarray, service: np.ndarray, level: np.ndarray, message: np.ndarray,
                response_time: np.ndarray, status_code: np.ndarray, hour: np.ndarray,
                has_context: np.ndarray, view: np.ndarray | None = None) -> Explanations:
        """Explanations of the anomalous rows ``X`` (model inputs) and their log fields; ``view`` is
        each row's strongest view when the detector has views (core.detection.multiview)."""
        affine = self.affine_rows(service.tolist())
        templates, codes = mask_messages(message)
        seen = self.stats.template_counts(templates)[codes] if self.stats is not None else None
        kinds, expected, observed, window = self._types(X, service, level, message, response_time, status_code,
                                                        hour, has_context, affine, view, seen)
        floor = np.where(kinds == "error_rate_spike", 0.01, 1e-9)
        with np.errstate(invalid="ignore", divide="ignore"):
            deviation = observed / np.maximum(expected, floor)
        contributors = self.contributors(X, affine)
        textual = np.flatnonzero((kinds == "new_message_pattern") | (kinds == "unusual_content"))
        if seen is not None:
            for i in textual.tolist():  # the template and how often training saw it, first
                contributors[i] = [{"feature": "template_seen_in_training", "value": float(seen[i]),
                                    "normal_range": list(self.common_counts), "direction": "below",
                                    "template": str(templates[codes[i]])}] + contributors[i][:4]
        explanations = [
            sentence(kind, e, o, window=bool(window[i]), template=str(templates[codes[i]]),
                     seen=None if seen is None else float(seen[i]),
                     training_logs=None if self.stats is None else self.stats.n_logs,
                     training_days=self.training_days, contributor=contributors[i][0] if contributors[i] else None)
            for i, (kind, e, o) in enumerate(zip(kinds.tolist(), expected.tolist(), observed.tolist()))]
        return Explanations(
            anomaly_type=kinds.tolist(),
            expected_value=_rounded(expected),
            deviation=_rounded(deviation),
            contributors=contributors,
            recommended_actions=[list(RECOMMENDED_ACTIONS[k]) for k in kinds.tolist()],
            explanation=explanations,
        )

    def _types(self, X: np.ndarray, service: np.ndarray, level: np.ndarray, message: np.ndarray,
               rt: np.ndarray, sc: np.ndarray, hour: np.ndarray, has_context: np.ndarray,
               affine: tuple[np.ndarray, np.ndarray], view: np.ndarray | None,
               seen: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        n = len(X)
        services = service.tolist()
        # A service never seen with response times falls back to the training median, if any.
        fallback = {"p50": self.rt_fill if self.service_rt else np.nan}
        rt_p50 = np.array([self.service_rt.get(s, fallback)["p50"] for s in services], dtype=np.float64)
        rt_p95 = np.array([self.service_rt.get(s, {}).get("p95", np.inf) for s in services], dtype=np.float64)
        base_error = np.array([self.service_errors.get(s, self.base_error) for s in services], dtype=np.float64)
        base_volume = np.array([_at_hour(self.service_volume.get(s), h) for s, h in zip(services, hour.tolist())],
                               dtype=np.float64)
        rt_mean = self.unscaled(X, self.rt_mean, affine)
        # A window without any observed response time holds the imputed median, not a measurement.
        rt_mean[np.isclose(rt_mean, self.rt_fill, rtol=1e-4)] = np.nan
        error_rate = self.unscaled(X, self.error_rate, affine)
        volume = self.unscaled(X, self.volume, affine)
        text = [as_text(m).lower() for m in message.tolist()]
        memory, resource = mentions(text, *MEMORY_WORDS), mentions(text, *RESOURCE_WORDS)
        is_error = _member(level, _ERROR_LEVELS) | (sc >= 500)
        with np.errstate(invalid="ignore"):
            throughput = has_context & (base_volume >= 5) & (volume <= 0.2 * base_volume)
            errors = has_context & is_error & (error_rate >= np.maximum(3 * base_error, 0.1))
            spike = (rt >= 3 * rt_p50) & (rt > rt_p95)
            slow = (rt > rt_p95) | (has_context & (rt_mean >= 2 * rt_p50))
        kinds = np.full(n, "unusual_pattern", dtype=object)
        health = np.ones(n, dtype=bool) if view is None else view == "health"
        rules = [("memory_leak", memory), ("resource_spike", resource), ("throughput_drop", throughput & health),
                 ("error_rate_spike", errors & health), ("latency_spike", spike & health),
                 ("performance_degradation", slow & health)]
        if view is not None:
            rare = self._new_templates(message) if seen is None else self.stats.share(seen) < _COMMON_TEMPLATE_SHARE
            novel = (view == "novelty") | (view == "burst") | ((view == "content") & rare)
            rules += [("new_message_pattern", novel), ("unusual_content", view == "content")]
        undecided = np.ones(n, dtype=bool)
        for kind, match in rules:
            hit = undecided & match
            kinds[hit] = kind
            undecided &= ~hit
        rest = np.flatnonzero(undecided & health) if view is None else np.zeros(0, dtype=np.intp)
        if len(rest):
            kinds[rest[self._new_templates(message[rest])]] = "new_message_pattern"

        latency = _member(kinds, LATENCY_TYPES)
        with np.errstate(invalid="ignore"):  # the window's mean is what is slow, or the log has no time
            window = has_context & (np.isnan(rt) | ((kinds == "performance_degradation") & ~(rt > rt_p95)))
        observed_rt = np.where(window, rt_mean, rt)  # NaN when neither is known
        expected = np.full(n, np.nan)
        observed = np.full(n, np.nan)
        for mask, exp, obs in ((latency, rt_p50, observed_rt), (kinds == "error_rate_spike", base_error, error_rate),
                               (kinds == "throughput_drop", base_volume, volume)):
            expected[mask], observed[mask] = exp[mask], obs[mask]
        return kinds, expected, observed, window & latency

    def _new_templates(self, messages: np.ndarray) -> np.ndarray:
        """True where the message's template was new or rare in training."""
        if not self.templates:  # a profile without templates cannot tell: nothing is "new"
            return np.zeros(len(messages), dtype=bool)
        if len(messages) == 1:
            return np.array([template_key(mask_message(as_text(messages[0]))) not in self.templates])
        templates, codes = mask_messages(messages)
        unseen = np.array([template_key(t) not in self.templates for t in templates], dtype=bool)
        return unseen[codes]

    def contributors(self, X: np.ndarray, affine: tuple[np.ndarray, np.ndarray]) -> list[list[dict[str, Any]]]:
        """Top inputs per row, rarest first (see the module docstring), in original units."""
        if len(X) == 0:
            return []
        x = X.astype(np.float64)
        above, below = x > self.p95, x < self.p05
        rarity = np.where(above, 1 + (x > self.p99) + (x > self.high),
                          np.where(below, 1 + (x < self.p01) + (x < self.low), 0)).astype(np.float64)
        past = np.where(above, x - self.p95, np.where(below, self.p05 - x, np.abs(x - self.p50))) / self.std
        key = rarity + past / (1.0 + past)  # the fraction orders ties within a rarity level
        k = min(_MAX_CONTRIBUTORS, x.shape[1])
        rows = np.arange(len(x))[:, None]
        top = np.argpartition(-key, k - 1, axis=1)[:, :k]
        top = top[rows, np.argsort(-key[rows, top], axis=1)]
        keep = key[rows, top] >= 1.0
        keep[:, 0] = True  # the fallback: the single input farthest from its median
        chosen = x[rows, top]
        offset, factor = affine[0][rows, top], affine[1][rows, top]
        values = (offset + factor * chosen).round(4)
        lo = (offset + factor * self.p05[top]).round(4)
        hi = (offset + factor * self.p95[top]).round(4)
        direction = np.where(chosen > self.p50[top], "above", "below")
        names = self.names
        return [[{"feature": names[j], "value": v, "normal_range": [a, b], "direction": d}
                 for j, v, a, b, d, ok in zip(js, vs, los, his, ds, ks) if ok]
                for js, vs, los, his, ds, ks in zip(top.tolist(), values.tolist(), lo.tolist(), hi.tolist(),
                                                    direction.tolist(), keep.tolist())]


def _member(values: np.ndarray, allowed: frozenset[str]) -> np.ndarray:
    """``np.isin`` for a few strings, without its sorting overhead on small inputs."""
    return np.fromiter((v in allowed for v in values.tolist()), bool, len(values))


def _at_hour(rates: list[float | None] | None, hour: int) -> float:
    value = rates[hour] if rates else None
    return np.nan if value is None else value


def _rounded(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else round(v, 4) for v in values.tolist()]
