"""The report's page: cards, the header's figures and the sources table, laid out by page.html (a string.Template
next to this file, shipped as package data), with plotly.js inlined once so the file works offline."""

from __future__ import annotations

import html
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from string import Template

import duckdb
from plotly.offline import get_plotlyjs

from mediamon.report.charts import (
    chart_html,
    coverage_chart,
    fetch_errors_chart,
    format_day,
    languages_chart,
    media_chart,
    monitors_chart,
    outlets_chart,
    rejects_chart,
    runs_chart,
    stories_chart,
)
from mediamon.report.data import (
    RECENT_RUNS,
    TOP_MEDIA,
    TOP_OUTLETS,
    TOP_STORIES,
    ReportData,
    collect_report_data,
)
from warehouse.atomic import atomic_write

PAGE = Template(files("mediamon.report").joinpath("page.html").read_text(encoding="utf-8"))


def _format_moment(value: datetime | None) -> str:
    return f"{value.day} {value:%b %Y %H:%M} UTC" if value else "–"


def _card(title: str, hint: str, body: str, *, wide: bool = False, name: str = "") -> str:
    classes = "card wide" if wide else "card"
    return (
        f'<section class="{classes}" id="{name}"><h2>{html.escape(title)}</h2>'
        f'<p class="hint">{hint}</p>{body}</section>'
    )


def _placeholder(text: str, tone: str = "calm") -> str:
    return f'<div class="placeholder {tone}">{text}</div>'


def _stat(label: str, value: str, note: str = "") -> str:
    return (
        f'<div class="stat"><div class="label">{html.escape(label)}</div>'
        f'<div class="value">{html.escape(value)}</div><div class="note">{note}</div></div>'
    )


def _stats(data: ReportData) -> str:
    s, run = data.summary, data.last_run
    if s["first_day"] is None:
        span, span_note = "–", "no articles yet"
    elif s["first_day"] == s["last_day"]:
        span, span_note = "1 day", format_day(s["first_day"])
    else:
        days = (s["last_day"] - s["first_day"]).days + 1
        same_year = s["first_day"].year == s["last_day"].year
        first = format_day(s["first_day"])[:-5] if same_year else format_day(s["first_day"])
        span, span_note = f"{days} days", f"{first} – {format_day(s['last_day'])}"
    outlets_note = f"+ {s['unknown_outlet']:,} articles of unknown outlet" if s["unknown_outlet"] else "by site or host"
    if run:
        badge = f'<span class="badge {html.escape(run["status"])}">{html.escape(run["status"])}</span>'
        when = run["finished_at"] or run["started_at"]
        run_value = format_day(when)
        run_note = f"{badge} {when:%H:%M} UTC · {run['loaded']} loaded, {run['rejected']} rejected"
    else:
        run_value, run_note = "–", "no run recorded"
    return "".join(
        [
            _stat("Articles", f"{s['articles']:,}", f"{s['stories']:,} unique stories, {s['copies']:,} copies"),
            _stat("Outlets", f"{s['outlets']:,}", outlets_note),
            _stat("Languages", f"{s['languages']:,}", "detected by langdetect"),
            _stat("Coverage", span, span_note),
            _stat("Rejected documents", f"{s['rejects']:,}", "bad input kept as data" if s["rejects"] else "none"),
            _stat("Last run", run_value, run_note),
        ]
    )


