"""Grouping related alerts: four algorithms behind one interface, then which groups are incidents.

Every clusterer is a scikit-learn estimator (parameters in ``__init__``, ``fit`` returns self,
``labels_``; clone and ``get_params`` work) whose ``fit`` takes the alerts' feature space
(core.alerting.features.AlertFeatures) and labels each alert with a group, -1 for none:

- ``dbscan`` (default): DBSCAN on the sparse alert distances, each alert weighted by its
  anomalies' severity weight; a group needs a core whose neighbours within ``eps`` weigh at
  least ``min_samples``. Scattered low-severity alerts neither form groups nor bridge them.
- ``hierarchical``: single-linkage agglomeration cut at ``eps``: alerts join when any pair is
  within ``eps``, with no density asked, so one stray alert can bridge two incidents. (Average
  and complete linkage were measured too: they cut long incidents into pieces, since the two
  ends of a one-hour incident are unrelated by time alone.)
- ``kmeans``: k-means on the alert embedding (core.alerting.features) inside each set of alerts
  related at all (distance < 1), with k the number of sets connected at ``eps`` inside it
  (k-means cannot find k itself); it draws compact boundaries, so it may cut a long incident.
- ``rule_based``: alerts within the correlation window of each other that share a service, a
  learned dependency, a named service or a similar template (cosine >= similarity_threshold)
  are grouped, transitively. No weights, no thresholds to tune; generic templates shared by
  every service ("GET <path> completed") can join unrelated incidents.

:func:`incident_labels` then keeps the groups that are incidents: those that weigh at least
``min_samples`` and hold more anomalies than their services' background rate would produce in
their time span with probability ``significance_level`` (core.alerting.significance). The
other alerts stay alerts, without an incident.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import DBSCAN, KMeans

from analytics_pipeline.core.alerting.config import AlertIntelligenceConfig
from analytics_pipeline.core.alerting.features import AlertFeatures
from analytics_pipeline.core.alerting.significance import BackgroundRates

def _components(features: AlertFeatures, eps: float) -> np.ndarray:
    """Label of each alert's set of alerts connected at distance <= eps."""
    if len(features) == 0:
        return np.zeros(0, dtype=np.int64)
    return connected_components(features.distance_graph(eps), directed=False)[1]


class AlertClusterer(BaseEstimator, ClusterMixin):
    """Base: ``fit(features)`` sets ``labels_`` (one per alert, -1 for no group)."""

    def fit(self, features: AlertFeatures, y: None = None) -> "AlertClusterer":
        self.labels_ = self._labels(features) if len(features) else np.zeros(0, dtype=np.int64)
        return self

    def _labels(self, features: AlertFeatures) -> np.ndarray:
        raise NotImplementedError


class DBSCANAlertClusterer(AlertClusterer):
    def __init__(self, eps: float = 0.5, min_samples: int = 2) -> None:
        self.eps = eps
        self.min_samples = min_samples

    def _labels(self, features: AlertFeatures) -> np.ndarray:
        dbscan = DBSCAN(eps=self.eps, min_samples=self.min_samples, metric="precomputed")
        return dbscan.fit(features.distance_graph(self.eps), sample_weight=features.weight).labels_


class HierarchicalAlertClusterer(AlertClusterer):
    def __init__(self, eps: float = 0.5) -> None:
        self.eps = eps

    def _labels(self, features: AlertFeatures) -> np.ndarray:
        # Single-linkage agglomeration cut at eps gives exactly the sets of alerts connected at
        # distance <= eps: computed as such, without building the tree.
        return _components(features, self.eps)


class KMeansAlertClusterer(AlertClusterer):
    def __init__(self, eps: float = 0.5, random_state: int = 0) -> None:
        self.eps = eps
        self.random_state = random_state

    def _labels(self, features: AlertFeatures) -> np.ndarray:
        labels = np.full(len(features), -1, dtype=np.int64)
        related = _components(features, 1.0 - 1e-9)
        tight = _components(features, self.eps)
        embedding = features.embedding()
        next_label = 0
        order = np.argsort(related, kind="stable")
        for members in np.split(order, np.flatnonzero(np.diff(related[order])) + 1):
            k = len(np.unique(tight[members]))
            if k == 1 or k == len(members):
                labels[members] = next_label + (np.arange(len(members)) if k > 1 else 0)
            else:
                kmeans = KMeans(n_clusters=k, n_init=3, random_state=self.random_state)
                labels[members] = next_label + kmeans.fit(embedding[members]).labels_
            next_label += k
        return labels


class RuleBasedAlertClusterer(AlertClusterer):
    def _labels(self, features: AlertFeatures) -> np.ndarray:
        rows, cols = [], []
        for i, j, _ in features.candidate_pairs():
            si, sj = features.service[i], features.service[j]
            shared = (si == sj) | (features.dependency[si, sj] > 0)
            shared |= (np.asarray(features.named[i, sj]).ravel() + np.asarray(features.named[j, si]).ravel()) > 0
            shared |= features.template_similarity(i, j) >= features.similarity_threshold
            rows.append(i[shared])
            cols.append(j[shared])
        n = len(features)
        edges = sparse.csr_matrix((np.ones(sum(map(len, rows))), (np.concatenate(rows or [[]]).astype(np.int64),
                                   np.concatenate(cols or [[]]).astype(np.int64))), shape=(n, n))
        return connected_components(edges, directed=False)[1]


def make_clusterer(config: AlertIntelligenceConfig) -> AlertClusterer:
    """The configured algorithm with the configured parameters."""
    name = config.clustering_algorithm
    if name == "dbscan":
        return DBSCANAlertClusterer(eps=config.clustering_eps, min_samples=config.clustering_min_samples)
    if name == "hierarchical":
        return HierarchicalAlertClusterer(eps=config.clustering_eps)
    if name == "kmeans":
        return KMeansAlertClusterer(eps=config.clustering_eps)
    return RuleBasedAlertClusterer()


def incident_labels(labels: np.ndarray, features: AlertFeatures, counts: np.ndarray, background: BackgroundRates,
                    config: AlertIntelligenceConfig) -> np.ndarray:
    """Groups that are incidents, numbered 0.. by their first alert; -1 for every other alert.

    ``counts`` are the alerts' anomaly counts (for the significance test).
    """
    out = np.full(len(labels), -1, dtype=np.int64)
    grouped = labels >= 0
    if not grouped.any():
        return out
    groups, inverse = np.unique(labels[grouped], return_inverse=True)
    index = np.flatnonzero(grouped)
    weight = np.bincount(inverse, weights=features.weight[index])
    total = np.bincount(inverse, weights=counts[index])
    first = np.full(len(groups), np.iinfo(np.int64).max)
    last = np.zeros(len(groups), dtype=np.int64)
    np.minimum.at(first, inverse, features.start_ns[index])
    np.maximum.at(last, inverse, features.end_ns[index])
    kept = []
    for g in range(len(groups)):
        if weight[g] < config.clustering_min_samples:
            continue
        services = [features.services[s] for s in np.unique(features.service[index[inverse == g]])]
        if background.p_value(int(total[g]), services, first[g], last[g]) <= config.significance_level:
            kept.append(g)
    renumber = np.full(len(groups), -1, dtype=np.int64)
    renumber[sorted(kept, key=lambda g: first[g])] = np.arange(len(kept))
    out[index] = renumber[inverse]
    return out
