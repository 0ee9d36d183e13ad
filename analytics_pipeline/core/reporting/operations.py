"""Built-in rules on the week's operations data: alert thresholds (noisy services), resource
allocation (repeated pool or memory exhaustion) and system settings (retry and timeout storms).

Each rule returns candidate recommendations with the figures they rest on; the engine filters
them (core.reporting.engine). Thresholds are module constants, documented in docs/reporting.md.
"""
from __future__ import annotations

import math
import re
from datetime import datetime

import numpy as np
import pandas as pd

from analytics_pipeline.core.detection.severity import BANDS
from analytics_pipeline.core.reporting.evidence import (
    RETRY_PATTERN, WeekEvidence, flagged_lines, service_figures,
)
from analytics_pipeline.core.reporting.recommendations import (
    OptimizationEngineConfig, OptimizationRecommendation, make,
)

# A noisy service: at least this many unclustered alerts in the week (a quiet week's busiest service
# has 20-40 at 0.5-5 logs/min) and this many per 1,000 of its logs (<= 11 on calm synthetic weeks, so
# the bar holds at higher volumes too).
NOISY_MIN_UNCLUSTERED = 50
NOISY_PER_1000_LOGS = 20.0
NOISY_UNCLUSTERED_SHARE = 0.7  # share of its alerts in no incident
NOISY_PEER_FACTOR = 3.0        # unclustered alerts, times the median service's
KEEP_INCIDENT_LOGS = 0.95      # a stricter policy must keep this share of the service's actionable incident logs
ACTIONABLE = ("P1", "P2")      # incidents someone acts on; P3/P4 ones made of a noisy service's blips are noise
EPISODE_GAP = pd.Timedelta("30min")  # exhaustion / timeout lines further apart are separate episodes
MIN_EPISODES = 3
RETRY_MIN_SHARE = 0.03         # timeout/retry lines in a service's logs before its settings are questioned
_POOL_SIZE = re.compile(r"(?:active|max_connections)=(\d+)")
_WAITING = re.compile(r"waiting=(\d+)")
_TIMEOUT_MS = re.compile(r"(?:timed out|deadline exceeded) after (\d+)ms")


def _episodes(stamps: pd.Series) -> int:
    """Bursts of lines: consecutive lines more than EPISODE_GAP apart start a new one."""
    if stamps.empty:
        return 0
    ordered = pd.to_datetime(stamps, utc=True).sort_values()
    return int(1 + (ordered.diff() > EPISODE_GAP).sum())


def _episode_confidence(episodes: int) -> float:
    """1 - exp(-episodes / 2): 3 episodes 0.78, 4 0.86, 6 0.95 (repetition, not one bad day)."""
    return 1.0 - math.exp(-episodes / 2)


def alert_thresholds(week: WeekEvidence, config: OptimizationEngineConfig,
                     created: datetime) -> list[OptimizationRecommendation]:
    """Services whose alerts are mostly noise: the stricter alerting policy that suppresses most
    of them and still alerts KEEP_INCIDENT_LOGS of their incident logs (backtested on the week)."""
    figures = service_figures(week)
    alerting = figures[figures["alerts"] > 0]
    if alerting.empty:
        return []
    peer = float(np.median(alerting["unclustered_alerts"]))
    out = []
    for row in alerting.itertuples():
        if row.unclustered_alerts < NOISY_MIN_UNCLUSTERED or row.unclustered_share < NOISY_UNCLUSTERED_SHARE \
                or row.unclustered_alerts < NOISY_PEER_FACTOR * max(peer, 1.0) \
                or 1000.0 * row.unclustered_alerts / row.logs < NOISY_PER_1000_LOGS:
            continue
        alerts = week.alerts[week.alerts["service"] == row.service]
        actionable = {a for i in week.incidents if i.priority in ACTIONABLE for a in i.alerts}
        noise = ~alerts["alert_id"].isin(actionable).to_numpy()
        size = {a: 0 for a in alerts["alert_id"]}
        for incident in week.incidents:
            for a in incident.alerts:
                if a in size:
                    size[a] = max(size[a], incident.anomaly_count)
        best = _best_policy(alerts["max_score"].to_numpy(float), alerts["count"].to_numpy(float), noise,
                            alerts["alert_id"].map(size).to_numpy(float))
        if best is None:
            continue
        policy, kept, suppressed, noise_suppressed = best
        incident_logs = alerts["count"].to_numpy(float)[~noise].sum()
        improvement = 100.0 * suppressed / len(alerts)
        out.append(make(
            week.partition, created, config, category="alert_thresholds", component=row.service,
            title=f"Raise the alert threshold of {row.service}: {row.unclustered_share:.0%} of its alerts are noise",
            description=f"{row.service} raised {row.alerts} alerts this week, {row.unclustered_alerts} of them in no "
                        f"incident ({row.unclustered_share:.0%}; the median service had {peer:.0f}). Alerting only "
                        f"{policy} would have suppressed {suppressed} of its {row.alerts} alerts "
                        f"({improvement:.0f}%) and still caught {kept:.0%} of the logs of its {'/'.join(ACTIONABLE)} incidents.",
            current_value=f"alert on every anomaly (score above {BANDS[0]:.2f}, 1 anomaly)",
            recommended_value=f"alert {policy} for {row.service}",
            expected_improvement=improvement,
            # Precision of the suppression times the incident logs kept; with no actionable incident
            # to check retention against, 0.8 at most.
            confidence=noise_suppressed / max(suppressed, 1) * (kept if incident_logs else 0.8),
            steps=(f"Alert {policy} for {row.service} in the alerting config",
                   "Keep anomalies below it in the anomalies collection (no page, still searchable)",
                   "Compare next week's unclustered share of the service with this week's"),
            effort="low", risk="low" if kept >= 0.99 else "medium",
            evidence=(f"{row.unclustered_alerts} of {row.alerts} alerts in no incident, {int(noise.sum())} in no "
                      f"{'/'.join(ACTIONABLE)} incident",
                      f"backtest ({policy}): {suppressed} alerts suppressed ({noise_suppressed} of them noise), "
                      f"{kept:.1%} of {incident_logs:.0f} logs of its {'/'.join(ACTIONABLE)} incidents still alerted"),
            metrics={"alerts": row.alerts, "unclustered_alerts": row.unclustered_alerts, "suppressed": suppressed,
                     "incident_logs_kept": kept}))
    return out


