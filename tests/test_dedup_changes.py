"""The change record (dedup_changes, warehouse/changes.py): loads, edits, re-extractions, deletes and the rededup
backfill record what they change in their own transaction, and an update that reads only the recorded articles
leaves the same warehouse as one that compares every article, also across crashes and upgrades."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from extractors import Article
from extractors.normalize import content_hash, count_words
from warehouse import changes, dedup, load, stories
from warehouse.backfill import forget_signatures
from warehouse.checks import run_data_checks, table_checksum
from warehouse.db import MIGRATIONS_DIR, open_writer
from warehouse.dedup import dedup_is_current, update_duplicates
from warehouse.load import delete_articles, load_batch

pytestmark = pytest.mark.warehouse
WORDS = [f"w{i}" for i in range(6000)]
EVENT_WORDS = [f"event{i}" for i in range(600)]
DAY = datetime(2022, 5, 2, 6)
# Every table an update writes; compared whole (bookkeeping columns aside).
STATE = ("articles", "dedup_signatures", "dedup_bands", "near_duplicates", "article_lines", "outlet_lines",
         "story_articles", "story_terms", "stories", "dedup_changes", "dedup_pending")  # fmt: skip
BOOKKEEPING = ("run_id", "first_ingested_at", "ingested_at", "since")


def article(uri: str, title: str, paragraphs: list[str], published: datetime | None) -> Article:
    text = "\n\n".join(paragraphs)
    return Article(
        source_uri=uri,
        url=uri,
        title=title,
        text=text,
        word_count=count_words(text),
        content_hash=content_hash(text),
        raw_sha256=uri,
        published_at=published,
    )


def corpus() -> list[Article]:
    """Events covered by two or three outlets (stories), some articles picked up by others (copies), an undated
    original and its undated copy; last, an article on two events that share some words (it merges their stories
    when they were assigned in an earlier run)."""
    rng = random.Random(8)
    articles, cores = [], []
    shared = rng.sample(EVENT_WORDS, 5)
    for event in range(7):
        core = rng.sample(EVENT_WORDS, 12) if event < 5 else [*shared, *rng.sample(EVENT_WORDS, 7)]
        cores.append(core)
        when = DAY + timedelta(days=event // 2, hours=3 * event)
        for outlet in range(2 + event % 2):
            paragraphs = paragraphs_of(rng, core)
            uri = f"https://outlet{outlet}.example/e{event}"
            published = when + timedelta(hours=outlet)
            articles.append(article(uri, " ".join(core[-4:]), paragraphs, published))
            if (event + outlet) % 3 == 0:  # a pickup: the same text cut, with a line of its own
                cut = [*paragraphs[:6], " ".join(rng.sample(WORDS, 12)) + "."]
                copy = f"https://pickup{outlet}.example/e{event}"
                articles.append(article(copy, " ".join(core[-4:]), cut, published + timedelta(hours=2)))
    body = [" ".join(rng.sample(WORDS, 40)) + "." for _ in range(8)]
    articles.append(article("file:///plain/undated.txt", "Undated", body, None))
    articles.append(article("file:///plain/undated-copy.txt", "Undated", body[:7], None))
    both = list(dict.fromkeys([*cores[5], *cores[6]]))
    title = " ".join([*cores[5][-2:], *cores[6][-2:]])
    articles.append(
        article("https://bridge.example/e5-e6", title, paragraphs_of(rng, both), DAY + timedelta(days=3, hours=20))
    )
    return articles


def paragraphs_of(rng: random.Random, core: list[str]) -> list[str]:
    """Eight paragraphs of the event's words and a few of the article's own, shuffled: articles of one event share
    their terms (a story), not their 4-word shingles (no copies)."""
    own = rng.sample(WORDS, 8)
    return [" ".join(rng.choices([*core, *own], k=40)) + "." for _ in range(8)]


def by_uri(articles: list[Article]) -> dict[str, Article]:
    return {a.source_uri: a for a in articles}


def edited(a: Article, **changes_) -> Article:
    """The article as a later load finds it (new bytes)."""
    if "text" in changes_:
        changes_ = {
            **changes_,
            "content_hash": content_hash(changes_["text"]),
            "word_count": count_words(changes_["text"]),
        }
    return dataclasses.replace(a, raw_sha256=a.raw_sha256 + "+", **changes_)


def snapshot(conn) -> dict[str, str]:
    return {table: table_checksum(conn, table, exclude=BOOKKEEPING) for table in STATE}


def steps(articles: list[Article]):
    """The runs of the scenario: (name, action on a connection) each followed by an update."""
    uris = by_uri(articles)
    original, copy_of_original = uris["https://outlet0.example/e0"], uris["https://pickup0.example/e0"]
    second = uris["https://outlet1.example/e2"]

    def load_part(part):
        return lambda conn: load_batch(conn, part, [], "run")

    def forget_day(conn):
        forget_signatures(conn, date(2022, 5, 3), [])

    def reload(conn):  # the counts agree: the article is recorded (new), its state found by its publication date
        copy = uris["https://pickup0.example/e3"]
        conn.execute("DELETE FROM articles WHERE article_id = ?", [copy.article_id])
        load_batch(conn, [copy], [], "run")

    half = len(articles) // 2
    return [
        ("first half", load_part(articles[:half])),
        ("second half", load_part(articles[half:-1])),
        ("an article that merges two stories", load_part(articles[-1:])),
        ("edit a canonical article with copies",
         load_part([edited(original, text=original.text + "\n\nA correction, with a line of its own.")])),
        ("redate a copy before its original",
         load_part([edited(copy_of_original, published_at=original.published_at - timedelta(hours=1))])),
        ("re-extract without a change", load_part([dataclasses.replace(second, raw_sha256="again")])),
        ("delete an original", lambda conn: delete_articles(conn, [second.article_id])),
        ("delete with SQL", lambda conn: conn.execute(
            "DELETE FROM articles WHERE source_uri = 'https://outlet1.example/e4'")),
        ("rededup a day", forget_day),
        ("delete with SQL and load again", reload),
        ("load the deleted article again", load_part([second])),
        ("nothing", lambda conn: None),
    ]  # fmt: skip


def compare_every_article(monkeypatch) -> None:
    """Make every update compare every article, as before the change record."""
    start = changes.start_update

    def start_comparing_all(conn) -> bool:
        start(conn)
        changes.compare_all(conn)
        return True

    monkeypatch.setattr(dedup, "start_update", start_comparing_all)


def run_scenario(db: Path, articles: list[Article], monkeypatch) -> tuple[list[dict[str, str]], list[str]]:
    """Snapshots after each step's update, and the steps whose update compared every article."""
    calls, compared, snapshots = [], [], []
    compare_all = dedup.compare_all
    monkeypatch.setattr(dedup, "compare_all", lambda conn: (calls.append(1), compare_all(conn)))
    with open_writer(db) as conn:
        for name, action in steps(articles):
            action(conn)
            before = len(calls)
            update_duplicates(conn)
            compared += [name] if len(calls) > before else []
            snapshots.append(snapshot(conn))
            assert dedup_is_current(conn)
            assert run_data_checks(conn) == {}
    return snapshots, compared


