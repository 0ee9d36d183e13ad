"""How new a log's message is, learned from the training logs: template counts and word frequencies.

Three channels beside the 78-feature matrix (``LogFeaturizer(novelty_channels=True)`` appends them;
the multi-view detector reads them):

- ``template_rarity``: -log10 of the template's smoothed share of the training logs,
  ``(count + 0.5) / (N + 1)``. A template never seen in training is the rarest the training size can
  tell (a 30-day window of 1M logs: 6.3; BGL-2k's 1,400 training lines: 3.4).
- ``word_novelty``: how new the words of the masked template are, in [0, 1]: the mean over its
  distinct words of ``idf(w) / log(N + 1)``, ``idf(w) = log((N + 1) / (df(w) + 1))``, ``df(w)`` the
  training logs holding the word. 0 when every word is in every log, 1 when no word was ever seen.
  Unlike the template, it tolerates a new id or exception name in a familiar sentence, and still sees a
  sentence made of new words.
- ``rare_burst``: for a log whose template is known but rare (seen in training, with a share below
  :data:`RARE_SHARE`, 1 in 1,000), the evidence ``-log10 P(X >= k)`` that its service's trailing
  window holds ``k`` such logs among ``n``, with ``X ~ Binomial(n, rho)`` and ``rho`` the service's
  own rate of known-rare logs in training; 0 for any other log. A failure mode seen before (during an
  earlier incident) that starts writing its lines again shows here, and a lone rare line in a quiet
  window does not (one rare line in two is no evidence when the service writes a few). A template
  never seen in training is left to ``word_novelty``, which the detector weighs by severity: a burst of
  a brand-new INFO line (a new periodic report) is news, not an incident; measured on BGL, counting
  unseen templates here flagged a quarter of the normal test lines.

``rho`` is measured leave-one-out (a training log's own occurrence does not count toward its
template), so that the rate sees training logs as scoring sees new ones. At most :data:`MAX_TEMPLATES` templates and :data:`MAX_WORDS` words are kept (the
most frequent); one beyond them counts as unseen.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np
from scipy.stats import binom

from analytics_pipeline.core.features.text import words_of

NOVELTY_CHANNELS: tuple[str, ...] = ("template_rarity", "word_novelty", "rare_burst")
RARE_SHARE = 1e-3
MAX_TEMPLATES = 100_000
MAX_WORDS = 100_000
_SMALLEST_P = 1e-300  # -log10 of it bounds the burst evidence at 300


@dataclass(frozen=True)
class TemplateStats:
    """Training counts of templates and words, and each service's rate of rare-template logs."""

    counts: dict[str, int]        # template -> training logs with it
    word_logs: dict[str, int]     # word -> training logs whose template holds it
    n_logs: int
    service_rare_rate: dict[str, float]
    rare_rate: float              # over all training logs: for services not seen in training

    def template_counts(self, templates: Sequence[str]) -> np.ndarray:
        """Training count of each template (0 when unseen)."""
        return np.array([self.counts.get(t, 0) for t in templates], dtype=np.float64)

    def share(self, counts: np.ndarray) -> np.ndarray:
        """Smoothed share of the training logs: ``(count + 0.5) / (N + 1)``."""
        return (np.asarray(counts, dtype=np.float64) + 0.5) / (self.n_logs + 1)

    def rarity(self, counts: np.ndarray) -> np.ndarray:
        """``template_rarity``: -log10 of the smoothed share."""
        return -np.log10(self.share(counts))

    def is_known_rare(self, counts: np.ndarray) -> np.ndarray:
        """Seen in training, but in fewer than :data:`RARE_SHARE` of the logs."""
        counts = np.asarray(counts)
        return (counts >= 1) & (self.share(counts) < RARE_SHARE)

    def word_novelty(self, templates: Sequence[str]) -> np.ndarray:
        """``word_novelty`` of each template (remembered per template: templates repeat)."""
        cache = self._novelty
        out = np.empty(len(templates))
        for i, template in enumerate(templates):
            value = cache.get(template)
            if value is None:
                value = self._word_novelty(template)
                if len(cache) < MAX_TEMPLATES:
                    cache[template] = value
            out[i] = value
        return out

    def burst_evidence(self, rare_in_window: np.ndarray, window_logs: np.ndarray,
                       rate: np.ndarray) -> np.ndarray:
        """``-log10 P(Binomial(window_logs, rate) >= rare_in_window)``, per row."""
        p = binom.sf(np.asarray(rare_in_window) - 1, np.asarray(window_logs), np.asarray(rate))
        return -np.log10(np.maximum(p, _SMALLEST_P))

    def rates(self, services: Sequence[str]) -> np.ndarray:
        """Each service's training rate of rare-template logs (the overall rate when unseen)."""
        return np.array([self.service_rare_rate.get(s, self.rare_rate) for s in services], dtype=np.float64)

    def _word_novelty(self, template: str) -> float:
        words = words_of(template)
        if not words:
            return 0.0
        scale = np.log(self.n_logs + 1)
        return float(np.mean([np.log((self.n_logs + 1) / (self.word_logs.get(w, 0) + 1)) / scale for w in words]))

    # A cache, not a field: left out of equality and of pickles.
    @cached_property
    def _novelty(self) -> dict[str, float]:
        return {}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        return {k: v for k, v in state.items() if not k.startswith("_")}


def fit_template_stats(templates: Sequence[str], template_of_row: np.ndarray, service_of_row: np.ndarray,
                       services: Sequence[str]) -> TemplateStats:
    """Learn the template and word counts of the training logs (``templates[template_of_row]`` is
    each row's template, ``services[service_of_row]`` its service)."""
    n_logs = len(template_of_row)
    counts = np.bincount(template_of_row, minlength=len(templates))
    kept = np.argsort(-counts, kind="stable")[:MAX_TEMPLATES]
    word_logs: dict[str, int] = {}
    for k in np.flatnonzero(counts):
        for word in words_of(templates[k]):
            word_logs[word] = word_logs.get(word, 0) + int(counts[k])
    if len(word_logs) > MAX_WORDS:
        word_logs = dict(sorted(word_logs.items(), key=lambda kv: -kv[1])[:MAX_WORDS])
    # Leave-one-out: a row's own occurrence does not count toward its template.
    others = counts[template_of_row] - 1
    rare_row = (others >= 1) & (((others + 0.5) / (n_logs + 1)) < RARE_SHARE)
    per_service_rare = np.bincount(service_of_row, weights=rare_row, minlength=len(services))
    per_service_logs = np.bincount(service_of_row, minlength=len(services))
    # Laplace-smoothed: a service with no rare line in training is not assumed never to write one,
    # so a single rare line (one in a window of one) is never a burst below a million training logs.
    rates = (per_service_rare + 1.0) / (per_service_logs + 2.0)
    return TemplateStats(
        counts={str(templates[k]): int(counts[k]) for k in kept if counts[k]},
        word_logs=word_logs,
        n_logs=n_logs,
        service_rare_rate={str(s): float(r) for s, r, n in zip(services, rates, per_service_logs) if n},
        rare_rate=float((rare_row.sum() + 1.0) / (n_logs + 2.0)),
    )
