"""Size sweep: +1,000 new articles into warehouses of 100,000 and 1,000,000 through the real dedup, canonicals,
stories and monitors code, against datasketch doing the same near-duplicate search (MinHashLSH of the window's
stored datasketch signatures, then the 1,000 MinHashed, inserted and queried), and datasketch on the 1,000 alone.

Run from the repo root: `python bench/dedup/sweep.py [--sizes 100000 1000000] [--repeat 2] [--profile]`.
Each warehouse is generated directly (rows, texts, signatures, bands, pairs and story state written with Arrow
and SQL, not extracted), cached under --cache (rebuilt when the generator or the settings change), and copied
before each measurement. The timeline ends at a fixed instant whatever the size, so the last days (the "tail",
whose features are computed with the project's own functions) and the 1,000 new articles are the same at
every size: only the older bulk differs. See README.md, "Size sweep".
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import multiprocessing
import pstats
import re
import shutil
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import BENCHMARK  # noqa: E402
from run import peak_rss_mb  # noqa: E402

from extractors import Article  # noqa: E402
from similarity.duplicates import DedupSettings  # noqa: E402
from similarity.furniture import line_key, line_keys, strip_furniture  # noqa: E402
from similarity.minhash import (  # noqa: E402
    MinHashParams,
    band_keys,
    minhash_signatures,
    shingle_hashes,
    similarity,
    tokens_for_shingling,
)
from similarity.monitors import DEFAULT_MONITORS, matching_monitors, parse_query  # noqa: E402
from similarity.stories import _STOPWORDS, _TERM, StorySettings, story_terms  # noqa: E402
from warehouse import dedup  # noqa: E402
from warehouse.changes import finish_update  # noqa: E402
from warehouse.db import open_writer, transaction  # noqa: E402
from warehouse.load import load_batch, start_run  # noqa: E402
from warehouse.monitors import update_monitor_matches  # noqa: E402
from warehouse.staging import registered  # noqa: E402
from warehouse.stories import assign_stories  # noqa: E402

GENERATOR_VERSION = 2  # bump when the generated warehouse changes: cached ones are rebuilt
CUT = datetime(2023, 6, 1)  # the new articles start here; the warehouse holds the days before
TAIL_DAYS = 4  # the last days before CUT get the project's own features (texts the new articles meet)
FRESH_DAYS = TAIL_DAYS + 3  # days whose texts are all drawn word by word (older: paragraphs from a pool)
POOL = 20_000  # paragraphs the older days' texts are made of, after a first paragraph of their own
OUTLETS = 300
COPY_SHARE = 0.13  # originals syndicated, each 1-5 times by other outlets 1-48 hours later
EXTRACTOR = "sweep-generated"
BLOCK_DAYS = 20  # days generated per transaction when building
BUILD_CHECKPOINT = "100GB"  # no automatic checkpoint while building: one after each block
BUILD_MEMORY = "2GB"


@dataclass
class Item:
    """A generated article: its Article, its family (the original's id for a copy) and story."""

    article: Article
    outlet: int
    original: str | None  # article_id of the original, for a copy
    story: str  # story id: the article_id of the event's first article
    body_words: np.ndarray = field(repr=False)  # vocabulary indexes of the title (twice) and the lead
    paragraphs: int = 0


class Vocabulary:
    """Words with the benchmark bodies' frequencies; which of them are story terms."""

    def __init__(self) -> None:
        truth = json.loads(BENCHMARK.read_text(encoding="utf-8"))
        counts = Counter(w for v in truth.values() for w in re.findall(r"[^\W\d_]+", v["articleBody"].lower()))
        self.words = np.array(list(counts))
        cdf = np.cumsum(np.array(list(counts.values()), dtype=float))
        self.cdf = cdf / cdf[-1]
        self.term = np.array([bool(_TERM.fullmatch(w)) and w not in _STOPWORDS for w in self.words])
        self.rare = np.flatnonzero(self.term)[200:]  # event words: story terms past the most frequent ones
        self.listed = self.words.tolist()
        self.arrow = pa.array(self.listed, pa.string())
        rng = np.random.default_rng(12345)
        self.pool_words = [self.draw(rng, int(rng.integers(30, 90))) for _ in range(POOL)]
        self.pool = [self.paragraph(words) for words in self.pool_words]

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.searchsorted(self.cdf, rng.random(n))

    def paragraph(self, words: np.ndarray) -> str:
        return " ".join([self.listed[k] for k in words.tolist()]).capitalize() + "."


def outlet_lines(outlet: int) -> tuple[list[str], list[str]]:
    """An outlet's header and footer lines (its furniture)."""
    name = f"The Daily {outlet:03d}"
    return (
        [f"{name} | News you can trust", f"Home > News > Section {outlet % 7}"],
        [f"Copyright 2023 {name}. All rights reserved. Sign up for the {name} newsletter."],
    )


def day_items(vocabulary: Vocabulary, day: int, per_day: int, seed: int) -> list[Item]:
    """The originals published on the day `day` days before CUT (negative: after), with their copies and their
    events' later members (up to 48 hours later, so into the next days). Deterministic per (seed, day)."""
    rng = np.random.default_rng([seed, day + 1000])
    start = CUT - timedelta(days=day)
    originals = int(per_day / (1 + COPY_SHARE * 3))
    items: list[Item] = []
    number = 0
    while number < originals:
        size = 1 if rng.random() < 0.7 else int(rng.integers(2, 6))
        core = rng.choice(vocabulary.rare, 12, replace=False)
        first = start + timedelta(seconds=int(rng.integers(0, 86400)))
        story = None
        for member in range(size):
            when = first + timedelta(seconds=0 if member == 0 else int(rng.integers(0, 36 * 3600)))
            outlet = int(rng.integers(OUTLETS))
            length = int(rng.integers(200, 801))
            words = vocabulary.draw(rng, length if day < FRESH_DAYS else int(rng.integers(30, 90)))
            if size > 1:
                places = rng.choice(min(80, len(words)), 16, replace=False)
                words[places] = rng.choice(core, 16)
                title = np.concatenate([rng.choice(core, 5, replace=False), vocabulary.draw(rng, 3)])
            else:
                title = words[:8]
            if day < FRESH_DAYS:
                ends = np.cumsum(rng.integers(30, 90, size=len(words) // 30 + 1))
                paragraphs = [
                    vocabulary.paragraph(words[a:b])
                    for a, b in zip([0, *ends[:-1]], ends, strict=True)
                    if a < len(words)
                ]
            else:  # a first paragraph of its own, then paragraphs of the pool
                picks = rng.integers(POOL, size=max(1, (length - len(words)) // 60)).tolist()
                paragraphs = [vocabulary.paragraph(words), *(vocabulary.pool[k] for k in picks)]
                words = np.concatenate([words, *(vocabulary.pool_words[k] for k in picks[:6])])
            key = f"d{day}-{number}"
            item = make_item(outlet, key, " ".join(vocabulary.words[title]).capitalize(), paragraphs, when, None,
                             story, np.concatenate([title, title, words[:300]]))  # fmt: skip
            story = story or item.article.article_id
            item.story = story
            items.append(item)
            if rng.random() < COPY_SHARE:
                for copy in range(int(rng.integers(1, 6))):
                    cut = len(paragraphs) - int(rng.integers(0, 3)) if rng.random() < 0.5 else len(paragraphs)
                    later = when + timedelta(seconds=int(rng.integers(3600, 48 * 3600)))
                    items.append(
                        make_item(
                            int(rng.integers(OUTLETS)),
                            f"{key}-c{copy}",
                            f"Copy: {item.article.title}",
                            paragraphs[: max(1, cut)],
                            later,
                            item.article.article_id,
                            story,
                            item.body_words,
                        )  # fmt: skip
                    )
            number += 1
    return items


def make_item(outlet, key, title, paragraphs, when, original, story, body_words) -> Item:
    header, footer = outlet_lines(outlet)
    text = "\n\n".join([*header, *paragraphs, *footer])
    uri = f"https://outlet{outlet:03d}.example/{key}"
    article = Article(
        source_uri=uri, text=text, word_count=text.count(" ") + text.count("\n\n") + 1, content_hash=sha(text),
        raw_sha256=sha(uri),
        title=title, site_name=f"The Daily {outlet:03d}", url=uri, published_at=when, language="en",
        language_probability=0.99, extractor_version=EXTRACTOR,
    )  # fmt: skip
    return Item(article, outlet, original, story or article.article_id, body_words, len(paragraphs))


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def timeline(vocabulary: Vocabulary, first_day: int, last_day: int, per_day: int, seed: int):
    """Lists of the articles published on each day from `first_day` to `last_day` days before CUT, one list per
    day, oldest first; a day is complete once the two days before it are generated."""
    pending: list[Item] = []
    for day in range(first_day, last_day - 1, -1):
        pending += day_items(vocabulary, day, per_day, seed)
        boundary = CUT - timedelta(days=day)
        ready = [i for i in pending if i.article.published_at < boundary]
        pending = [i for i in pending if i.article.published_at >= boundary]
        if ready and day < first_day - 2:
            yield sorted(ready, key=lambda i: (i.article.published_at, i.article.article_id))
    yield sorted(pending, key=lambda i: (i.article.published_at, i.article.article_id))


def new_articles(vocabulary: Vocabulary, count: int, per_day: int, seed: int) -> list[Article]:
    """The first `count` articles at or after CUT: originals, copies of the last days' articles and members of
    their events."""
    items = [i for day in timeline(vocabulary, 3, -1, per_day, seed) for i in day]
    return [i.article for i in items if i.article.published_at >= CUT][:count]


# Building a warehouse.


def build_warehouse(path: Path, size: int, per_day: int, seed: int) -> dict:
    """Generate the warehouse of about `size` articles before CUT; returns its counts."""
    started = time.perf_counter()
    vocabulary = Vocabulary()
    days = max(TAIL_DAYS + 1, round(size / per_day))
    settings, story_settings = DedupSettings(), StorySettings()
    tail_start = CUT - timedelta(days=TAIL_DAYS)
    monitors = {name: parse_query(query) for name, query in DEFAULT_MONITORS.items()}
    path.unlink(missing_ok=True)
    counts = Counter()
    with open_writer(path) as conn:
        conn.execute("SET enable_progress_bar = false")
        # Build settings only (a new connection has the defaults again): no checkpoint after each commit, whose cost
        # grows with the indexes (a day's commit took 15 s at 45,000 articles), and room for a block's appends.
        conn.execute(f"SET checkpoint_threshold = '{BUILD_CHECKPOINT}'")
        conn.execute(f"SET memory_limit = '{BUILD_MEMORY}'")
        block = 0
        conn.begin()
        for day_list in timeline(vocabulary, days + 2, 0, per_day, seed):
            items = [i for i in day_list if i.article.published_at >= CUT - timedelta(days=days)]
            items = [i for i in items if i.article.published_at < CUT]
            if not items:
                continue
            tail = [i for i in items if i.article.published_at >= tail_start]
            bulk = [i for i in items if i.article.published_at < tail_start]
            insert_articles(conn, items)
            for part, real in ((bulk, False), (tail, True)):
                if part:
                    insert_state(conn, part, real, vocabulary, settings, story_settings, monitors, seed)
            counts["articles"] += len(items)
            counts["copies"] += sum(i.original is not None for i in items)
            counts["tail"] += len(tail)
            block += 1
            if block % BLOCK_DAYS == 0:  # one transaction and checkpoint per block of days
                conn.commit()
                conn.execute("CHECKPOINT")
                conn.begin()
        conn.commit()
        with transaction(conn):
            finish_state(conn, settings, story_settings)
        conn.execute("CHECKPOINT")
        counts["near_duplicates"] = conn.execute("SELECT count(*) FROM near_duplicates").fetchone()[0]
        counts["stories"] = conn.execute("SELECT count(*) FROM stories").fetchone()[0]
        counts["days"] = days
    counts["seconds"] = round(time.perf_counter() - started)
    counts["megabytes"] = path.stat().st_size // 2**20
    return dict(counts)


def insert_articles(conn, items: list[Item]) -> None:
    articles = [i.article for i in items]
    run_ids = [f"gen-{(CUT - a.published_at).days:04d}" for a in articles]
    by_id = {i.article.article_id: i for i in items}
    staged = pa.table(
        {
            "article_id": [a.article_id for a in articles],
            "source_uri": [a.source_uri for a in articles],
            "url": [a.url for a in articles],
            "title": [a.title for a in articles],
            "site_name": [a.site_name for a in articles],
            "published_at": pa.array([a.published_at for a in articles], pa.timestamp("us")),
            "language": [a.language for a in articles],
            "language_probability": [a.language_probability for a in articles],
            "text": [a.text for a in articles],
            "word_count": pa.array([a.word_count for a in articles], pa.int32()),
            "content_hash": [a.content_hash for a in articles],
            "raw_sha256": [a.raw_sha256 for a in articles],
            "extractor_version": [a.extractor_version for a in articles],
            "duplicate_of": [by_id[a.article_id].original for a in articles],
            "story_id": [by_id[a.article_id].story for a in articles],
            "first_ingested_at": pa.array([a.published_at + timedelta(minutes=10) for a in articles],
                                          pa.timestamp("us")),
            "run_id": run_ids,
        }
    )  # fmt: skip
    with registered(conn, "staged_articles", staged):
        conn.execute(
            """INSERT INTO articles (article_id, source_uri, url, title, site_name, published_at, language,
                   language_probability, text, word_count, content_hash, raw_sha256, extractor_version, duplicate_of,
                   story_id, first_ingested_at, ingested_at, run_id, published_utc_offset, replaced_bytes)
               SELECT article_id, source_uri, url, title, site_name, published_at, language, language_probability,
                   text, word_count, content_hash, raw_sha256, extractor_version, duplicate_of, story_id,
                   first_ingested_at, first_ingested_at, run_id, 0, 0 FROM staged_articles"""
        )
        conn.execute(
            """INSERT INTO runs (run_id, flow_name, started_at, finished_at, status, parameters)
               SELECT DISTINCT run_id, 'ingest', min(first_ingested_at) OVER (PARTITION BY run_id),
                      max(first_ingested_at) OVER (PARTITION BY run_id), 'completed', '{}'
               FROM staged_articles s WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = s.run_id)"""
        )


def insert_state(conn, items, real: bool, vocabulary, settings, story_settings, monitors, seed: int) -> None:
    """Signatures, bands, pairs, lines, story terms and monitor matches of these articles: the project's own
    functions for the tail (`real`), cheap stand-ins for the bulk (random signatures, whose bands meet no other
    article's; story terms counted from the generated words; one random key per paragraph)."""
    params = settings.minhash
    ids = [i.article.article_id for i in items]
    rng = np.random.default_rng([seed, len(ids), int(ids[0][:8], 16)])
    if real:
        shingles = [shingle_hashes(i.article.text, params) for i in items]
        signatures = minhash_signatures(shingles, params)
        counts = [len(s) for s in shingles]
    else:
        signatures = rng.integers(0, 2**32, size=(len(items), params.permutations), dtype=np.uint64)
        counts = [max(1, i.article.word_count - 3) for i in items]
    keys = band_keys(signatures, params)
    column = pa.FixedSizeListArray.from_arrays(pa.array(signatures.ravel(), pa.uint64()), params.permutations)
    tables = {
        "dedup_signatures": pa.table(
            {
                "article_id": ids,
                "content_hash": [i.article.content_hash for i in items],
                "published_at": pa.array([i.article.published_at for i in items], pa.timestamp("us")),
                "shingle_count": pa.array(counts, pa.int32()),
                "signature": column.cast(pa.list_(pa.uint64())),
            }
        ),
        "dedup_bands": pa.table(
            {
                "band": pa.array(np.tile(np.arange(params.bands, dtype=np.int16), len(ids)), pa.int16()),
                "band_key": pa.array(keys.ravel(), pa.uint64()),
                "article_id": pa.array(np.repeat(np.array(ids, dtype=object), params.bands), pa.string()),
                "published_at": pa.array(
                    np.repeat(np.array([i.article.published_at for i in items], dtype=object), params.bands),
                    pa.timestamp("us"),
                ),
            }
        ),
    }
    # Pairs: every two members of a family (the original and its copies), as verification links them.
    family: dict[str, list[int]] = {}
    position = {article_id: n for n, article_id in enumerate(ids)}
    for n, item in enumerate(items):
        if item.original is not None:
            family.setdefault(item.original, []).append(n)
    pairs = []
    for original, members in family.items():
        group = [("o", original), *(("c", n) for n in members)]
        for x in range(len(group)):
            for y in range(x + 1, len(group)):
                a = group[x][1] if group[x][0] == "o" else ids[group[x][1]]
                b = ids[group[y][1]]
                na, nb = position.get(a), position.get(b)
                if real and na is not None and nb is not None:
                    jaccard, containment = similarity(shingles[na], shingles[nb])
                else:
                    jaccard, containment = 0.7 + 0.2 * rng.random(), 0.9 + 0.1 * rng.random()
                pairs.append((min(a, b), max(a, b), round(jaccard, 4), round(containment, 4)))
    tables["near_duplicates"] = pa.table(
        {
            "article_id": [p[0] for p in pairs],
            "other_id": [p[1] for p in pairs],
            "kind": ["near"] * len(pairs),
            "jaccard": pa.array([p[2] for p in pairs], pa.float64()),
            "containment": pa.array([p[3] for p in pairs], pa.float64()),
        }
    )
    canonical = [i for i in items if i.original is None]
    outlets = [f"outlet{i.outlet:03d}.example" for i in canonical]
    furniture = [[line_key(line) for line in (*h, *f)] for h, f in map(outlet_lines, (i.outlet for i in canonical))]
    if real:
        lines = [line_keys(i.article.text) for i in canonical]
        found = [
            story_terms(i.article.title, strip_furniture(i.article.text, set(keys)), story_settings.lead_words)
            for i, keys in zip(canonical, furniture, strict=True)
        ]
        terms = pa.array([list(t) for t in found], pa.list_(pa.string()))
        term_counts = pa.array([list(t.values()) for t in found], pa.list_(pa.int32()))
    else:  # the outlet's lines and a random key per paragraph; terms counted from the generated words
        lines = [[*keys, *rng.integers(-(2**63), 2**63 - 1, size=i.paragraphs, dtype=np.int64).tolist()]
                 for i, keys in zip(canonical, furniture, strict=True)]  # fmt: skip
        width = len(vocabulary.listed)
        leads = [i.body_words[: 2 * 8 + story_settings.lead_words] for i in canonical]
        flat = np.concatenate(leads)
        owner = np.repeat(np.arange(len(leads), dtype=np.int64), [len(x) for x in leads])
        keep = vocabulary.term[flat]
        keys, n = np.unique(owner[keep] * width + flat[keep], return_counts=True)
        offsets = pa.array(np.searchsorted(keys // width, np.arange(len(leads) + 1)), pa.int32())
        terms = pa.ListArray.from_arrays(offsets, vocabulary.arrow.take(pa.array(keys % width)))
        term_counts = pa.ListArray.from_arrays(offsets, pa.array(n, pa.int32()))
    tables["article_lines"] = pa.table(
        {
            "article_id": pa.array(
                np.repeat(np.array([i.article.article_id for i in canonical], dtype=object), [len(x) for x in lines]),
                pa.string(),
            ),
            "outlet": pa.array(np.repeat(np.array(outlets, dtype=object), [len(x) for x in lines]), pa.string()),
            "line_key": pa.array([k for x in lines for k in x], pa.int64()),
        }
    )
    tables["story_articles"] = pa.table(
        {
            "article_id": [i.article.article_id for i in canonical],
            "content_hash": [i.article.content_hash for i in canonical],
            "outlet": outlets,
            "published_at": pa.array([i.article.published_at for i in canonical], pa.timestamp("us")),
            "first_ingested_at": pa.array(
                [i.article.published_at + timedelta(minutes=10) for i in canonical], pa.timestamp("us")
            ),
            "story_id": [i.story for i in canonical],
            "terms": terms,
            "counts": term_counts,
        }
    )
    if real:
        matches = [(name, i.article.article_id) for i in items
                   for name in matching_monitors(monitors, i.article.title, i.article.text)]  # fmt: skip
        tables["monitor_matches"] = pa.table(
            {"monitor": [m[0] for m in matches], "article_id": [m[1] for m in matches]}
        )
        tables["monitor_first_matches"] = (
            tables["monitor_matches"]
            .append_column("run_id", pa.array(["sweep-base"] * len(matches)))
            .append_column("matched_at", pa.array([datetime(2026, 1, 1)] * len(matches), pa.timestamp("us")))
        )
    for table, staged in tables.items():
        columns = ", ".join(staged.column_names)
        with registered(conn, "staged", staged):
            conn.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM staged")


def finish_state(conn, settings: DedupSettings, story_settings: StorySettings) -> None:
    """What is counted over the whole warehouse: furniture counts, document frequencies, story order, settings."""
    conn.execute(
        """INSERT INTO outlet_lines (outlet, line_key, articles)
           SELECT outlet, line_key, count(*) FROM article_lines GROUP BY ALL"""
    )
    conn.execute(
        """INSERT INTO story_terms (term, articles)
           SELECT t, count(*) FROM (SELECT unnest(terms) AS t FROM story_articles) GROUP BY t"""
    )
    conn.execute(
        """INSERT INTO stories (story_id, created)
           SELECT story_id, row_number() OVER (ORDER BY min(coalesce(published_at, first_ingested_at)), story_id) - 1
           FROM story_articles GROUP BY story_id"""
    )
    for name, query in DEFAULT_MONITORS.items():
        conn.execute("INSERT INTO monitors (name, query) VALUES (?, ?)", [name, query])
    conn.execute("DELETE FROM dedup_settings")
    conn.execute("INSERT INTO dedup_settings (fingerprint) VALUES (?)", [settings.fingerprint()])
    conn.execute("DELETE FROM story_settings")
    conn.execute("INSERT INTO story_settings (fingerprint) VALUES (?)", [story_settings.fingerprint()])


# The measured step and the baseline.


def run_step(db: Path, articles: list[Article], profile: bool) -> dict:
    """Load the new articles (not timed), then time dedup (near-duplicates and canonicals), stories and monitors
    as a run does (pipeline.runs.deduplicate, then match_monitors), in this process."""
    settings = DedupSettings()
    timings = Counter()
    canonicals = dedup.assign_canonicals

    def timed_canonicals(*args, **kwargs):
        mark = time.perf_counter()
        canonicals(*args, **kwargs)
        timings["canonicals"] += time.perf_counter() - mark

    dedup.assign_canonicals = timed_canonicals
    profiler = cProfile.Profile() if profile else None
    queries = Counter()
    with open_writer(db) as opened:
        conn = TimedConnection(opened, queries) if profile else opened
        conn.execute("SET enable_progress_bar = false")
        start_run(conn, "sweep-new", "ingest", {})
        load_batch(conn, articles, [], "sweep-new")
        rss_before = peak_rss_mb()
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        dedup.update_near_duplicates(conn, settings)
        timings["near-duplicates"] = time.perf_counter() - started - timings["canonicals"]
        mark = time.perf_counter()
        with transaction(conn):
            assign_stories(conn, settings)
            finish_update(conn)
        timings["stories"] = time.perf_counter() - mark
        mark = time.perf_counter()
        update_monitor_matches(conn, DEFAULT_MONITORS, "sweep-new")
        timings["monitors"] = time.perf_counter() - mark
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if profiler:
            profiler.disable()
        result = conn.execute(
            """SELECT count(*) FILTER (duplicate_of IS NOT NULL),
                      count(*) FILTER (duplicate_of IS NULL AND story_id IN (SELECT story_id FROM articles
                                                                          WHERE run_id <> 'sweep-new')),
                      count(DISTINCT story_id)
               FROM articles WHERE run_id = 'sweep-new'"""
        ).fetchone()
    report = io.StringIO()
    if profiler:
        pstats.Stats(profiler, stream=report).sort_stats("cumulative").print_stats(30)
        report.write("Seconds per SQL statement (summed over its calls):\n")
        for sql, spent in queries.most_common(15):
            report.write(f"{spent:8.2f}  {sql}\n")
    return {
        "seconds": seconds, "cpu": cpu, "timings": dict(timings), "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": rss_before, "copies": result[0], "joined_stories": result[1], "stories": result[2],
        "profile": report.getvalue(),
    }  # fmt: skip


class TimedConnection:
    """A connection that adds up the time of each SQL statement (its first 150 characters) in `seconds`."""

    def __init__(self, conn, seconds: Counter) -> None:
        self._conn, self._seconds = conn, seconds

    def execute(self, sql: str, *args, **kwargs):
        mark = time.perf_counter()
        result = self._conn.execute(sql, *args, **kwargs)
        self._seconds[" ".join(sql.split())[:150]] += time.perf_counter() - mark
        return result

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


def run_datasketch(texts: list[str], params: MinHashParams) -> dict:
    """run.py's baseline on the new articles alone: shingles, MinHash.update_batch, MinHashLSH insert and query
    among themselves, without the older articles (not the same work: run_datasketch_window is)."""
    from datasketch import MinHash, MinHashLSH

    started = time.perf_counter()
    lsh = MinHashLSH(num_perm=params.permutations, params=(params.bands, params.rows))
    signatures = []
    for n, text in enumerate(texts):
        tokens, by_words = tokens_for_shingling(text)
        size = min(params.shingle_words if by_words else params.shingle_chars, len(tokens))
        shingles = {" ".join(tokens[i : i + size]).encode() for i in range(len(tokens) - size + 1)}
        minhash = MinHash(num_perm=params.permutations)
        minhash.update_batch(shingles)
        signatures.append((str(n), minhash))
    for key, minhash in signatures:
        lsh.insert(key, minhash)
    candidates = sum(len(lsh.query(minhash)) - 1 for _, minhash in signatures)
    return {"seconds": time.perf_counter() - started, "candidates": candidates // 2, "peak_rss_mb": peak_rss_mb()}


def datasketch_minhash(text: str, params: MinHashParams):
    """datasketch's MinHash (its own hashing, scheme affine32) of the text's shingles, as run.py makes them."""
    from datasketch import MinHash

    tokens, by_words = tokens_for_shingling(text)
    size = min(params.shingle_words if by_words else params.shingle_chars, len(tokens))
    minhash = MinHash(num_perm=params.permutations)
    minhash.update_batch({" ".join(tokens[i : i + size]).encode() for i in range(len(tokens) - size + 1)})
    return minhash


def window_of(articles: list[Article], settings: DedupSettings) -> tuple[datetime, datetime]:
    """The publication dates the new articles' copies can have: what the project's candidate query reads."""
    dates = [a.published_at for a in articles]
    return min(dates) - timedelta(days=settings.window_days), max(dates) + timedelta(days=settings.window_days)


def store_datasketch_signatures(db: Path, store: Path, window: tuple[datetime, datetime], params) -> dict:
    """What a datasketch pipeline would have kept from earlier runs: the datasketch MinHash of every warehouse
    article in the window, in a DuckDB file of its own (table datasketch_signatures: article_id, published_at,
    hashvalues UINTEGER[]). The project's stored signatures are not datasketch's (other hashing), so these are
    computed from the texts; the time it takes is returned (datasketch recomputing the window at each run)."""
    import duckdb

    started = time.perf_counter()
    with duckdb.connect(str(db), read_only=True) as conn:
        conn.execute("SET enable_progress_bar = false")
        rows = conn.execute(
            "SELECT article_id, published_at, text FROM articles WHERE published_at BETWEEN $lo AND $hi",
            {"lo": window[0], "hi": window[1]},
        ).fetchall()
    values = np.stack([datasketch_minhash(row[2], params).hashvalues for row in rows]).astype(np.uint32)
    seconds = time.perf_counter() - started
    staged = pa.table(
        {
            "article_id": [row[0] for row in rows],
            "published_at": pa.array([row[1] for row in rows], pa.timestamp("us")),
            "hashvalues": pa.FixedSizeListArray.from_arrays(
                pa.array(values.ravel(), pa.uint32()), values.shape[1]
            ).cast(pa.list_(pa.uint32())),
        }
    )
    store.unlink(missing_ok=True)
    with duckdb.connect(str(store)) as conn:
        conn.register("staged", staged)
        conn.execute("CREATE TABLE datasketch_signatures AS SELECT * FROM staged ORDER BY published_at, article_id")
    return {"articles": len(rows), "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def run_datasketch_window(store: Path, texts: list[str], window: tuple[datetime, datetime], params) -> dict:
    """datasketch doing the near-duplicate search of the step: read the stored datasketch signatures of the
    window's articles from DuckDB, index them in a MinHashLSH, then MinHash the new texts, insert and query them
    (candidates among the older and the new articles). No verification, no writes, no canonicals."""
    import duckdb
    from datasketch import LeanMinHash, MinHashLSH

    timings = Counter()
    started = time.perf_counter()
    with duckdb.connect(str(store), read_only=True) as conn:
        stored = conn.execute(
            "SELECT article_id, hashvalues FROM datasketch_signatures WHERE published_at BETWEEN $lo AND $hi",
            {"lo": window[0], "hi": window[1]},
        ).to_arrow_table()
    ids = stored.column("article_id").to_pylist()
    values = stored.column("hashvalues").combine_chunks().flatten().to_numpy().reshape(len(ids), params.permutations)
    timings["read"] = time.perf_counter() - started
    mark = time.perf_counter()
    lsh = MinHashLSH(num_perm=params.permutations, params=(params.bands, params.rows))
    with lsh.insertion_session() as session:
        for article_id, hashvalues in zip(ids, values, strict=True):
            session.insert(article_id, LeanMinHash(seed=1, hashvalues=hashvalues, scheme="affine32"),
                           check_duplication=False)  # fmt: skip
    timings["index"] = time.perf_counter() - mark
    mark = time.perf_counter()
    new = [(f"new-{n}", datasketch_minhash(text, params)) for n, text in enumerate(texts)]
    timings["minhash"] = time.perf_counter() - mark
    mark = time.perf_counter()
    for key, minhash in new:
        lsh.insert(key, minhash)
    candidates = {tuple(sorted((key, other))) for key, minhash in new for other in lsh.query(minhash) if other != key}
    timings["query"] = time.perf_counter() - mark
    return {
        "seconds": time.perf_counter() - started, "timings": dict(timings), "indexed": len(ids),
        "candidates": len(candidates),
        "older": sum(not (a.startswith("new-") and b.startswith("new-")) for a, b in candidates),
        "peak_rss_mb": peak_rss_mb(),
    }  # fmt: skip


def in_own_process(function, *args) -> dict:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def upgrade_warehouse(path: Path) -> dict:
    with open_writer(path) as conn:
        conn.execute("CHECKPOINT")
    return {}


def cached_warehouse(cache: Path, size: int, per_day: int, seed: int) -> tuple[Path, dict]:
    key = hashlib.sha256(
        f"{GENERATOR_VERSION} {size} {per_day} {seed} {DedupSettings().fingerprint()} "
        f"{StorySettings().fingerprint()}".encode()
    ).hexdigest()[:12]
    path = cache / f"sweep-{size}-{key}.duckdb"
    info = path.with_suffix(".json")
    if path.exists() and info.exists():
        in_own_process(upgrade_warehouse, path)  # migrations added since it was built, as a real warehouse gets them
        return path, json.loads(info.read_text())
    cache.mkdir(parents=True, exist_ok=True)
    counts = in_own_process(build_warehouse, path, size, per_day, seed)
    info.write_text(json.dumps(counts))
    return path, counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--new", type=int, default=1000, help="articles added to each warehouse")
    parser.add_argument("--per-day", type=int, default=3000, help="articles a day (originals and copies)")
    parser.add_argument("--repeat", type=int, default=2, help="measurements per size (each on a fresh copy)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cache", type=Path, default=Path(__file__).resolve().parent / ".cache")
    parser.add_argument("--profile", action="store_true", help="cProfile the measured step, print the top calls")
    args = parser.parse_args(argv)
    new = new_articles(Vocabulary(), args.new, args.per_day, args.seed)
    copies = sum(a.title.startswith("Copy: ") for a in new)
    print(f"new articles: {len(new)} ({copies} copies), {new[0].published_at} to {new[-1].published_at}")
    params = DedupSettings().minhash
    alone = [in_own_process(run_datasketch, [a.text for a in new], params) for _ in range(2)]
    baseline_alone = min(b["seconds"] for b in alone)
    runs = ", ".join(f"{b['seconds']:.2f} s" for b in alone)
    print(f"datasketch on the {len(new)} alone (no older articles): {runs}; peak RSS {alone[0]['peak_rss_mb']:.0f} MB")
    window = window_of(new, DedupSettings())
    for size in args.sizes:
        started = time.perf_counter()
        path, counts = cached_warehouse(args.cache, size, args.per_day, args.seed)
        print(f"warehouse {size}: {counts} (ready in {time.perf_counter() - started:.0f} s)", flush=True)
        store, stored = cached_datasketch_signatures(path, window, params, args.per_day, args.seed)
        print(f"  datasketch signatures of the window ({window[0]:%Y-%m-%d %H:%M} to {window[1]:%Y-%m-%d %H:%M}): "
              f"{stored['articles']} articles, recomputed from their texts in {stored['seconds']:.1f} s "
              f"(peak RSS {stored['peak_rss_mb']:.0f} MB)", flush=True)  # fmt: skip
        for _ in range(args.repeat):
            work = path.with_name(f"work-{path.name}")
            shutil.copyfile(path, work)
            try:
                step = in_own_process(run_step, work, new, args.profile)
            finally:
                work.unlink(missing_ok=True)
                work.with_suffix(".duckdb.wal").unlink(missing_ok=True)
            same = in_own_process(run_datasketch_window, store, [a.text for a in new], window, params)
            parts = ", ".join(f"{k} {v:.2f}" for k, v in step["timings"].items())
            dedup_part = step["timings"]["near-duplicates"] + step["timings"]["canonicals"]
            print(
                f"  +{len(new)} into {counts['articles']}: {step['seconds']:.2f} s, CPU {step['cpu']:.2f} s ({parts}); "
                f"peak RSS {step['peak_rss_mb']:.0f} MB (after the load {step['rss_before_mb']:.0f}); "
                f"copies {step['copies']}, joined older stories {step['joined_stories']}, stories {step['stories']}",
                flush=True,
            )
            print(
                f"    datasketch, same work: {same['seconds']:.2f} s ("
                + ", ".join(f"{k} {v:.2f}" for k, v in same["timings"].items())
                + f"; {same['indexed']} indexed, {same['candidates']} candidate pairs, {same['older']} with an older"
                f" article; peak RSS {same['peak_rss_mb']:.0f} MB): datasketch/project near-duplicates + canonicals "
                f"{same['seconds'] / dedup_part:.2f}x, whole step {same['seconds'] / step['seconds']:.2f}x; "
                f"datasketch on the {len(new)} alone/project {baseline_alone / dedup_part:.2f}x and "
                f"{baseline_alone / step['seconds']:.2f}x",
                flush=True,
            )
            if args.profile:
                print(step["profile"])


def cached_datasketch_signatures(
    path: Path, window: tuple[datetime, datetime], params, per_day: int, seed: int
) -> tuple[Path, dict]:
    """The datasketch signatures of the window's articles, computed once: the window's articles are the same in
    every warehouse of these settings that covers the window (the timeline ends at CUT), so one store serves
    100,000 and 1,000,000; it is computed again when the warehouse holds other articles in the window."""
    import duckdb

    key = f"{GENERATOR_VERSION} {per_day} {seed} {window[0].isoformat()} {window[1].isoformat()} {params}"
    store = path.with_name(f"datasketch-{hashlib.sha256(key.encode()).hexdigest()[:12]}.duckdb")
    info = store.with_suffix(".json")
    with duckdb.connect(str(path), read_only=True) as conn:
        in_window = conn.execute(
            "SELECT count(*) FROM articles WHERE published_at BETWEEN $lo AND $hi", {"lo": window[0], "hi": window[1]}
        ).fetchone()[0]
    if store.exists() and info.exists() and json.loads(info.read_text())["articles"] == in_window:
        return store, json.loads(info.read_text())
    stored = in_own_process(store_datasketch_signatures, path, store, window, params)
    info.write_text(json.dumps(stored))
    return store, stored


if __name__ == "__main__":
    main()
