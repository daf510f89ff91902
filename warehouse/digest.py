"""The rows of a digest (pipeline/digest.py renders them): per monitor, the stories and embedded media that became
new to it in a period. A story is new to a monitor when the monitor first matched one of its articles in the
period (monitor_first_matches.matched_at); a media item, when the first matched article carrying it was."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb


class DigestError(ValueError):
    """A digest that cannot be made from this warehouse; the message says what to do."""


@dataclass(frozen=True)
class DigestStory:
    monitor: str
    story_key: str
    title: str | None  # of the story's first matched article (by publication, else first load)
    link: str
    outlet: str
    seen_at: datetime
    articles: int  # the story's articles the monitor matches (pickups included)
    new_articles: int  # of which first matched in the period
    outlets: list[str]


@dataclass(frozen=True)
class DigestMedia:
    monitor: str
    media: str  # platform:media_id
    url: str
    articles: int
    first_outlet: str


_MATCHED = """
    SELECT m.monitor, a.article_id, a.title, a.link, a.outlet, a.seen_at, a.story_key, f.matched_at
    FROM monitor_matches m
    JOIN monitor_first_matches f USING (monitor, article_id)
    JOIN rpt_articles a USING (article_id)
    WHERE m.monitor IN (SELECT unnest(?::VARCHAR[]))
"""


def digest_monitors(conn: duckdb.DuckDBPyConnection, only: list[str]) -> list[str]:
    """The warehouse's monitors (those of its last run), or the ones asked for: DigestError names unknown ones."""
    tables = {row[0] for row in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "monitor_first_matches" not in tables:
        raise DigestError("this warehouse predates digests: run `mediamon ingest` once to bring it up to date")
    known = [row[0] for row in conn.execute("SELECT name FROM monitors ORDER BY name").fetchall()]
    unknown = sorted(set(only) - set(known))
    if unknown:
        raise DigestError(f"no monitor {', '.join(unknown)} in the warehouse; known: {', '.join(known) or 'none'}")
    return [name for name in known if not only or name in only]


def new_stories(
    conn: duckdb.DuckDBPyConnection, monitors: list[str], since: datetime, until: datetime
) -> list[DigestStory]:
    """Stories new to each monitor in [since, until), most matched articles first."""
    rows = conn.execute(
        f"""WITH matched AS ({_MATCHED}),
            stories AS (
                SELECT monitor, story_key,
                       min(matched_at) AS first_matched,
                       count(*) AS articles,
                       count(*) FILTER (WHERE matched_at >= ? AND matched_at < ?) AS new_articles,
                       list(DISTINCT outlet ORDER BY outlet) FILTER (WHERE outlet <> '(unknown)') AS outlets,
                       arg_min(article_id, (seen_at, article_id)) AS first_article
                FROM matched GROUP BY monitor, story_key
            )
            SELECT s.monitor, s.story_key, a.title, a.link, a.outlet, a.seen_at, s.articles, s.new_articles,
                   coalesce(s.outlets, [])
            FROM stories s JOIN matched a ON a.monitor = s.monitor AND a.article_id = s.first_article
            WHERE s.first_matched >= ? AND s.first_matched < ?
            ORDER BY s.monitor, s.articles DESC, a.seen_at, s.story_key""",
        [monitors, since, until, since, until],
    ).fetchall()
    return [DigestStory(*row) for row in rows]


def new_media(
    conn: duckdb.DuckDBPyConnection, monitors: list[str], since: datetime, until: datetime
) -> list[DigestMedia]:
    """Media items (embedded, named in metadata or linked: docs/media.md) first carried by an article each monitor
    matched in [since, until), most articles first."""
    rows = conn.execute(
        f"""WITH matched AS ({_MATCHED})
            SELECT m.monitor, md.platform || ':' || md.media_id AS media, min(md.url), count(DISTINCT m.article_id),
                   arg_min(m.outlet, (m.seen_at, m.article_id))
            FROM matched m JOIN article_media md USING (article_id)
            GROUP BY m.monitor, media
            HAVING min(m.matched_at) >= ? AND min(m.matched_at) < ?
            ORDER BY m.monitor, count(DISTINCT m.article_id) DESC, media""",
        [monitors, since, until],
    ).fetchall()
    return [DigestMedia(*row) for row in rows]
