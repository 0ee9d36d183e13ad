"""Alerting: incidents against the generator's truth, real BGL alert categories, speed and memory.

- Synthetic weeks: per seed, 58 days of logs at the pipeline's rate (1M per 30 days; quick: one
  seed at 200k per 30 days) from ``generate_logs_with_incidents``. A model trained on the first
  28 days (``TrainingConfig``, in a fresh process) scores the next 30: that is the window the
  ``alert_clusters`` asset sees. The last three weeks of it are judged one by one, each with the
  alerts of the window up to its end (dependencies and background rates learned from them, as
  the asset does). Truth: the generator's ``incident_id`` per log, and each cascading failure's
  origin ``service``.
  - ARI: adjusted Rand index between our incidents and the true incidents over the flagged logs
    that belong to a true incident (an anomaly whose alert is in no incident counts as a group
    of its own alert); mean and worst week.
  - Compression: 1 - incidents / anomalies, pooled over the weeks; worst week beside it.
  - Root cause: the share of the cascading failures (with flagged logs in the week) whose
    incident, the one holding most of its flagged logs, names the origin first.
  Two detectors: the default (the multi-view detector, contamination "auto", about 3% flagged),
  judged; and the seed's contamination 0.1 (a tenth of every window), reported beside it.
  Peers side by side: the four algorithms, and grouping by service alone.
- Real: ``bgl_2k.jsonl``. All 143 labelled alert lines as anomalies (a perfect detector's flags,
  severity from the log level, type from the model below); and the flags of a model trained on
  the first 70% by time on the last 30%. Homogeneity of the incidents against
  ``alert_category`` (an anomaly in no incident counts as its own alert, which is homogeneous by
  construction, so the share grouped is given beside it), next to grouping by service alone.
- Speed: 20,000 anomalies (a week's flags of the 0.1 detector) through the whole flow, scored
  rows to incidents, best of 2 (CPU time beside it); 500 alerts (the seed's 200 ms figure).
  Memory: peak RSS of fresh processes running the whole flow on 20,000 and 200,000 anomalies
  (every log of a day, resp. six days, flagged: the densest case), beside the process that only
  imports.

Usage: python bench/bench_alerting.py [--quick]
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import adjusted_rand_score, homogeneity_score  # noqa: E402

from analytics_pipeline.core.alerting.alerts import deduplicate  # noqa: E402
from analytics_pipeline.core.alerting.anomalies import anomalies_from_scored  # noqa: E402
from analytics_pipeline.core.alerting.config import ALGORITHMS, AlertIntelligenceConfig  # noqa: E402
from analytics_pipeline.core.alerting.triage import find_incidents, triage  # noqa: E402
from analytics_pipeline.core.detection.pipelines import TrainingConfig  # noqa: E402
from analytics_pipeline.core.detection.training import time_split, train  # noqa: E402
from analytics_pipeline.core.lifecycle.runs import model_metadata  # noqa: E402
from analytics_pipeline.core.logs import schema  # noqa: E402
from analytics_pipeline.core.scoring.scorer import score_logs  # noqa: E402
from analytics_pipeline.synthetic.generator import generate_logs_with_incidents  # noqa: E402
from common import Figure, best_of_two, main, peak_rss_mb, run_isolated  # noqa: E402

BGL_PATH = Path(__file__).resolve().parents[2] / "shared" / "data" / "bgl_2k.jsonl"
START = pd.Timestamp("2024-03-04", tz="UTC")  # a Monday
TRAIN_DAYS, WINDOW_DAYS, EVAL_WEEKS = 28, 30, 3
SEEDS = (101, 202, 303, 404, 505)
RATE, QUICK_RATE = 1_000_000 / (30 * 1440), 200_000 / (30 * 1440)
JUDGED, TODAY = "auto", 0.1
GOAL_ARI, GOAL_COMPRESSION, GOAL_ROOT, GOAL_SECONDS, GOAL_PEAK_MB = 0.90, 0.99, 0.80, 2.0, 2048.0
LEVEL_SEVERITY = {"CRITICAL": "critical", "ERROR": "high", "WARN": "medium", "INFO": "low", "DEBUG": "low"}
KEEP = ["log_id", "timestamp", "service", "message", "severity", "anomaly_score", "anomaly_type", "is_anomaly"]


def scored_seed(seed: int, rate: float, contamination: str | float) -> dict[str, Any]:
    """In a fresh process: the 30 scored days after 28 days of training (flagged or labelled rows)."""
    logs, truth = generate_logs_with_incidents(START, START + pd.Timedelta(days=TRAIN_DAYS + WINDOW_DAYS),
                                               logs_per_minute=rate, seed=seed)
    later = (logs["timestamp"] >= START + pd.Timedelta(days=TRAIN_DAYS)).to_numpy()
    trained = train(logs[~later].reset_index(drop=True), TrainingConfig(contamination=contamination))
    window = logs[later].reset_index(drop=True)
    del logs
    scored = score_logs(trained.pipeline, model_metadata(trained, {}), window)
    keep = (scored["is_anomaly"] | (window["label"] == 1)).to_numpy()
    out = scored.loc[keep, KEEP].assign(incident_id=window.loc[keep, "incident_id"].to_numpy())
    return {"scored": out.reset_index(drop=True), "truth": truth, "services": sorted(set(window["service"]))}


def _groups(report, alert_ids: np.ndarray) -> np.ndarray:
    """Each anomaly's incident, or its own alert when the alert is in no incident."""
    holder = dict(zip(report.alerts["alert_id"], report.alerts["cluster_id"]))
    return np.array([holder.get(a) or a for a in alert_ids], dtype=object)


