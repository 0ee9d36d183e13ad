"""The alert feature space, and the distance between two alerts that clustering uses.

Each alert is described by:

- **time**: its interval [first seen, last seen];
- **service** it came from, and the **services its text names** (a template or sample message
  that says "Upstream db-postgres unavailable" or "Giving up on db-postgres" names db-postgres;
  names are the services seen in the data, matched as whole words);
- **learned service dependencies** (core.alerting.dependencies): how strongly its service's
  anomalies co-occur with another's;
- **anomaly type** and **template text** (tf-idf of the masked template, cosine similarity);
- **weight**: its anomalies counted by severity (core.alerting.alerts.SEVERITY_WEIGHTS).

Distance between alerts i and j (0 = the same incident for sure, 1 = unrelated):

    d = 1 - closeness(gap) x relatedness
    closeness   = 1 - gap / (2 x correlation window)     gap: time between their intervals
    relatedness = the largest of
                  1.0  same service and similar templates (cosine >= similarity_threshold)
                  0.8  same service, other template
                  0.9  one names the other's service, or both name the same one
                  s    learned dependency of strength s between their services

Pairs further apart than the correlation window are never related (d = 1), so every
computation below runs over a sparse set of candidate pairs found by sweeping the alerts in
time order: memory grows with the alerts and how many fall within one window, never with the
square of the alerts. With the default eps of 0.5, two alerts of the same service join across
up to one correlation window; a named or dependent service's a little less; two unrelated
services never join, however close in time. Anomaly type enters the k-means embedding only: a
single incident routinely mixes types (an error burst is also a latency spike).

:meth:`AlertFeatures.embedding` places alerts in a vector space for k-means with the same
intent: time in units of two correlation windows, a service vector that leans towards named and
dependent services, and small weights on type and template.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from analytics_pipeline.core.features.text import TOKEN_PATTERN

SAME_TEMPLATE = 1.0
SAME_SERVICE = 0.8
NAMED = 0.9
# Embedding weights (k-means): unrelated services end up sqrt(2) x 0.5 = 0.71 apart, above the
# default eps; a service that names the other 0.38 apart; template and type move alerts by at
# most 0.21 and 0.14.
EMBED_SERVICE, EMBED_TEMPLATE, EMBED_TYPE = 0.5, 0.15, 0.1
_PAIRS_PER_BLOCK = 2_000_000  # candidate pairs examined at once: bounds the memory of a sweep
_NS_PER_MINUTE = 60 * 10**9


def service_pattern(services: list[str]) -> re.Pattern | None:
    """A regex finding any of ``services`` as a whole word (not inside a longer name)."""
    names = sorted({s for s in services if s}, key=len, reverse=True)
    if not names:
        return None
    return re.compile(r"(?<![\w.\-])(" + "|".join(map(re.escape, names)) + r")(?![\w\-]|\.\w)")


def named_services(texts: list[str], own: np.ndarray, index: dict[str, int]) -> sparse.csr_matrix:
    """An alerts x services matrix: 1 where an alert's text names a service other than its own."""
    pattern = service_pattern(list(index))
    rows, cols = [], []
    if pattern is not None:
        for i, text in enumerate(texts):
            for name in set(pattern.findall(text)):
                j = index[name]
                if j != own[i]:
                    rows.append(i)
                    cols.append(j)
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(index)))


