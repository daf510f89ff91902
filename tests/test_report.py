"""`mediamon report`: one self-contained HTML file, checked as text and drawn in headless Chromium."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from fnmatch import fnmatch
from pathlib import Path

import pytest

from mediamon.cli import main
from mediamon.report import collect_report_data
from tests.conftest import REPO_ROOT
from tests.helpers.browser import ARTIFACTS
from warehouse.db import connect_reader, open_writer

pytest_plugins = ["tests.reporting_fixtures"]  # fixtures: seeds_db, reporting_db, empty_db, seed_ids, seed_day

SEED_CHARTS = {"coverage", "outlets", "languages", "stories", "runs"}
ALL_CHARTS = SEED_CHARTS | {"rejects", "fetch-errors", "monitors"}


def build_report(db: Path, out: Path) -> str:
    assert main(["report", "--out", str(out), "--db", str(db)]) == 0
    return out.read_text(encoding="utf-8")


def chart_names(page_html: str) -> set[str]:
    return set(re.findall(r'data-chart="([\w-]+)"', page_html))


@pytest.mark.warehouse
def test_report_on_seeds_is_self_contained(seeds_db, tmp_path, capsys):
    page = build_report(seeds_db, tmp_path / "report.html")
    assert f"wrote {tmp_path / 'report.html'}" in capsys.readouterr().out
    assert chart_names(page) == SEED_CHARTS
    assert page.count("* plotly.js v") == 1  # the library inlined once, shared by every chart
    assert page.count("Plotly.newPlot(") == len(SEED_CHARTS)
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|@import|url\(http", page)  # nothing loaded from outside
    assert "No rejects." in page and "No data yet" not in page
    assert "5 unique stories" in page and "+ 5 articles of unknown outlet" in page


@pytest.mark.warehouse
def test_report_on_fixtures_shows_every_section(reporting_db, tmp_path):
    db, _ = reporting_db
    page = build_report(db, tmp_path / "report.html")
    assert chart_names(page) == ALL_CHARTS
    assert "Wire Service" in page and "space-news.example" in page and "iss-video" in page
    assert "<td>wire-feed</td>" in page and "badge failed" in page  # sources table: latest run of space-news failed
    assert ">4 days<" in page and "30 Mar – 2 Apr 2022" in page


@pytest.mark.warehouse
def test_collect_report_data_reads_the_views(reporting_db):
    """The numbers behind the page, as rpt_summary, rpt_languages, rpt_stories and the other views give them."""
    db, ids = reporting_db
    with connect_reader(db) as conn:
        data = collect_report_data(conn)
    assert data.summary == {
        "articles": 10,
        "stories": 5,
        "outlets": 4,
        "unknown_outlet": 5,
        "languages": 2,
        "copies": 3,
        "first_day": date(2022, 3, 30),
        "last_day": date(2022, 4, 2),
        "rejects": 5,
    }
    assert data.languages == [("en", 8), ("de", 1), (None, 1)]
    assert [(s["story_key"], s["articles"], s["originals"], s["pickups"]) for s in data.stories[:1]] == [
        ("iss-video", 6, 3, 3)
    ]
    assert data.stories[0]["label"] == "Roscosmos video shows Russian segment leaving the ISS"
    assert len(data.stories) == 5 and {s["story_key"] for s in data.stories[1:]} == {
        ids[n] for n in ("seed000", "seed001", "seed002", "H4")
    }
    assert data.daily[2] == (date(2022, 4, 1), 0, 0, 0)  # a day without articles is a zero
    assert data.outlets[0] == ("(unknown)", 5, 0.5, 4)
    assert data.rejects[0] == ("fetch", "http_404", 2) and len(data.rejects) == 4
    assert [row[0] for row in data.sources] == ["(direct)", "orbit", "space-news", "wire-feed"]
    assert [run["run_id"] for run in data.runs] == ["r4", "r3", "r2", "r1"] and data.last_run["run_id"] == "r4"
    assert data.monitors[0] == ("iss-video", date(2022, 3, 30), 1) and not data.is_empty


@pytest.mark.warehouse
def test_report_empty_warehouse_says_no_data_yet(empty_db, tmp_path):
    page = build_report(empty_db, tmp_path / "report.html")
    assert "No data yet" in page and "mediamon ingest" in page
    assert "Plotly" not in page and chart_names(page) == set()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


@pytest.mark.warehouse
def test_report_escapes_text_from_the_warehouse(seeds_db, tmp_path):
    with open_writer(seeds_db) as conn:
        conn.execute("UPDATE articles SET title = '<script>alert(1)</script>' WHERE title IS NULL")
        conn.execute("""UPDATE runs SET parameters = '{"source_name": "<b>bold</b>"}'""")
    page = build_report(seeds_db, tmp_path / "report.html")
    assert "<script>alert(1)" not in page and "<b>bold</b>" not in page


@pytest.mark.warehouse
def test_report_missing_warehouse_says_what_to_do(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path / "r.html"), "--db", str(tmp_path / "none.duckdb")]) == 1
    assert "mediamon ingest" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


# In the browser -----------------------------------------------------------------------------------------


def open_in_browser(chromium, report: Path, screenshot: Path | None = None) -> dict:
    """Open the file with every http(s)/ws request refused; returns what the page drew and complained about."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    outside, errors = [], []

    def refuse(route):
        outside.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(https?|wss?)://"), refuse)
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    local = ("file:", "data:", "blob:", "about:")
    page.on("request", lambda request: None if request.url.startswith(local) else outside.append(request.url))
    page.goto(report.as_uri(), wait_until="load")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')].every(c => c.querySelector('.main-svg'))",
        timeout=15_000,
    )
    drawn = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-chart]')].map(c => [c.dataset.chart, {
               svgs: c.querySelectorAll('.main-svg').length,
               traces: c.querySelectorAll('.main-svg .trace').length,
           }]))"""
    )
    text = page.inner_text("body")
    if screenshot:
        screenshot.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    context.close()
    return {"drawn": drawn, "errors": errors, "outside": outside, "text": text}


@pytest.mark.e2e
def test_report_draws_in_chromium_offline(chromium, seeds_db, reporting_db, empty_db, tmp_path):
    build_report(seeds_db, tmp_path / "seeds.html")
    seeds = open_in_browser(chromium, tmp_path / "seeds.html", ARTIFACTS / "report.png")
    assert seeds["errors"] == [] and seeds["outside"] == []
    assert set(seeds["drawn"]) == SEED_CHARTS
    assert all(chart["svgs"] > 0 and chart["traces"] > 0 for chart in seeds["drawn"].values()), seeds["drawn"]
    assert "Coverage over time" in seeds["text"] and "No rejects." in seeds["text"]

    build_report(reporting_db[0], tmp_path / "fixtures.html")
    fixtures = open_in_browser(chromium, tmp_path / "fixtures.html", ARTIFACTS / "report-fixtures.png")
    assert fixtures["errors"] == [] and fixtures["outside"] == []
    assert set(fixtures["drawn"]) == ALL_CHARTS
    assert all(chart["svgs"] > 0 and chart["traces"] > 0 for chart in fixtures["drawn"].values()), fixtures["drawn"]

    build_report(empty_db, tmp_path / "empty.html")
    empty = open_in_browser(chromium, tmp_path / "empty.html")
    assert empty["errors"] == [] and empty["outside"] == [] and empty["drawn"] == {}
    assert "No data yet" in empty["text"]
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000


@pytest.mark.warehouse
def test_report_template_ships_as_package_data():
    """A non-editable install ships only the files [tool.setuptools.package-data] names: page.html must be one."""
    patterns = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["*"]
    data_files = [p.name for p in (REPO_ROOT / "mediamon" / "report").iterdir() if p.is_file() and p.suffix != ".py"]
    assert "page.html" in data_files
    assert [name for name in data_files if not any(fnmatch(name, pattern) for pattern in patterns)] == []
