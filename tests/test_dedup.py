"""Exact and near duplicates, stories and topic monitors on real DuckDB files."""

from __future__ import annotations

import dataclasses
import random
import re
import unicodedata
from datetime import datetime, timedelta

import pytest

from extractors import Article, extract_document
from extractors.normalize import QUOTE_FOLDS, content_hash, count_words, normalize_text
from pipeline.pool import ExtractionPool
from similarity.furniture import line_keys
from similarity.minhash import (
    EMPTY_MINIMUM,
    MinHashParams,
    minhash_signatures,
    shingle_hashes,
    similarity,
    tokens_for_shingling,
)
from similarity.monitors import DEFAULT_MONITORS, QueryError, matching_monitors, parse_query
from warehouse import dedup
from warehouse.checks import run_data_checks, table_checksum
from warehouse.db import MIGRATIONS_DIR, open_writer
from warehouse.dedup import DedupSettings, dedup_is_current, update_duplicates
from warehouse.load import load_batch
from warehouse.monitors import update_monitor_matches

pytestmark = pytest.mark.warehouse
VOCABULARY = [f"w{i}" for i in range(5000)]


def paragraph(rng: random.Random, words: int = 40) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(words)) + "."


def make_article(
    uri: str, paragraphs: list[str], published: datetime | None = None, title: str | None = None
) -> Article:
    text = "\n\n".join(paragraphs)
    return Article(
        source_uri=uri,
        text=text,
        word_count=count_words(text),
        content_hash=content_hash(text),
        raw_sha256=uri,
        title=title,
        published_at=published,
    )


def seed_articles(seed_paths) -> list[Article]:
    return [extract_document(p.read_bytes(), p.as_uri(), "text") for p in seed_paths]


def state(conn) -> dict:
    return {
        "articles": conn.execute("SELECT source_uri, duplicate_of, story_id FROM articles ORDER BY 1").fetchall(),
        "pairs": conn.execute("SELECT * FROM near_duplicates ORDER BY 1, 2").fetchall(),
    }


def load_and_dedup(db, articles, run_id="run-1"):
    with open_writer(db) as conn:
        load_batch(conn, articles, [], run_id)
        update_duplicates(conn)
        return state(conn)


def test_seeds_are_never_merged_and_video_articles_share_a_story(fresh_db, seed_paths):
    result = load_and_dedup(fresh_db, seed_articles(seed_paths))
    rows = {uri.rsplit("/", 1)[1][:3]: (dup, story) for uri, dup, story in result["articles"]}
    assert {dup for dup, _ in rows.values()} == {None} and result["pairs"] == []
    video = {rows[k][1] for k in ("000", "001", "003", "004")}
    assert len(video) == 1 and rows["002"][1] not in video


def test_exact_text_and_canonical_url_duplicates(fresh_db):
    rng = random.Random(1)
    body = [paragraph(rng) for _ in range(5)]
    first = make_article("https://a.example/1", body, datetime(2022, 3, 5))
    same_text = make_article("https://b.example/2", body, datetime(2022, 3, 6))
    other = make_article("https://c.example/3", [paragraph(rng) for _ in range(5)], datetime(2022, 3, 5))
    same_url = dataclasses.replace(
        make_article("https://d.example/4", [paragraph(rng) for _ in range(5)], datetime(2022, 3, 7)),
        url="https://c.example/3",
    )
    other = dataclasses.replace(other, url="https://c.example/3")
    result = load_and_dedup(fresh_db, [first, same_text, other, same_url])
    dup = {uri: d for uri, d, _ in result["articles"]}
    assert dup[same_text.source_uri] == first.article_id and dup[first.source_uri] is None
    assert dup[same_url.source_uri] == other.article_id
    kinds = {(a, b): kind for a, b, kind, *_ in result["pairs"]}
    assert kinds[tuple(sorted((first.article_id, same_text.article_id)))] == "exact_text"
    assert kinds[tuple(sorted((other.article_id, same_url.article_id)))] == "exact_url"