def test_recorded_updates_equal_updates_that_compare_every_article(tmp_path, monkeypatch):
    """Loads, edits, a redate, a re-extraction, deletes (delete_articles and SQL), the rededup backfill and a
    reload: after each update every table is the one an update comparing every article leaves."""
    articles = corpus()
    recorded, fallbacks = run_scenario(tmp_path / "recorded.duckdb", articles, monkeypatch)
    # The SQL delete makes the counts disagree with the record: that update compares every article; the others,
    # the first too (it stores the settings, none were, and has no state to drop), read the record.
    assert fallbacks == ["delete with SQL"]
    compare_every_article(monkeypatch)
    compared, _ = run_scenario(tmp_path / "compared.duckdb", articles, monkeypatch)
    for (name, _), ours, theirs in zip(steps(articles), recorded, compared, strict=True):
        assert ours == theirs, name
    with open_writer(tmp_path / "recorded.duckdb") as conn:
        copies = conn.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL").fetchone()[0]
        stories_ = conn.execute("SELECT count(DISTINCT story_id), count(*) FROM articles").fetchone()
        merged = conn.execute("SELECT count(*) FROM stories WHERE merged_into IS NOT NULL").fetchone()[0]
    assert copies >= 5 and 1 < stories_[0] < stories_[1] and merged >= 1  # the scenario has copies and merges


