"""Isolation Forest scoring: sklearn's ``score_samples`` against :class:`CompiledForest`.

A 100-tree forest trained on 50k x 78 float32 rows (the featurizer's width) scores 1 row (median
of 500 calls), 100 rows (median of 200) and 1M rows (quick: 100k; best of 2 runs). Both paths run
in the same process on the same forest, so the ratios are like for like. Also: the detector's fit
time and model size.

Usage: python bench/bench_scoring.py [--quick]
"""
from __future__ import annotations

import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np
from joblib import parallel_backend

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics_pipeline.core.detection.forest import IsolationForestDetector  # noqa: E402
from common import best_of_two, Figure, main, median_ms, timed  # noqa: E402

N_FEATURES = 78
N_TRAIN = 50_000






def _matrix(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Gaussian columns plus one-hot-like 0/1 columns, as in the featurizer's output."""
    X = rng.standard_normal((rows, N_FEATURES), dtype=np.float32)
    X[:, 8:23] = X[:, 8:23] > 1.0
    return X


def run(quick: bool = False) -> list[Figure]:
    rng = np.random.default_rng(0)
    X_train = _matrix(rng, N_TRAIN)
    detector, fit_s = timed(IsolationForestDetector(n_estimators=100).fit, X_train)
    sk, compiled = detector.estimator_, detector.forest_
    figures = [Figure("IsolationForestDetector fit, 50k x 78, 100 trees", fit_s, "s",
                      note="includes compiling the forest")]

    with tempfile.TemporaryDirectory() as tmp:
        size_mb = detector.save(Path(tmp) / "model.joblib").stat().st_size / 1e6
    pickled_mb = len(pickle.dumps(detector)) / 1e6
    figures += [
        Figure("model file (detector.save: joblib, zlib 3)", size_mb, "MB", "<= 2.3 MB",
               size_mb <= 2.3),
        Figure("model pickle, uncompressed (as MLflow stores it)", pickled_mb, "MB", "<= 2.3 MB",
               pickled_mb <= 2.3, note=f"the compiled forest ({compiled.nbytes / 1e6:.2f} MB in "
               "memory) is rebuilt on load, not pickled"),
    ]

    for rows, calls, goal_ms in ((1, 500, 0.3), (100, 200, 5.0)):
        X = _matrix(rng, rows)
        sk_ms = median_ms(lambda: sk.score_samples(X), calls)
        fast_ms = median_ms(lambda: compiled.score_samples(X), calls)
        det_ms = median_ms(lambda: detector.anomaly_score(X), calls)
        label = f"{rows} row{'s' if rows > 1 else ''}"
        figures += [
            Figure(f"score {label}: sklearn score_samples", sk_ms, "ms", note=f"median of {calls}"),
            Figure(f"score {label}: CompiledForest", fast_ms, "ms",
                   note=f"{sk_ms / fast_ms:.0f}x faster than sklearn"),
            Figure(f"score {label}: detector.anomaly_score (with input checks)", det_ms, "ms",
                   f"<= {goal_ms} ms", det_ms <= goal_ms, note=f"{sk_ms / det_ms:.0f}x sklearn"),
        ]

    n_big = 100_000 if quick else 1_000_000
    X_big = _matrix(rng, n_big)
    big = f"{n_big // 1000}k" if n_big < 1_000_000 else "1M"
    expected, sk_s, sk_cpu = best_of_two(lambda: sk.score_samples(X_big))
    with parallel_backend("threading", n_jobs=-1):
        _, sk_threads_s, _ = best_of_two(lambda: sk.score_samples(X_big))
    single, single_s, single_cpu = best_of_two(lambda: compiled.score_samples(X_big))
    threaded, det_s, _ = best_of_two(lambda: detector.score_samples(X_big))
    max_diff = float(max(np.abs(single - expected).max(), np.abs(threaded - expected).max()))
    figures += [
        Figure(f"score {big} rows: sklearn score_samples", n_big / sk_s, "rows/s",
               note=f"{sk_s:.2f} s, single thread (sklearn's default)"),
        Figure(f"score {big} rows: sklearn, threading backend n_jobs=-1", n_big / sk_threads_s,
               "rows/s", note=f"{sk_threads_s:.2f} s; not the default, shown for comparison"),
        Figure(f"score {big} rows: CompiledForest, 1 thread", n_big / single_s, "rows/s",
               ">= sklearn", single_s <= sk_s, note=f"{sk_s / single_s:.2f}x sklearn; CPU time "
               f"{single_cpu:.2f} s vs sklearn {sk_cpu:.2f} s"),
        Figure(f"score {big} rows: detector (CompiledForest, n_jobs=-1)", n_big / det_s,
               "rows/s", ">= sklearn", det_s <= sk_s,
               note=f"{sk_s / det_s:.2f}x sklearn, {sk_threads_s / det_s:.2f}x sklearn threaded"),
        Figure(f"max |CompiledForest - sklearn| over {big} rows", max_diff, "", "< 1e-9",
               max_diff < 1e-9),
    ]
    return figures


if __name__ == "__main__":
    main(run)
