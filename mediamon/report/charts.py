"""The report's eight charts (plotly figures) and how one becomes an HTML fragment: colours, layout template and
axes shared by all, one function per chart taking the rows collect_report_data read."""

from __future__ import annotations

import html
from datetime import date, datetime, timedelta

import plotly.graph_objects as go

from mediamon.report.data import TOP_OUTLETS

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


def shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def format_day(value: date | datetime | None) -> str:
    return f"{value.day} {value:%b %Y}" if value else "–"  # no %-d: not portable


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
        y=[shorten(row[0], 32) for row in rows],
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
    labels = [shorten(row["label"], 64) for row in rows]
    hover = [
        [
            html.escape(shorten(row["label"], 90)),
            row["articles"],
            row["outlets"],
            html.escape(shorten(row["outlet_names"] or "no known outlet", 80)),
            row["originals"],
            row["pickups"],
            format_day(row["first_seen"]),
            format_day(row["last_seen"]),
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
    labels = [format_day(day) for day in days]  # one category per day, so a single day is a bar, not a dot
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


def media_chart(media: list[dict], spread: list[tuple]) -> go.Figure:
    """How each top media item spread: one row per item, a dot per article carrying it at its date, coloured by
    language, on a line from the first to the last."""
    order = [row["media"] for row in media]
    fig = _figure(
        max(220, 46 * len(order) + 90), hovermode="closest", showlegend=True, legend={"title": {"text": "language"}}
    )
    for row in media:
        fig.add_scatter(
            x=[row["first_seen"], row["last_seen"]],
            y=[row["media"]] * 2,
            mode="lines",
            line={"color": GRID, "width": 6},
            showlegend=False,
            hoverinfo="skip",
        )
    languages = sorted({language or "?" for _, _, _, language in spread})
    for i, language in enumerate(languages):
        rows = [r for r in spread if (r[3] or "?") == language]
        fig.add_scatter(
            x=[r[1] for r in rows],
            y=[r[0] for r in rows],
            mode="markers",
            name=LANGUAGE_NAMES.get(language, language),
            marker={"size": 11, "color": PALETTE[i % len(PALETTE)], "line": {"width": 1, "color": "white"}},
            customdata=[[html.escape(r[2])] for r in rows],
            hovertemplate="%{customdata[0]}, %{x|%-d %b %Y %H:%M}<extra>%{y}</extra>",
        )
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=order[::-1], showgrid=False)
    fig.update_xaxes(type="date", hoverformat="%-d %b %Y %H:%M")
    return fig


def chart_html(fig: go.Figure, name: str) -> str:
    div = fig.to_html(full_html=False, include_plotlyjs=False, config=PLOT_CONFIG, div_id=f"chart-{name}")
    return f'<div class="chart" data-chart="{name}">{div}</div>'