def _best_policy(scores: np.ndarray, counts: np.ndarray, noise: np.ndarray,
                 incident_size: np.ndarray) -> tuple[str, float, int, int] | None:
    """The alerting policy that suppresses the most of these alerts while still alerting
    KEEP_INCIDENT_LOGS of the logs in actionable-incident alerts: a higher score floor (a severity
    band's edge), a minimum count of anomalies per alert, or paging only for alerts that join an
    incident of a minimum size (``incident_size``: the largest incident holding the alert, 0 for
    none). Never one that suppresses every alert; without actionable incidents, only a score
    floor. Returns (policy, kept share, suppressed, noise suppressed), or None."""
    incident_logs = counts[~noise].sum()
    policies = [(f"above anomaly score {t:.2f}", scores > t) for t in BANDS[1:]]
    policies += [(f"when an alert holds at least {k} anomalies", counts >= k) for k in (2, 3, 5)]
    policies += [(f"only when its anomalies join an incident of at least {k} (the rest in a daily digest)",
                  incident_size >= k) for k in (3, 5, 10)]
    best = None
    for policy, fires in policies:
        # A policy that silences the service is muting it, not a threshold; and with no actionable
        # incident to backtest against, only a score floor, which keeps the strongest alerts paging.
        if not fires.any() or (not incident_logs and not policy.startswith("above anomaly score")):
            continue
        kept = counts[~noise & fires].sum() / incident_logs if incident_logs else 1.0
        suppressed, noise_suppressed = int(np.sum(~fires)), int(np.sum(noise & ~fires))
        if kept >= KEEP_INCIDENT_LOGS and noise_suppressed > 0 and (best is None or suppressed > best[2]):
            best = (policy, float(kept), suppressed, noise_suppressed)
    return best


