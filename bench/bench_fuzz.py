"""The property tests' input at scale: random broken records mixed with good ones, validated in
batches; how many records the fuzzing feeds and how long it takes (the suite's own property
tests run the same strategies with fewer examples)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hypothesis import HealthCheck, given, settings  # noqa: E402

from analytics_pipeline.core.logs.schema import REASONS, validate_records  # noqa: E402
from analytics_pipeline_tests.malformed import batches  # noqa: E402
from common import Figure, main  # noqa: E402


def run(quick: bool = False) -> list[Figure]:
    examples = 200 if quick else 2_000
    seen = {"records": 0, "good": 0, "rejected": 0, "lost": 0, "reasons": set()}

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(batches())
    def property_holds(batch: list[tuple[bool, object]]) -> None:
        records = [record for _, record in batch]
        good = sum(ok for ok, _ in batch)
        result = validate_records(records)  # an exception here fails the benchmark
        seen["records"] += len(records)
        seen["good"] += good
        seen["rejected"] += result.total - len(result.logs)
        seen["lost"] += good - len(result.logs)
        seen["reasons"] |= set(result.rejected_reasons)

    t0 = time.perf_counter()
    property_holds()
    elapsed = time.perf_counter() - t0
    unknown = seen["reasons"] - set(REASONS)
    return [
        Figure("fuzzed records", seen["records"], "records",
               note=f"{examples:,} batches; {seen['good']:,} good, {seen['rejected']:,} broken"),
        Figure("fuzz duration", elapsed, "s", note=f"{seen['records'] / elapsed:,.0f} records/s incl. generation"),
        Figure("good records lost", seen["lost"], "records", goal="0", passed=seen["lost"] == 0),
        Figure("rejection reasons seen", len(seen["reasons"]), "reasons",
               goal="all named", passed=not unknown, note=", ".join(sorted(seen["reasons"]))),
    ]


if __name__ == "__main__":
    main(run)