def test_a_load_records_new_and_changed_articles_with_both_dates(fresh_db):
    articles = corpus()[:6]
    with open_writer(fresh_db) as conn:
        load_batch(conn, articles, [], "run-1")
        recorded = conn.execute("SELECT article_id, published_at, taken FROM dedup_changes ORDER BY ALL").fetchall()
        assert recorded == sorted((a.article_id, a.published_at, False) for a in articles)
        assert not dedup_is_current(conn)
        update_duplicates(conn)
        assert conn.execute("SELECT count(*) FROM dedup_changes").fetchone()[0] == 0 and dedup_is_current(conn)
        load_batch(conn, [dataclasses.replace(articles[0], raw_sha256="same bytes, other hash")], [], "run-2")
        assert conn.execute("SELECT count(*) FROM dedup_changes").fetchone()[0] == 0  # nothing changed
        moved = edited(articles[1], published_at=articles[1].published_at + timedelta(days=2))
        load_batch(conn, [moved], [], "run-3")
        recorded = conn.execute("SELECT article_id, published_at FROM dedup_changes ORDER BY ALL").fetchall()
        assert recorded == [(moved.article_id, articles[1].published_at), (moved.article_id, moved.published_at)]
        first_seen = conn.execute("SELECT DISTINCT first_ingested_at FROM dedup_changes").fetchall()
        assert (
            first_seen
            == conn.execute(
                "SELECT first_ingested_at FROM articles WHERE article_id = ?", [moved.article_id]
            ).fetchall()
        )


def test_delete_articles_removes_what_hangs_off_them_and_records_them(fresh_db):
    articles = corpus()
    gone = by_uri(articles)["https://outlet0.example/e0"]
    with open_writer(fresh_db) as conn:
        load_batch(conn, articles, [], "run-1")
        update_duplicates(conn)
        copies = conn.execute("SELECT count(*) FROM articles WHERE duplicate_of = ?", [gone.article_id]).fetchone()[0]
        assert copies == 1
        assert delete_articles(conn, [gone.article_id, "no-such-article"]) == 1
        assert conn.execute("SELECT article_id, published_at FROM dedup_changes").fetchall() == [
            (gone.article_id, gone.published_at)
        ]
        for table in ("articles", "search.documents", "search.postings"):
            assert (
                conn.execute(f"SELECT count(*) FROM {table} WHERE article_id = ?", [gone.article_id]).fetchone()[0] == 0
            )
        update_duplicates(conn)
        for table in ("dedup_signatures", "story_articles", "article_lines"):
            assert (
                conn.execute(f"SELECT count(*) FROM {table} WHERE article_id = ?", [gone.article_id]).fetchone()[0] == 0
            )
        assert (
            conn.execute("SELECT count(*) FROM articles WHERE duplicate_of = ?", [gone.article_id]).fetchone()[0] == 0
        )
        assert run_data_checks(conn) == {}