def test_truncated_pickup_with_new_headline_and_boilerplate_is_a_near_duplicate(fresh_db):
    rng = random.Random(2)
    body = [paragraph(rng) for _ in range(12)]
    original = make_article("https://wire.example/story", body, datetime(2022, 3, 5, 9), "Original headline")
    pickup = make_article(
        "https://local.example/news/1",
        ["UPDATE: this story has been updated with comment.", *body[:7], "Advertisement: buy our widgets now today."],
        datetime(2022, 3, 5, 15),
        "A rewritten headline for the same story",
    )
    result = load_and_dedup(fresh_db, [pickup, original])
    dup = {uri: d for uri, d, _ in result["articles"]}
    assert dup[pickup.source_uri] == original.article_id and dup[original.source_uri] is None
    ((_, _, kind, jaccard, containment),) = result["pairs"]
    assert kind == "near" and containment >= 0.8 and jaccard < 0.8


def test_copies_do_not_chain_through_intermediates(fresh_db):
    rng = random.Random(3)
    a = [paragraph(rng) for _ in range(10)]
    b_extra, c_extra = [paragraph(rng) for _ in range(2)], [paragraph(rng) for _ in range(2)]
    first = make_article("https://a.example/a", a, datetime(2022, 3, 1))
    middle = make_article("https://b.example/b", a[:8] + b_extra, datetime(2022, 3, 2))
    last = make_article("https://c.example/c", a[5:8] + b_extra + c_extra, datetime(2022, 3, 3))
    result = load_and_dedup(fresh_db, [first, middle, last])
    dup = {uri: d for uri, d, _ in result["articles"]}
    assert dup[middle.source_uri] == first.article_id
    assert dup[last.source_uri] is None  # similar to the copy only, not to the canonical
    pairs = {(a, b) for a, b, *_ in result["pairs"]}
    assert tuple(sorted((middle.article_id, last.article_id))) in pairs
    assert tuple(sorted((first.article_id, last.article_id))) not in pairs


def test_publication_window_blocks_far_apart_copies(fresh_db):
    rng = random.Random(4)
    body = [paragraph(rng) for _ in range(8)]
    old = make_article("https://a.example/old", body + [paragraph(rng)], datetime(2020, 1, 1))
    new = make_article("https://b.example/new", body + [paragraph(rng)], datetime(2022, 3, 5))
    result = load_and_dedup(fresh_db, [old, new])
    assert result["pairs"] == [] and {d for _, d, _ in result["articles"]} == {None}


def corpus() -> list[Article]:
    """Seed-sized synthetic corpus: originals, pickups of some, unrelated articles, over ten days."""
    rng = random.Random(5)
    articles = []
    for n in range(12):
        body = [paragraph(rng) for _ in range(8)]
        day = datetime(2022, 3, 1) + timedelta(days=n % 10, hours=n)
        articles.append(make_article(f"https://wire.example/{n}", body, day))
        for copy in range(n % 3):
            cut = body[: 5 + copy] + [paragraph(rng, 12)]
            articles.append(make_article(f"https://outlet{copy}.example/{n}", cut, day + timedelta(hours=copy + 1)))
    return articles


def test_incremental_updates_equal_a_recompute(tmp_path):
    articles = corpus()
    rng = random.Random(6)
    rng.shuffle(articles)
    incremental, scratch = tmp_path / "incremental.duckdb", tmp_path / "scratch.duckdb"
    with open_writer(incremental) as conn:
        for start in range(0, len(articles), 7):
            load_batch(conn, articles[start : start + 7], [], f"run-{start}")
            update_duplicates(conn)
        # an edit, then the edit undone, must not leave traces
        edited = dataclasses.replace(articles[0], text=articles[0].text + "\n\nA correction.")
        edited = dataclasses.replace(edited, content_hash=content_hash(edited.text), raw_sha256="edited")
        load_batch(conn, [edited], [], "run-edit")
        update_duplicates(conn)
        load_batch(conn, [articles[0]], [], "run-undo")
        update_duplicates(conn)
        incremental_state = state(conn)
    scratch_state = load_and_dedup(scratch, articles)
    assert incremental_state == scratch_state
    assert sum(1 for _, d, _ in scratch_state["articles"] if d) == sum(n % 3 for n in range(12))


STATE_TABLES = ("dedup_signatures", "near_duplicates", "outlet_lines", "story_articles", "stories")


