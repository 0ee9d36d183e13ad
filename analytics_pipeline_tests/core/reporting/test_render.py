"""The report rendered: Markdown and one self-contained HTML page, parsed, and opened once in
headless Chromium (Debian's chromium-headless-shell, installed by .ci/run)."""
from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from analytics_pipeline.core.reporting.evidence import read_week
from analytics_pipeline.core.reporting.render import SECTIONS
from analytics_pipeline.core.reporting.weekly import render_week, write_html
from analytics_pipeline.core.scoring.health import health_summary
from analytics_pipeline_tests.reporting_data import WEEK, scenario

CHROMIUM = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")


class _Outline(HTMLParser):
    """Sections, tables, images and external references of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.sections, self.tables, self.images, self.external = [], 0, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        elif tag == "table":
            self.tables += 1
        elif tag == "img":
            self.images.append(attrs.get("src", ""))
        for key in ("src", "href"):
            if attrs.get(key, "").startswith(("http:", "https:", "//")) or (tag in ("link", "script") and key in attrs):
                self.external.append(attrs[key])


@pytest.fixture
def rendered(mongo_db, tmp_path):
    data = scenario("pool_exhaustion")
    data.store(mongo_db)
    week = read_week(mongo_db, WEEK, data.logs, drift=data.drift(), health=health_summary(data.week(data.scored)))
    return render_week(week, html_path=tmp_path / "report.html")


def test_the_html_is_self_contained_with_every_section_table_and_plot(rendered, tmp_path):
    outline = _Outline()
    outline.feed(rendered.html)
    assert outline.sections == list(SECTIONS)
    assert outline.tables >= 5 and not outline.external
    assert len(outline.images) == len(rendered.plots) >= 4
    assert all(src.startswith("data:image/png;base64,") and len(src) > 2_000 for src in outline.images)
    assert "Give order-service more connection pool headroom" in rendered.html
    assert "Evidence" in rendered.html and "Verdict:" in rendered.html


def test_the_markdown_says_the_same_as_the_html(rendered, tmp_path):
    md = rendered.markdown
    for heading in ("## Summary", "## Health", "## Incidents", "## Capacity", "## Drift", "## Recommendations"):
        assert heading in md
    top = rendered.report.recommendations[0]
    assert top.title in md and top.title in rendered.html and str(tmp_path / "report.html") in md
    assert "no forecasts" in md.lower()  # forecasts not wired in: the report says so


def test_the_html_renders_in_headless_chromium(rendered, tmp_path):
    browser = next((shutil.which(b) for b in CHROMIUM if shutil.which(b)), None)
    assert browser, f"no headless Chromium on PATH ({', '.join(CHROMIUM)}): .ci/run installs chromium-headless-shell"
    page = write_html(rendered.html, tmp_path / "report.html")
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--virtual-time-budget=5000",
         "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert "<section id=\"recommendations\">" in dom and "Weekly report" in dom
    shot = tmp_path / "report.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1200,3000", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 20_000  # a blank page is a few KB