@dataclass(frozen=True)
class AlertFeatures:
    """The feature space of a set of alerts (rows in the order of the alerts frame)."""

    services: tuple[str, ...]
    service: np.ndarray  # code into ``services``
    start_ns: np.ndarray
    end_ns: np.ndarray
    types: tuple[str, ...]
    anomaly_type: np.ndarray  # code into ``types``
    template: np.ndarray  # code into the rows of ``templates``
    templates: sparse.csr_matrix  # l2-normalized tf-idf rows of the distinct templates
    named: sparse.csr_matrix  # alerts x services
    weight: np.ndarray
    dependency: np.ndarray  # services x services, symmetric strengths
    window_ns: int
    similarity_threshold: float

    def __len__(self) -> int:
        return len(self.service)

    def candidate_pairs(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Blocks of (i, j, gap in ns), i != j, for every pair within the correlation window."""
        order = np.argsort(self.start_ns, kind="stable")
        start, end = self.start_ns[order], self.end_ns[order]
        reach = np.searchsorted(start, np.maximum.accumulate(end) + self.window_ns, side="right")
        counts = reach - np.arange(1, len(start) + 1)
        lo = 0
        while lo < len(start):
            hi = lo + max(1, int(np.searchsorted(np.cumsum(counts[lo:]), _PAIRS_PER_BLOCK, side="right")))
            first = np.repeat(np.arange(lo, hi), counts[lo:hi])
            offsets = np.arange(len(first)) - np.repeat(np.cumsum(counts[lo:hi]) - counts[lo:hi], counts[lo:hi])
            second = first + 1 + offsets
            gap = np.maximum(0, np.maximum(start[second] - end[first], start[first] - end[second]))
            keep = gap <= self.window_ns
            if keep.any():
                yield order[first[keep]], order[second[keep]], gap[keep]
            lo = hi

    def template_similarity(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Cosine similarity of the alerts' templates (computed once per pair of distinct templates)."""
        ti, tj = self.template[i], self.template[j]
        out = np.ones(len(i))
        other = ti != tj
        if other.any():
            n = self.templates.shape[0]
            pairs, back = np.unique(ti[other] * n + tj[other], return_inverse=True)
            a, b = np.divmod(pairs, n)
            out[other] = np.asarray(self.templates[a].multiply(self.templates[b]).sum(axis=1)).ravel()[back]
        return out

    def relatedness(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """How related two alerts' services and templates are (0-1), time aside."""
        si, sj = self.service[i], self.service[j]
        same = si == sj
        related = self.dependency[si, sj]
        if same.any():
            similar = self.template_similarity(i[same], j[same]) >= self.similarity_threshold
            related[same] = np.where(similar, SAME_TEMPLATE, SAME_SERVICE)
        names = np.asarray(self.named[i, sj]).ravel() + np.asarray(self.named[j, si]).ravel()
        shared = np.asarray(self.named[i].multiply(self.named[j]).sum(axis=1)).ravel()
        return np.where((names > 0) | (shared > 0), np.maximum(related, NAMED), related)

    def distances(self, i: np.ndarray, j: np.ndarray, gap: np.ndarray) -> np.ndarray:
        closeness = np.clip(1.0 - gap / (2.0 * self.window_ns), 0.0, 1.0)
        return 1.0 - closeness * self.relatedness(i, j)

    def distance_graph(self, max_distance: float) -> sparse.csr_matrix:
        """Symmetric sparse distances of the pairs at most ``max_distance`` apart.

        Stored distances are at least 1e-9: a sparse matrix would drop an exact zero, and with
        it the neighbour.
        """
        rows, cols, values = [], [], []
        for i, j, gap in self.candidate_pairs():
            d = self.distances(i, j, gap)
            keep = d <= max_distance
            rows += [i[keep], j[keep]]
            cols += [j[keep], i[keep]]
            values += [np.maximum(d[keep], 1e-9)] * 2
        n = len(self)
        if not rows:
            return sparse.csr_matrix((n, n))
        return sparse.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))

    def embedding(self) -> sparse.csr_matrix:
        """Alerts as vectors for k-means (see the module docstring)."""
        n, k = len(self), len(self.services)
        own = sparse.csr_matrix((np.ones(n), (np.arange(n), self.service)), shape=(n, k))
        context = normalize(own + self.named + sparse.csr_matrix(self.dependency[self.service]))
        types = sparse.csr_matrix((np.ones(n), (np.arange(n), self.anomaly_type)), shape=(n, len(self.types)))
        time = sparse.csr_matrix(((self.start_ns - self.start_ns.min()) / (2.0 * self.window_ns)).reshape(-1, 1)) \
            if n else sparse.csr_matrix((0, 1))
        return sparse.hstack([time, EMBED_SERVICE * context, EMBED_TYPE * types,
                              EMBED_TEMPLATE * self.templates[self.template]]).tocsr()


def alert_features(alerts: pd.DataFrame, services: list[str], dependency: np.ndarray,
                   window_minutes: float, similarity_threshold: float) -> AlertFeatures:
    """The feature space of ``alerts`` (core.alerting.alerts.ALERT_COLUMNS).

    ``services`` is the vocabulary names are matched against (every service of the data, also
    those without alerts here) and the order of ``dependency``'s rows and columns.
    """
    index = {s: i for i, s in enumerate(services)}
    own = alerts["service"].map(index).to_numpy(dtype=np.int64)
    types, type_code = np.unique(alerts["anomaly_type"].to_numpy(dtype=str), return_inverse=True)
    distinct, template_code = np.unique(alerts["template"].to_numpy(dtype=str), return_inverse=True)
    has_terms = any(re.search(TOKEN_PATTERN, t) for t in distinct)
    templates = sparse.csr_matrix(TfidfVectorizer(token_pattern=TOKEN_PATTERN).fit_transform(distinct)) \
        if has_terms else sparse.csr_matrix((len(distinct), 1))
    samples = alerts["sample_messages"].map(lambda m: str(m[0]) if len(m) else "")
    texts = (alerts["template"].astype(str) + "\n" + samples).tolist()
    return AlertFeatures(
        tuple(services), own, pd.DatetimeIndex(alerts["first_seen"]).as_unit("ns").asi8,
        pd.DatetimeIndex(alerts["last_seen"]).as_unit("ns").asi8, tuple(types), type_code.astype(np.int64),
        template_code.astype(np.int64), templates, named_services(texts, own, index), alerts["weight"].to_numpy(dtype=float), dependency,
        int(window_minutes * _NS_PER_MINUTE), similarity_threshold)
