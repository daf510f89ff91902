"""`mediamon report`: one self-contained HTML page of charts (plotly, its JavaScript inlined once) drawn from
the rpt_ views, readable offline and with no network access."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from warehouse.atomic import atomic_write
from warehouse.views import create_views

# Colours: one calm blue for volume, amber for stories, and a stable colour per stage and per outcome.
INK, MUTED, GRID = "#1f2933", "#616e7c", "#e4e7eb"
BLUE, BLUE_LIGHT, AMBER, TEAL, RED = "#3b5bdb", "#bac8ff", "#f08c00", "#0c8599", "#e03131"
PALETTE = ["#3b5bdb", "#f08c00", "#0c8599", "#ae3ec9", "#e03131", "#2f9e44", "#f76707", "#1c7ed6", "#868e96"]
ERROR_PALETTE = ["#e03131", "#f08c00", "#ae3ec9", "#f76707", "#c2255c", "#868e96"]  # warm: these are failures
STAGE_COLOURS = {"read": "#f08c00", "fetch": "#e03131", "extract": "#ae3ec9", "load": "#1c7ed6"}
OUTCOME_COLOURS = {
    "loaded": BLUE,
    "updated": TEAL,
    "unchanged": "#ced4da",
    "duplicates": AMBER,
    "rejected": RED,
}
FONT = "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
PLOT_CONFIG = {"displayModeBar": False, "displaylogo": False, "responsive": True}
TOP_OUTLETS, TOP_STORIES, RECENT_RUNS = 12, 10, 30

LANGUAGE_NAMES = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "ca": "Catalan", "cs": "Czech",
    "cy": "Welsh", "da": "Danish", "de": "German", "el": "Greek", "en": "English", "es": "Spanish",
    "et": "Estonian", "fa": "Persian", "fi": "Finnish", "fr": "French", "gu": "Gujarati", "he": "Hebrew",
    "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "kn": "Kannada", "ko": "Korean", "lt": "Lithuanian", "lv": "Latvian", "mk": "Macedonian", "ml": "Malayalam",
    "mr": "Marathi", "ne": "Nepali", "nl": "Dutch", "no": "Norwegian", "pa": "Punjabi", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "so": "Somali",
    "sq": "Albanian", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "th": "Thai",
    "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "zh": "Chinese",
    "zh-cn": "Chinese (simplified)", "zh-tw": "Chinese (traditional)",
}  # fmt: skip

TEMPLATE = go.layout.Template(
    layout={
        "font": {"family": FONT, "size": 13, "color": INK},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": PALETTE,
        "margin": {"l": 12, "r": 16, "t": 8, "b": 8},
        "xaxis": {"gridcolor": GRID, "linecolor": GRID, "zerolinecolor": GRID, "tickcolor": GRID, "automargin": True},
        "yaxis": {"gridcolor": GRID, "linecolor": GRID, "zerolinecolor": GRID, "tickcolor": GRID, "automargin": True},
        "hoverlabel": {"bgcolor": "white", "bordercolor": GRID, "font": {"family": FONT, "size": 12, "color": INK}},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0, "title": None},
        "bargap": 0.25,
    }
)


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows, read from the warehouse in one go."""

    summary: dict
    last_run: dict | None
    daily: list[tuple]
    outlets: list[tuple]
    languages: list[tuple]
    stories: list[dict]
    rejects: list[tuple]
    fetch_errors: list[tuple]
    sources: list[tuple]
    runs: list[dict]  # newest first
    monitors: list[tuple]

    @property
    def is_empty(self) -> bool:
        return not self.summary["articles"] and not self.runs and not self.rejects


