"""Data and model drift: a week's features and scores against the champion's training reference.

Per feature, a test that suits its type, and an effect size that says whether the shift matters:

========================  ==============================  =================================================
feature                   significance (p-value)          effect size (drifted when >= its threshold)
========================  ==============================  =================================================
one-hot (level, service)  chi-square on the 2x2 counts    Cohen's h of the two shares (0.2 = "small")
continuous, week >= 2000  two-sample KS                   PSI on 10 reference-quantile bins (0.2)
continuous, week < 2000   two-sample KS                   the KS statistic D (0.2)
========================  ==============================  =================================================

p-values are corrected for the 78 tests at once (Benjamini-Hochberg, false discovery rate
``alpha``); a feature has drifted when its corrected p-value is under ``alpha`` *and* its effect
reaches its threshold. The p-value alone would call every feature drifted on a million-log week
(any difference is significant at that size); the effect alone would call noise drift on a small
one. Drifted features are ranked by effect over threshold. The Wasserstein distance in units of
the reference's standard deviation is reported beside each continuous feature, for reading.

The model side: the week's raw anomaly scores against the reference's (KS + PSI) and the share of
the week flagged against the share of the training rows flagged (two-proportion z-test, ratio).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from analytics_pipeline.core.detection.reference import TrainingReference

BINARY_PREFIXES = ("level_", "service_")
SERVICE_PREFIX = "service_"
# Latency features also tested within each service slot: one slow service among twelve barely moves
# the pooled distribution (a 3x slower payment-service, 5% of the logs, has pooled PSI ~0.01).
SEGMENT_FEATURES = ("response_time", "rt_mean_5min", "rt_median_5min")
_EPS = 1e-4  # floor of a bin's share in PSI, so that an empty bin costs a finite amount
_BINS = 10
COLUMNS = ("feature", "kind", "test", "statistic", "p_value", "q_value", "effect_name", "effect", "threshold",
           "wasserstein_sd", "reference_mean", "week_mean", "drifted")


@dataclass(frozen=True)
class DriftThresholds:
    """When a shift counts (docs/reporting.md explains each value)."""

    alpha: float = 0.01              # false discovery rate of the per-feature tests
    psi: float = 0.2                 # PSI of a continuous feature (large samples)
    cohens_h: float = 0.2            # Cohen's h of a one-hot feature's share
    ks_statistic: float = 0.2        # KS D of a continuous feature (small samples)
    small_sample: int = 2_000        # week rows under which KS D is the effect size
    score_psi: float = 0.2           # PSI of the raw anomaly scores
    # Flagged share week / training beyond which (either way) the rate alone advises retraining. A
    # week's own incidents move it up to 2x on calm synthetic weeks (bench_reporting, the demo).
    rate_ratio: float = 3.0
    min_drifted_features: int = 2    # drifted features that advise retraining on their own
    min_segment_rows: int = 200      # rows of a service (both sides) for its per-service latency tests
    max_rows: int = 50_000           # week rows sampled for the tests (bounded time; ample power)
    per_feature: Mapping[str, float] = field(default_factory=dict)  # calibrated effect thresholds

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        for name in ("psi", "cohens_h", "ks_statistic", "score_psi"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if not self.rate_ratio > 1:
            raise ValueError(f"rate_ratio must be above 1, got {self.rate_ratio}")


@dataclass(frozen=True)
class ScoreShift:
    """The model side of drift."""

    score_psi: float
    score_ks: float
    score_p_value: float
    week_rate: float
    training_rate: float
    rate_ratio: float
    rate_p_value: float


@dataclass(frozen=True)
class DriftReport:
    """One week against one model's training reference."""

    model_version: int | None
    week_rows: int
    tested_rows: int
    reference_rows: int
    features: pd.DataFrame        # COLUMNS, drifted first by effect / threshold
    scores: ScoreShift
    thresholds: DriftThresholds
    retraining_advised: bool
    reasons: tuple[str, ...]      # why retraining is or is not advised, one clause each

    @property
    def drifted(self) -> pd.DataFrame:
        return self.features[self.features["drifted"]]

    @property
    def verdict(self) -> str:
        """none | minor | significant."""
        if self.retraining_advised:
            return "significant"
        return "minor" if len(self.drifted) else "none"

    def summary(self) -> str:
        top = ", ".join(f"{r.feature} ({r.effect_name} {r.effect:.2f})" for r in self.drifted.head(3).itertuples())
        head = f"drift {self.verdict}: {len(self.drifted)}/{len(self.features)} features drifted"
        return head + (f" (top: {top})" if top else "") + f"; score PSI {self.scores.score_psi:.3f}, " \
            f"anomaly rate {self.scores.week_rate:.2%} vs {self.scores.training_rate:.2%} in training; " \
            + ("retraining advised" if self.retraining_advised else "no retraining needed")


