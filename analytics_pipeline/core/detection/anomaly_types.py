"""The kinds of anomaly an operator is told about, what to do about each, and one sentence per anomaly.

Types are decided by core.detection.explain; this module holds their names, the message-text rules
the first two types use, the recommended actions, and the plain-language explanation.
"""
from __future__ import annotations

import math
import re

import numpy as np

ANOMALY_TYPES: tuple[str, ...] = (
    "latency_spike", "error_rate_spike", "throughput_drop", "performance_degradation",
    "resource_spike", "memory_leak", "new_message_pattern", "unusual_content", "unusual_pattern",
)
LATENCY_TYPES = frozenset({"latency_spike", "performance_degradation", "memory_leak", "resource_spike"})

RECOMMENDED_ACTIONS: dict[str, tuple[str, ...]] = {
    "latency_spike": ("Check the service's dependencies and recent deploys for slow calls",
                      "Inspect slow-query and GC logs around the spike",
                      "Scale out if request volume rose"),
    "performance_degradation": ("Compare latency with the previous release and traffic level",
                                "Profile the slowest endpoints", "Check CPU and memory saturation"),
    "error_rate_spike": ("Inspect the error messages and stack traces",
                         "Check recent deploys and roll back if errors started with one",
                         "Verify the health of upstream dependencies"),
    "throughput_drop": ("Check the service's health checks and upstream traffic routing",
                        "Look for timeouts, crashed workers or a stuck queue",
                        "Verify the log shipping pipeline is not dropping logs"),
    "resource_spike": ("Check connection pools, worker pools and queue depths",
                       "Look for connection leaks or runaway clients",
                       "Raise limits or scale out if demand is genuine"),
    "memory_leak": ("Inspect heap usage and GC pauses over time",
                    "Take a heap dump before the next restart",
                    "Restart the affected instances to recover, then fix the leak"),
    "new_message_pattern": ("Review the new message: new release, feature flag or failure mode?",
                            "Find the first occurrence and what changed just before it",
                            "Add it to known patterns once triaged"),
    "unusual_content": ("Read the message against the service's usual lines: what does it report?",
                        "Check whether other services log the same thing at the same time"),
    "unusual_pattern": ("Review the log and its neighbours for context",
                        "Mark it as a false positive if benign so the next model learns it"),
}

# (words one of which a message must hold, the pattern that decides): the cheap substring test
# spares the regex, ~10 us a message, on the many messages that cannot match.
MEMORY_WORDS = (("memory", "oom", "heap", "gc", "garbage", "137"),
                re.compile(r"out ?of ?memory|\boom\b|\bheap\b|\bgc\b|garbage collect|memory leak|exit code 137"))
RESOURCE_WORDS = (("pool", "satur", "too many", "cpu", "disk", "space", "descriptor"),
                  re.compile(r"pool (?:is )?(?:exhausted|saturated)|saturat|too many (?:connections|open files)"
                             r"|\bcpu\b|disk (?:is )?full|no space left|file descriptors"))


def mentions(texts: list[str], words: tuple[str, ...], pattern: re.Pattern[str]) -> np.ndarray:
    """True where a lower-cased text matches ``pattern`` (tested only if it holds one of ``words``)."""
    return np.fromiter((any(w in t for w in words) and pattern.search(t) is not None for t in texts),
                       bool, len(texts))


def _one_in(share: float) -> str:
    return f"1 in {round(1 / share):,}"


def sentence(kind: str, expected: float | None, observed: float | None, *, window: bool = False,
             template: str | None = None,
             seen: float | None = None, training_logs: int | None = None, training_days: float | None = None,
             contributor: dict | None = None) -> str:
    """One plain-language sentence saying why a log was flagged."""
    def known(x: float | None) -> bool:
        return x is not None and math.isfinite(x)

    if kind in LATENCY_TYPES and known(expected) and known(observed):
        what = "mean response time over the last window" if window else "response time"
        text = f"{what} {observed:,.0f} ms, {observed / max(expected, 1e-9):.1f}x the service's usual {expected:,.0f} ms"
        return text if kind != "memory_leak" else f"memory trouble in the message; {text}"
    if kind == "error_rate_spike" and known(expected) and known(observed):
        return f"{observed:.0%} of the service's logs in the last window are errors (usual {expected:.1%})"
    if kind == "throughput_drop" and known(expected) and known(observed):
        logs = "log" if round(observed) == 1 else "logs"
        return f"{observed:,.0f} {logs} from the service in the last window, usual {expected:,.1f} at this hour"
    if kind in ("new_message_pattern", "unusual_content") and template is not None:
        quoted = template if len(template) <= 100 else template[:99] + "…"
        if seen is None or training_logs is None:
            return f"{'new or rare' if kind == 'new_message_pattern' else 'unusual'} message: '{quoted}'"
        days = f"{training_days:,.0f} days of training, " if known(training_days) else ""
        times = "never" if seen == 0 else "once" if seen == 1 else f"{seen:,.0f} times ({_one_in(seen / training_logs)})"
        what = "message pattern" if kind == "new_message_pattern" else "message unlike the usual ones, pattern"
        return f"{what} seen {times} in {days}{training_logs:,} logs: '{quoted}'"
    if contributor is not None:
        low, high = contributor["normal_range"]
        return (f"unusual {contributor['feature']}: {contributor['value']:.4g} (normal {low:.4g}..{high:.4g})")
    return kind.replace("_", " ")