def test_migration_018_keeps_the_dedup_state_and_drops_its_keys(tmp_path, monkeypatch):
    """The state tables lose their PRIMARY KEYs (an ART index each: the insert into outlet_lines ran out of the
    writer's memory at 1,000,000 articles) with every row kept; the data check finds a duplicated key instead. (The
    warehouse before has every migration but 018: today's code needs the later ones' tables.)"""
    older = tmp_path / "migrations"
    older.mkdir()
    for script in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if not script.stem.startswith("018_"):
            (older / script.name).write_text(script.read_text())
    db = tmp_path / "upgraded.duckdb"

    def keys(conn) -> dict[str, int]:
        found = conn.execute(
            "SELECT table_name, index_count FROM duckdb_tables() WHERE table_name IN (SELECT unnest(?::VARCHAR[]))",
            [list(STATE_TABLES)],
        ).fetchall()
        return dict(found)

    monkeypatch.setattr("warehouse.db.MIGRATIONS_DIR", older)
    with open_writer(db) as conn:
        load_batch(conn, corpus(), [], "run-1")
        update_duplicates(conn)
        before = {table: table_checksum(conn, table) for table in STATE_TABLES}
        counts = {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in STATE_TABLES}
        assert keys(conn) == dict.fromkeys(STATE_TABLES, 1) and min(counts.values()) > 0
    monkeypatch.undo()
    with open_writer(db) as conn:
        assert {table: table_checksum(conn, table) for table in STATE_TABLES} == before
        assert keys(conn) == dict.fromkeys(STATE_TABLES, 0)
        assert run_data_checks(conn) == {}
        load_batch(conn, corpus()[:3], [], "run-2")
        update_duplicates(conn)
        assert {table: table_checksum(conn, table) for table in STATE_TABLES} == before
        for table in STATE_TABLES:
            conn.execute(f"INSERT INTO {table} SELECT * FROM {table} LIMIT 1")
        failures = run_data_checks(conn)
    assert list(failures) == ["dedup_state_unique"]
    assert sorted(row[0] for row in failures["dedup_state_unique"]) == sorted(STATE_TABLES)


def test_canonicals_of_the_touched_groups_equal_choosing_over_every_pair(fresh_db):
    """A run chooses canonicals again only for the groups its new, edited, redated or deleted articles are in;
    after each run, choosing over every stored pair changes nothing."""
    articles = corpus()
    by_uri = {a.source_uri: a for a in articles}

    def full_choice_changes_nothing(conn) -> dict:
        before = dict(conn.execute("SELECT source_uri, duplicate_of FROM articles").fetchall())
        dedup.assign_canonicals(conn)
        assert dict(conn.execute("SELECT source_uri, duplicate_of FROM articles").fetchall()) == before
        return before

    with open_writer(fresh_db) as conn:
        for start in range(0, len(articles), 9):
            load_batch(conn, articles[start : start + 9], [], f"run-{start}")
            update_duplicates(conn)
            full_choice_changes_nothing(conn)
        # a copy redated before its original (same text) becomes the canonical of its group
        copy = by_uri["https://outlet1.example/5"]
        redated = dataclasses.replace(copy, published_at=copy.published_at - timedelta(days=2), raw_sha256="redated")
        load_batch(conn, [redated], [], "run-redate")
        update_duplicates(conn)
        after = full_choice_changes_nothing(conn)
        assert after[copy.source_uri] is None and after["https://wire.example/5"] == copy.article_id
        # the original deleted: its copies are chosen again
        conn.execute("DELETE FROM articles WHERE source_uri = 'https://wire.example/8'")
        update_duplicates(conn)
        after = full_choice_changes_nothing(conn)
        assert after["https://outlet0.example/8"] is None
        assert after["https://outlet1.example/8"] in (None, by_uri["https://outlet0.example/8"].article_id)


