"""The weekly report as Markdown (Dagster metadata, the ``reports`` collection) and as one
self-contained HTML page (inline CSS, plots as base64 PNGs: it opens offline, from anywhere).

Both come from the same section texts, so they never say different things.
"""
from __future__ import annotations

import base64
import html
from typing import Mapping

import pandas as pd

from analytics_pipeline.core.alerting.incidents import duration_text
from analytics_pipeline.core.markdown import frame_table
from analytics_pipeline.core.monitoring.summaries import drift_markdown, drifted_table
from analytics_pipeline.core.reporting.engine import WeeklyReport
from analytics_pipeline.core.reporting.recommendations import OptimizationRecommendation

SECTIONS = ("summary", "health", "incidents", "capacity", "drift", "recommendations", "services")
_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee}
.rec{border:1px solid #ccc;border-left:6px solid #3a6ea5;padding:.6em 1em;margin:1em 0;border-radius:4px}
.critical{border-left-color:#c8453a}.high{border-left-color:#e0a030}.muted{color:#666}ul{margin:.3em 0}"""


def incidents_frame(report: WeeklyReport, limit: int = 5) -> pd.DataFrame:
    """The most urgent incidents with their root cause and why."""
    rows = [{"incident": i.cluster_id, "priority": f"{i.priority} ({i.priority_score:.0f})",
             "start": f"{i.first_alert_time:%a %d %b %H:%M}", "duration": duration_text(i.duration_minutes),
             "root cause": i.root_cause or "-", "confidence": round(i.confidence, 2),
             "services": ", ".join(i.services),
             "why": "; ".join(i.root_cause_candidates[0].evidence) if i.root_cause_candidates else "-"}
            for i in report.incidents[:limit]]
    return pd.DataFrame(rows, columns=["incident", "priority", "start", "duration", "root cause", "confidence",
                                       "services", "why"])


def capacity_text(report: WeeklyReport) -> str:
    if not report.forecasts_available:
        return "_No forecasts for this week (the forecasts asset is not wired in yet): no capacity warnings._"
    if report.capacity_warnings.empty:
        return "_No forecast is likely to cross capacity within the horizon._"
    frame = report.capacity_warnings.copy()
    frame["probability"] = frame["probability"].map(lambda p: f"{p:.0%}")
    return frame_table(frame, rows=10)


def summary_lines(report: WeeklyReport, top: int = 3, detail: bool = True) -> list[str]:
    """The report in a few lines (the CLI): health, incidents with root cause, capacity, drift,
    and the top recommendations with their evidence. Without ``detail`` (``make demo``, whose
    step lines and incident list already say the rest): health, capacity and one line per
    recommendation."""
    lines = [f"Health: {report.health_line}"]
    if detail:
        lines.append(f"Incidents: {len(report.incidents)} from {report.alerts:,} alerts" +
                     (":" if report.incidents else ""))
        lines += [f"  {i.priority} {i.first_alert_time:%a %H:%M} root cause {i.root_cause or '-'} "
                  f"(confidence {i.confidence:.2f}), services {', '.join(i.services[:4])}" for i in report.incidents[:top]]
    if not report.forecasts_available:
        lines.append("Capacity: no forecasts this week")
    elif report.capacity_warnings.empty:
        lines.append("Capacity: no forecast likely to cross capacity")
    else:
        for row in report.capacity_warnings.head(top).itertuples():
            lines.append(f"Capacity: {row.service} {row.metric} {row.probability:.0%} likely to cross "
                         f"{row.threshold:,.4g} (first {pd.Timestamp(row.first_crossing):%a %d %b})")
    if detail:
        lines.append(f"Drift: {report.drift_line}")
    lines.append(f"Recommendations: {len(report.recommendations)}" + (":" if report.recommendations else
                 f" (nothing this week passed confidence >= {report.config.min_confidence_threshold:g} and "
                 f"expected improvement >= {report.config.min_expected_improvement:g}%)"))
    for n, rec in enumerate(report.recommendations[:top], 1):
        expected = f"expected {rec.expected_improvement:.0f}%, confidence {rec.confidence:.2f}"
        if not detail:
            lines.append(f"  {n}. [{rec.priority}] {rec.title} ({expected})")
            continue
        lines.append(f"  {n}. [{rec.priority}] {rec.title}")
        lines.append(f"     {rec.current_value} -> {rec.recommended_value}; {expected}")
        lines += [f"     evidence: {e}" for e in rec.evidence[:2]]
    return lines


def _rec_markdown(n: int, rec: OptimizationRecommendation) -> str:
    steps = "\n".join(f"   {k}. {s}" for k, s in enumerate(rec.implementation_steps, 1))
    evidence = "\n".join(f"   - {e}" for e in rec.evidence)
    return (f"### {n}. {rec.title}\n\n"
            f"`{rec.category}` · component **{rec.component}** · priority **{rec.priority}** · expected improvement "
            f"**{rec.expected_improvement:.1f}%** · confidence **{rec.confidence:.2f}** · effort {rec.estimated_effort} · "
            f"risk {rec.risk_level} · `{rec.id}` · valid until {rec.expires_at:%Y-%m-%d}\n\n{rec.description}\n\n"
            f"- current: {rec.current_value}\n- recommended: {rec.recommended_value}\n- evidence:\n{evidence}\n"
            f"- steps:\n{steps}\n")


def markdown_report(report: WeeklyReport, html_path: str | None = None) -> str:
    """The whole report as Markdown."""
    recs = "\n".join(_rec_markdown(n, r) for n, r in enumerate(report.recommendations, 1)) or \
        "_No recommendation passed the filters this week._"
    health = (report.health or {}).get("services", {})
    health_rows = pd.DataFrame([{"service": s, "health": v["health_score"], "status": v["status"],
                                 "anomalies": v["anomalies"], "logs": v["logs"]} for s, v in health.items()])
    parts = [
        f"# Weekly report {report.partition}",
        f"{report.start:%Y-%m-%d} to {report.end:%Y-%m-%d} (UTC); generated {report.generated_at:%Y-%m-%d %H:%M} UTC"
        + (f"; HTML: `{html_path}`" if html_path else ""),
        "## Summary", "\n".join(f"- {line.strip()}" for line in summary_lines(report)),
        "## Health", f"**{report.health_line}**", frame_table(health_rows, rows=20) if len(health_rows) else "",
        "## Incidents", frame_table(incidents_frame(report), rows=5, max_chars=160),
        "## Capacity", capacity_text(report),
        "## Drift", drift_markdown(report.drift) if report.drift is not None else "_No drift report for the week._",
        "## Recommendations", recs,
        "## Services", frame_table(report.services.round(4), rows=50),
    ]
    return "\n\n".join(p for p in parts if p)


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, border=0, escape=True, na_rep="-") if len(frame) else \
        "<p class='muted'>none</p>"


def _img(name: str, png: bytes) -> str:
    return (f"<figure><img alt='{html.escape(name)}' src='data:image/png;base64,"
            f"{base64.b64encode(png).decode('ascii')}'></figure>")


def _rec_html(n: int, rec: OptimizationRecommendation) -> str:
    e = html.escape
    return (f"<div class='rec {e(rec.priority)}' id='{e(rec.id)}'><h3>{n}. {e(rec.title)}</h3>"
            f"<p class='muted'>{e(rec.category)} · {e(rec.component)} · priority <b>{e(rec.priority)}</b> · expected "
            f"<b>{rec.expected_improvement:.1f}%</b> · confidence <b>{rec.confidence:.2f}</b> · effort "
            f"{e(rec.estimated_effort)} · risk {e(rec.risk_level)} · valid until {rec.expires_at:%Y-%m-%d}</p>"
            f"<p>{e(rec.description)}</p><table><tr><th>current</th><td>{e(rec.current_value)}</td></tr>"
            f"<tr><th>recommended</th><td>{e(rec.recommended_value)}</td></tr></table>"
            f"<p><b>Evidence</b></p><ul>{''.join(f'<li>{e(x)}</li>' for x in rec.evidence)}</ul>"
            f"<p><b>Steps</b></p><ol>{''.join(f'<li>{e(x)}</li>' for x in rec.implementation_steps)}</ol></div>")


def html_report(report: WeeklyReport, plots: Mapping[str, bytes]) -> str:
    """The whole report as one self-contained HTML page."""
    e = html.escape
    health = (report.health or {}).get("services", {})
    health_rows = pd.DataFrame([{"service": s, "health": v["health_score"], "status": v["status"],
                                 "anomalies": v["anomalies"], "logs": v["logs"]} for s, v in health.items()])
    drift = report.drift
    if drift is not None:
        drift_html = ("<p><b>Verdict: " + e(drift.verdict) + "</b> (" +
                      ("retraining advised" if drift.retraining_advised else "no retraining needed") + ")</p><ul>" +
                      "".join(f"<li>{e(r)}</li>" for r in drift.reasons) + "</ul>" +
                      _table(pd.DataFrame([{"": "anomaly rate", "week": f"{drift.scores.week_rate:.2%}",
                                            "training": f"{drift.scores.training_rate:.2%}",
                                            "shift": f"x{drift.scores.rate_ratio:.2f}"},
                                           {"": "raw score", "week": "", "training": "",
                                            "shift": f"PSI {drift.scores.score_psi:.3f}"}])) +
                      f"<pre>{e(drifted_table(drift))}</pre>")
    else:
        drift_html = "<p class='muted'>No drift report for the week.</p>"
    capacity = report.capacity_warnings
    sections = {
        "summary": "<ul>" + "".join(f"<li>{e(line.strip())}</li>" for line in summary_lines(report)) + "</ul>",
        "health": f"<p><b>{e(report.health_line)}</b></p>" + _table(health_rows)
                  + (_img("health", plots["health"]) if "health" in plots else ""),
        "incidents": _table(incidents_frame(report)) + (_img("timeline", plots["timeline"]) if "timeline" in plots else ""),
        "capacity": _table(capacity) if report.forecasts_available and len(capacity) else
        f"<p class='muted'>{e(capacity_text(report).strip('_'))}</p>",
        "drift": drift_html + (_img("drift", plots["drift"]) if "drift" in plots else ""),
        "recommendations": ("".join(_rec_html(n, r) for n, r in enumerate(report.recommendations, 1))
                            or "<p class='muted'>No recommendation passed the filters this week.</p>")
                           + (_img("recommendations", plots["recommendations"]) if "recommendations" in plots else ""),
        "services": _table(report.services.round(4)),
    }
    body = "".join(f"<section id='{name}'><h2>{name.capitalize()}</h2>{sections[name]}</section>" for name in SECTIONS)
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Weekly report {e(report.partition)}"
            f"</title><style>{_CSS}</style></head><body><h1>Weekly report {e(report.partition)}</h1>"
            f"<p class='muted'>{report.start:%Y-%m-%d} to {report.end:%Y-%m-%d} (UTC), generated "
            f"{report.generated_at:%Y-%m-%d %H:%M} UTC</p>{body}</body></html>")
