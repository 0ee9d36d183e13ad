"""``analytics-pipeline report``: the latest or a given week's HTML where asked; clear errors."""
from __future__ import annotations

from analytics_pipeline.cli import main as cli_main
from analytics_pipeline.core.reporting.evidence import read_week
from analytics_pipeline.core.reporting.store import REPORTS_COLLECTION, write_report
from analytics_pipeline.core.reporting.weekly import render_week, write_html
from analytics_pipeline_tests.reporting_data import WEEK, scenario


def _stored_report(db, tmp_path):
    data = scenario("pool_exhaustion")
    data.store(db)
    html_path = tmp_path / "dagster_home_reports" / f"report-{WEEK}.html"
    rendered = render_week(read_week(db, WEEK, data.logs), html_path=html_path)
    write_html(rendered.html, html_path)
    write_report(db[REPORTS_COLLECTION], rendered.report, rendered.markdown, str(html_path))
    return rendered


def test_report_writes_the_latest_week_and_a_given_one(mongo_db, tmp_path, capsys):
    rendered = _stored_report(mongo_db, tmp_path)
    out_file = tmp_path / "out" / "report.html"
    assert cli_main(["report", "--output", str(out_file)]) == 0
    printed = capsys.readouterr().out
    assert out_file.read_text() == rendered.html
    assert f"weekly report {WEEK}: {len(rendered.report.recommendations)} recommendations" in printed
    assert "Recommendations:" in printed and f"HTML report: {out_file}" in printed
    assert cli_main(["report", "--partition", WEEK, "--output", str(tmp_path)]) == 0  # a folder: named inside
    assert (tmp_path / f"report-{WEEK}.html").read_text() == rendered.html


def test_report_errors_are_one_clear_line(mongo_db, tmp_path, capsys):
    assert cli_main(["report", "--output", str(tmp_path / "r.html")]) == 2
    assert capsys.readouterr().err.strip() == ("error: no weekly report yet: run `make demo` or materialize "
                                               "optimization_report in the Dagster UI")
    assert cli_main(["report", "--partition", "last week"]) == 2
    assert "--partition must be a week key YYYY-MM-DD, got 'last week'" in capsys.readouterr().err
    _stored_report(mongo_db, tmp_path)
    assert cli_main(["report", "--partition", "2026-11-01"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no report for the week 2026-11-01" in err