def test_dedup_and_monitors_on_the_pool_equal_in_process(tmp_path, seed_paths):
    articles = seed_articles(seed_paths) + corpus()
    results = []
    with ExtractionPool(2, min_jobs=1) as pool:
        for name, parallel_map in (("pool", pool.map), ("in-process", map)):
            with open_writer(tmp_path / f"{name}.duckdb") as conn:
                load_batch(conn, articles, [], "run-1")
                update_duplicates(conn, DedupSettings(), parallel_map)
                update_monitor_matches(conn, DEFAULT_MONITORS, "run-1", parallel_map)
                matches = conn.execute(
                    "SELECT m.*, a.source_uri FROM monitor_matches m JOIN articles a USING (article_id) ORDER BY ALL"
                ).fetchall()
                lines = {  # each article's line keys (hashed on the workers), its outlet's counts, its story terms
                    table: conn.execute(f"SELECT {columns} FROM {table} ORDER BY ALL").fetchall()
                    for table, columns in (
                        ("article_lines", "*"),
                        ("outlet_lines", "*"),
                        ("story_articles", "* EXCLUDE (first_ingested_at)"),  # the time of each load
                    )
                }
                texts = conn.execute("SELECT article_id, text FROM articles WHERE duplicate_of IS NULL").fetchall()
                assert sorted((a, k) for a, _, k in lines["article_lines"]) == sorted(
                    (article_id, key) for article_id, text in texts for key in line_keys(text)
                ), name  # each article's own lines
                results.append((state(conn), matches, lines))
        assert pool._executor is not None  # the per-article work went to worker processes
    assert results[0] == results[1]
    assert any(duplicate for _, duplicate, _ in results[0][0]["articles"]) and len(results[0][1]) == 4
    assert len(results[0][2]["article_lines"]) > len(articles)


