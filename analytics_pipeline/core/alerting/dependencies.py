"""Cross-service correlation: a dependency graph learned from when services' anomalies start.

Nobody hands the platform a service map, so it learns one. A service's alerts form *episodes*
(runs of its alerts with no gap longer than the correlation window); an episode's start is when
that service began to misbehave. Episodes weigh at least ``min_weight`` (anomalies times their
severity weight, core.alerting.alerts.SEVERITY_WEIGHTS), so a detector's scattered one-off
flags do not count as a service failing.

For a pair of services A and B, with n the smaller of their episode counts, a co-occurrence is
an episode of the rarer one that has an episode start of the other within the correlation
window. By chance alone, an episode start falls that close with probability p = the share of
the observed span that lies within the window of the other's starts, so co-occurrences are
Binomial(n, p). The pair is an edge when it co-occurred at least :data:`MIN_SUPPORT` times and
that many or more would happen by chance with probability at most the significance level.

Direction and lag: the median of the signed delays between matched starts. The service that
starts first is upstream (its failure spreads to the other, as a database takes its callers
down); within :data:`SIMULTANEOUS_SECONDS` the edge is undirected. ``strength`` is the share of
the rarer service's episodes that co-occurred (0-1): clustering relates alerts of the two
services by it, root cause reads the direction, priority reads the number of dependents.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Iterable

import numpy as np
import pandas as pd
from scipy.stats import binom

MIN_SUPPORT = 2
SIMULTANEOUS_SECONDS = 30.0
_NS_PER_MINUTE = 60 * 10**9


@dataclass(frozen=True)
class DependencyEdge:
    """Anomalies of ``downstream`` start after those of ``upstream`` more often than chance."""

    upstream: str
    downstream: str
    co_occurrences: int
    episodes: int  # of the rarer service: the trials
    expected: float  # co-occurrences expected by chance
    p_value: float
    lag_minutes: float  # median delay from upstream's start to downstream's (>= 0)
    directed: bool  # False: they start together (within SIMULTANEOUS_SECONDS)

    @property
    def strength(self) -> float:
        return self.co_occurrences / self.episodes if self.episodes else 0.0

    @property
    def lift(self) -> float:
        return self.co_occurrences / self.expected if self.expected > 0 else float("inf")


@dataclass(frozen=True)
class DependencyGraph:
    """Learned edges between services, and how many episodes each service had."""

    edges: tuple[DependencyEdge, ...] = ()
    episodes: tuple[tuple[str, int], ...] = ()
    window_minutes: float = 15.0

    def strength_matrix(self, services: Iterable[str]) -> np.ndarray:
        """Symmetric edge strengths between ``services`` (0 where no edge), in that order."""
        index = {s: i for i, s in enumerate(services)}
        out = np.zeros((len(index), len(index)))
        for e in self.edges:
            if e.upstream in index and e.downstream in index:
                out[index[e.upstream], index[e.downstream]] = out[index[e.downstream], index[e.upstream]] = e.strength
        return out

    def edge(self, a: str, b: str) -> DependencyEdge | None:
        """The edge between two services, either way round."""
        return next((e for e in self.edges if {e.upstream, e.downstream} == {a, b}), None)

    def leads(self, a: str, b: str) -> DependencyEdge | None:
        """The edge when ``a``'s anomalies start before ``b``'s (a is upstream of b)."""
        e = self.edge(a, b)
        return e if e is not None and e.directed and e.upstream == a else None

    def dependents(self) -> dict[str, int]:
        """Services each service's failures were seen to spread to."""
        out: dict[str, int] = {}
        for e in self.edges:
            if e.directed:
                out[e.upstream] = out.get(e.upstream, 0) + 1
        return out

    def mermaid(self) -> str:
        """The graph as Mermaid flowchart text (arrows point from upstream to downstream)."""
        if not self.edges:
            return "flowchart LR\n  none[\"no service pairs co-occurred beyond chance\"]"
        ids = {s: f"s{i}" for i, s in enumerate(sorted({s for e in self.edges for s in (e.upstream, e.downstream)}))}
        lines = ["flowchart LR"] + [f"  {i}[\"{s}\"]" for s, i in ids.items()]
        for e in sorted(self.edges, key=lambda e: (-e.strength, e.upstream, e.downstream)):
            arrow = "-->" if e.directed else "---"
            label = f"{e.lag_minutes:.1f} min, {e.co_occurrences}/{e.episodes}" if e.directed else \
                f"together, {e.co_occurrences}/{e.episodes}"
            lines.append(f"  {ids[e.upstream]} {arrow}|{label}| {ids[e.downstream]}")
        return "\n".join(lines)


