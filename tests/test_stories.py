"""Stories: assignment without chaining, per-outlet furniture, stable ids, merges and density (similarity.stories,
similarity.furniture, warehouse.stories)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pytest

import similarity.stories as stories_module
from extractors import Article
from extractors.normalize import content_hash, count_words
from similarity.furniture import (
    count_lines,
    furniture_keys,
    lead_without_furniture,
    line_key,
    outlet_of,
    strip_furniture,
)
from similarity.stories import (
    StoryAssignment,
    StoryDocument,
    StorySettings,
    _tfidf_matrix,
    assign_story_documents,
    group_stories,
)
from warehouse.db import open_writer
from warehouse.dedup import update_duplicates
from warehouse.load import load_batch

DAY = datetime(2022, 3, 5, 9)
FLAT = {}  # no IDF: every term weighs 1 (unknown terms weigh the largest IDF given, 1.0 when none)
SETTINGS = StorySettings(threshold=0.3, merge_threshold=0.2)


def doc(article_id: str, words: str, when: datetime = DAY, story: str | None = None) -> StoryDocument:
    return StoryDocument(article_id, when, {w: 1 for w in words.split()}, story)


@pytest.mark.pure
def test_assign_story_documents_does_not_chain():
    """A~B (cosine 0.5) and B~C (0.5), A and C share nothing: C's mean with the story {A, B} is 0.25, so it starts
    its own story; single-link grouping puts all three together."""
    a = doc("a", "alpha beta gamma delta")
    b = doc("b", "alpha beta epsilon zeta", DAY + timedelta(hours=1))
    c = doc("c", "epsilon zeta eta theta", DAY + timedelta(hours=2))
    result = assign_story_documents([], [c, a, b], FLAT, SETTINGS)
    assert result.stories == {"a": "a", "b": "a", "c": "c"} and result.created == ["a", "c"]
    chained = group_stories([(d.article_id, d.when, d.terms) for d in (a, b, c)], 0.3, 3)
    assert set(chained.values()) == {"a"}


@pytest.mark.pure
def test_assign_story_documents_keeps_existing_ids():
    """Known documents keep their story; a new similar one joins it, an unrelated one starts a story with its own
    id, and a new document whose id is already a story's id gets a suffix (ids are never reused)."""
    known = [doc("k1", "rocket launch orbit crew", story="s-old"), doc("k2", "rocket launch orbit pad", story="s-old")]
    new = [doc("n1", "rocket launch orbit crew pad"), doc("n2", "harvest wheat farm rain"), doc("s-old", "vote poll")]
    result = assign_story_documents(known, new, FLAT, SETTINGS, created={"s-old": 0})
    assert result.stories == {"n1": "s-old", "n2": "n2", "s-old": "s-old-2"}
    assert result.merged == {} and result.created == ["n2", "s-old-2"]


@pytest.mark.pure
def test_assign_story_documents_merge_keeps_the_older_id():
    """A new article that belongs to two stories merges them when their members agree; the older id wins even
    when the new article is closer to the newer story."""
    known = [
        doc("x", "summit leaders climate deal paris", DAY, story="newer"),
        doc("y", "summit leaders climate deal signed", DAY, story="older"),
    ]
    new = [doc("z", "summit leaders climate deal paris signed", DAY + timedelta(hours=3))]
    result = assign_story_documents(known, new, FLAT, SETTINGS, created={"older": 3, "newer": 7})
    assert result.stories == {"z": "older"} and result.merged == {"newer": "older"}
    apart = assign_story_documents(known, new, FLAT, StorySettings(threshold=0.3, merge_threshold=0.95))
    assert apart.merged == {} and apart.stories["z"] in {"newer", "older"}


@pytest.mark.pure
def test_assign_story_documents_same_event_at_shifted_dates_stays_apart():
    """Density: the same words 10 and 20 days later are other stories (the window is 3 days)."""
    words = ["orbit crew hatch station video", "station video orbit module crew", "hatch crew video segment orbit"]
    new = [
        doc(f"{shift}-{i}", w, DAY + timedelta(days=10 * shift, hours=i))
        for shift in range(3)
        for i, w in enumerate(words)
    ]
    result = assign_story_documents([], new, FLAT, SETTINGS)
    assert sorted(set(result.stories.values())) == ["0-0", "1-0", "2-0"]


