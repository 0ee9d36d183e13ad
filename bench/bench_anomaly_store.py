"""Writing a 1M-log window's anomalies to MongoDB: time, and memory held beyond the scored frame.

Extra memory is sampled (psutil, every 10 ms) while ``write_anomalies`` runs: the peak RSS
during the write minus the RSS just before it.
"""
from __future__ import annotations

import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402
import pymongo  # noqa: E402

from analytics_pipeline.local import mongo_server as local_mongo  # noqa: E402
from analytics_pipeline.core.scoring.anomaly_store import write_anomalies  # noqa: E402
from analytics_pipeline.core.scoring.scorer import score_logs  # noqa: E402
from analytics_pipeline.core.lifecycle.runs import model_metadata  # noqa: E402
from analytics_pipeline.core.detection.pipelines import TrainingConfig
from analytics_pipeline.core.detection.training import train  # noqa: E402
from analytics_pipeline.local.processes import free_port  # noqa: E402
from analytics_pipeline.synthetic.generator import generate_logs  # noqa: E402
from common import Figure, main  # noqa: E402


class _PeakRss:
    def __init__(self) -> None:
        self.proc, self.peak, self._stop = psutil.Process(), 0, threading.Event()

    def __enter__(self) -> "_PeakRss":
        self.before = self.proc.memory_info().rss
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(0.01)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def run(quick: bool = False) -> list[Figure]:
    n = 100_000 if quick else 1_000_000
    end = datetime(2026, 11, 15, tzinfo=timezone.utc)
    logs = generate_logs(end - timedelta(days=30), end, logs_per_minute=n / 43_200, seed=11)
    trained = train(logs, TrainingConfig())
    scored = score_logs(trained.pipeline, model_metadata(trained, {}), logs, model_version=1)
    found = scored[scored["is_anomaly"]]
    with tempfile.TemporaryDirectory() as tmp:
        server = local_mongo.start(Path(tmp), port=free_port())
        try:
            col = pymongo.MongoClient(server.uri)["bench"]["anomalies"]
            with _PeakRss() as mem:
                t0 = time.perf_counter()
                first = write_anomalies(col, found, "2026-11-08")
                elapsed = time.perf_counter() - t0
            again = write_anomalies(col, found, "2026-11-08")
            stored = col.count_documents({})
        finally:
            local_mongo.stop(Path(tmp))
    extra_mb = (mem.peak - mem.before) / 2**20
    return [
        Figure("anomalies written", first.inserted, "docs", note=f"from a {len(logs):,}-log window"),
        Figure("write time (atomic: batched insert, pointer switch, cleanup)", elapsed, "s",
               note=f"{first.inserted / elapsed:,.0f} docs/s on the local server"),
        Figure("extra memory during the write", extra_mb, "MB", goal="<= 1024 MB", passed=extra_mb <= 1024),
        Figure("documents after re-writing the partition", stored, "docs",
               goal="== written (no duplicates)", passed=stored == first.inserted == again.inserted),
    ]


if __name__ == "__main__":
    main(run)
