"""MLflow costs on the local SQLite store: logging the whole Pipeline as the model, registering it."""
from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mlflow  # noqa: E402

from analytics_pipeline.core.lifecycle import registry, runs  # noqa: E402
from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.detection.training import train  # noqa: E402
from analytics_pipeline.synthetic.generator import generate_logs  # noqa: E402
from common import Figure, main  # noqa: E402


def run(quick: bool = False) -> list[Figure]:
    end = datetime(2026, 11, 15, tzinfo=timezone.utc)
    logs = generate_logs(end - timedelta(days=30), end, logs_per_minute=50_000 / 43_200, seed=5)
    trained = train(logs, TrainingConfig())
    times, register = [], []
    with tempfile.TemporaryDirectory() as tmp:
        runs.configure(f"sqlite:///{tmp}/mlflow.db")
        for _ in range(2 if quick else 5):
            with mlflow.start_run():
                t0 = time.perf_counter()
                info = runs.log_pipeline_model(trained.pipeline, runs.input_example(logs),
                                                   runs.model_metadata(trained, {}))
                times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            registry.register_challenger(info.model_uri, {"bench": "1"})
            register.append(time.perf_counter() - t0)
    best = min(times)
    return [
        Figure("log_model (whole Pipeline as pyfunc, signature, input example)", best, "s",
               goal="<= 1 s", passed=best <= 1.0, note=f"best of {len(times)}; median {sorted(times)[len(times) // 2]:.2f} s"),
        Figure("register_model + alias + tags", min(register), "s"),
        Figure("model size (joblib, compress=3)", trained.metrics["model_size_bytes"] / 1e6, "MB",
               goal="<= 2.3 MB", passed=trained.metrics["model_size_bytes"] <= 2.3e6),
    ]


if __name__ == "__main__":
    main(run)