def resource_allocation(week: WeekEvidence, config: OptimizationEngineConfig,
                        created: datetime) -> list[OptimizationRecommendation]:
    """Services that ran out of connections or memory in MIN_EPISODES separate episodes."""
    out = []
    errors = week.logs[week.logs["level"].isin(["ERROR", "CRITICAL"])].groupby("service").size() \
        if len(week.logs) else pd.Series(dtype=int)
    flagged = flagged_lines(week)
    for kind, column in (("connection pool", "pool"), ("memory", "memory")):
        lines = flagged[flagged[column]]
        for service, group in (lines.groupby("service") if len(lines) else []):
            episodes = _episodes(group["timestamp"])
            if episodes < MIN_EPISODES:
                continue
            messages = group["message"].astype(str)
            sizes = [int(m) for m in messages.str.extract(_POOL_SIZE)[0].dropna()]
            waiting = [int(m) for m in messages.str.extract(_WAITING)[0].dropna()]
            incidents = [i.cluster_id for i in week.incidents if service in i.services]
            share = 100.0 * len(group) / max(int(errors.get(service, 0)), len(group))
            if kind == "connection pool" and sizes:
                size, peak = int(np.median(sizes)), max(waiting, default=0)
                current, recommended = f"pool of {size} connections", \
                    f"pool of {math.ceil((size + peak) / 5) * 5} connections (covers the peak of {peak} waiting)"
            else:
                current, recommended = f"{kind} limits as deployed", f"{kind} limit raised ~25% for {service}, " \
                                                                      "or its leak fixed"
            out.append(make(
                week.partition, created, config, category="resource_allocation", component=str(service),
                title=f"Give {service} more {kind} headroom: exhausted in {episodes} episodes this week",
                description=f"{service} logged {len(group)} {kind} exhaustion lines in {episodes} separate episodes "
                            f"(more than {EPISODE_GAP.total_seconds() / 60:.0f} min apart); they are {share:.0f}% of "
                            f"its error logs this week.",
                current_value=current, recommended_value=recommended, expected_improvement=share,
                confidence=_episode_confidence(episodes),
                steps=(f"Raise the {kind} limit of {service} as recommended", "Check the database/host can take it "
                       "(max_connections, node memory)", "Watch the exhaustion lines disappear next week"),
                effort="low" if kind == "connection pool" else "medium", risk="medium",
                evidence=(f"{episodes} episodes, {len(group)} lines: first {group['timestamp'].min():%a %H:%M}, last "
                          f"{group['timestamp'].max():%a %H:%M}",
                          f"incidents involving {service}: {', '.join(incidents[:5]) or 'none'}",
                          *([f"pool size {int(np.median(sizes))}, peak waiting {max(waiting, default=0)}"]
                            if sizes else [])),
                metrics={"episodes": episodes, "lines": len(group), "share_of_errors": share / 100},
                key=kind))
    return out


def system_settings(week: WeekEvidence, config: OptimizationEngineConfig,
                    created: datetime) -> list[OptimizationRecommendation]:
    """Services whose clients time out and retry in repeated episodes: timeout and retry policy."""
    logs = week.logs
    if logs.empty:
        return []
    flagged = flagged_lines(week)
    hits = flagged[flagged["timeout"] | flagged["retry"]]
    figures = service_figures(week).set_index("service")
    out = []
    for service, group in (hits.groupby("service") if len(hits) else []):
        episodes = _episodes(group["timestamp"])
        logs_of_service = float(figures.loc[service, "logs"]) if service in figures.index else float(len(group))
        if episodes < MIN_EPISODES or len(group) < 30 or len(group) < RETRY_MIN_SHARE * logs_of_service:
            continue
        text = group["message"].astype(str)
        waits = [int(m) for m in text.str.extract(_TIMEOUT_MS)[0].dropna()]
        gave_up = int(text.str.contains("giving up", case=False).sum())
        retries = int(text.str.contains(RETRY_PATTERN).sum())
        p99 = float(figures.loc[service, "latency_p99"]) if service in figures.index else float("nan")
        timeout = int(np.median(waits)) if waits else None
        improvement = 100.0 * gave_up / max(retries + gave_up, 1) if retries else 100.0 * len(group) / len(logs)
        out.append(make(
            week.partition, created, config, category="system_settings", component=str(service),
            title=f"Tune timeouts and retries of {service}: {len(group)} timeout/retry lines in {episodes} episodes",
            description=f"{service} timed out or retried {len(group)} times in {episodes} episodes; {gave_up} calls gave "
                        f"up after all retries. Retries that end in failure only add load to a slow dependency.",
            current_value=f"timeout ~{timeout} ms, 3 attempts" if timeout else "3 attempts",
            recommended_value=(f"timeout {math.ceil(1.5 * p99)} ms (1.5 x its p99 latency), 2 attempts with "
                               "exponential backoff and jitter, and a circuit breaker") if np.isfinite(p99)
            else "2 attempts with exponential backoff and jitter, and a circuit breaker",
            expected_improvement=improvement, confidence=_episode_confidence(episodes),
            steps=("Lower the attempt count and add jittered backoff", "Set the timeout from the latency figures",
                   "Add a circuit breaker so a slow dependency is not hammered"),
            effort="medium", risk="medium",
            evidence=(f"{retries} retry lines, {gave_up} give-ups, {episodes} episodes",
                      f"observed timeout ~{timeout} ms; p99 latency {p99:.0f} ms"),
            metrics={"episodes": episodes, "lines": len(group), "gave_up": gave_up, "retries": retries}))
    return out