def reference_assignment(known, new, idf, settings, created=None) -> StoryAssignment:
    """The assignment one new document at a time (the loop assign_story_documents replaced, 2026-12-06): its
    cosines with the documents in its window, summed per story in time order; the oracle of the block version."""
    result = StoryAssignment()
    order_of = dict(created or {})
    next_order = max(order_of.values(), default=-1) + 1
    documents = [*known, *sorted(new, key=lambda d: (d.when, d.article_id))]
    count, first_new = len(documents), len(known)
    matrix = _tfidf_matrix([d.terms for d in documents], idf)
    seconds = np.array([(d.when - datetime(1970, 1, 1)).total_seconds() for d in documents])
    by_time = np.argsort(seconds, kind="stable")
    span = float(settings.window_days) * 86400
    label = [d.story_id for d in known] + [None] * (count - first_new)
    parent: dict[str, str] = {}
    used = set(order_of) | {d.story_id for d in known if d.story_id}

    def find(story):
        while story in parent:
            story = parent[story]
        return story

    def age(story):
        return (order_of.get(story, -1), story)

    for i in range(first_new, count):
        near = [j for j in by_time.tolist() if abs(seconds[j] - seconds[i]) <= span and label[j] is not None]
        stories_near = [find(label[j]) for j in near]
        ranked = []
        if near:
            sims = np.asarray((matrix[near] @ matrix[i].T).todense()).ravel().tolist()
            sums, sizes, members = defaultdict(float), defaultdict(int), defaultdict(list)
            for j, story, sim in zip(near, stories_near, sims, strict=True):
                sums[story] += sim
                sizes[story] += 1
                members[story].append(j)
            if settings.linkage == "centroid":
                scores = {s: sums[s] / np.sqrt(max(float((matrix[m] @ matrix[m].T).sum()), 1e-12))
                          for s, m in members.items() if sums[s] > 0}  # fmt: skip
            else:
                scores = {s: sums[s] / sizes[s] for s in sums}
            ranked = sorted((v, s) for s, v in scores.items() if v >= settings.threshold)
            ranked.sort(key=lambda x: (-x[0], age(x[1])))
        if ranked:
            story = ranked[0][1]
            for _, other in ranked[1:]:
                mine = [*[j for j, s in zip(near, stories_near, strict=True) if s == story], i]
                theirs = [j for j, s in zip(near, stories_near, strict=True) if s == other]
                if float((matrix[mine] @ matrix[theirs].T).mean()) >= settings.merge_threshold:
                    keep, drop = sorted((story, other), key=age)
                    parent[drop] = keep
                    stories_near = [find(s) for s in stories_near]
                    story = keep
        else:
            story, suffix = documents[i].article_id, 1
            while story in used:
                suffix += 1
                story = f"{documents[i].article_id}-{suffix}"
            used.add(story)
            order_of[story] = next_order
            next_order += 1
            result.created.append(story)
        label[i] = story
    result.stories = {documents[i].article_id: find(label[i]) for i in range(first_new, count)}
    result.merged = {story: find(story) for story in parent}
    result.created = [story for story in result.created if story not in parent]
    return result


