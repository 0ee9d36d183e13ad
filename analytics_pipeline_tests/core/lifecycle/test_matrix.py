"""Matrix runs: the grid of configurations, and child runs under one parent in a real MLflow store."""
from __future__ import annotations

import mlflow
import pytest

from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.lifecycle.matrix import grid, run_matrix
from analytics_pipeline.core.lifecycle.runs import configure
from analytics_pipeline_tests.log_samples import sample_logs


def test_grid_varies_trees_only_for_tree_detectors_and_drops_repeats():
    configs = grid(TrainingConfig(n_estimators=100), ["isolation_forest", "local_outlier_factor"], [0.05, 0.1], [20, 40])
    keys = [(c.detector, c.contamination, c.n_estimators) for c in configs]
    assert keys == [("isolation_forest", 0.05, 20), ("isolation_forest", 0.05, 40), ("isolation_forest", 0.1, 20),
                    ("isolation_forest", 0.1, 40), ("local_outlier_factor", 0.05, 100),
                    ("local_outlier_factor", 0.1, 100)]
    with pytest.raises(ValueError, match="unknown detector"):
        grid(TrainingConfig(), ["forest"], [0.1], [10])


def test_run_matrix_logs_one_child_per_configuration(tmp_path):
    previous = mlflow.get_tracking_uri()
    try:
        configure(f"sqlite:///{tmp_path}/mlflow.db")
        logs = sample_logs(600, seed=4)
        configs = grid(TrainingConfig(n_jobs=1, min_training_samples=10), ["isolation_forest"], [0.05, 0.2], [10])
        too_small = TrainingConfig(min_training_samples=10_000)  # fails: recorded, the others still run
        parent, summary = run_matrix(logs, [*configs, too_small], {"partition": "test"}, run_name="matrix-test")
        children = mlflow.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent}'")
        assert len(children) == 2 and set(children["tags.matrix"]) == {"child"}
        assert len(summary) == 3 and summary["error"].notna().sum() == 1
        ranked = summary.dropna(subset=["separation"])  # no labels in these logs: ranked by separation
        assert ranked["separation"].is_monotonic_decreasing
        run = mlflow.get_run(parent)
        assert run.data.tags["ranked_by"] == "separation" and "best_separation" in run.data.metrics
        with pytest.raises(ValueError, match="empty"):
            run_matrix(logs, [], {}, run_name="nothing")
    finally:
        mlflow.set_tracking_uri(previous)
