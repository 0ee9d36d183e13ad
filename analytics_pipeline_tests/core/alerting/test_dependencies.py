"""The learned dependency graph: a pair that fails together, in order, is found with its lag;
pairs that only meet by chance are not."""
from __future__ import annotations

import numpy as np

from analytics_pipeline.core.alerting.dependencies import DependencyGraph, episode_starts, learn_dependencies

MIN = 60 * 10**9
DAY = 1440 * MIN


def _starts(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    db = np.sort(rng.uniform(0, 30 * DAY, 12)).astype(np.int64)
    return {
        "db": db,
        "orders": np.sort(db + rng.uniform(3, 5, len(db)) * MIN).astype(np.int64),  # follows db by ~4 min
        "search": np.sort(rng.uniform(0, 30 * DAY, 12)).astype(np.int64),  # on its own
        "mail": np.sort(rng.uniform(0, 30 * DAY, 12)).astype(np.int64),
    }


def test_a_pair_that_fails_in_order_is_an_edge_with_direction_and_lag():
    graph = learn_dependencies(_starts(), window_minutes=15, significance_level=0.001, span=(0, 30 * DAY))
    assert len(graph.edges) == 1
    edge = graph.edges[0]
    assert (edge.upstream, edge.downstream, edge.directed) == ("db", "orders", True)
    assert 3 <= edge.lag_minutes <= 5 and edge.co_occurrences == 12 and edge.strength == 1.0
    assert edge.p_value < 1e-10 and edge.lift > 50
    assert graph.leads("db", "orders") is edge and graph.leads("orders", "db") is None
    assert graph.dependents() == {"db": 1}
    matrix = graph.strength_matrix(["db", "orders", "search"])
    assert matrix[0, 1] == matrix[1, 0] == 1.0 and matrix[2].sum() == 0
    mermaid = graph.mermaid()
    assert mermaid.startswith("flowchart LR") and '["db"]' in mermaid and "-->|4" in mermaid


def test_services_that_start_together_are_linked_without_direction():
    starts = _starts()
    starts["orders"] = starts["db"] + 5 * 10**9  # 5 seconds: together
    edge = learn_dependencies(starts, 15, 0.001, (0, 30 * DAY)).edge("orders", "db")
    assert edge is not None and not edge.directed


def test_chance_meetings_are_not_edges():
    rng = np.random.default_rng(7)
    busy = {f"s{k}": np.sort(rng.uniform(0, 30 * DAY, 200)).astype(np.int64) for k in range(6)}
    assert learn_dependencies(busy, 15, 0.001, (0, 30 * DAY)).edges == ()
    assert "no service pairs" in DependencyGraph().mermaid()


def test_episodes_merge_close_alerts_and_skip_light_ones():
    service = np.array(["a", "a", "a", "b"], dtype=object)
    first = np.array([0, 2 * MIN, 60 * MIN, 0])
    weight = np.array([1.0, 1.0, 0.5, 4.0])
    starts = episode_starts(service, first, first + MIN, weight, 15 * MIN, min_weight=2)
    assert list(starts["a"]) == [0] and list(starts["b"]) == [0]  # a's hour-later alert is too light