@pytest.mark.pure
@pytest.mark.parametrize("seed", range(6))
def test_assign_story_documents_equals_the_one_at_a_time_loop(seed, monkeypatch):
    """Random events over three weeks, known stories, blocks of a few documents (so block edges fall inside
    windows): the same stories, merges and new ids as the reference loop, for both linkages."""
    rng = random.Random(seed)
    monkeypatch.setattr(stories_module, "_BLOCK_CELLS", rng.choice([1, 50, 400, 10**9]))
    events = [rng.sample(VOCABULARY[:60], 6) for _ in range(25)]
    documents = []
    for number in range(160):
        event = rng.randrange(len(events))
        words = [*rng.sample(events[event], 4), *rng.sample(VOCABULARY[:200], 3)]
        when = DAY + timedelta(hours=event * 14 + rng.randrange(-40, 80), minutes=rng.randrange(3) * 20)
        documents.append(StoryDocument(f"d{number:03d}", when, Counter(rng.choices(words, k=8))))
    known = [replace(d, story_id=f"s{rng.randrange(12)}") for d in documents[:70]]
    known[3] = replace(known[3], story_id=None)
    idf = {term: 1 + rng.random() * 3 for term in VOCABULARY[:150]}
    created = {f"s{n}": rng.randrange(100) for n in range(0, 12, 2)}
    for settings in (
        StorySettings(threshold=0.25, merge_threshold=0.15),
        StorySettings(threshold=0.4, merge_threshold=0.3, window_days=1),
        StorySettings(threshold=0.3, merge_threshold=0.2, linkage="centroid"),
    ):
        fast = assign_story_documents(known, documents[70:], idf, settings, created)
        slow = reference_assignment(known, documents[70:], idf, settings, created)
        assert (fast.stories, fast.merged, fast.created) == (slow.stories, slow.merged, slow.created)
    assert len(set(fast.stories.values())) > 5 and fast.merged


@pytest.mark.pure
def test_furniture_lines_are_learned_per_outlet_and_stripped():
    furniture = ["We use cookies. By continuing you accept our policy.", "Sign up for our  space newsletter!"]
    texts = [f"{furniture[0]}\n\nStory {i} opens here.\n\n{furniture[1]}\n\nStory {i} ends." for i in range(5)]
    learned = furniture_keys(count_lines(texts), min_articles=4)
    assert learned == {line_key(line) for line in furniture}
    assert line_key("sign up for OUR space newsletter!") == line_key(furniture[1])  # case and spacing folded
    assert strip_furniture(texts[2], learned) == "Story 2 opens here.\n\nStory 2 ends."
    assert strip_furniture(texts[2], frozenset()) == texts[2]
    assert furniture_keys(count_lines(texts[:3]), min_articles=4) == frozenset()
    assert outlet_of("https://www.news.example/a", "file:///x", "News") == "news.example"
    assert outlet_of(None, "file:///tmp/a.txt", "Some Site") == "some site"