def judge_weeks(data: dict[str, Any], algorithm: str) -> list[dict[str, Any]]:
    """ARI, counts and root-cause hits of each judged week."""
    config = AlertIntelligenceConfig(clustering_algorithm=algorithm)
    batch = anomalies_from_scored(data["scored"])
    batch = replace(batch, services=tuple(data["services"]))
    found = deduplicate(batch.anomalies, config.deduplication_window_minutes)
    alert_id = found.alerts["alert_id"].to_numpy(dtype=object)[found.alert_of]
    truth_of = dict(zip(data["scored"]["log_id"], data["scored"]["incident_id"]))
    truth = batch.anomalies["log_id"].map(truth_of).to_numpy(dtype=object)
    cascades = data["truth"][data["truth"]["incident_type"] == "cascading_failure"].set_index("incident_id")["service"]
    end = START + pd.Timedelta(days=TRAIN_DAYS + WINDOW_DAYS)
    weeks = []
    for k in range(EVAL_WEEKS):
        week_end = end - pd.Timedelta(days=7 * (EVAL_WEEKS - 1 - k))
        week_start = week_end - pd.Timedelta(days=7)
        history = found.alerts[found.alerts["first_seen"] < week_end]
        t0 = time.perf_counter()
        report = find_incidents(history, config, (week_start, week_end), batch.services)
        seconds = time.perf_counter() - t0
        rows = ((batch.anomalies["timestamp"] >= week_start) & (batch.anomalies["timestamp"] < week_end)).to_numpy()
        groups, labels = _groups(report, alert_id[rows]), truth[rows]
        known = pd.notna(labels)
        incidents = {i.cluster_id: i for i in report.incidents}
        hits = []
        for incident_id in set(labels[known]) & set(cascades.index):
            mine = pd.Series(groups[known][labels[known] == incident_id])
            top = mine[mine.isin(list(incidents))].mode()
            hits.append(bool(len(top)) and incidents[top[0]].root_cause == cascades[incident_id])
        weeks.append({"ari": adjusted_rand_score(labels[known], groups[known]) if known.any() else float("nan"),
                      "service_ari": adjusted_rand_score(labels[known], batch.anomalies["service"].to_numpy()[rows][known]),
                      "anomalies": int(rows.sum()), "incidents": len(report.incidents), "hits": hits,
                      "seconds": seconds, "edges": len(report.graph.edges)})
    return weeks