def psi(reference: np.ndarray, week: np.ndarray, bins: int = _BINS) -> float:
    """Population stability index of ``week`` against ``reference`` on the reference's quantile bins.

    Repeated quantiles (a feature that is mostly zero) merge into one bin, so a point mass is one bin.
    """
    if reference.size == 0 or week.size == 0:
        return 0.0
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = np.bincount(np.searchsorted(edges, reference, side="left"), minlength=len(edges) + 1) / reference.size
    week_share = np.bincount(np.searchsorted(edges, week, side="left"), minlength=len(edges) + 1) / week.size
    ref_share, week_share = np.maximum(ref_share, _EPS), np.maximum(week_share, _EPS)
    return float(np.sum((week_share - ref_share) * np.log(week_share / ref_share)))


def cohens_h(p1: float, p2: float) -> float:
    """Effect size of a difference between two proportions (0.2 small, 0.5 medium, 0.8 large)."""
    return abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2)))


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Adjusted p-values (q-values) controlling the false discovery rate."""
    p = np.asarray(p_values, dtype=float)
    n = p.size
    if n == 0:
        return p
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def _binary_test(ref: np.ndarray, week: np.ndarray) -> tuple[float, float, float, float, float]:
    """(chi2, p, h, reference share, week share) of the 'on' value, the larger of the reference's two."""
    lo, hi = float(np.min(ref)), float(np.max(ref))
    cut = (lo + hi) / 2 if hi > lo else lo
    r_on, w_on = int(np.sum(ref > cut)), int(np.sum(week > cut))
    table = np.array([[r_on, ref.size - r_on], [w_on, week.size - w_on]], dtype=float)
    if (table.sum(axis=0) == 0).any():  # one value in both: nothing to test
        return 0.0, 1.0, 0.0, r_on / ref.size, w_on / week.size
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    p_ref, p_week = r_on / ref.size, w_on / week.size
    return float(chi2), float(p), cohens_h(p_ref, p_week), p_ref, p_week


def _continuous_test(ref: np.ndarray, week: np.ndarray, small: bool) -> tuple[float, float, str, float, float]:
    """(KS D, p, effect name, effect, Wasserstein in reference SDs)."""
    result = stats.ks_2samp(ref, week)
    sd = float(np.std(ref))
    wasserstein = float(stats.wasserstein_distance(ref, week)) / sd if sd > 0 else 0.0
    if small:
        return float(result.statistic), float(result.pvalue), "ks", float(result.statistic), wasserstein
    return float(result.statistic), float(result.pvalue), "psi", psi(ref, week), wasserstein


def tested_names(reference: TrainingReference) -> tuple[str, ...]:
    """Every name a report on this reference can give a row: the features and their per-service segments."""
    slots = [n.removeprefix(SERVICE_PREFIX) for n in reference.feature_names
             if n.startswith(SERVICE_PREFIX) and not n.startswith(SERVICE_PREFIX + "_unused")]
    return (*reference.feature_names, *(f"{f}[{s}]" for s in slots for f in SEGMENT_FEATURES))