# Line breaks str.splitlines() knows (each also whitespace to str.split), spaces, and the furniture-like lines.
BREAKS = ["\n", "\r\n", "\r", "\n\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
SPACES = [" ", "  ", "\t", "\u00a0", "\u3000", ""]


@pytest.mark.pure
@pytest.mark.parametrize("seed", range(4))
def test_lead_without_furniture_is_the_lead_of_the_stripped_text(seed):
    """Story terms read the lead of the text without its furniture; the lead is cut while reading the lines, so
    a long text is not hashed to its end. Same words as stripping the whole text, for every kind of line break,
    space, blank or furniture-only line, furniture in a line's other spelling, and leads longer than the text."""
    rng = random.Random(seed)
    notices = ["We use cookies.", "SIGN UP  for our newsletter!", "Read more", "\u00a9 2022 News"]
    furniture = frozenset(line_key(line) for line in notices[: 1 + seed % 4])
    for _ in range(200):
        lines = []
        for _ in range(rng.randrange(0, 12)):
            if rng.random() < 0.3:
                line = rng.choice(notices)
                line = line.lower() if rng.random() < 0.3 else line  # the same key in another case
            else:
                line = rng.choice(SPACES).join(rng.choice(VOCABULARY) for _ in range(rng.randrange(0, 9)))
            lines.append(rng.choice(SPACES) + line + rng.choice(SPACES))
        text = "".join(line + rng.choice(BREAKS) for line in lines)
        for words in (0, 1, 5, 30, 500):
            for keys in (furniture, frozenset()):
                expected = " ".join(strip_furniture(text, keys).split()[:words])
                assert lead_without_furniture(text, keys, words) == expected, (text, words)


# In the warehouse.

VOCABULARY = [f"topic{i}" for i in range(3000)]


def make_article(uri: str, text: str, published: datetime, title: str) -> Article:
    return Article(
        source_uri=uri,
        text=text,
        word_count=count_words(text),
        content_hash=content_hash(text),
        raw_sha256=uri,
        title=title,
        url=uri,
        published_at=published,
    )


def event_article(rng: random.Random, uri: str, core: list[str], when: datetime) -> Article:
    """An article on the event `core` (its words, shuffled, plus a few of its own)."""
    words = [*core, *rng.sample(VOCABULARY, 6)]
    rng.shuffle(words)
    return make_article(uri, " ".join(words) + ".", when, " ".join(core[:4]))


def stories(db) -> dict[str, str]:
    with open_writer(db) as conn:
        return dict(conn.execute("SELECT source_uri, story_id FROM articles").fetchall())


def load(db, articles: list[Article], run_id: str) -> dict[str, str]:
    with open_writer(db) as conn:
        load_batch(conn, articles, [], run_id)
        update_duplicates(conn)
    return stories(db)


@pytest.mark.warehouse
def test_assign_stories_ids_are_stable_across_runs(fresh_db):
    """A later run gives its articles stories without renumbering earlier ones, also when it brings an article
    dated before them."""
    rng = random.Random(3)
    events = [rng.sample(VOCABULARY, 12) for _ in range(3)]
    first = [event_article(rng, f"https://o{i}.example/e{e}", events[e], DAY + timedelta(hours=e * 20 + i))
             for e in range(3) for i in range(2)]  # fmt: skip
    before = load(fresh_db, first, "run-1")
    assert len(set(before.values())) == 3
    later = [
        event_article(rng, "https://o7.example/e0-late", events[0], DAY + timedelta(hours=30)),
        event_article(rng, "https://o8.example/e2-early", events[2], DAY - timedelta(hours=5)),
        event_article(rng, "https://o9.example/other", rng.sample(VOCABULARY, 12), DAY),
    ]
    after = load(fresh_db, later, "run-2")
    assert {uri: after[uri] for uri in before} == before
    assert after["https://o7.example/e0-late"] == before["https://o0.example/e0"]
    assert after["https://o8.example/e2-early"] == before["https://o0.example/e2"]
    assert after["https://o9.example/other"] not in before.values()
    assert load(fresh_db, [], "run-3") == after


@pytest.mark.warehouse
def test_assign_stories_leave_out_an_outlets_furniture(fresh_db):
    """Six unrelated articles of one outlet open with the same 320-word menu line, the whole 300-word lead: left
    in, every pair would have cosine near 1. They stay six stories, also when the outlet's furniture is learned
    only in a later run (the first article's stored terms are recomputed without it). (Before an outlet has 4
    articles its furniture is not known.) Their 600-word bodies keep them apart as near-duplicates."""
    rng = random.Random(5)
    words = [f"word{i}" for i in range(20000)]
    menu = " ".join(f"menu{i}" for i in range(320))
    articles = []
    for i in range(6):
        body = rng.sample(words, 600)
        text = f"{menu}\n\n{' '.join(body)}."
        when = DAY + timedelta(hours=i)
        articles.append(make_article(f"https://signal.example/a{i}", text, when, " ".join(body[:4])))
    load(fresh_db, articles[:1], "run-1")
    result = load(fresh_db, articles[1:], "run-2")
    assert len(set(result.values())) == 6
    with open_writer(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL").fetchone()[0] == 0
        furniture = conn.execute("SELECT count(*) FROM outlet_lines WHERE articles >= 4").fetchone()[0]
        stored = conn.execute("SELECT list(t) FROM story_articles, unnest(terms) AS u(t)").fetchone()[0]
    assert furniture == 1 and not any(term.startswith("menu") for term in stored)


@pytest.mark.warehouse
def test_assign_stories_shifted_repeats_do_not_merge(fresh_db):
    """Density: one event's coverage repeated every 10 days is one story per repeat, in one run or run by run."""
    rng = random.Random(7)
    core = rng.sample(VOCABULARY, 12)
    repeats = [
        [event_article(rng, f"https://o{i}.example/r{r}", core, DAY + timedelta(days=10 * r, hours=5 * i))
         for i in range(3)]
        for r in range(4)
    ]  # fmt: skip
    result = load(fresh_db, [a for r in repeats[:3] for a in r], "run-1")
    result = load(fresh_db, repeats[3], "run-2")
    for r, articles in enumerate(repeats):
        assert len({result[a.source_uri] for a in articles}) == 1, r
    assert len(set(result.values())) == 4