def test_a_load_that_fails_records_nothing(fresh_db, monkeypatch):
    articles = corpus()
    with open_writer(fresh_db) as conn:
        load_batch(conn, articles[:5], [], "run-1")
        update_duplicates(conn)
        before = snapshot(conn)

        def killed(*args):
            raise RuntimeError("killed after the record was written")

        monkeypatch.setattr(load, "_replace_media", killed)
        with pytest.raises(RuntimeError):
            load_batch(conn, [edited(articles[0], text="Another text altogether."), *articles[5:]], [], "run-2")
        assert snapshot(conn) == before and dedup_is_current(conn)


def uninterrupted(tmp_path: Path, articles: list[Article], later: list[Article]) -> dict[str, str]:
    with open_writer(tmp_path / "uninterrupted.duckdb") as conn:
        load_batch(conn, articles, [], "run-1")
        update_duplicates(conn)
        load_batch(conn, later, [], "run-2")
        update_duplicates(conn)
        return snapshot(conn)


CRASHES = {
    "a chunk of signatures": (dedup, "_store_pairs", 2),
    "after the canonical copies": (dedup, "assign_stories", 1),
    "writing the story ids": (stories, "_write_story_ids", 1),
}


@pytest.mark.parametrize("where", sorted(CRASHES))
def test_an_update_cut_short_is_finished_by_the_next(tmp_path, monkeypatch, where):
    """Killed between loading and deduplicating, then mid-update (a chunk committed; the canonical copies committed
    and not the stories; inside the stories' transaction), with a load before the next update: the same warehouse
    as without the crash. The update killed had forgotten an edited original's pairs; the next goes on from the
    record (the copy that lost its original is in it) without comparing every article."""
    monkeypatch.setattr(dedup, "_BATCH", 6)  # several chunks of signatures, each committed
    articles = corpus()
    original, copy = articles[0], articles[1]
    assert (original.source_uri, copy.source_uri) == ("https://outlet0.example/e0", "https://pickup0.example/e0")
    rewritten = edited(original, text="\n\n".join(paragraphs_of(random.Random(3), WORDS[:30])))
    first, middle = articles[:10], [*articles[10:-4], rewritten]
    later = [edited(first[2], text=first[2].text + "\n\nAn update."), *articles[-4:]]
    expected = uninterrupted(tmp_path, first, [*middle, *later])
    module, name, nth = CRASHES[where]
    real, calls = getattr(module, name), []

    def killed(*args, **kwargs):
        calls.append(1)
        if len(calls) == nth:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    db = tmp_path / "crashed.duckdb"
    with open_writer(db) as conn:
        load_batch(conn, first, [], "run-1")
    with open_writer(db) as conn:  # the run that loaded them died before its dedup: the record keeps them
        assert conn.execute("SELECT count(DISTINCT article_id) FROM dedup_changes").fetchone()[0] == len(first)
        update_duplicates(conn)
        load_batch(conn, middle, [], "run-2")
        monkeypatch.setattr(module, name, killed)
        with pytest.raises(RuntimeError):
            update_duplicates(conn)
        monkeypatch.setattr(module, name, real)
        assert not dedup_is_current(conn) and conn.execute("SELECT count(*) FROM dedup_changes").fetchone()[0] > 0
        pairs = "SELECT count(*) FROM near_duplicates WHERE ? IN (article_id, other_id)"
        assert conn.execute(pairs, [original.article_id]).fetchone()[0] == 0  # forgotten with the old text
        left = conn.execute("SELECT duplicate_of FROM articles WHERE article_id = ?", [copy.article_id]).fetchone()[0]
        assert left == (original.article_id if where == "a chunk of signatures" else None)
    calls.clear()
    compare_all = changes.compare_all
    for module_ in (changes, dedup):
        monkeypatch.setattr(module_, "compare_all", lambda conn: (calls.append(1), compare_all(conn)))
    with open_writer(db) as conn:
        load_batch(conn, later, [], "run-3")
        update_duplicates(conn)
        assert calls == []  # went on from the record
        assert dedup_is_current(conn) and run_data_checks(conn) == {}
        assert snapshot(conn) == expected
        assert conn.execute("SELECT duplicate_of FROM articles WHERE article_id = ?", [copy.article_id]).fetchall() == [
            (None,)
        ]