def _sources_table(sources: list[tuple]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td class='num'>{n}</td><td>{_format_moment(last_at)}</td>"
        f"<td><span class='badge {html.escape(status or '')}'>{html.escape(status or '–')}</span></td></tr>"
        for name, n, last_at, status in sources
    )
    return (
        "<table><thead><tr><th>source</th><th class='num'>completed runs</th><th>last success</th>"
        f"<th>latest run</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def _media_table(media: list[dict]) -> str:
    rows = "".join(
        f"<tr><td><a href='{html.escape(row['example_url'])}'>{html.escape(row['media'])}</a></td>"
        f"<td class='num'>{row['articles']}</td><td class='num'>{row['outlets']}</td>"
        f"<td>{html.escape(row['language_codes'] or '–')}</td><td>{html.escape(row['first_outlet'])}</td>"
        f"<td>{_format_moment(row['first_seen'])}</td><td class='num'>{row['hours_first_to_last']:,.1f}</td></tr>"
        for row in media
    )
    return (
        "<table><thead><tr><th>media</th><th class='num'>articles</th><th class='num'>outlets</th>"
        "<th>languages</th><th>first outlet</th><th>first seen</th><th class='num'>hours to last</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _sections(data: ReportData) -> list[str]:
    s = data.summary
    sections = []
    if s["articles"]:
        sections.append(
            _card(
                "Coverage over time",
                "Articles per day (publication date, else the day they were first loaded), with the unique stories"
                " and outlets behind them.",
                chart_html(coverage_chart(data.daily), "coverage"),
                wide=True,
                name="coverage",
            )
        )
        unknown_hint = " Local files without a site name count as <em>(unknown)</em>." if s["unknown_outlet"] else ""
        sections.append(
            _card(
                "Outlets",
                f"Articles per outlet and share of all coverage (top {TOP_OUTLETS}).{unknown_hint}",
                chart_html(outlets_chart(data.outlets), "outlets"),
                name="outlets",
            )
        )
        sections.append(
            _card(
                "Languages",
                "Language of each article's text.",
                chart_html(languages_chart(data.languages), "languages"),
                name="languages",
            )
        )
        no_pickups = "" if any(row["pickups"] for row in data.stories) else " No copies found yet."
        sections.append(
            _card(
                "Top stories and their pickups",
                f"Stories ranked by the articles that carried them: original reporting, and copies of it picked up"
                f" by other outlets (top {TOP_STORIES}).{no_pickups}",
                chart_html(stories_chart(data.stories), "stories"),
                wide=True,
                name="stories",
            )
        )
    if data.media:
        sections.append(
            _card(
                "Top embedded media and how each spread",
                f"Videos and posts carried by more than one article (top {TOP_MEDIA}): embedded, named in the"
                " page's metadata or cited in the text. Each dot is an article, at its date, by language.",
                chart_html(media_chart(data.media, data.media_spread), "media") + _media_table(data.media),
                wide=True,
                name="media",
            )
        )
    if data.rejects:
        body = chart_html(rejects_chart(data.rejects), "rejects")
    else:
        body = _placeholder("<b>No rejects.</b> Every document seen so far was loaded.", "good")
    sections.append(
        _card("Ingest health", "Documents that could not become articles, by reason and stage.", body, name="health")
    )
    if data.runs:
        body = chart_html(runs_chart(data.runs), "runs")
    else:
        body = _placeholder("No runs recorded yet.")
    sections.append(_card("Recent runs", f"What each of the last {RECENT_RUNS} runs did.", body, name="runs"))
    extra = []  # half-width cards, paired two by two; an odd last one spans the row
    if data.fetch_errors:
        extra.append(
            (
                "Fetch errors by host",
                "Pages that could not be fetched, per host and reason.",
                chart_html(fetch_errors_chart(data.fetch_errors), "fetch-errors"),
                "fetch-errors",
            )
        )
    if data.sources:
        extra.append(
            (
                "Sources",
                "Last successful run per source; <em>(direct)</em> is paths and URLs given on the command line.",
                _sources_table(data.sources),
                "sources",
            )
        )
    if data.monitors:
        extra.append(
            (
                "Monitors",
                "Matching articles per topic monitor and day.",
                chart_html(monitors_chart(data.monitors), "monitors"),
                "monitors",
            )
        )
    for i, (title, hint, body, name) in enumerate(extra):
        sections.append(_card(title, hint, body, name=name, wide=len(extra) % 2 == 1 and i == len(extra) - 1))
    return sections


def render_report(data: ReportData, *, source: str, generated_at: datetime) -> str:
    """The page as one HTML string; plotly.js is inlined once, and only when there is a chart to draw."""
    sections = [] if data.is_empty else _sections(data)
    notice = ""
    if not data.summary["articles"]:
        notice = (
            '<div class="notice"><b>No data yet.</b> The warehouse has no articles. Load some with'
            " <code>mediamon ingest PATH_OR_URL</code> (for example <code>mediamon ingest seeds</code>),"
            " then run <code>mediamon report</code> again.</div>"
        )
    body = "\n".join(sections)
    script = f"<script>{get_plotlyjs()}</script>" if 'class="chart"' in body else ""
    return PAGE.substitute(
        title="Media monitoring report",
        source=html.escape(source),
        generated=_format_moment(generated_at),
        plotlyjs=script,
        stats=_stats(data),
        notice=notice,
        sections=body,
    )


def write_report(conn: duckdb.DuckDBPyConnection, out: str | Path, *, source: str, generated_at: datetime) -> Path:
    """Write the report to `out` with `atomic_write`, so a reader never sees half a page."""
    out = Path(out)
    page = render_report(collect_report_data(conn), source=source, generated_at=generated_at)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(out) as temp:
        temp.write_text(page, encoding="utf-8")
    return out