# Stories (story_id where story clustering set one, else the canonical copy) by the articles that carried them;
# the headline is the first-seen titled original, else the start of the first article's text.
TOP_STORIES_SQL = f"""
    WITH stories AS (
        SELECT story_key,
               count(*) AS articles,
               count(*) FILTER (WHERE duplicate_of IS NULL) AS originals,
               count(*) FILTER (WHERE duplicate_of IS NOT NULL) AS pickups,
               count(DISTINCT outlet) AS outlets,
               string_agg(DISTINCT outlet, ', ' ORDER BY outlet) AS outlet_names,
               min(seen_at) AS first_seen,
               max(seen_at) AS last_seen,
               first(title ORDER BY seen_at, article_id) FILTER (WHERE title IS NOT NULL AND duplicate_of IS NULL)
                   AS headline,
               first(article_id ORDER BY seen_at, article_id) AS first_article
        FROM rpt_articles
        GROUP BY story_key
    )
    SELECT coalesce(s.headline, left(a.text, 80) || '…') AS label, s.*
    FROM stories s JOIN articles a ON a.article_id = s.first_article
    ORDER BY s.articles DESC, s.pickups DESC, s.first_seen, s.story_key
    LIMIT {TOP_STORIES}
"""


def _dicts(conn: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    relation = conn.sql(sql)
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def collect_report_data(conn: duckdb.DuckDBPyConnection) -> ReportData:
    """Read the report's numbers; creates the rpt_ views as temporary views, so a read-only connection works."""
    create_views(conn, temporary=True)
    summary = _dicts(
        conn,
        """SELECT count(*) AS articles, count(DISTINCT story_key) AS stories, count(DISTINCT outlet) AS outlets,
                  count(*) FILTER (WHERE outlet = '(unknown)') AS unknown_outlet, count(DISTINCT language) AS languages,
                  count(*) FILTER (WHERE duplicate_of IS NOT NULL) AS copies,
                  min(day) AS first_day, max(day) AS last_day
           FROM rpt_articles""",
    )[0]
    summary["rejects"] = conn.execute("SELECT count(*) FROM rejects").fetchone()[0]
    runs = _dicts(conn, f"SELECT * FROM rpt_runs ORDER BY started_at DESC, run_id LIMIT {RECENT_RUNS}")
    return ReportData(
        summary=summary,
        last_run=runs[0] if runs else None,
        daily=conn.execute(
            "SELECT day, articles, unique_stories, outlets FROM rpt_daily_coverage ORDER BY day"
        ).fetchall(),
        outlets=conn.execute(
            f"""SELECT outlet, articles, share_of_articles, unique_stories FROM rpt_outlets
                ORDER BY articles DESC, outlet LIMIT {TOP_OUTLETS}"""
        ).fetchall(),
        languages=conn.execute(
            "SELECT language, count(*) AS n FROM articles GROUP BY language ORDER BY n DESC, language NULLS LAST"
        ).fetchall(),
        stories=_dicts(conn, TOP_STORIES_SQL),
        rejects=conn.execute(
            "SELECT stage, reason, n FROM rpt_ingest_health WHERE kind = 'reject' ORDER BY n DESC, reason"
        ).fetchall(),
        fetch_errors=conn.execute(
            "SELECT host, reason, n FROM rpt_ingest_health WHERE kind = 'fetch_error' ORDER BY n DESC, host"
        ).fetchall(),
        sources=conn.execute(
            """SELECT source_name, n, last_at, last_status FROM rpt_ingest_health
               WHERE kind = 'source' ORDER BY source_name"""
        ).fetchall(),
        runs=runs,
        monitors=conn.execute(
            "SELECT monitor, day, articles FROM rpt_monitor_matches ORDER BY monitor, day"
        ).fetchall(),
    )


# Charts ------------------------------------------------------------------------------------------------


def _figure(height: int, **layout) -> go.Figure:
    return go.Figure(layout={"template": TEMPLATE, "height": height, **layout})


def _axis_title(text: str) -> dict:
    return {"text": text, "font": {"color": MUTED, "size": 12}}


def _count_axis(largest: float, title: str | None = None) -> dict:
    """An axis of whole counts: starts at zero, and steps of one while small (no 0.5 ticks)."""
    axis = {"rangemode": "tozero", "tickformat": ",d", "dtick": 1 if largest <= 10 else None}
    return {**axis, "title": _axis_title(title)} if title else axis


def _day_axis(days: list[date]) -> dict:
    """A date axis with one tick per day while the span is short, padded to a week around few days."""
    first, last = min(days), max(days)
    axis = {"type": "date", "tickformat": "%-d %b\n%Y", "showgrid": False, "hoverformat": "%a %-d %b %Y"}
    if (last - first).days <= 14:
        axis["dtick"] = 86_400_000
    if (last - first).days < 6:  # centre a few days in a week rather than stretching one bar across
        pad = (6 - (last - first).days) / 2 + 0.5
        axis["range"] = [first - timedelta(days=pad), last + timedelta(days=pad)]
    return axis


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _day(value: date | datetime | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else "–"  # no %-d: not portable


def _moment(value: datetime | None) -> str:
    return f"{value.day} {value:%b %Y %H:%M} UTC" if value else "–"


def coverage_chart(daily: list[tuple]) -> go.Figure:
    days = [row[0] for row in daily]
    fig = _figure(340, hovermode="x unified")
    fig.add_bar(
        x=days,
        y=[row[1] for row in daily],
        name="articles",
        marker={"color": BLUE, "line": {"width": 0}},
        width=[86_400_000 * 0.7] * len(days),  # milliseconds: a bar is most of its day wide, also when alone
        hovertemplate="%{y} articles<extra></extra>",
    )
    fig.add_scatter(
        x=days,
        y=[row[2] for row in daily],
        name="unique stories",
        mode="lines+markers",
        line={"color": AMBER, "width": 2.5},
        marker={"size": 8, "color": AMBER, "line": {"color": "white", "width": 1.5}},
        hovertemplate="%{y} unique stories<extra></extra>",
    )
    fig.add_scatter(
        x=days,
        y=[row[3] for row in daily],
        name="outlets",
        mode="lines",
        line={"color": TEAL, "width": 1.5, "dash": "dot"},
        hovertemplate="%{y} outlets<extra></extra>",
    )
    fig.update_xaxes(**_day_axis(days))
    fig.update_yaxes(**_count_axis(max(max(row[1], row[3]) for row in daily), "per day"))
    return fig


def outlets_chart(outlets: list[tuple]) -> go.Figure:
    rows = list(reversed(outlets))  # plotly draws the first category at the bottom
    fig = _figure(max(150, 70 + 32 * len(rows)))
    fig.add_bar(
        y=[_short(row[0], 32) for row in rows],
        x=[row[1] for row in rows],
        orientation="h",
        marker={"color": BLUE},
        text=[f"{row[1]:,}  ·  {row[2]:.0%}" for row in rows],
        textposition="auto",
        insidetextanchor="end",
        textfont={"color": "white"},
        outsidetextfont={"color": INK},
        customdata=[[row[0], row[3], row[2]] for row in rows],
        hovertemplate="<b>%{customdata[0]}</b><br>%{x} articles, %{customdata[1]} unique stories"
        "<br>%{customdata[2]:.1%} of all articles<extra></extra>",
    )
    fig.update_xaxes(**_count_axis(max(row[1] for row in rows), "articles"))
    fig.update_yaxes(showgrid=False, ticksuffix="  ")
    return fig


def languages_chart(languages: list[tuple]) -> go.Figure:
    labels = [
        f"{LANGUAGE_NAMES.get(code, code)} ({code})" if code else "undetected" for code, _ in languages
    ]  # undetected: text too short or too mixed for langdetect
    colours = [PALETTE[i % (len(PALETTE) - 1)] if code else "#ced4da" for i, (code, _) in enumerate(languages)]
    total = sum(n for _, n in languages)
    fig = _figure(300, showlegend=True, legend={"orientation": "v", "y": 0.5, "yanchor": "middle", "x": 1.02})
    fig.add_pie(
        labels=labels,
        values=[n for _, n in languages],
        hole=0.62,
        sort=False,
        direction="clockwise",
        marker={"colors": colours, "line": {"color": "white", "width": 2}},
        textinfo="percent",
        textposition="inside",
        insidetextorientation="horizontal",
        hovertemplate="<b>%{label}</b><br>%{value} articles (%{percent})<extra></extra>",
    )
    fig.add_annotation(
        text=f"<b>{len(languages)}</b><br><span style='font-size:12px;color:{MUTED}'>"
        f"language{'s' if len(languages) != 1 else ''}<br>{total:,} articles</span>",
        showarrow=False,
        font={"size": 22, "color": INK},
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
    )
    return fig


def stories_chart(stories: list[dict]) -> go.Figure:
    rows = list(reversed(stories))  # plotly draws the first category at the bottom
    labels = [_short(row["label"], 64) for row in rows]
    hover = [
        [
            html.escape(_short(row["label"], 90)),
            row["articles"],
            row["outlets"],
            html.escape(_short(row["outlet_names"] or "no known outlet", 80)),
            row["originals"],
            row["pickups"],
            _day(row["first_seen"]),
            _day(row["last_seen"]),
        ]
        for row in rows
    ]
    template = (
        "<b>%{customdata[0]}</b><br>%{customdata[1]} articles in %{customdata[2]} outlets (%{customdata[3]})"
        "<br>%{customdata[4]} original, %{customdata[5]} picked up as copies<br>"
        "seen %{customdata[6]} – %{customdata[7]}<extra></extra>"
    )
    fig = _figure(max(160, 80 + 36 * len(rows)), barmode="stack", hovermode="closest", legend={"traceorder": "normal"})
    fig.add_bar(
        y=labels,
        x=[row["originals"] for row in rows],
        name="original articles",
        orientation="h",
        marker={"color": BLUE_LIGHT},
        text=[row["originals"] for row in rows],
        textposition="inside",
        textfont={"color": INK},
        customdata=hover,
        hovertemplate=template,
    )
    fig.add_bar(
        y=labels,
        x=[row["pickups"] for row in rows],
        name="pickups (copies of an original)",
        orientation="h",
        marker={"color": TEAL},
        text=[f"+{row['pickups']}" if row["pickups"] else "" for row in rows],
        textposition="inside",
        textfont={"color": "white"},
        customdata=hover,
        hovertemplate=template,
    )
    fig.update_xaxes(**_count_axis(max(row["articles"] for row in rows), "articles about the story"))
    fig.update_yaxes(showgrid=False, ticksuffix="  ")
    return fig


def rejects_chart(rejects: list[tuple]) -> go.Figure:
    reasons = sorted({reason for _, reason, _ in rejects}, key=lambda r: sum(n for _, x, n in rejects if x == r))
    fig = _figure(max(200, 80 + 32 * len(reasons)), barmode="stack")
    for stage in sorted({stage for stage, _, _ in rejects}):
        counts = {reason: n for s, reason, n in rejects if s == stage}
        fig.add_bar(
            y=reasons,
            x=[counts.get(reason, 0) for reason in reasons],
            name=f"at {stage}",
            orientation="h",
            marker={"color": STAGE_COLOURS.get(stage, "#868e96")},
            hovertemplate=f"<b>%{{y}}</b> at {html.escape(stage)}: %{{x}} documents<extra></extra>",
        )
    largest = max(sum(n for _, r, n in rejects if r == reason) for reason in reasons)
    fig.update_xaxes(**_count_axis(largest, "rejected documents"))
    fig.update_yaxes(showgrid=False, ticksuffix="  ")
    return fig


def fetch_errors_chart(errors: list[tuple]) -> go.Figure:
    totals: dict[str, int] = {}
    for host, _, n in errors:
        totals[host] = totals.get(host, 0) + n
    hosts = sorted(totals, key=lambda h: (totals[h], h))[-TOP_OUTLETS:]
    fig = _figure(max(200, 80 + 32 * len(hosts)), barmode="stack")
    for i, reason in enumerate(sorted({reason for _, reason, _ in errors})):
        counts = {host: n for host, r, n in errors if r == reason}
        fig.add_bar(
            y=hosts,
            x=[counts.get(host, 0) for host in hosts],
            name=reason,
            orientation="h",
            marker={"color": ERROR_PALETTE[i % len(ERROR_PALETTE)]},
            hovertemplate=f"<b>%{{y}}</b>: %{{x}} × {html.escape(reason)}<extra></extra>",
        )
    fig.update_xaxes(**_count_axis(max(totals[host] for host in hosts), "failed fetches"))
    fig.update_yaxes(showgrid=False, ticksuffix="  ")
    return fig


def runs_chart(runs: list[dict]) -> go.Figure:
    rows = list(reversed(runs))  # oldest on the left
    positions = list(range(len(rows)))
    labels = [f"{row['started_at'].day} {row['started_at']:%b<br>%H:%M}" for row in rows]
    hover = [
        [
            html.escape(row["run_id"][:13]),
            html.escape(row["source_name"] or "direct paths/URLs"),
            row["status"],
            f"{row['duration_seconds']:.1f} s" if row["duration_seconds"] is not None else "still running",
            row["seen"],
        ]
        for row in rows
    ]
    fig = _figure(300, barmode="stack", hovermode="x unified", legend={"traceorder": "normal"})
    for outcome, colour in OUTCOME_COLOURS.items():
        fig.add_bar(
            x=positions,
            y=[row[outcome] for row in rows],
            name=outcome,
            marker={"color": colour},
            customdata=hover,
            hovertemplate=f"%{{y}} {outcome}<extra></extra>",
        )
    fig.add_scatter(  # invisible: carries the run's details into the unified hover
        x=positions,
        y=[0] * len(rows),
        mode="markers",
        marker={"opacity": 0},
        showlegend=False,
        customdata=hover,
        hovertemplate="run %{customdata[0]}… (%{customdata[1]}), %{customdata[2]}, %{customdata[3]},"
        " %{customdata[4]} seen<extra></extra>",
    )
    fig.update_xaxes(
        tickmode="array",
        tickvals=positions,
        ticktext=labels,
        showgrid=False,
        range=[-0.5, max(len(rows), 6) - 0.5],
    )
    largest = max(sum(row[outcome] for outcome in OUTCOME_COLOURS) for row in rows)
    for position, row in zip(positions, rows, strict=True):
        if row["status"] != "completed":  # a failed or unfinished run loads little: say why above its bar
            fig.add_annotation(
                x=position,
                y=sum(row[outcome] for outcome in OUTCOME_COLOURS),
                text=row["status"],
                showarrow=False,
                yshift=12,
                font={"size": 11, "color": RED if row["status"] == "failed" else MUTED},
            )
    fig.update_yaxes(**_count_axis(max(largest, 1), "documents"))
    return fig


def monitors_chart(monitors: list[tuple]) -> go.Figure:
    first, last = min(row[1] for row in monitors), max(row[1] for row in monitors)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    labels = [_day(day) for day in days]  # one category per day, so a single day is a bar, not a dot
    names = sorted({row[0] for row in monitors})
    fig = _figure(300, barmode="group", hovermode="x unified", showlegend=True, legend={"traceorder": "normal"})
    for i, name in enumerate(names):
        counts = {day: n for monitor, day, n in monitors if monitor == name}
        fig.add_bar(
            x=labels,
            y=[counts.get(day, 0) for day in days],  # a day without matches is a zero, not a gap
            name=name,
            marker={"color": PALETTE[i % len(PALETTE)]},
            hovertemplate=f"{html.escape(name)}: %{{y}} articles<extra></extra>",
        )
    fig.update_xaxes(type="category", showgrid=False, range=[-0.5, max(len(days), 7) - 0.5])
    fig.update_yaxes(**_count_axis(max(row[2] for row in monitors), "matching articles"))
    return fig


# Page --------------------------------------------------------------------------------------------------


def _chart_html(fig: go.Figure, name: str) -> str:
    div = fig.to_html(full_html=False, include_plotlyjs=False, config=PLOT_CONFIG, div_id=f"chart-{name}")
    return f'<div class="chart" data-chart="{name}">{div}</div>'


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
        span, span_note = "1 day", _day(s["first_day"])
    else:
        days = (s["last_day"] - s["first_day"]).days + 1
        same_year = s["first_day"].year == s["last_day"].year
        span, span_note = (
            f"{days} days",
            f"{_day(s['first_day'])[:-5] if same_year else _day(s['first_day'])} – {_day(s['last_day'])}",
        )
    outlets_note = f"+ {s['unknown_outlet']:,} articles of unknown outlet" if s["unknown_outlet"] else "by site or host"
    if run:
        badge = f'<span class="badge {html.escape(run["status"])}">{html.escape(run["status"])}</span>'
        when = run["finished_at"] or run["started_at"]
        run_value = _day(when)
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
        f"<tr><td>{html.escape(name)}</td><td class='num'>{n}</td><td>{_moment(last_at)}</td>"
        f"<td><span class='badge {html.escape(status or '')}'>{html.escape(status or '–')}</span></td></tr>"
        for name, n, last_at, status in sources
    )
    return (
        "<table><thead><tr><th>source</th><th class='num'>completed runs</th><th>last success</th>"
        f"<th>latest run</th></tr></thead><tbody>{rows}</tbody></table>"
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
                _chart_html(coverage_chart(data.daily), "coverage"),
                wide=True,
                name="coverage",
            )
        )
        unknown_hint = " Local files without a site name count as <em>(unknown)</em>." if s["unknown_outlet"] else ""
        sections.append(
            _card(
                "Outlets",
                f"Articles per outlet and share of all coverage (top {TOP_OUTLETS}).{unknown_hint}",
                _chart_html(outlets_chart(data.outlets), "outlets"),
                name="outlets",
            )
        )
        sections.append(
            _card(
                "Languages",
                "Language of each article's text.",
                _chart_html(languages_chart(data.languages), "languages"),
                name="languages",
            )
        )
        no_pickups = "" if any(row["pickups"] for row in data.stories) else " No copies found yet."
        sections.append(
            _card(
                "Top stories and their pickups",
                f"Stories ranked by the articles that carried them: original reporting, and copies of it picked up"
                f" by other outlets (top {TOP_STORIES}).{no_pickups}",
                _chart_html(stories_chart(data.stories), "stories"),
                wide=True,
                name="stories",
            )
        )
    if data.rejects:
        body = _chart_html(rejects_chart(data.rejects), "rejects")
    else:
        body = _placeholder("<b>No rejects.</b> Every document seen so far was loaded.", "good")
    sections.append(
        _card("Ingest health", "Documents that could not become articles, by reason and stage.", body, name="health")
    )
    if data.runs:
        body = _chart_html(runs_chart(data.runs), "runs")
    else:
        body = _placeholder("No runs recorded yet.")
    sections.append(_card("Recent runs", f"What each of the last {RECENT_RUNS} runs did.", body, name="runs"))
    extra = []  # half-width cards, paired two by two; an odd last one spans the row
    if data.fetch_errors:
        extra.append(
            (
                "Fetch errors by host",
                "Pages that could not be fetched, per host and reason.",
                _chart_html(fetch_errors_chart(data.fetch_errors), "fetch-errors"),
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
                _chart_html(monitors_chart(data.monitors), "monitors"),
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
    return PAGE.format(
        title="Media monitoring report",
        source=html.escape(source),
        generated=_moment(generated_at),
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


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  :root {{ --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #f5f7fa; --card: #ffffff; --accent: #3b5bdb; }}
  * {{ box-sizing: border-box; }}
  body {{ margin: 0; background: var(--bg); color: var(--ink);
         font: 15px/1.5 Inter, system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }}
  .page {{ max-width: 1240px; margin: 0 auto; padding: 28px 28px 40px; }}
  header {{ display: flex; justify-content: space-between; align-items: flex-end; gap: 16px;
           padding-bottom: 18px; border-bottom: 1px solid var(--line); margin-bottom: 20px; }}
  header h1 {{ margin: 0; font-size: 26px; letter-spacing: -0.01em; }}
  header .brand {{ color: var(--accent); font-weight: 700; font-size: 13px; letter-spacing: .08em;
                  text-transform: uppercase; }}
  header .meta {{ color: var(--muted); font-size: 13px; text-align: right; }}
  header code {{ background: #eef1f5; padding: 1px 6px; border-radius: 4px; }}
  .stats {{ display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 12px; margin-bottom: 20px; }}
  .stat {{ background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }}
  .stat .label {{ color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .06em; }}
  .stat .value {{ font-size: 22px; font-weight: 650; margin: 2px 0; white-space: nowrap; overflow: hidden;
                 text-overflow: ellipsis; }}
  .stat .note {{ color: var(--muted); font-size: 12.5px; }}
  .grid {{ display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 16px; }}
  .card {{ background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 16px 18px 10px;
          box-shadow: 0 1px 2px rgba(16, 24, 40, .04); min-width: 0; }}
  .card.wide {{ grid-column: 1 / -1; }}
  .card h2 {{ margin: 0; font-size: 17px; }}
  .card .hint {{ margin: 2px 0 8px; color: var(--muted); font-size: 13px; }}
  .placeholder {{ border-radius: 8px; padding: 22px; text-align: center; margin: 8px 0 12px; color: var(--muted);
                 background: #f8f9fb; border: 1px dashed var(--line); }}
  .placeholder.good {{ color: #2b8a3e; background: #ebfbee; border-color: #b2f2bb; }}
  .notice {{ background: #fff9db; border: 1px solid #ffe066; border-radius: 10px; padding: 14px 18px;
            margin-bottom: 20px; }}
  code {{ font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }}
  table {{ width: 100%; border-collapse: collapse; font-size: 14px; margin-bottom: 10px; }}
  th, td {{ text-align: left; padding: 7px 8px; border-bottom: 1px solid var(--line); }}
  th {{ color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .05em; }}
  .num {{ text-align: right; }}
  .badge {{ display: inline-block; padding: 0 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
           background: #eef1f5; color: var(--muted); }}
  .badge.completed {{ background: #ebfbee; color: #2b8a3e; }}
  .badge.failed {{ background: #fff5f5; color: #c92a2a; }}
  .badge.running {{ background: #e7f5ff; color: #1971c2; }}
  footer {{ color: var(--muted); font-size: 12.5px; margin-top: 22px; }}
  @media (max-width: 1000px) {{ .stats {{ grid-template-columns: repeat(3, minmax(0, 1fr)); }} }}
  @media (max-width: 760px) {{ .grid {{ grid-template-columns: 1fr; }} .stats {{ grid-template-columns: 1fr 1fr; }}
                              header {{ flex-direction: column; align-items: flex-start; }}
                              header .meta {{ text-align: left; }} }}
</style>
{plotlyjs}
</head>
<body>
<div class="page">
<header>
  <div><div class="brand">mediamon</div><h1>{title}</h1></div>
  <div class="meta">warehouse <code>{source}</code><br>generated {generated}</div>
</header>
<div class="stats">{stats}</div>
{notice}
<main class="grid">
{sections}
</main>
<footer>Drawn from the warehouse's <code>rpt_</code> views; query them with <code>mediamon sql</code>,
or export them with <code>mediamon export --format parquet --out DIR</code>.</footer>
</div>
</body>
</html>
"""