def _columns(reference: TrainingReference, week: np.ndarray,
             thresholds: DriftThresholds) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, reference values, week values): every feature, then each SEGMENT_FEATURES within
    each service slot with enough rows on both sides, named ``feature[service]``."""
    names = reference.feature_names
    out = [(name, reference.matrix[:, j], week[:, j]) for j, name in enumerate(names)]
    for s, slot in enumerate(names):
        if not slot.startswith(SERVICE_PREFIX) or slot.startswith(SERVICE_PREFIX + "_unused"):
            continue
        ref_on, week_on = reference.matrix[:, s] > reference.matrix[:, s].mean(), week[:, s] > reference.matrix[:, s].mean()
        if min(ref_on.sum(), week_on.sum()) < thresholds.min_segment_rows:
            continue
        for feature in SEGMENT_FEATURES:
            if feature in names:
                j = names.index(feature)
                out.append((f"{feature}[{slot.removeprefix(SERVICE_PREFIX)}]", reference.matrix[ref_on, j],
                            week[week_on, j]))
    return out


def feature_drift(reference: TrainingReference, week: np.ndarray, thresholds: DriftThresholds) -> pd.DataFrame:
    """One row per feature (:data:`COLUMNS`), drifted first, ranked by effect over threshold."""
    rows = []
    for name, ref, cur in _columns(reference, week, thresholds):
        ref, cur = ref.astype(np.float64), cur.astype(np.float64)
        small = len(cur) < thresholds.small_sample
        if name.startswith(BINARY_PREFIXES):
            stat, p, effect, ref_mean, week_mean = _binary_test(ref, cur)
            kind, test, effect_name, wasserstein = "one-hot", "chi2", "cohens_h", None
            default = thresholds.cohens_h
        else:
            stat, p, effect_name, effect, wasserstein = _continuous_test(ref, cur, small)
            kind, test, ref_mean, week_mean = "continuous", "ks", float(ref.mean()), float(cur.mean())
            default = thresholds.ks_statistic if small else thresholds.psi
        threshold = max(default, float(thresholds.per_feature.get(name, 0.0)))
        rows.append((name, kind, test, stat, p, effect_name, effect, threshold, wasserstein, ref_mean, week_mean))
    frame = pd.DataFrame(rows, columns=[c for c in COLUMNS if c not in ("q_value", "drifted")])
    frame.insert(5, "q_value", benjamini_hochberg(frame["p_value"].to_numpy()))
    frame["drifted"] = (frame["q_value"] < thresholds.alpha) & (frame["effect"] >= frame["threshold"])
    ratio = frame["effect"] / frame["threshold"]
    order = np.lexsort((-ratio.to_numpy(), ~frame["drifted"].to_numpy()))
    return frame.iloc[order].reset_index(drop=True)[list(COLUMNS)]


def score_shift(reference: TrainingReference, week_raw_scores: np.ndarray, week_flagged: np.ndarray) -> ScoreShift:
    """The week's raw scores and flagged share against the training reference's."""
    ref_scores = reference.raw_scores
    ks = stats.ks_2samp(ref_scores, week_raw_scores) if ref_scores.size and week_raw_scores.size else None
    n1, n2 = ref_scores.size, week_flagged.size
    p1, p2 = reference.flagged_share, float(np.mean(week_flagged)) if n2 else 0.0
    pooled = (p1 * n1 + p2 * n2) / max(n1 + n2, 1)
    se = math.sqrt(pooled * (1 - pooled) * (1 / max(n1, 1) + 1 / max(n2, 1)))
    rate_p = float(2 * stats.norm.sf(abs(p2 - p1) / se)) if se > 0 else 1.0
    return ScoreShift(psi(ref_scores, week_raw_scores), float(ks.statistic) if ks else 0.0,
                      float(ks.pvalue) if ks else 1.0, p2, p1, p2 / p1 if p1 > 0 else math.inf, rate_p)


def _advice(features: pd.DataFrame, scores: ScoreShift, t: DriftThresholds) -> tuple[bool, tuple[str, ...]]:
    drifted = features[features["drifted"]]
    reasons = []
    if len(drifted) >= t.min_drifted_features:
        reasons.append(f"{len(drifted)} features drifted (>= {t.min_drifted_features}): "
                       + ", ".join(drifted["feature"].head(5)))
    if scores.score_psi >= t.score_psi and scores.score_p_value < t.alpha:
        reasons.append(f"the anomaly-score distribution moved (PSI {scores.score_psi:.2f} >= {t.score_psi})")
    ratio = scores.rate_ratio
    if (ratio >= t.rate_ratio or ratio <= 1 / t.rate_ratio) and scores.rate_p_value < t.alpha:
        reasons.append(f"the week flags {scores.week_rate:.2%} of logs, {ratio:.1f}x the "
                       f"{scores.training_rate:.2%} of training (outside 1/{t.rate_ratio:g}..{t.rate_ratio:g}x)")
    if reasons:
        return True, tuple(reasons)
    calm = [f"{len(drifted)} features drifted (< {t.min_drifted_features})",
            f"score PSI {scores.score_psi:.3f} (< {t.score_psi})",
            f"anomaly rate {ratio:.2f}x training (within 1/{t.rate_ratio:g}..{t.rate_ratio:g}x)"]
    return False, tuple(calm)


def sample_rows(n: int, limit: int, seed: int = 0) -> np.ndarray:
    """Sorted positions of at most ``limit`` of ``n`` rows, uniformly at random (all when n <= limit)."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def compare(reference: TrainingReference, week_matrix: np.ndarray, week_raw_scores: np.ndarray,
            week_flagged: np.ndarray, thresholds: DriftThresholds = DriftThresholds(),
            model_version: int | None = None) -> DriftReport:
    """The week (its feature matrix by the model's own featurizer, raw scores and flags) against
    the model's training ``reference``. At most ``thresholds.max_rows`` random rows are tested."""
    if week_matrix.shape[1] != len(reference.feature_names):
        raise ValueError(f"the week has {week_matrix.shape[1]} features, the reference {len(reference.feature_names)}: "
                         "featurize the week with the reference model's own featurizer")
    rows = sample_rows(len(week_matrix), thresholds.max_rows)
    features = feature_drift(reference, week_matrix[rows], thresholds)
    scores = score_shift(reference, np.asarray(week_raw_scores, dtype=float)[sample_rows(len(week_raw_scores),
                                                                                          thresholds.max_rows)],
                         np.asarray(week_flagged, dtype=bool))
    advised, reasons = _advice(features, scores, thresholds)
    return DriftReport(model_version, len(week_matrix), len(rows), len(reference.matrix), features, scores,
                       thresholds, advised, reasons)


def with_calibration(thresholds: DriftThresholds, history: pd.DataFrame, min_weeks: int = 3) -> DriftThresholds:
    """Per-feature effect thresholds raised to what past weeks showed, when there are ``min_weeks``.

    ``history``: one row per (partition, feature) with the ``effect`` that week measured. A feature
    whose effect is routinely large (say a TF-IDF term that moves every week) would otherwise be
    flagged every week; its threshold becomes median + 3 scaled MADs of its history, never below the
    default. Past drifted weeks are in that history too; the MAD keeps a few of them from
    inflating the threshold.
    """
    if history.empty or history["partition"].nunique() < min_weeks:
        return thresholds
    grouped = history.groupby("feature")["effect"]
    median = grouped.median()
    mad = grouped.apply(lambda e: float(np.median(np.abs(e - e.median()))))
    calibrated = (median + 3 * 1.4826 * mad).to_dict()
    return replace(thresholds, per_feature={str(k): float(v) for k, v in calibrated.items() if np.isfinite(v)})
