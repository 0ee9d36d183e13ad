"""LogFeaturizer: fit + transform of 1M synthetic logs, single-log latency, and the reference.

- 1M logs (quick: 100k) from ``synthetic.generate_logs`` (1M is 30 days of traffic): ``fit`` then ``transform``
  (and, separately, the one-pass ``fit_transform`` a Pipeline uses), each timed once in a fresh
  spawned process; the peak RSS is that process's, generating the logs included.
- One log through a fitted featurizer, as a one-row DataFrame and as a dict: median of 1000 calls.
- The row-by-row reference (analytics_pipeline_tests/core/features/reference_featurizer.py, the tests' oracle) against LogFeaturizer on the same 5k
  logs (quick: 1k), side by side in this process; the ratio is their throughputs.

Usage: python bench/bench_features.py [--quick]
"""
from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pandas as pd  # noqa: E402

from analytics_pipeline.core.features.featurizer import LogFeaturizer  # noqa: E402
from analytics_pipeline.synthetic.generator import generate_logs  # noqa: E402
from common import Figure, main, median_ms, peak_rss_mb, run_isolated, timed  # noqa: E402
from analytics_pipeline_tests.core.features.reference_featurizer import reference_transform  # noqa: E402

GOAL_SECONDS = 10.0
GOAL_PEAK_MB = 1536.0
GOAL_SINGLE_MS = 1.0
RATE_PER_MINUTE = 1_000_000 / (30 * 24 * 60)  # 1M logs in the pipeline's 30-day window


def synthetic_logs(n: int, seed: int = 0) -> pd.DataFrame:
    """The first ``n`` logs of a 30-day window that holds 1M; fewer logs span less time."""
    start = pd.Timestamp("2024-01-01", tz="UTC")
    # The rate is a weekly average and nights are quiet: ask for a day more than the average needs.
    days = n / (RATE_PER_MINUTE * 24 * 60) * 1.1 + 1
    logs = generate_logs(start, start + pd.Timedelta(days=days), logs_per_minute=RATE_PER_MINUTE, seed=seed)
    if len(logs) < n:
        raise RuntimeError(f"generator gave {len(logs)} logs, fewer than {n}")
    return logs.iloc[:n]


def fit_then_transform(n: int) -> dict[str, float]:
    """In a fresh process: generate ``n`` logs, then time ``fit`` and ``transform`` on them."""
    logs = synthetic_logs(n)
    gc.collect()
    before_mb = peak_rss_mb()
    featurizer = LogFeaturizer()
    t0 = time.perf_counter()
    featurizer.fit(logs)
    t1 = time.perf_counter()
    X = featurizer.transform(logs)
    t2 = time.perf_counter()
    assert X.shape == (n, 78)
    return {"fit_s": t1 - t0, "transform_s": t2 - t1, "data_peak_mb": before_mb}


def one_pass_fit_transform(n: int) -> dict[str, float]:
    """In a fresh process: generate ``n`` logs, then time ``fit_transform``."""
    logs = synthetic_logs(n)
    featurizer = LogFeaturizer()
    t0 = time.perf_counter()
    X = featurizer.fit_transform(logs)
    assert X.shape == (n, 78)
    return {"fit_transform_s": time.perf_counter() - t0}




def run(quick: bool = False) -> list[Figure]:
    n = 100_000 if quick else 1_000_000
    label = "100k" if quick else "1M"
    result, _, peak_mb = run_isolated(fit_then_transform, n)
    total = result["fit_s"] + result["transform_s"]
    one_pass, _, _ = run_isolated(one_pass_fit_transform, n)
    figures = [
        Figure(f"fit + transform, {label} logs", total, "s", goal=f"<= {GOAL_SECONDS:g} s (1M)",
               passed=total <= GOAL_SECONDS if not quick else None,
               note=f"fit {result['fit_s']:.2f} s + transform {result['transform_s']:.2f} s"),
        Figure(f"fit + transform throughput, {label} logs", n / total, "logs/s"),
        Figure(f"peak RSS, fit + transform of {label} logs", peak_mb, "MB", goal=f"<= {GOAL_PEAK_MB:g} MB (1M)",
               passed=peak_mb <= GOAL_PEAK_MB if not quick else None,
               note=f"whole process; peak before fitting (imports, generating the logs): "
                    f"{result['data_peak_mb']:.0f} MB"),
        Figure(f"fit_transform (one pass, as in Pipeline.fit), {label} logs", one_pass["fit_transform_s"], "s"),
    ]

    train = synthetic_logs(20_000, seed=1)
    featurizer = LogFeaturizer().fit(train)
    row = train.iloc[[len(train) // 2]]
    record = row.assign(timestamp=row["timestamp"].map(lambda t: t.isoformat())).to_dict("records")[0]
    frame_ms = median_ms(lambda: featurizer.transform(row), 1000)
    dict_ms = median_ms(lambda: featurizer.transform(record), 1000)
    figures += [
        Figure("single-log transform (one-row DataFrame), median of 1000", frame_ms, "ms",
               goal=f"<= {GOAL_SINGLE_MS:g} ms", passed=frame_ms <= GOAL_SINGLE_MS),
        Figure("single-log transform (dict), median of 1000", dict_ms, "ms",
               goal=f"<= {GOAL_SINGLE_MS:g} ms", passed=dict_ms <= GOAL_SINGLE_MS),
    ]

    sample = synthetic_logs(1_000 if quick else 5_000, seed=2)
    _, fast_s = timed(featurizer.transform, sample, repeat=3)
    _, ref_s = timed(reference_transform, featurizer, sample)
    figures += [
        Figure(f"reference (row by row) transform, {len(sample)} logs", len(sample) / ref_s, "logs/s"),
        Figure(f"LogFeaturizer transform, same {len(sample)} logs", len(sample) / fast_s, "logs/s"),
        Figure("speed-up over the reference", ref_s / fast_s, "x", note="same logs, same process"),
    ]
    return figures


if __name__ == "__main__":
    main(run)
