"""Shared benchmark helpers: timing, peak memory of an isolated child, and the figure record.

Each ``bench/bench_*.py`` module exposes ``run(quick: bool = False) -> list[Figure]``;
``bench/run.py`` calls them all and writes BENCHMARKS.md.
"""
from __future__ import annotations

import multiprocessing as mp
import resource
import statistics
import sys
import time
from pathlib import Path
from dataclasses import dataclass, asdict
from typing import Any, Callable


@dataclass
class Figure:
    """One measured figure, with the goal it is held against (None when there is none)."""

    name: str
    value: float
    unit: str
    goal: str | None = None
    passed: bool | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def timed(fn: Callable[..., Any], *args: Any, repeat: int = 1, **kwargs: Any) -> tuple[Any, float]:
    """Best wall time of ``repeat`` calls (seconds) and the last result."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return result, best


def peak_rss_mb() -> float:
    """This process's peak RSS since it started (exec), in MB.

    Not ``getrusage().ru_maxrss``: on Linux that survives ``exec``, so a child spawned from a
    large parent reports the parent's peak. ``VmHWM`` belongs to the process's own address space.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: best effort


def _child(fn: Callable[..., Any], args: tuple, queue: "mp.Queue") -> None:
    t0 = time.perf_counter()
    out = fn(*args)
    elapsed = time.perf_counter() - t0
    queue.put((out, elapsed, peak_rss_mb()))


def run_isolated(fn: Callable[..., Any], *args: Any) -> tuple[Any, float, float]:
    """Run a top-level function in a fresh spawned process.

    Returns (result, seconds, peak RSS in MB of that process). The child starts from an empty
    interpreter, so its peak RSS is the cost of the imports plus the measured work.
    """
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def median_ms(fn: Callable[[], Any], calls: int) -> float:
    """Median wall time of ``calls`` calls in milliseconds, after one warm-up call."""
    fn()  # warm-up: first-call allocations and imports
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def best_of_two(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, best wall seconds of two runs, CPU seconds of that run): the best wall time and
    the CPU time are the figures least bent by other processes."""
    best: tuple[Any, float, float] = (None, float("inf"), 0.0)
    for _ in range(2):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if wall < best[1]:
            best = (result, wall, cpu)
    return best


def main(run: Callable[..., list[Figure]]) -> None:
    """Run a benchmark module as a script (``--quick`` for reduced sizes) and print its figures."""
    for figure in run(quick="--quick" in sys.argv[1:]):
        met = "" if figure.passed is None else ("  [met]" if figure.passed else "  [NOT met]")
        goal = f"  (goal {figure.goal})" if figure.goal else ""
        note = f"  - {figure.note}" if figure.note else ""
        print(f"{figure.name}: {figure.value:,.4g} {figure.unit}{goal}{met}{note}")