def _synthetic_figures(contamination: str | float, results: dict[str, list[dict[str, Any]]], note: str,
                       quick: bool) -> list[Figure]:
    """Goals hold at the production rate only: quick mode's sparser logs are reported, not judged."""
    judged = contamination == JUDGED and not quick
    label = f"contamination {contamination}"
    figures = []
    for algorithm, weeks in results.items():
        default = algorithm == AlertIntelligenceConfig().clustering_algorithm
        judge = judged and default
        aris = [w["ari"] for w in weeks]
        anomalies, incidents = sum(w["anomalies"] for w in weeks), sum(w["incidents"] for w in weeks)
        hits = [h for w in weeks for h in w["hits"]]
        compression = 1 - incidents / anomalies
        worst = min(1 - w["incidents"] / w["anomalies"] for w in weeks)
        root = float(np.mean(hits)) if hits else float("nan")
        name = f"{algorithm}{' (default)' if default else ''}, {label}"
        figures += [
            Figure(f"{name}: ARI vs true incidents", float(np.mean(aris)), "", f">= {GOAL_ARI:g}" if judge else None,
                   (np.mean(aris) >= GOAL_ARI) if judge else None, f"worst week {min(aris):.3f}; {note}"),
            Figure(f"{name}: compression 1 - incidents/anomalies", compression, "",
                   f">= {GOAL_COMPRESSION:.0%}" if judge else None, (compression >= GOAL_COMPRESSION) if judge else None,
                   f"{incidents:,} incidents from {anomalies:,} anomalies; worst week {worst:.4f}"),
            Figure(f"{name}: root cause top-1 on cascading failures", root, "share",
                   f">= {GOAL_ROOT:.0%}" if judge else None, (root >= GOAL_ROOT) if judge else None,
                   f"{sum(hits)} of {len(hits)} cascades"),
        ]
    weeks = next(iter(results.values()))
    figures.append(Figure(f"peer: grouping by service alone, {label}: ARI", float(np.mean([w["service_ari"] for w in weeks])),
                          "", note="same flagged incident logs"))
    return figures


def bgl_figures() -> list[Figure]:
    """Homogeneity against alert_category on the real BGL lines, beside grouping by service."""
    if not BGL_PATH.exists():
        return []
    raw = pd.read_json(BGL_PATH, lines=True, dtype=False)
    logs = schema.validate_frame(raw.assign(log_id=raw["line_id"].astype(str))).logs
    category = dict(zip(raw["line_id"].astype(str), raw["alert_category"]))
    fit, test = time_split(logs, 0.3)
    trained = train(fit, TrainingConfig())
    scored = score_logs(trained.pipeline, model_metadata(trained, {}), logs)
    # A perfect detector's flags: the labelled lines, as severe as their log level says.
    labelled = scored.assign(is_anomaly=(logs["label"] == 1).to_numpy(),
                             severity=logs["level"].map(LEVEL_SEVERITY).to_numpy())
    flagged = scored[scored["log_id"].isin(set(test["log_id"]))]
    figures = []
    for name, rows in (("all 143 labelled alert lines (severity from level)", labelled),
                       ("detector flags on the last 30%", flagged)):
        for algorithm in ALGORITHMS:
            result = triage(rows, AlertIntelligenceConfig(clustering_algorithm=algorithm))
            assigned = result.assignments()
            assigned = assigned.assign(category=assigned["log_id"].map(category)).dropna(subset=["category"])
            groups = assigned["cluster_id"].fillna(assigned["alert_id"])
            grouped = assigned["cluster_id"].notna()
            figures.append(Figure(
                f"BGL {name}: homogeneity of {algorithm} incidents vs alert_category",
                homogeneity_score(assigned["category"], groups), "",
                note=f"{len(assigned)} alert lines, {grouped.mean():.0%} of them in {assigned['cluster_id'].nunique()} "
                     f"incidents (a line in none counts as its own alert); over the grouped lines only: "
                     f"{homogeneity_score(assigned['category'][grouped], groups[grouped]) if grouped.any() else float('nan'):.3f}"))
        figures.append(Figure(f"BGL {name}: peer, grouping by service alone",
                              homogeneity_score(assigned["category"], assigned["service"]), "",
                              note=f"{assigned['service'].nunique()} services, same lines"))
    return figures


