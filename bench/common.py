"""Shared benchmark helpers: timing, peak memory of an isolated child, and the figure record.

Each ``bench/bench_*.py`` module exposes ``run(quick: bool = False) -> list[Figure]``;
``bench/run.py`` calls them all and writes BENCHMARKS.md.
"""
from __future__ import annotations

import multiprocessing as mp
import resource
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