def groups(conn) -> dict[str, object]:
    """What two orders of the same runs agree on: the copies, the pairs and signatures, and the stories as sets of
    articles (a story's id is the first article of whichever run assigned it first)."""
    stories_ = conn.execute("SELECT list(source_uri ORDER BY source_uri) FROM articles GROUP BY story_id").fetchall()
    return {
        "duplicate_of": conn.execute("SELECT source_uri, duplicate_of FROM articles ORDER BY 1").fetchall(),
        "stories": sorted(row[0] for row in stories_),
        **{table: table_checksum(conn, table) for table in ("near_duplicates", "dedup_signatures", "dedup_bands")},
    }


def test_a_load_during_an_update_waits_for_the_next(tmp_path):
    """A load that commits between an update's near-duplicates and its stories (another writer of a lake) keeps
    its record, unclaimed: the next update deduplicates it, with the copies and story groups of the two runs one
    after the other."""
    articles = corpus()
    first, second = articles[:-6], articles[-6:]
    with open_writer(tmp_path / "one-after-the-other.duckdb") as conn:
        for part in (first, second):
            load_batch(conn, part, [], "run")
            update_duplicates(conn)
        expected = groups(conn)
    with open_writer(tmp_path / "interleaved.duckdb") as conn:
        load_batch(conn, first, [], "run-1")
        dedup.update_near_duplicates(conn)
        load_batch(conn, second, [], "run-2")
        with dedup.transaction(conn):
            dedup.assign_stories(conn)
            changes.finish_update(conn)
        left = conn.execute("SELECT count(DISTINCT article_id), bool_or(taken) FROM dedup_changes").fetchone()
        assert left == (len(second), False) and not dedup_is_current(conn)
        update_duplicates(conn)
        assert groups(conn) == expected and dedup_is_current(conn) and run_data_checks(conn) == {}


def upgraded(db: Path, stem: str, undo: list[str]) -> None:
    """The warehouse as the version before migration `stem` left it (the statements `undo`), then opened by a
    writer of this version, which applies the migration."""
    with open_writer(db) as conn:
        for sql in undo:
            conn.execute(sql)
        conn.execute("DELETE FROM schema_migrations WHERE version = ?", [stem])
    with open_writer(db):
        pass


def migration(name: str) -> str:
    return next(script.stem for script in MIGRATIONS_DIR.glob(f"*_{name}.sql"))


UNDO_CHANGES = ["DROP TABLE dedup_changes", "ALTER TABLE dedup_pending DROP COLUMN compare_all"]


def test_the_record_starts_empty_on_a_deduplicated_warehouse(tmp_path):
    articles = corpus()
    db = tmp_path / "upgraded.duckdb"
    with open_writer(db) as conn:
        load_batch(conn, articles, [], "run-1")
        update_duplicates(conn)
        before = snapshot(conn)
    upgraded(db, migration("dedup_changes"), UNDO_CHANGES)
    with open_writer(db) as conn:
        assert snapshot(conn) == before and dedup_is_current(conn)
        assert conn.execute("SELECT count(*) FROM dedup_pending").fetchone()[0] == 0


def test_an_upgrade_with_work_pending_compares_every_article_once(tmp_path):
    """A warehouse upgraded after a run that loaded without deduplicating (killed, with an older version) has no
    record of that work: its next update compares every article, and the one after reads the record again."""
    articles = corpus()
    expected = uninterrupted(tmp_path, articles[:-5], articles[-5:])
    db = tmp_path / "upgraded.duckdb"
    with open_writer(db) as conn:
        load_batch(conn, articles[:-5], [], "run-1")
        update_duplicates(conn)
        load_batch(conn, articles[-5:], [], "run-2")
    upgraded(db, migration("dedup_changes"), UNDO_CHANGES)
    with open_writer(db) as conn:
        assert conn.execute("SELECT compare_all FROM dedup_pending").fetchall() == [(True,)]
        assert conn.execute("SELECT count(*) FROM dedup_changes").fetchone()[0] == 0
        update_duplicates(conn)
        assert snapshot(conn) == expected and dedup_is_current(conn)


