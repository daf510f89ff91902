"""Run the `mediamon` command with a planned SIGKILL, for crash-consistency tests and bench/crash (test-only).

    python -m tests.crashpoint POINT N JOURNAL ingest ...   (after JOURNAL, the arguments of `mediamon`)

The process kills itself with SIGKILL the N-th time it reaches POINT, as an OOM kill or a power cut would stop
it there: no finally block, no rollback, no atexit handler runs. Points:

    fetch    a response body is about to be read (other requests of the batch in flight)
    extract  an extracted article's language is being detected (mid-batch, nothing of the batch loaded)
    load     a batch's statements have all run in its transaction; the commit has not
    dedup    near-duplicates and canonical copies are committed, stories are not (dedup_pending is set)
    none     no kill: the uninterrupted run, with the same journal (ending with the count of each point)

Every load batch appends one JSON line to JOURNAL: its source URIs and whether it "committed" or was "killed",
so a test can check that the warehouse holds whole batches only. The helpers below build the input and compare
warehouses for tests/test_crash_consistency.py and bench/crash/kill_loop.py. Nothing here is imported by the
product.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

import extractors.document
import warehouse.dedup
import warehouse.load
from fetching.fetch import Fetcher
from warehouse.checks import table_checksum
from warehouse.db import connect

if TYPE_CHECKING:
    from tests.fixture_site import FixtureSite

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
POINTS = ("fetch", "extract", "load", "dedup", "none")
# Columns that say which run wrote a row and when: they differ between any two warehouses built from one input.
BOOKKEEPING = ("run_id", "at", "first_ingested_at", "ingested_at", "fetched_at", "matched_at")
SOURCES = """[[sources]]
name = "site"
kind = "urls"
location = "urls.txt"
allowed_networks = ["127.0.0.1/32"]
min_host_interval = 0.0
"""
_arrivals: Counter = Counter()


def main(point: str, nth: int, journal: str, argv: list[str]) -> int:
    if point not in POINTS:
        raise SystemExit(f"unknown point {point!r}; expected one of {', '.join(POINTS)}")
    current: list[str] = []

    def arrive(here: str) -> None:
        _arrivals[here] += 1
        if here == point and _arrivals[here] == nth:
            if here == "load":
                _write(journal, {"killed": current})
            os.kill(os.getpid(), signal.SIGKILL)

    read_body, detect_language = Fetcher._read_body, extractors.document.detect_language
    load_batch, transaction = warehouse.load.load_batch, warehouse.load.transaction
    assign_stories = warehouse.dedup.assign_stories

    async def reading_body(self, response, url, expect):
        arrive("fetch")
        return await read_body(self, response, url, expect)

    def detecting_language(*args, **kwargs):
        arrive("extract")
        return detect_language(*args, **kwargs)

    def loading_batch(conn, articles, rejects, *args, **kwargs):
        current[:] = sorted({a.source_uri for a in articles} | {r.source_uri for r in rejects})
        counts = load_batch(conn, articles, rejects, *args, **kwargs)
        _write(journal, {"committed": current})
        return counts

    @contextmanager
    def committing_last(conn):
        with transaction(conn):
            yield conn
            arrive("load")

    def assigning_stories(*args, **kwargs):
        arrive("dedup")
        return assign_stories(*args, **kwargs)

    Fetcher._read_body = reading_body
    extractors.document.detect_language = detecting_language
    warehouse.load.load_batch = loading_batch  # before flows.ingest imports it by name
    warehouse.load.transaction = committing_last
    warehouse.dedup.assign_stories = assigning_stories
    from mediamon.cli import main as mediamon

    code = mediamon(argv)
    _write(journal, {"arrivals": dict(_arrivals)})  # how often each point was reached, to choose kills from
    return code


def write_crash_input(root: Path, site: FixtureSite) -> list[str]:
    """Seeds, an exact and a cut copy of two of them, and fixture-site pages (feeds, a news sitemap, generated
    articles, a windows-1251 page, a 404); returns the `mediamon ingest` arguments, without --db."""
    docs = root / "docs"
    shutil.copytree(SEEDS_DIR, docs)
    seeds = sorted(docs.glob("*.txt"))
    (docs / "copy-of-000.txt").write_bytes(seeds[0].read_bytes())
    paragraphs = seeds[3].read_text(encoding="utf-8").split("\n\n")
    (docs / "cut-copy-of-003.txt").write_text("\n\n".join(paragraphs[: max(3, len(paragraphs) - 2)]), encoding="utf-8")
    paths = ("/feed.xml", "/atom.xml", "/news-sitemap.xml", "/cp1251.html", "/missing.html")
    paths += tuple(f"/gen/{i}.html" for i in range(1, 13))
    (root / "urls.txt").write_text("".join(site.url(path) + "\n" for path in paths))
    (root / "sources.toml").write_text(SOURCES)
    return ["ingest", str(docs), "--source", "site", "--sources", str(root / "sources.toml"), "--batch-size", "4"]


# Which story ids were given (each story is named after its first article) depends on the order in which runs
# assigned them, so concurrent writers compare story_groups instead (docs/duplicates-and-stories.md).


def warehouse_checksums(db: Path | str, story_ids: bool = True) -> dict[str, str]:
    """table_checksum of every table but the runs log, leaving out run ids and load and fetch times; without
    `story_ids`, leaving out the story ids too (the `stories` table and every story_id column)."""
    skip = ("runs", "schema_migrations", *(() if story_ids else ("stories",)))
    exclude = BOOKKEEPING + (() if story_ids else ("story_id",))
    with connect(db, read_only=True) as conn:
        tables = conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main'"
            " AND list_position(?, table_name) IS NULL ORDER BY 1",
            [list(skip)],
        ).fetchall()
        return {table: table_checksum(conn, table, exclude=exclude) for (table,) in tables}


def story_groups(db: Path | str) -> list[list[str]]:
    """The stories as sets of article ids, whatever their ids."""
    with connect(db, read_only=True) as conn:
        rows = conn.execute("SELECT list(article_id ORDER BY article_id) FROM articles GROUP BY story_id").fetchall()
    return sorted(group for (group,) in rows)


def stored_sources(db: Path) -> set[str]:
    with duckdb.connect(str(db), read_only=True) as conn:
        rows = conn.execute("SELECT source_uri FROM articles UNION SELECT source_uri FROM rejects").fetchall()
        return {uri for (uri,) in rows}


def journal_batches(journal: Path) -> tuple[set[str], set[str]]:
    """Source URIs of the committed batches and of the batch killed before its commit."""
    committed, killed = set(), set()
    for line in journal.read_text().splitlines() if journal.exists() else []:
        entry = json.loads(line)
        committed.update(entry.get("committed", ()))
        killed.update(entry.get("killed", ()))
    return committed, killed


def _write(journal: str, entry: dict) -> None:
    with open(journal, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]))