def test_dedup_cut_short_is_finished_by_the_next_update(tmp_path, monkeypatch):
    monkeypatch.setattr(dedup, "_BATCH", 5)  # several chunks, each committed
    articles = corpus()
    store_pairs, calls = dedup._store_pairs, []

    def killed_at_the_third_chunk(*args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("killed")
        return store_pairs(*args)

    with open_writer(tmp_path / "resumed.duckdb") as conn:
        load_batch(conn, articles, [], "run-1")
        monkeypatch.setattr(dedup, "_store_pairs", killed_at_the_third_chunk)
        with pytest.raises(RuntimeError):
            update_duplicates(conn)
        assert conn.execute("SELECT count(*) FROM dedup_signatures").fetchone()[0] == 10  # two chunks committed
        assert not dedup_is_current(conn)
        monkeypatch.setattr(dedup, "_store_pairs", store_pairs)
        update_duplicates(conn)
        assert dedup_is_current(conn)
        resumed = state(conn)
    assert resumed == load_and_dedup(tmp_path / "scratch.duckdb", articles)


def test_changed_settings_recompute_what_they_affect(tmp_path):
    articles = corpus()
    strict = DedupSettings(jaccard_threshold=1.0, containment_threshold=1.0, edge_lines=0)
    with open_writer(tmp_path / "changed.duckdb") as conn:
        load_batch(conn, articles, [], "run-1")
        update_duplicates(conn)
        assert dedup_is_current(conn) and not dedup_is_current(conn, strict)
        update_duplicates(conn, strict)
        assert dedup_is_current(conn, strict)
        strict_state = state(conn)
        update_duplicates(conn)
        back_state = state(conn)
    assert not any(d for _, d, _ in strict_state["articles"])
    assert back_state == load_and_dedup(tmp_path / "scratch.duckdb", articles)


def test_update_duplicates_twice_changes_nothing(fresh_db, seed_paths):
    load_and_dedup(fresh_db, seed_articles(seed_paths) + corpus())
    with open_writer(fresh_db) as conn:
        before = [table_checksum(conn, t) for t in ("articles", "near_duplicates", "dedup_bands", "dedup_signatures")]
        update_duplicates(conn)
        after = [table_checksum(conn, t) for t in ("articles", "near_duplicates", "dedup_bands", "dedup_signatures")]
        assert run_data_checks(conn) == {}
    assert before == after


def near_duplicates_of(db, runs: list[list[Article]]) -> dict[str, str | None]:
    """source_uri -> duplicate_of after loading each list in its own run, with levels 1 and 2 after each."""
    with open_writer(db) as conn:
        for number, articles in enumerate(runs):
            load_batch(conn, articles, [], f"run-{number}")
            dedup.update_near_duplicates(conn)
        return dict(conn.execute("SELECT source_uri, duplicate_of FROM articles").fetchall())


OUTLET = ["Ashford Herald | Local news you can trust", "By Sam Patel, Ashford Herald staff writer"]
OUTLET_END = [
    "Copyright 2022 Ashford Herald. All rights reserved.",
    "Follow Ashford Herald on Facebook, Twitter and Instagram for the latest updates.",
]


def test_undated_copies_loaded_later_never_take_over_the_original(fresh_db):
    rng = random.Random(7)
    body = [paragraph(rng) for _ in range(8)]
    original = make_article("file:///plain/original.txt", body)
    copies = [
        make_article(f"file:///plain/copy-{n}.txt", [*OUTLET, "UPDATE: with a statement.", *body, *OUTLET_END])
        for n in range(3)
    ]  # longer, undated, first seen in a later run
    dup = near_duplicates_of(fresh_db, [[original], copies])
    assert dup[original.source_uri] is None
    assert {dup[c.source_uri] for c in copies} == {original.article_id}


def test_a_later_run_changes_duplicate_of_only_for_an_earlier_publication(fresh_db):
    rng = random.Random(11)
    body = [paragraph(rng) for _ in range(8)]
    day = datetime(2022, 3, 2)
    first, copy = (make_article(f"https://{n}.example/s", [*body, n], day + timedelta(hours=h)) for n, h in
                   (("first", 0), ("copy", 5)))  # fmt: skip
    later = make_article("https://later.example/s", [*body, *OUTLET_END], day + timedelta(days=1))
    earlier = make_article("https://earlier.example/s", [*OUTLET, *body], day - timedelta(days=1))
    with open_writer(fresh_db) as conn:
        runs = []
        for number, articles in enumerate([[first, copy], [later], [earlier]]):
            load_batch(conn, articles, [], f"run-{number}")
            dedup.update_near_duplicates(conn)
            runs.append(dict(conn.execute("SELECT source_uri, duplicate_of FROM articles").fetchall()))
    assert runs[0] == {first.source_uri: None, copy.source_uri: first.article_id}
    assert runs[1] == {**runs[0], later.source_uri: first.article_id}  # a later copy changes no earlier article
    assert set(runs[2].values()) == {None, earlier.article_id}  # an earlier publication becomes the canonical
    assert runs[2][earlier.source_uri] is None


def test_short_texts_and_far_apart_equal_texts_are_never_grouped(fresh_db):
    stub = "Chat with us in Facebook Messenger. Find out what's happening in the world as it unfolds."
    day = datetime(2022, 6, 1)
    stubs = [make_article(f"https://a.example/stub-{d}", [stub], day + timedelta(days=d)) for d in (0, 5, 88, 93)]
    body = [paragraph(random.Random(8)) for _ in range(5)]
    same = [make_article(f"https://b.example/{d}", body, day + timedelta(days=d)) for d in (0, 5, 88)]
    dup = near_duplicates_of(fresh_db, [stubs + same])
    assert {dup[a.source_uri] for a in stubs} == {None}
    assert dup[same[1].source_uri] == same[0].article_id and dup[same[2].source_uri] is None  # 88 days: outside


def test_candidates_read_within_the_span_still_find_url_matches_and_undated_copies(fresh_db):
    """The candidate query reads stored articles, bands and signatures within the new articles' window only (or
    undated): a URL match far outside it, a copy of an undated article and an undated copy are still found."""
    rng = random.Random(9)
    day = datetime(2022, 6, 1)
    body, other = [paragraph(rng) for _ in range(6)], [paragraph(rng) for _ in range(6)]
    old = dataclasses.replace(make_article("https://a.example/old", body, day), url="https://a.example/story")
    undated = make_article("https://a.example/undated", other, None)
    far_url = dataclasses.replace(
        make_article("https://b.example/far", [paragraph(rng) for _ in range(6)], day + timedelta(days=200)),
        url="https://a.example/story",
    )
    far_text = make_article("https://b.example/far-text", body, day + timedelta(days=100))
    copy_of_undated = make_article("https://b.example/copy", [*other, paragraph(rng, 12)], day + timedelta(days=150))
    undated_copy = make_article("https://c.example/undated-copy", [*body, paragraph(rng, 12)], None)
    with open_writer(fresh_db) as conn:
        for run, batch in enumerate(([old, undated], [far_url, far_text, copy_of_undated], [undated_copy])):
            load_batch(conn, batch, [], f"run-{run}")
            update_duplicates(conn)
        pairs = {(a, b): kind for a, b, kind, *_ in state(conn)["pairs"]}
    expected = {
        (old, far_url): "exact_url",
        (undated, copy_of_undated): "near",
        (old, undated_copy): "near",
        (far_text, undated_copy): "near",
    }
    assert pairs == {tuple(sorted((x.article_id, y.article_id))): kind for (x, y), kind in expected.items()}


MARKET = (
    "{city} stocks {moved} on {day} as investors weighed fresh inflation data. The {city} Composite index rose "
    "{points} points, or {pct} percent, to close at {level}, while the broader market gained {pct2} percent.\n\n"
    "Trading volume was {volume} million shares, above the 30-day average. Shares of {company} led the gains, "
    "climbing {gain} percent, while {company2} was the biggest decliner, falling {loss} percent by the close.\n\n"
    "The dollar rose to {fx} against the euro, and oil settled at ${oil} a barrel. Markets reopen at 9:30 a.m. "
    "on {next_day}, said {analyst} of {firm}, who expects a quiet session before the holiday weekend."
)
COMPANIES = ["Northwind Systems", "Halvorsen Foods", "Castell Pharma", "Meridian Freight", "Orchard Retail"]
PEOPLE = ["Karen Liu", "Paul Ostrowski", "Maya Fernandes", "Daniel Reyes", "Helen Park"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]


def market_report(rng: random.Random, day: int) -> str:
    figure = lambda low, high: f"{rng.uniform(low, high):.2f}"  # noqa: E731
    return MARKET.format(
        city="Riverton", moved=rng.choice(["rose", "fell"]), day=WEEKDAYS[day], points=figure(5, 60),
        pct=figure(0, 2), level=f"{rng.randint(4000, 5000):,}", pct2=figure(0, 2), volume=rng.randint(600, 900),
        company=COMPANIES[day], gain=figure(1, 5), company2=COMPANIES[day - 1], loss=figure(1, 5),
        fx=figure(1, 1.2), oil=figure(70, 90), next_day=WEEKDAYS[day + 1], analyst=PEOPLE[day],
        firm=["Harbor Capital", "Keystone Advisors"][day % 2],
    )  # fmt: skip


def test_templated_daily_reports_are_not_copies_but_a_pickup_correcting_a_figure_is(fresh_db):
    rng = random.Random(9)
    day = datetime(2022, 6, 6, 16)
    texts = [market_report(rng, n) for n in range(5)]
    reports = [make_article(f"https://desk.example/{n}", [t], day + timedelta(days=n)) for n, t in enumerate(texts)]
    corrected = re.sub(r"volume was (\d+)", lambda m: f"volume was {int(m.group(1)) + 3}", texts[2])
    pickup = make_article("https://ashfordherald.example/markets", [*OUTLET, corrected, *OUTLET_END],
                          day + timedelta(days=2, hours=3))  # fmt: skip
    dup = near_duplicates_of(fresh_db, [[*reports, pickup]])
    assert {dup[r.source_uri] for r in reports} == {None}
    assert dup[pickup.source_uri] == reports[2].article_id


def test_a_cut_pickup_with_its_outlets_furniture_joins_the_original(fresh_db):
    rng = random.Random(10)
    words = " ".join(paragraph(rng, 160).split()[:160])
    original = make_article("https://wire.example/story", [words], datetime(2022, 3, 5, 9))
    cuts = [
        make_article(f"https://outlet{n}.example/story", [*OUTLET, " ".join(words.split()[:size]), *OUTLET_END],
                     datetime(2022, 3, 5, 10 + n))
        for n, size in enumerate((32, 56, 96, 160))
    ]  # fmt: skip
    dup = near_duplicates_of(fresh_db, [[original, *cuts]])
    assert dup[original.source_uri] is None
    assert {dup[c.source_uri] for c in cuts} == {original.article_id}


def test_minhash_estimates_jaccard():
    rng = random.Random(7)
    base = [paragraph(rng) for _ in range(10)]
    a = shingle_hashes("\n\n".join(base))
    b = shingle_hashes("\n\n".join(base[:6] + [paragraph(rng) for _ in range(4)]))
    jaccard, _ = similarity(a, b)
    params = MinHashParams()
    signature_a, signature_b = minhash_signatures([a, b], params)
    estimate = (signature_a == signature_b).mean()
    assert abs(estimate - jaccard) < 0.12


def test_batched_signatures_equal_one_at_a_time():
    rng = random.Random(3)
    sets = [shingle_hashes(" ".join(paragraph(rng) for _ in range(n))) for n in (1, 40, 0, 3, 200)]
    batched = minhash_signatures(sets)
    for shingles, row in zip(sets, batched, strict=True):
        assert (minhash_signatures([shingles])[0] == row).all()
    assert (batched[2] == EMPTY_MINIMUM).all() and not (batched[1] == EMPTY_MINIMUM).any()


def test_shingling_tokens_are_the_normalized_words():
    text = (
        "The \u201cZvezda\u201d module\u2019s crew \uff21\uff22 said: \u00c9TAT  Stra\u00dfe"
        "\n\n\u041c\u041a\u0421 \u0443\u0445\u043e\u0434\u0438\u0442"
    )
    assert tokens_for_shingling(text) == (re.findall(r"\w+", normalize_text(text)), 1)


def test_normalize_text_folds_as_its_definition():
    """The fast path (a str.replace per quote style, str.split) equals NFKC, translate, casefold and \\s+."""
    table = str.maketrans(QUOTE_FOLDS)

    def definition(text: str) -> str:
        return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).translate(table).casefold()).strip()

    spaces = [chr(i) for i in range(0x3001) if chr(i).isspace()]
    alphabet = [*QUOTE_FOLDS, *spaces, *"aZ\u0149\u0130\u00df\ufb01\uff02\uff07\u00bd\u041c\u0443 .,'\"", "\u2033"]
    rng = random.Random(11)
    samples = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(3000)]
    assert [normalize_text(s) for s in samples] == [definition(s) for s in samples]


