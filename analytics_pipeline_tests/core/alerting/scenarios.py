"""Small, readable weeks of anomalies for alerting tests: bursts of scored rows on a service."""
from __future__ import annotations

from itertools import count

import numpy as np
import pandas as pd

T0 = pd.Timestamp("2026-11-09 10:00", tz="UTC")  # a Monday, inside the partition 2026-11-08
_IDS = count()


def burst(service: str, start_minute: float, minutes: float, n: int, messages: list[str],
          severity: str = "critical", anomaly_type: str = "error_rate_spike", seed: int = 0) -> list[dict]:
    """``n`` anomalous scored rows of ``service`` spread over [start, start + minutes), cycling
    through ``messages`` (numbers in them vary, so their masked templates stay the same)."""
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.uniform(0, minutes * 60, n))
    return [{"log_id": f"log-{next(_IDS)}", "timestamp": T0 + pd.Timedelta(minutes=start_minute, seconds=float(s)),
             "service": service, "message": messages[k % len(messages)].format(n=int(rng.integers(1, 999))),
             "is_anomaly": True, "severity": severity, "anomaly_score": 0.95, "anomaly_type": anomaly_type,
             "level": "ERROR"} for k, s in enumerate(offsets)]


def frame(*bursts: list[dict], quiet: tuple[str, ...] = ("api-gateway",)) -> pd.DataFrame:
    """Scored rows of several bursts, in time order, plus a normal row of each ``quiet`` service."""
    rows = [row for b in bursts for row in b]
    normal = [{"log_id": f"ok-{next(_IDS)}", "timestamp": T0, "service": service, "message": "GET / 200",
               "is_anomaly": False, "severity": "normal", "anomaly_score": 0.2, "anomaly_type": None}
              for service in quiet]
    return pd.DataFrame(rows + normal).sort_values("timestamp", kind="stable").reset_index(drop=True)


def cascade(start: float = 0.0) -> list[list[dict]]:
    """db-postgres fails; 3 minutes later its callers name it; 6 minutes later the gateway names those."""
    return [
        burst("db-postgres", start, 40, 60, ["Connection pool exhausted for db-postgres (active={n}, idle=0)",
                                              "FATAL: too many connections for role app on db-postgres ({n})"], seed=1),
        burst("order-service", start + 3, 37, 50, ["Upstream db-postgres unavailable: TimeoutError after {n}ms",
                                                    "Circuit breaker OPEN for db-postgres after {n} consecutive failures"],
              seed=2),
        burst("payment-service", start + 4, 36, 40, ["Upstream db-postgres unavailable: TimeoutError after {n}ms"], seed=3),
        burst("api-gateway", start + 9, 31, 50, ["Upstream order-service unavailable: ConnectionResetError after {n}ms",
                                                  "Fallback response served for GET /orders/{n}: payment-service degraded"],
              seed=4),
    ]


def unrelated_pair(start: float = 0.0) -> list[list[dict]]:
    """Two incidents at the same time on services that neither name nor depend on each other."""
    return [
        burst("search-service", start, 30, 40, ["Search query 'lamp' returned {n} hits in 4{n}ms"],
              severity="high", anomaly_type="latency_spike", seed=5),
        burst("notification-service", start + 1, 30, 40, ["SMTP server responded 421, message {n} requeued",
                                                           "Email sent to user {n} in 9{n}ms"],
              severity="critical", anomaly_type="error_rate_spike", seed=6),
    ]
