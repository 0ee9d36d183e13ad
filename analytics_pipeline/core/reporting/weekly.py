"""The weekly report end to end, for the asset, the CLI and notebooks: the gate's metrics from
MLflow, the report, its plots, Markdown and HTML, the file under a folder."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlflow import MlflowClient

from analytics_pipeline.core.lifecycle.registry import version_by_alias
from analytics_pipeline.core.registry_names import CHALLENGER, CHAMPION
from analytics_pipeline.core.reporting.engine import WeeklyReport, build_report
from analytics_pipeline.core.reporting.evidence import GateMetrics, WeekEvidence
from analytics_pipeline.core.reporting.plots import report_plots
from analytics_pipeline.core.reporting.recommendations import OptimizationEngineConfig
from analytics_pipeline.core.reporting.render import html_report, markdown_report
from analytics_pipeline.core.reporting.rules_file import DEFAULT_RULES


def gate_metrics() -> GateMetrics | None:
    """The champion's and the challenger's holdout metrics and the champion's contamination,
    from their training runs; None when no champion is registered."""
    champion = version_by_alias(CHAMPION)
    if champion is None:
        return None
    client = MlflowClient()
    run = client.get_run(champion.run_id)
    challenger = version_by_alias(CHALLENGER)
    challenger_metrics = client.get_run(challenger.run_id).data.metrics if challenger is not None else {}
    return GateMetrics(int(champion.version), dict(run.data.metrics),
                       int(challenger.version) if challenger is not None else None, dict(challenger_metrics),
                       run.data.params.get("contamination"))


@dataclass(frozen=True)
class RenderedReport:
    report: WeeklyReport
    markdown: str
    html: str
    plots: dict[str, bytes]


def render_week(week: WeekEvidence, config: OptimizationEngineConfig = OptimizationEngineConfig(),
                rules_path: Path | None = DEFAULT_RULES, html_path: Path | None = None) -> RenderedReport:
    """The week's report with its Markdown and HTML (named ``html_path`` in the Markdown)."""
    report = build_report(week, config, rules_path)
    plots = report_plots(report, week)
    return RenderedReport(report, markdown_report(report, str(html_path) if html_path else None),
                          html_report(report, plots), plots)


def write_html(html: str, path: Path) -> Path:
    """Write the page atomically (a reader never opens half a report)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    return path