def test_undated_signatures_and_bands_are_dated_infinity(tmp_path):
    """Migration 020: the state of an undated article carries 'infinity' (a range the scan can skip), and the
    undated copy is still found, before and after the upgrade."""
    articles = corpus()
    db = tmp_path / "upgraded.duckdb"
    undated = [a.article_id for a in articles if a.published_at is None]
    with open_writer(db) as conn:
        load_batch(conn, articles, [], "run-1")
        update_duplicates(conn)
        before = snapshot(conn)
        dates = conn.execute(
            """SELECT DISTINCT published_at FROM dedup_bands WHERE list_contains(?, article_id)
               UNION SELECT published_at FROM dedup_signatures WHERE list_contains(?, article_id)""",
            [undated, undated],
        ).fetchall()
        assert dates == [(datetime.max,)]  # how Python reads 'infinity'
        assert (
            conn.execute(
                "SELECT count(*) FROM articles WHERE list_contains(?, article_id) AND duplicate_of IS NOT NULL",
                [undated],
            ).fetchone()[0]
            == 1
        )
    older = ["UPDATE dedup_signatures SET published_at = NULL WHERE published_at = 'infinity'",
             "UPDATE dedup_bands SET published_at = NULL WHERE published_at = 'infinity'"]  # fmt: skip
    upgraded(db, migration("undated_dedup_state"), older)
    with open_writer(db) as conn:
        assert snapshot(conn) == before


def test_the_check_names_an_edit_made_with_sql_until_its_day_is_deduplicated_again(fresh_db):
    articles = corpus()
    target = by_uri(articles)["https://outlet1.example/e2"]
    with open_writer(fresh_db) as conn:
        load_batch(conn, articles, [], "run-1")
        update_duplicates(conn)
        conn.execute(
            "UPDATE articles SET text = 'Replaced by hand.', content_hash = 'by hand' WHERE article_id = ?",
            [target.article_id],
        )
        update_duplicates(conn)  # counts agree: the edit is not seen
        failures = run_data_checks(conn)
        assert list(failures) == ["dedup_changes_complete"]
        assert [row[:2] for row in failures["dedup_changes_complete"]] == [(target.article_id, "by hand")]
        assert forget_signatures(conn, target.published_at.date(), []) >= 1
        update_duplicates(conn)
        assert run_data_checks(conn) == {}
        twice = "SELECT count(*) FROM (SELECT article_id, band FROM dedup_bands GROUP BY ALL HAVING count(*) > 1)"
        assert conn.execute(twice).fetchone()[0] == 0  # the day's former bands were forgotten, not kept
        text = conn.execute(
            "SELECT count(*) FROM dedup_signatures WHERE article_id = ? AND content_hash = 'by hand'",
            [target.article_id],
        ).fetchone()[0]
        assert text == 1


def test_a_lake_warehouse_keeps_the_record_too(tmp_path):
    """The record's SQL (UPDATE ... RETURNING, 'infinity' dates, temp tables) on a DuckLake warehouse: the same
    duplicates and stories as a file."""
    articles = corpus()
    results = []
    for db in (tmp_path / "file.duckdb", f"ducklake:sqlite:{tmp_path}/lake.sqlite"):
        with open_writer(db) as conn:
            for name, action in steps(articles)[:6]:
                action(conn)
                update_duplicates(conn)
                assert conn.execute("SELECT count(*) FROM dedup_changes").fetchone()[0] == 0, name
            results.append(
                conn.execute("SELECT source_uri, duplicate_of, story_id FROM articles ORDER BY 1").fetchall()
            )
    assert results[0] == results[1]
