"""Labelled syndication: real article bodies, the copies outlets make of them, and hard negatives.

Originals are the five seeds and the ground-truth bodies of the article-extraction benchmark (read from
../shared, never copied here). Each original gets 0-5 copies, each from a different fake outlet hours later:
new headline, the outlet's boilerplate, and a random mix of truncation, ads and captions, quote and
spelling changes, an update paragraph and small edits. Hard negatives: articles on the same event (seeds
000, 001, 003, 004; benchmark bodies on the same topic), bodies from the same site, generated follow-ups that
reuse part of an original, and different bodies wrapped in the same outlet's boilerplate.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from extractors import Article, extract_document  # noqa: E402
from extractors.normalize import content_hash, count_words  # noqa: E402
from similarity.minhash import tokens_for_shingling  # noqa: E402

BENCHMARK = REPO.parent / "shared" / "eval" / "article-extraction-benchmark" / "ground-truth.json"
SEED_EVENT = ("000", "001", "003", "004")  # four different articles about the Roscosmos ISS video
MIN_TOKENS = 100  # shorter bodies (teasers, 7 of 181) cut in half are mostly boilerplate: left out
SAME_TOPIC_COSINE = 0.3  # TF-IDF cosine of two bodies above which they are labelled "same topic"
START = datetime(2022, 3, 1)

# Chance that a copy gets each change (the outlet template and a new headline it always gets).
CHANGES = {"truncate": 0.5, "ads": 0.5, "captions": 0.4, "quotes": 0.5, "spelling": 0.3, "update": 0.3, "edits": 0.6}

US_UK = {
    "color": "colour", "favorite": "favourite", "honor": "honour", "labor": "labour", "neighbor": "neighbour",
    "behavior": "behaviour", "center": "centre", "theater": "theatre", "meter": "metre", "defense": "defence",
    "offense": "offence", "license": "licence", "analyze": "analyse", "organize": "organise",
    "organization": "organisation", "recognize": "recognise", "realize": "realise", "apologize": "apologise",
    "criticize": "criticise", "program": "programme", "traveled": "travelled", "canceled": "cancelled",
    "modeling": "modelling", "jewelry": "jewellery", "gray": "grey", "aluminum": "aluminium", "tire": "tyre",
    "catalog": "catalogue", "dialog": "dialogue", "percent": "per cent",
}  # fmt: skip
UK_US = {uk: us for us, uk in US_UK.items()}
TOWNS = "Riverton Ashford Millbrook Kingsport Lakeview Harrow Bayside Crestwood Fairhaven Oakdale Westbury Northgate"
PAPERS = "Courier Herald Ledger Gazette Observer Tribune Chronicle Sentinel Post Daily Wire Dispatch Record"
AGENCIES = ("Reuters", "AP", "AFP", "Getty Images", "EPA", "Bloomberg", "Shutterstock")
PEOPLE = ("Alex Morgan", "Sam Patel", "Jordan Lee", "Chris Novak", "Dana Ruiz", "Priya Shah", "Tom Becker")
HEADER_LINES = (
    "{name} | Local news you can trust",
    "Home > News > World > {section}",
    "By {person}, {name} staff writer",
    "Listen to this article",
    "Share on Facebook Share on Twitter Email this story",
    "{name} {section} newsletter: the stories that matter, every morning",
)
FOOTER_LINES = (
    "Copyright 2022 {name}. All rights reserved. This material may not be published, broadcast or rewritten.",
    "Sign up for the {name} newsletter and get the day's top {section} stories in your inbox.",
    "Follow {name} on Facebook, Twitter and Instagram for the latest updates.",
    "Have a news tip? Email our newsroom at tips@{domain} or call us any time.",
    "Comments are closed for this article.",
    "Support independent journalism: subscribe to {name} from $1 a week.",
)
ADS = ("ADVERTISEMENT", "Advertisement - scroll to continue", "Story continues below advertisement", "Sponsored")
UPDATES = (
    "UPDATE: This story has been updated with a statement from {who}.",
    "UPDATE ({hour}:{minute:02d} p.m.): {who} did not immediately respond to a request for comment.",
    "Editor's note: This article was updated at {hour}:{minute:02d} to include a response from {who}.",
)


@dataclass(frozen=True)
class Original:
    key: str
    title: str
    body: str
    site: str
    published_at: datetime


@dataclass(frozen=True)
class Outlet:
    name: str
    domain: str
    header: tuple[str, ...]
    footer: tuple[str, ...]


@dataclass
class LabelledSet:
    """Articles with their true group (the original's key) and the labelled hard negatives."""

    articles: list[Article]
    group: dict[str, str]  # article_id -> key of the original it copies (or is)
    outlet: dict[str, str]  # article_id -> outlet domain (copies only)
    negatives: dict[str, set[frozenset[str]]]  # kind -> pairs of original keys that must stay apart


def read_originals(split: str, seed: int) -> list[Original]:
    """The seeds plus every other benchmark body: even positions for "tune", odd for "held-out"."""
    rng = random.Random(f"{seed}-{split}-times")
    event = START + timedelta(days=4, hours=9)
    originals = []
    for path in sorted((REPO / "seeds").glob("*.txt")):
        article = extract_document(path.read_bytes(), path.as_uri(), "text")
        title = article.title or first_words(article.text)
        when = event + timedelta(minutes=rng.randrange(0, 600))
        originals.append(Original(path.name[:3], title, article.text, "seed.example", when))
    truth = json.loads(BENCHMARK.read_text(encoding="utf-8"))
    for key in sorted(truth)[{"tune": 0, "held-out": 1}[split] :: 2]:
        body, url = truth[key]["articleBody"], truth[key]["url"]
        if len(tokens_for_shingling(body)[0]) < MIN_TOKENS:
            continue
        when = START + timedelta(minutes=rng.randrange(0, 14 * 24 * 60))
        originals.append(Original(key[:12], title_from_url(url, body), body, urlparse(url).netloc, when))
    return originals


def title_from_url(url: str, body: str) -> str:
    """A headline from the URL slug, or the body's first words when the slug is not words."""
    slug = max(urlparse(url).path.split("/"), key=lambda part: part.count("-"))
    words = [w for w in slug.split("-") if w.isalpha()]
    return " ".join(words).capitalize() if len(words) >= 3 else first_words(body)


def first_words(text: str) -> str:
    """A headline-sized start of the text (100 characters at most: scripts without spaces have few "words")."""
    return " ".join(text.split()[:10])[:100]


def make_outlets(rng: random.Random, count: int) -> list[Outlet]:
    """Fake outlets, each with fixed header and footer lines (its site template)."""
    names = [f"{town} {paper}" for town, paper in itertools.product(TOWNS.split(), PAPERS.split())]
    outlets = []
    for name in rng.sample(names, count):
        domain = name.lower().replace(" ", "") + ".example"
        fields = {"name": name, "domain": domain, "person": rng.choice(PEOPLE), "section": rng.choice(("World", "US"))}
        header = tuple(line.format(**fields) for line in rng.sample(HEADER_LINES, rng.randint(1, 3)))
        footer = tuple(line.format(**fields) for line in rng.sample(FOOTER_LINES, rng.randint(1, 3)))
        outlets.append(Outlet(name, domain, header, footer))
    return outlets


def rewrite_headline(title: str, outlet: Outlet, rng: random.Random) -> str:
    """A prefix, the outlet's name, the halves swapped, or a shortened headline."""
    words = title.split()
    style = rng.randrange(4)
    if style == 0:
        return f"{rng.choice(('BREAKING:', 'WATCH:', 'Report:', 'Analysis:'))} {title}"
    if style == 1:
        return f"{title} | {outlet.name}"
    if style == 2 and len(words) > 4:
        cut = rng.randint(2, len(words) - 2)
        return " ".join(words[cut:] + ["-"] + words[:cut])
    return " ".join(words[: max(3, len(words) * 2 // 3)]) + "..."


def take_words(paragraphs: list[str], budget: int) -> list[str]:
    """Paragraphs from the start until `budget` words, the last one cut at a word."""
    kept = []
    for paragraph in paragraphs:
        if budget <= 0:
            break
        words = paragraph.split()
        kept.append(" ".join(words[:budget]))
        budget -= len(words)
    return kept


def split_paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def follow_up_text(original: Original, own_body: str, rng: random.Random) -> str:
    """A different article on the same event: its own reporting (a body from the other split, so it matches
    nothing else in the set) plus background paragraphs of the original, 10-40% of the shorter text's words."""
    own = take_words(split_paragraphs(own_body), rng.randint(150, 600))
    paragraphs = split_paragraphs(original.body)
    shorter = min(sum(len(p.split()) for p in own), sum(len(p.split()) for p in paragraphs))
    start = rng.randrange(len(paragraphs))
    reused = take_words(paragraphs[start:] + paragraphs[:start], int(shorter * rng.uniform(0.1, 0.4)))
    return "\n\n".join([*own[:1], *reused, *own[1:]])


def insert_between(paragraphs: list[str], lines: list[str], rng: random.Random) -> list[str]:
    result = list(paragraphs)
    for line in lines:
        result.insert(rng.randint(1, max(1, len(result) - 1)), line)
    return result


def make_caption(title: str, rng: random.Random) -> str:
    words = title.split()[: rng.randint(4, 8)]
    credit = f"{rng.choice(PEOPLE)}/{rng.choice(AGENCIES)}"
    return rng.choice((f"{' '.join(words)}. (Photo: {credit})", f"(Image credit: {credit})", f"Photo: {credit}"))


def restyle_quotes(text: str, rng: random.Random) -> str:
    """Smart quotes to straight ones, or straight double quotes to smart pairs."""
    if rng.random() < 0.5:
        return text.translate(str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"}))
    quotes = itertools.cycle(("\u201c", "\u201d"))
    return re.sub('"', lambda _: next(quotes), text).replace("'", "\u2019")


def respell(text: str, rng: random.Random) -> str:
    """US to UK spelling or back, keeping a leading capital."""
    table = US_UK if rng.random() < 0.5 else UK_US
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, table)) + r")\b", re.IGNORECASE)

    def swap(match: re.Match) -> str:
        word = table[match.group(0).lower()]
        return word.capitalize() if match.group(0)[0].isupper() else word

    return pattern.sub(swap, text)


def edit_words(paragraphs: list[str], rng: random.Random) -> list[str]:
    """A few words dropped or replaced by another word of the article."""
    result = [p.split() for p in paragraphs]
    for _ in range(rng.randint(1, 6)):
        words = rng.choice(result)
        if len(words) < 3:
            continue
        position = rng.randrange(len(words))
        if rng.random() < 0.5:
            del words[position]
        else:
            words[position] = rng.choice(rng.choice(result) or ["said"])
    return [" ".join(words) for words in result if words]


def copy_text(original: Original, outlet: Outlet, rng: random.Random, headline: str, other_title: str) -> str:
    """The copy's clean text as an extractor would leave it: body, changes and some outlet boilerplate."""
    paragraphs = split_paragraphs(original.body)
    chosen = {change for change, chance in CHANGES.items() if rng.random() < chance}
    if "truncate" in chosen:
        words = sum(len(p.split()) for p in paragraphs)
        paragraphs = take_words(paragraphs, int(words * rng.uniform(0.5, 0.9)))
    if "edits" in chosen:
        paragraphs = edit_words(paragraphs, rng)
    if "ads" in chosen:
        paragraphs = insert_between(paragraphs, rng.choices(ADS, k=rng.randint(1, 3)), rng)
    if "captions" in chosen:
        paragraphs = insert_between(paragraphs, [make_caption(original.title, rng) for _ in range(2)], rng)
    if "update" in chosen:
        update = rng.choice(UPDATES).format(
            who=rng.choice(("the company", "the agency", "officials", "a spokesperson")),
            hour=rng.randint(1, 11),
            minute=rng.randrange(60),
        )
        paragraphs = [update, *paragraphs] if rng.random() < 0.5 else [*paragraphs, update]
    header = list(outlet.header) + ([headline] if rng.random() < 0.5 else [])
    text = "\n\n".join([*header, *paragraphs, f"Read more: {other_title}", *outlet.footer])
    if "quotes" in chosen:
        text = restyle_quotes(text, rng)
    if "spelling" in chosen:
        text = respell(text, rng)
    return text


def build_set(
    originals: list[Original],
    seed: int,
    own_bodies: list[str] = (),
    syndicated: float = 1.0,
    max_copies: int = 5,
    outlets: int = 40,
) -> LabelledSet:
    """Originals; a `syndicated` share of them get 0..max_copies copies from different outlets 1-48 hours later,
    and a quarter of them (while `own_bodies` last) a follow-up: a different article on the same event."""
    rng = random.Random(seed)
    sites = make_outlets(rng, outlets)
    own_bodies = rng.sample(list(own_bodies), len(own_bodies))
    labelled = LabelledSet([], {}, {}, {"follow-up": set()})
    for original in originals:
        uri = f"https://{original.site}/{original.key}"
        add_article(labelled, original.key, uri, original.title, original.body, original.published_at, None)
        copies = rng.randint(0, max_copies) if rng.random() < syndicated else 0
        for number, outlet in enumerate(rng.sample(sites, copies)):
            headline = rewrite_headline(original.title, outlet, rng)
            text = copy_text(original, outlet, rng, headline, rng.choice(originals).title)
            when = original.published_at + timedelta(minutes=rng.randrange(60, 48 * 60))
            add_article(labelled, original.key, f"https://{outlet.domain}/news/{original.key}-{number}", headline,
                        text, when, outlet)  # fmt: skip
        if own_bodies and rng.random() < 0.25:
            outlet, key = rng.choice(sites), f"{original.key}-follow-up"
            text = "\n\n".join([*outlet.header, follow_up_text(original, own_bodies.pop(), rng), *outlet.footer])
            when = original.published_at + timedelta(minutes=rng.randrange(6 * 60, 30 * 60))
            add_article(labelled, key, f"https://{outlet.domain}/news/{key}", f"Latest: {original.title}", text,
                        when, outlet)  # fmt: skip
            labelled.negatives["follow-up"].add(frozenset((original.key, key)))
    return labelled


def add_article(
    labelled: LabelledSet, key: str, url: str, title: str, text: str, published: datetime, outlet: Outlet | None
) -> None:
    article = Article(
        source_uri=url,
        text=text,
        word_count=count_words(text),
        content_hash=content_hash(text),
        raw_sha256=url,
        title=title,
        site_name=outlet.name if outlet else urlparse(url).netloc,
        url=url,
        published_at=published,
    )
    labelled.articles.append(article)
    labelled.group[article.article_id] = key
    if outlet:
        labelled.outlet[article.article_id] = outlet.domain


def label_negatives(originals: list[Original]) -> dict[str, set[frozenset[str]]]:
    """Pairs of different originals that must stay apart: same event (seeds), same topic, same site."""
    keys = {o.key for o in originals}
    pairs = {
        "seed event": {frozenset(p) for p in itertools.combinations(SEED_EVENT, 2) if keys.issuperset(p)},
        "same topic": set(),
        "same site": set(),
    }
    vectors = topic_vectors(originals)
    for a, b in itertools.combinations(originals, 2):
        if a.site == b.site and a.site != "seed.example":
            pairs["same site"].add(frozenset((a.key, b.key)))
        va, vb = vectors[a.key], vectors[b.key]
        if sum(w * vb.get(t, 0.0) for t, w in va.items()) >= SAME_TOPIC_COSINE:
            pairs["same topic"].add(frozenset((a.key, b.key)))
    return pairs


def topic_vectors(originals: list[Original]) -> dict[str, dict[str, float]]:
    """Unit TF-IDF vectors of the bodies' words, document frequencies over the originals."""
    terms = {o.key: Counter(re.findall(r"[^\W\d_]{3,}", o.body.lower())) for o in originals}
    df = Counter(t for counts in terms.values() for t in counts)
    vectors = {}
    for key, counts in terms.items():
        weights = {t: (1 + math.log(n)) * math.log(len(originals) / df[t]) for t, n in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vectors[key] = {t: w / norm for t, w in weights.items()}
    return vectors


def generate(split: str, seed: int) -> LabelledSet:
    """The labelled set of one split; follow-ups take their own reporting from the other split's bodies."""
    other = {"tune": "held-out", "held-out": "tune"}[split]
    own_bodies = [o.body for o in read_originals(other, seed) if o.site != "seed.example"]
    originals = read_originals(split, seed)
    labelled = build_set(originals, seed, own_bodies)
    labelled.negatives |= label_negatives(originals)
    return labelled