def every_log_flagged(n: int) -> pd.DataFrame:
    """``n`` scored rows, every one an anomaly: generator logs at the pipeline's rate, with the
    severities and types a detector gives (the densest case: a day holds ~33,000)."""
    days = n / (RATE * 1440) * 1.15 + 0.5
    logs, _ = generate_logs_with_incidents(START, START + pd.Timedelta(days=days), logs_per_minute=RATE, seed=9)
    logs = logs.iloc[:n]
    rng = np.random.default_rng(9)
    return pd.DataFrame({"log_id": logs["log_id"], "timestamp": logs["timestamp"], "service": logs["service"],
                         "message": logs["message"], "is_anomaly": True, "anomaly_score": 0.7,
                         "severity": rng.choice(["low", "medium", "high", "critical"], n, p=[0.8, 0.15, 0.04, 0.01]),
                         "anomaly_type": np.where(logs["label"] == 1, logs["incident_type"], "unusual_pattern")})


def flow_in_fresh_process(n: int) -> dict[str, Any]:
    """Generate ``n`` flagged rows, then time the whole flow on them (peak RSS is the caller's)."""
    rows = every_log_flagged(n) if n else None
    before = peak_rss_mb()
    t0 = time.perf_counter()
    result = triage(rows) if n else None
    return {"seconds": time.perf_counter() - t0, "rss_before_flow": before,
            "alerts": len(result.report.alerts) if result else 0, "incidents": len(result.report.incidents) if result else 0}


def speed_figures(week: pd.DataFrame, quick: bool) -> list[Figure]:
    rows = week[week["is_anomaly"]].iloc[:20_000]
    result, wall, cpu = best_of_two(lambda: triage(rows))
    alerts = deduplicate(anomalies_from_scored(rows).anomalies, 5).alerts.iloc[:500]
    _, small, _ = best_of_two(lambda: find_incidents(alerts, AlertIntelligenceConfig()))
    figures = [
        Figure(f"{len(rows):,} anomalies (scored rows) to incidents", wall, "s", f"<= {GOAL_SECONDS:g} s",
               wall <= GOAL_SECONDS, f"best of 2; CPU {cpu:.2f} s; {len(result.report.alerts):,} alerts, "
               f"{len(result.report.incidents)} incidents; a week of the 0.1 detector"),
        Figure("500 alerts to incidents (find_incidents)", small * 1e3, "ms", note="the seed documented 200 ms"),
    ]
    sizes = (0, 20_000, 200_000) if not quick else (0, 20_000, 60_000)
    runs = {n: run_isolated(flow_in_fresh_process, n) for n in sizes}
    base = runs[0][2]
    for n in sizes[1:]:
        out, _, peak = runs[n]
        goal = n == 200_000
        figures.append(Figure(f"peak RSS, whole flow on {n:,} anomalies (every log flagged)", peak, "MB",
                              f"<= {GOAL_PEAK_MB:,.0f} MB" if goal else None, (peak <= GOAL_PEAK_MB) if goal else None,
                              f"fresh process; {peak - out['rss_before_flow']:.0f} MB above the generated rows, "
                              f"imports alone {base:.0f} MB; {out['seconds']:.1f} s; {out['alerts']:,} alerts, "
                              f"{out['incidents']} incidents; a dense all-pairs matrix of the alerts would need "
                              f"{out['alerts'] ** 2 * 8 / 2**30:,.0f} GB"))
    return figures


def run(quick: bool = False) -> list[Figure]:
    seeds, rate = (SEEDS[:1], QUICK_RATE) if quick else (SEEDS, RATE)
    figures: list[Figure] = []
    week_for_speed = None
    for contamination in (JUDGED, TODAY):
        results: dict[str, list[dict[str, Any]]] = {a: [] for a in ALGORITHMS}
        for seed in seeds:
            data, _, _ = run_isolated(scored_seed, seed, rate, contamination)
            if contamination == TODAY and week_for_speed is None:
                week_for_speed = data["scored"]
            for algorithm in ALGORITHMS:
                results[algorithm] += judge_weeks(data, algorithm)
        note = f"{len(seeds) * EVAL_WEEKS} weeks, seeds {', '.join(map(str, seeds))}, {rate * 1440 * 30 / 1e6:.2f}M logs/30 days"
        figures += _synthetic_figures(contamination, results, note, quick)
    figures += bgl_figures()
    figures += speed_figures(week_for_speed, quick)
    return figures


if __name__ == "__main__":
    main(run)
