"""The report's numbers, read from the rpt_ views (warehouse/views/*.sql) in one go: each is a plain SELECT of a
view with its order and, for the long lists, a limit."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from warehouse.views import create_views

TOP_OUTLETS, TOP_STORIES, RECENT_RUNS, TOP_MEDIA = 12, 10, 30, 10


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
    media: list[dict] = ()  # the most carried media items (rpt_media), most articles first
    media_spread: list[tuple] = ()  # (media, seen_at, outlet, language) of each article carrying one of them

    @property
    def is_empty(self) -> bool:
        return not self.summary["articles"] and not self.runs and not self.rejects


def _dicts(conn: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    relation = conn.sql(sql)
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def collect_report_data(conn: duckdb.DuckDBPyConnection) -> ReportData:
    """Read the report's numbers; creates the rpt_ views as temporary views, so a read-only connection works."""
    create_views(conn, temporary=True)
    summary = _dicts(conn, "SELECT * FROM rpt_summary")[0]
    runs = _dicts(conn, f"SELECT * FROM rpt_runs ORDER BY started_at DESC, run_id LIMIT {RECENT_RUNS}")
    media = _dicts(conn, f"SELECT * FROM rpt_media WHERE articles > 1 LIMIT {TOP_MEDIA}")  # ordered by the view
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
            "SELECT language, articles FROM rpt_languages ORDER BY articles DESC, language NULLS LAST"
        ).fetchall(),
        stories=_dicts(
            conn,
            f"""SELECT * FROM rpt_stories
                ORDER BY articles DESC, pickups DESC, first_seen, story_key LIMIT {TOP_STORIES}""",
        ),
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
        media=media,
        media_spread=conn.execute(
            """SELECT m.platform || ':' || m.media_id AS media, a.seen_at, a.outlet, a.language
               FROM article_media m JOIN rpt_articles a USING (article_id)
               WHERE m.platform || ':' || m.media_id IN (SELECT unnest(?::VARCHAR[]))
               ORDER BY media, a.seen_at, a.article_id""",
            [[row["media"] for row in media]],
        ).fetchall(),
    )
