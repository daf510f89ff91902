"""Stored topic-monitor matches, kept in step with the monitors configured for the run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import duckdb
import pyarrow as pa

from similarity.monitors import matching_monitors, parse_query
from warehouse.db import transaction
from warehouse.staging import registered

# The articles a run matches against unchanged monitors: its own, and those of every run that did not complete,
# since a run that was killed or failed after loading never matched them (a re-run finds them unchanged).
_UNMATCHED = "run_id = ? OR run_id NOT IN (SELECT run_id FROM runs WHERE status = 'completed')"


def update_monitor_matches(
    conn: duckdb.DuckDBPyConnection,
    monitors: dict[str, str],
    run_id: str,
    parallel_map: Callable[..., Iterable] = map,
) -> None:
    """New or edited monitors are matched against every article, the others against the articles this
    run loaded or changed and those left by runs that did not complete (their old matches are dropped first).

    Monitors no longer configured are removed with their matches. Raises QueryError on a bad query
    before anything is written. `parallel_map` is a `map` for the matching (the ingest flow passes its pool's).
    """
    parsed = {name: parse_query(query) for name, query in monitors.items()}
    with transaction(conn):
        _replace_matches(conn, monitors, parsed, run_id, parallel_map)


def _replace_matches(
    conn: duckdb.DuckDBPyConnection,
    monitors: dict[str, str],
    parsed: dict,
    run_id: str,
    parallel_map: Callable[..., Iterable],
) -> None:
    stored = dict(conn.execute("SELECT name, query FROM monitors").fetchall())
    rescan = {name for name, query in monitors.items() if stored.get(name) != query}
    conn.execute("DELETE FROM monitor_matches WHERE monitor NOT IN (SELECT unnest(?::VARCHAR[]))", [list(monitors)])
    conn.execute("DELETE FROM monitors WHERE name NOT IN (SELECT unnest(?::VARCHAR[]))", [list(monitors)])
    conn.execute("DELETE FROM monitor_matches WHERE monitor IN (SELECT unnest(?::VARCHAR[]))", [sorted(rescan)])
    conn.execute(
        f"DELETE FROM monitor_matches WHERE article_id IN (SELECT article_id FROM articles WHERE {_UNMATCHED})",
        [run_id],
    )
    for name in rescan:
        conn.execute("DELETE FROM monitors WHERE name = ?", [name])
        conn.execute("INSERT INTO monitors (name, query) VALUES (?, ?)", [name, monitors[name]])
    # The runs whose articles are matched, as constants: a filter on run_id alone lets the scan read the texts of
    # those articles only (with the OR and the subquery it read every stored text, 3 s at 1,000,000 articles).
    runs = sorted(
        {run_id}
        | {
            row[0]
            for row in conn.execute(f"SELECT DISTINCT run_id FROM articles WHERE {_UNMATCHED}", [run_id]).fetchall()
        }
    )
    unmatched = f"run_id IN ({', '.join('?' * len(runs))})"
    matches = []
    for scope, names in (("TRUE", sorted(rescan)), (unmatched, sorted(set(monitors) - rescan))):
        if not names:
            continue
        params = [] if scope == "TRUE" else runs
        matching = partial(matching_monitors, {name: parsed[name] for name in names})
        cursor = conn.execute(
            f"""SELECT a.article_id, a.title, a.text, m.keys FROM (SELECT * FROM articles WHERE {scope}) a
                LEFT JOIN (SELECT article_id, list(platform || ':' || media_id ORDER BY platform, media_id) AS keys
                           FROM article_media GROUP BY article_id) m USING (article_id)""",
            params,
        )
        while rows := cursor.fetchmany(1000):  # a few texts at a time: memory stays flat at any warehouse size
            found = parallel_map(
                matching, [row[1] for row in rows], [row[2] for row in rows], [tuple(row[3] or ()) for row in rows]
            )
            matches += [(name, row[0]) for row, names_found in zip(rows, found, strict=True) for name in names_found]
    if matches:
        staged = pa.table({"monitor": [m[0] for m in matches], "article_id": [m[1] for m in matches]})
        with registered(conn, "staged_matches", staged):
            conn.execute(
                """INSERT INTO monitor_matches (monitor, article_id) SELECT DISTINCT monitor, article_id
                   FROM staged_matches s
                   WHERE NOT EXISTS (SELECT 1 FROM monitor_matches m
                                     WHERE m.monitor = s.monitor AND m.article_id = s.article_id)"""
            )
            # The first match of a pair is this run's; a pair matched before (by any run) keeps its first run.
            conn.execute(
                """INSERT INTO monitor_first_matches (monitor, article_id, run_id, matched_at)
                   SELECT DISTINCT monitor, article_id, ?, ? FROM staged_matches s
                   WHERE NOT EXISTS (SELECT 1 FROM monitor_first_matches f
                                     WHERE f.monitor = s.monitor AND f.article_id = s.article_id)""",
                [run_id, datetime.now(UTC).replace(tzinfo=None)],
            )


@dataclass(frozen=True)
class NewMatch:
    """An article a monitor matched for the first time in a run, with what its announcement shows."""

    monitor: str
    article_id: str
    title: str | None
    link: str
    outlet: str
    story_key: str
    seen_at: datetime
    new_outlet: bool  # no article of this outlet was matched by the monitor in an earlier run


def new_matches(conn: duckdb.DuckDBPyConnection, run_id: str) -> list[NewMatch]:
    """The matches first made by this run and still current, by monitor, newest article first."""
    rows = conn.execute(
        """WITH new AS (
               SELECT f.monitor, a.article_id, a.title, a.link, a.outlet, a.story_key, a.seen_at
               FROM monitor_first_matches f
               JOIN monitor_matches m USING (monitor, article_id)
               JOIN rpt_articles a USING (article_id)
               WHERE f.run_id = ?
           ),
           known AS (
               SELECT DISTINCT f.monitor, a.outlet
               FROM monitor_first_matches f
               JOIN rpt_articles a USING (article_id)
               WHERE f.run_id <> ? AND f.monitor IN (SELECT monitor FROM new)
           )
           SELECT new.*, new.outlet <> '(unknown)' AND known.outlet IS NULL AS new_outlet
           FROM new LEFT JOIN known USING (monitor, outlet)
           ORDER BY monitor, seen_at DESC, article_id""",
        [run_id, run_id],
    ).fetchall()
    return [NewMatch(*row) for row in rows]