def test_character_shingles_for_scripts_without_spaces():
    text = "国际空间站的俄罗斯舱段在视频中离开了空间站，这段视频由俄罗斯国家航天集团公司发布。" * 3
    assert len(shingle_hashes(text)) > 20


def test_dedup_settings_validate():
    with pytest.raises(ValueError):
        DedupSettings(jaccard_threshold=0)
    with pytest.raises(ValueError, match="multiple of bands"):
        MinHashParams(permutations=100, bands=32)


# Topic monitors.


@pytest.mark.parametrize(
    "query, expected",
    [
        ('roscosmos AND (video OR clip) AND (ISS OR "space station")', [True, True, False, True, True]),
        ('"russian segment" NOT penguins', [False, True, False, False, True]),
        ("roscosm* onewe*", [False, True, True, False, False]),
        ("ROSCOSMOS video", [True, True, False, True, True]),
        ("rogozin OR (esa AND canadian)", [True, True, True, True, True]),
    ],
)
def test_monitor_queries_on_seeds(seed_paths, query, expected):
    monitors = {"q": parse_query(query), "never": parse_query("zzzunusedword")}
    found = [matching_monitors(monitors, a.title, a.text) for a in seed_articles(seed_paths)]
    assert found == [["q"] if match else [] for match in expected]


