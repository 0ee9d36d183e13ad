"""The feature matrix: :class:`LogFeaturizer` turns logs into 78 float32 features per log.

Layout (``get_feature_names_out()``), with the defaults ``top_n_services=10`` and
``max_tfidf_features=50``:

=========  =====  ================================================================================
group      count  features
=========  =====  ================================================================================
numerical  8      response_time, status_code, hour_sin, hour_cos, day_sin, day_cos,
                  time_since_last_log, logs_in_last_5min
level      5      level_DEBUG, level_INFO, level_WARN, level_ERROR, level_CRITICAL
service    10     service_<name> for the most frequent training services (``services_``, most
                  frequent first); unused slots (fewer services seen) are service__unused_<k>
rolling    5      rt_mean_5min, rt_std_5min, rt_median_5min, error_rate_5min, log_volume_5min
text       50     tfidf_<term> (alphabetical); a smaller vocabulary is padded with always-zero
                  tfidf__unused_<k> columns so the count never changes
=========  =====  ================================================================================

Definitions and choices (the ``_5min`` names follow ``rolling_window``):

- Time features use the UTC timestamp. ``hour`` is fractional (06:30 is 6.5), ``day`` is the
  weekday (Monday 0). ``time_since_last_log``: seconds since the previous log of the same
  service (0 when another log of the service shares the timestamp; the window length for the
  first log of a service in the input). ``logs_in_last_5min``: logs of *all* services in the
  trailing window; ``log_volume_5min``: logs of the *same* service in it.
- Rolling windows are per service over ``(t - window, t]``: the row, the rows sharing its
  timestamp and earlier rows of the input, never later ones. ``rt_std`` is the population std.
  ``error_rate`` is the share of ERROR and CRITICAL logs.
- Missing values: a response time that is absent, not a finite number, negative or above 1e9 ms
  is missing; so is a status code that is absent, not a finite number or outside 0-999. Missing
  response times are imputed with the training median, status codes with the most frequent
  training code (0 when training had none, e.g. BGL logs: the column is then constant). Rolling
  response-time stats use the observed values only; a window without any gets the imputed value
  as mean and median, and 0 as std.
- Bad input never fails a row: a level that ``schema.normalize_level`` cannot map gives an
  all-zero level one-hot, an unseen or missing service all-zero service slots, a missing or
  non-string message is treated as "" or its ``str``. Rows come out in input order, whatever
  the order of timestamps. Missing required columns, or missing/unparseable timestamps, raise
  ``ValueError``; so does fitting on no logs. Output is always finite.
- With ``scale_numerical``, the 13 continuous columns (numerical and rolling groups) are scaled
  with ``scaler_type``; one-hot and TF-IDF columns are already in [0, 1] and are left as is.
  ``"per_service"`` (:class:`ServiceScaler`) scales the service-relative columns (latency, gaps,
  volume) within each service, so "slow for this service" is an extreme value of the column.
- Novelty channels (``novelty_channels=True``, after the 78): template_rarity, word_novelty and
  rare_burst, unscaled; see core.features.novelty.
- Speed: messages are masked and weighted once per distinct shape, windows come from sorted
  arrays. Inputs of at most ``rolling.SMALL_BATCH`` logs (the online path) skip pandas for plain
  loops, with the same results; small inputs also reuse the templates and tf-idf rows that
  earlier calls computed (core.text). Input parsing lives in core.log_columns.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from analytics_pipeline.core.features import rolling
from analytics_pipeline.core.features.columns import LogColumns, log_columns
from analytics_pipeline.core.features.novelty import NOVELTY_CHANNELS, fit_template_stats
from analytics_pipeline.core.features.scaling import SCALERS, ServiceScaler, affine
from analytics_pipeline.core.logs.schema import LEVELS
from analytics_pipeline.core.features.text import fit_tfidf, mask_messages

SCALER_TYPES: tuple[str, ...] = (*SCALERS, "per_service", "none")
# The matrix's width with the default parameters: the platform's fixed contract (DESIGN.md).
FEATURE_COUNT = 78
ROLLING_STATS: tuple[str, ...] = ("rt_mean", "rt_std", "rt_median", "error_rate", "log_volume")
# The rolling-window statistics an anomaly detector should split on (LogFeaturizer.health_weights):
# how slow the log's service has been over the window relative to its own normal (with the
# per_service scaler), and what share of its logs were errors. Incidents show there, and a burst
# shows where one odd line does not. The other columns say which log it is or when (text,
# service, hour) or how busy the system is: isolating what is rare in them flags rare-but-normal
# templates (the TF-IDF vocabulary holds frequent terms only, so a new message is not even
# expressible in it), routine single errors and slow requests, and shifts in demand (throughput is
# the forecasting stage's job). Measured with IsolationForestDetector and the per_service scaler
# on synthetic hold-out weeks and the labelled BGL logs: all 78 columns give best F1 about 0.4 and
# BGL ROC-AUC 0.44; these three give F1 0.85 and 0.93. Adding the level one-hots, single response
# times, status codes or rt_std costs 0.03-0.12 of F1 (a lone slow request or error is everyday
# noise; severity enters as the error share); adding volume, text or time drops BGL to 0.66-0.75.
HEALTH_FEATURES: tuple[str, ...] = ("rt_mean", "rt_median", "error_rate")
_FIRST_ERROR_LEVEL = LEVELS.index("ERROR")  # ERROR and CRITICAL count as errors
_NS_PER_DAY = 86_400 * 10**9
_BLOCK_ROWS = 1 << 16


def _window_suffix(window: pd.Timedelta) -> str:
    seconds = window.total_seconds()
    return f"{seconds / 60:g}min" if seconds % 60 == 0 else f"{seconds:g}s"


@dataclass(frozen=True)
class FeatureLayout:
    """Where each group of features sits in the matrix (known before fitting)."""

    top_n_services: int
    max_tfidf_features: int
    novelty_channels: bool

    @property
    def width(self) -> int:
        return 18 + self.top_n_services + self.max_tfidf_features + (len(NOVELTY_CHANNELS) if self.novelty_channels else 0)

    @property
    def level(self) -> list[int]:
        return list(range(8, 13))

    @property
    def service(self) -> list[int]:
        return list(range(13, 13 + self.top_n_services))

    @property
    def text(self) -> list[int]:
        start = 18 + self.top_n_services
        return list(range(start, start + self.max_tfidf_features))

    def rolling(self, stat: str) -> int:
        return 13 + self.top_n_services + ROLLING_STATS.index(stat)

    @property
    def health(self) -> list[int]:
        """The columns of :data:`HEALTH_FEATURES`."""
        return [self.rolling(stat) for stat in HEALTH_FEATURES]

    @property
    def content(self) -> list[int]:
        """What a log says: its level, its service slot and the TF-IDF of its template."""
        return self.level + self.service + self.text

    def channel(self, name: str) -> int:
        """Position of a novelty channel (core.features.novelty)."""
        if not self.novelty_channels:
            raise ValueError("this featurizer has no novelty channels (novelty_channels=False)")
        return 18 + self.top_n_services + self.max_tfidf_features + NOVELTY_CHANNELS.index(name)


@dataclass(frozen=True)
class _Parts:
    """Everything of a matrix but the scaling and the assembly."""

    continuous: np.ndarray  # (n, 13) float64: the numerical then the rolling group
    level: np.ndarray
    slot: np.ndarray        # service slot per row, -1 outside the top services
    text: np.ndarray        # (templates, max_tfidf_features) float32: tf-idf per distinct template
    template: np.ndarray    # template per row
    service: np.ndarray     # service code per row, into ``services``
    services: list[str]
    channels: np.ndarray | None  # (n, 3) novelty channels, when the featurizer has them


class LogFeaturizer(TransformerMixin, BaseEstimator):
    """Logs (canonical frame or list of dicts) to the feature matrix; see the module docstring.

    A scikit-learn transformer: it composes with a detector in a ``Pipeline``, clones, pickles
    and grid-searches. ``fit`` learns the top services, the imputation values, the TF-IDF
    vocabulary and the scaler; ``transform`` returns float32 rows in input order.

    Learned attributes: ``services_`` (service per slot), ``response_time_fill_``,
    ``status_code_fill_``, ``tfidf_`` (:class:`~analytics_pipeline.core.text.TfidfModel`) with
    ``vocabulary_`` (term -> column within the text group) and ``idf_``, ``scaler_`` (fitted
    scikit-learn scaler of the 13 continuous columns, a :class:`ServiceScaler`, or None), ``window_``,
    ``templates_`` (:class:`~analytics_pipeline.core.features.novelty.TemplateStats`, with
    ``novelty_channels``) and ``feature_names_out_``.

    ``novelty_channels=True`` appends the three channels of core.features.novelty after the 78
    features (template rarity, word novelty, rare-template bursts): signals beside the matrix that
    the multi-view detector reads. The 78-feature matrix itself is the same either way.
    """

    def __init__(self, max_tfidf_features: int = 50, top_n_services: int = 10,
                 rolling_window: str = "5min", scale_numerical: bool = True,
                 scaler_type: str = "standard", ngram_range: tuple[int, int] = (1, 2),
                 min_df: float | int = 2, max_df: float | int = 0.8, novelty_channels: bool = False) -> None:
        self.max_tfidf_features = max_tfidf_features
        self.top_n_services = top_n_services
        self.rolling_window = rolling_window
        self.scale_numerical = scale_numerical
        self.scaler_type = scaler_type
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.novelty_channels = novelty_channels

    def _check_params(self) -> pd.Timedelta:
        for name in ("max_tfidf_features", "top_n_services"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        if self.scaler_type not in SCALER_TYPES:
            raise ValueError(f"scaler_type must be one of {', '.join(SCALER_TYPES)}, got {self.scaler_type!r}")
        lo, hi = self.ngram_range
        if not 1 <= lo <= hi:
            raise ValueError(f"ngram_range must be (min_n, max_n) with 1 <= min_n <= max_n, got {self.ngram_range!r}")
        window = pd.Timedelta(self.rolling_window)
        if window <= pd.Timedelta(0):
            raise ValueError(f"rolling_window must be positive, got {self.rolling_window!r}")
        return window

    def fit(self, X: Any, y: Any = None) -> "LogFeaturizer":
        """Learn from the logs ``X``; ``y`` is ignored."""
        self._fit(log_columns(X))
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """``fit(X).transform(X)`` in one pass over ``X`` (same result)."""
        return self._assemble(self._fit(log_columns(X)))

    def transform(self, X: Any) -> np.ndarray:
        """The float32 feature matrix of the logs ``X``, one row per log, in input order."""
        check_is_fitted(self, "feature_names_out_")
        cols = log_columns(X)
        if len(cols.ts) == 0:
            return np.zeros((0, len(self.feature_names_out_)), dtype=np.float32)
        return self._assemble(self._parts(cols, *mask_messages(cols.message)))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Output feature names, in column order (``input_features`` is ignored)."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def get_feature_names(self) -> list[str]:
        """Alias of :meth:`get_feature_names_out` as a list (older API, kept for notebooks)."""
        return self.get_feature_names_out().tolist()

    def health_weights(self) -> tuple[int, ...]:
        """``feature_weights`` for :class:`~analytics_pipeline.core.detectors.IsolationForestDetector`
        that let it split only on :data:`HEALTH_FEATURES`, in this featurizer's layout (known
        before fitting); see :data:`HEALTH_FEATURES` for why."""
        layout = self.layout()
        weights = [0] * layout.width
        for column in layout.health:
            weights[column] = 1
        return tuple(weights)

    def layout(self) -> FeatureLayout:
        """Where each group of features sits in this featurizer's output (known before fitting)."""
        return FeatureLayout(self.top_n_services, self.max_tfidf_features, bool(self.novelty_channels))

    def _fit(self, cols: LogColumns) -> _Parts:
        window = self._check_params()
        if len(cols.ts) == 0:
            raise ValueError("cannot fit LogFeaturizer on an empty set of logs")
        self.window_ = window
        # Most frequent first; ties by name so the slots do not depend on row order.
        counts = np.bincount(cols.service, minlength=len(cols.services))
        ranked = sorted(range(len(counts)), key=lambda k: (-counts[k], cols.services[k]))
        self.services_ = [cols.services[k] for k in ranked[:self.top_n_services]]
        observed_rt = cols.rt[~np.isnan(cols.rt)]
        self.response_time_fill_ = float(np.median(observed_rt)) if len(observed_rt) else 0.0
        codes, freq = np.unique(cols.sc[~np.isnan(cols.sc)], return_counts=True)
        self.status_code_fill_ = float(codes[np.argmax(freq)]) if len(codes) else 0.0
        templates, template_of_row = mask_messages(cols.message)
        self.tfidf_ = fit_tfidf(templates, np.bincount(template_of_row, minlength=len(templates)),
                                max_features=self.max_tfidf_features, ngram_range=tuple(self.ngram_range),
                                min_df=self.min_df, max_df=self.max_df)
        self.vocabulary_ = {term: j for j, term in enumerate(self.tfidf_.terms)}
        self.idf_ = self.tfidf_.idf
        self.templates_ = (fit_template_stats(templates, template_of_row, cols.service, cols.services)
                           if self.novelty_channels else None)
        parts = self._parts(cols, templates, template_of_row)
        if not self.scale_numerical or self.scaler_type == "none":
            self.scaler_ = None
        elif self.scaler_type == "per_service":
            self.scaler_ = ServiceScaler().fit(parts.continuous, parts.service, parts.services)
        else:
            self.scaler_ = SCALERS[self.scaler_type]().fit(parts.continuous)
        suffix = _window_suffix(window)
        names = ["response_time", "status_code", "hour_sin", "hour_cos", "day_sin", "day_cos",
                 "time_since_last_log", f"logs_in_last_{suffix}"]
        names += [f"level_{level}" for level in LEVELS]
        names += [f"service_{s}" for s in self.services_]
        names += [f"service__unused_{k}" for k in range(len(self.services_), self.top_n_services)]
        names += [f"{stat}_{suffix}" for stat in ROLLING_STATS]
        names += [f"tfidf_{term}" for term in self.tfidf_.terms]
        names += [f"tfidf__unused_{k}" for k in range(len(self.tfidf_.terms), self.max_tfidf_features)]
        names += list(NOVELTY_CHANNELS) if self.novelty_channels else []
        self.feature_names_out_ = np.asarray(names, dtype=object)
        return parts

    def _parts(self, cols: LogColumns, templates: np.ndarray, template_of_row: np.ndarray) -> _Parts:
        n = len(cols.ts)
        rt = np.where(np.isnan(cols.rt), self.response_time_fill_, cols.rt)
        sc = np.where(np.isnan(cols.sc), self.status_code_fill_, cols.sc)
        stats = self.templates_
        counts = stats.template_counts(templates) if stats is not None else None
        rare = stats.is_known_rare(counts)[template_of_row] if stats is not None else None
        context = rolling.time_context(cols.ts, cols.service, cols.rt, cols.level >= _FIRST_ERROR_LEVEL,
                                       self.window_.value, self.response_time_fill_, counted=rare)
        continuous = np.empty((n, 13))
        continuous[:, 0] = rt
        continuous[:, 1] = sc
        hour = (cols.ts % _NS_PER_DAY) / 3.6e12
        day = (cols.ts // _NS_PER_DAY + 3) % 7  # 1970-01-01 was a Thursday (Monday is 0)
        continuous[:, 2] = np.sin(np.pi * hour / 12)
        continuous[:, 3] = np.cos(np.pi * hour / 12)
        continuous[:, 4] = np.sin(2 * np.pi * day / 7)
        continuous[:, 5] = np.cos(2 * np.pi * day / 7)
        continuous[:, 6:8] = context[:, :2]
        continuous[:, 8:] = context[:, 2:7]
        slot_of = {name: k for k, name in enumerate(self.services_)}
        slot = np.array([slot_of.get(name, -1) for name in cols.services], dtype=np.int64)[cols.service]
        text = np.zeros((len(templates), self.max_tfidf_features), dtype=np.float32)
        text[:, :len(self.tfidf_.terms)] = self.tfidf_.transform(templates)  # the rest: padding
        channels = None
        if stats is not None:
            channels = np.zeros((n, len(NOVELTY_CHANNELS)))
            channels[:, 0] = stats.rarity(counts)[template_of_row]
            channels[:, 1] = stats.word_novelty(templates)[template_of_row]
            rows = np.flatnonzero(rare)  # only logs of known-rare templates make a burst
            channels[rows, 2] = stats.burst_evidence(context[rows, 7], context[rows, 6],
                                                     stats.rates(cols.services)[cols.service[rows]])
        return _Parts(continuous, cols.level, slot, text, template_of_row, cols.service, cols.services, channels)

    def _assemble(self, parts: _Parts) -> np.ndarray:
        n = len(parts.level)
        k = self.top_n_services
        out = np.zeros((n, self.layout().width), dtype=np.float32)
        continuous = parts.continuous  # scaled in place: parts are used once
        if isinstance(self.scaler_, ServiceScaler):
            row = self.scaler_.rows(parts.services)[parts.service]
            for lo in range(0, n, _BLOCK_ROWS):
                block = slice(lo, lo + _BLOCK_ROWS)
                continuous[block] *= self.scaler_.factor_[row[block]]
                continuous[block] += self.scaler_.offset_[row[block]]
        elif self.scaler_ is not None:
            # The scalers are affine maps; applying them directly skips sklearn's input checks,
            # which cost more than the whole rest for a single log.
            scale, offset = affine(self.scaler_)
            continuous *= scale
            continuous += offset
        out[:, :8] = continuous[:, :8]
        rows = np.arange(n)
        known = parts.level >= 0
        out[rows[known], 8 + parts.level[known]] = 1.0
        known = parts.slot >= 0
        out[rows[known], 13 + parts.slot[known]] = 1.0
        out[:, 13 + k:18 + k] = continuous[:, 8:]
        # Row blocks keep the gather's temporary small (and in cache) on large inputs.
        text = slice(18 + k, 18 + k + self.max_tfidf_features)
        for lo in range(0, n, _BLOCK_ROWS):
            out[lo:lo + _BLOCK_ROWS, text] = parts.text[parts.template[lo:lo + _BLOCK_ROWS]]
        if parts.channels is not None:
            out[:, text.stop:] = parts.channels
        return out