def episode_starts(service: np.ndarray, first_ns: np.ndarray, last_ns: np.ndarray, weight: np.ndarray,
                   window_ns: int, min_weight: float) -> dict[str, np.ndarray]:
    """Per service, the sorted start times of its episodes that weigh at least ``min_weight``."""
    out: dict[str, np.ndarray] = {}
    frame = pd.DataFrame({"s": service, "f": first_ns, "l": last_ns, "w": weight}).sort_values(["s", "f"], kind="stable")
    for name, group in frame.groupby("s", sort=True):
        f, last, w = group["f"].to_numpy(), group["l"].to_numpy(), group["w"].to_numpy()
        reach = np.maximum.accumulate(last)
        new = np.r_[True, f[1:] > reach[:-1] + window_ns]
        episode = np.cumsum(new) - 1
        heavy = np.bincount(episode, weights=w) >= min_weight
        starts = f[new][heavy]
        if len(starts):
            out[str(name)] = starts
    return out


def _covered_share(starts: np.ndarray, window_ns: int, lo: int, hi: int) -> float:
    """Share of [lo, hi] within ``window_ns`` of some start (the chance of a match)."""
    if hi <= lo:
        return 1.0
    a, b = np.maximum(starts - window_ns, lo), np.minimum(starts + window_ns, hi)
    reach = np.maximum.accumulate(b)
    gaps = np.maximum(0, a[1:] - reach[:-1])  # uncovered stretches between the intervals
    covered = (reach[-1] - a[0]) - gaps.sum()
    return float(min(1.0, covered / (hi - lo)))


def _nearest_delays(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each time in ``a``, the signed delay to the nearest time in ``b``."""
    idx = np.searchsorted(b, a)
    before = b[np.clip(idx - 1, 0, len(b) - 1)] - a
    after = b[np.clip(idx, 0, len(b) - 1)] - a
    return np.where(np.abs(before) <= np.abs(after), before, after)


def learn_dependencies(starts: dict[str, np.ndarray], window_minutes: float, significance_level: float,
                       span: tuple[int, int]) -> DependencyGraph:
    """The dependency graph of episode starts over ``span`` (epoch ns); see the module docstring."""
    window_ns = int(window_minutes * _NS_PER_MINUTE)
    edges = []
    for x, y in combinations(sorted(starts), 2):
        rare, other = (x, y) if len(starts[x]) <= len(starts[y]) else (y, x)
        delays = _nearest_delays(starts[rare], starts[other])
        matched = delays[np.abs(delays) <= window_ns]
        n, k = len(starts[rare]), len(matched)
        if k < MIN_SUPPORT:
            continue
        p = _covered_share(starts[other], window_ns, *span)
        p_value = float(binom.sf(k - 1, n, p))
        if p_value > significance_level:
            continue
        lag = float(np.median(matched)) / _NS_PER_MINUTE  # > 0: ``other`` starts after ``rare``
        upstream, downstream = (rare, other) if lag >= 0 else (other, rare)
        edges.append(DependencyEdge(upstream, downstream, k, n, n * p, p_value, abs(lag),
                                    abs(lag) * 60 >= SIMULTANEOUS_SECONDS))
    return DependencyGraph(tuple(edges), tuple((s, len(v)) for s, v in sorted(starts.items())), window_minutes)