def test_monitor_query_any_language():
    monitors = {"ru": parse_query('роскосмос AND "российский сегмент"'), "zh": parse_query("空间站")}
    assert matching_monitors(monitors, "Роскосмос", "Российский сегмент МКС.") == ["ru"]
    assert matching_monitors(monitors, None, "国际空间站的俄罗斯舱段") == ["zh"]


@pytest.mark.parametrize("query", ["(a OR b", "a AND", '"unclosed', "NOT", ")"])
def test_monitor_query_errors_are_clear(query):
    with pytest.raises(QueryError):
        parse_query(query)


def test_default_monitor_matches_the_four_video_seeds(fresh_db, seed_paths):
    articles = seed_articles(seed_paths)
    with open_writer(fresh_db) as conn:
        load_batch(conn, articles, [], "run-1")
        update_monitor_matches(conn, DEFAULT_MONITORS, "run-1")
        matched = {
            r[0]
            for r in conn.execute(
                "SELECT a.source_uri FROM monitor_matches JOIN articles a USING (article_id)"
            ).fetchall()
        }
        assert {uri.rsplit("/", 1)[1][:3] for uri in matched} == {"000", "001", "003", "004"}
        update_monitor_matches(conn, {"onewebs": "oneweb"}, "run-2")  # replaced: old monitor and matches go
        monitors = conn.execute("SELECT DISTINCT monitor FROM monitor_matches").fetchall()
        count = conn.execute("SELECT count(*) FROM monitor_matches").fetchone()[0]
    assert monitors == [("onewebs",)] and count == 2
