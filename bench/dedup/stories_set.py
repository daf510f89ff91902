"""A labelled story set (issue 19): real articles of hand-labelled events, outlets with recurring furniture.

Articles are the five seeds and the benchmark's ground-truth bodies (read at run time from ../shared), labelled
by hand into events (EVENTS: several outlets' coverage of one event; every other body is an event of its own).
Events that share vocabulary sit close in time: eight spaceflight events (the Roscosmos ISS video, Europa's
water vapour, NASA's lunar landers, hibernating astronauts, the SLS core stage...) within days 10-20, and the
market and company events (a day's markets, Home Depot earnings, US-China trade, two WeWork events...) within
days 12-22; the rest spread over six weeks. Events with two or more real articles also get 1-3 generated
rewrites from other outlets (sentences drawn from the event's articles), so events have more outlets. Most of
an event's articles follow its first within 36 hours, a fifth 2-6 days later (follow-up coverage).

Each article appears at one of 12 fake outlets, and each outlet repeats its furniture in every article, within
the first 300 words: a cookie notice at the top, a newsletter sign-up line on its beat after the first
paragraph, and a "Read more" block of three fixed headlines after the second.

`repeat(articles, times)` is the density test: the whole set again at 10-day shifts, each shift's articles
labelled as events of their own; every copy's sentences have their words shuffled (the same bag of words, so
the same story features, but no shared 4-word shingles: dedup cannot join the shifts).
"""

from __future__ import annotations

import random
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import BENCHMARK, title_from_url  # noqa: E402

from extractors import Article, extract_document  # noqa: E402
from extractors.normalize import content_hash, count_words  # noqa: E402

START = datetime(2022, 9, 5)
SPACE = {
    "roscosmos-iss-video": ("000", "001", "003", "004"),
    "russia-space-allies": ("002",),
    "europa-water-vapour": ("14cc2a0ca59c", "686bb170effe", "f344ca5fb36e"),
    "nasa-lunar-landers": ("42aad16bde92", "c50845a7158a", "d1c57d7821e5"),
    "hibernating-astronauts": ("b37be3535e1f", "e1c7023ee214"),
    "titan-geological-map": ("359fee228518",),
    "universe-simulation": ("3c5bf8db4272",),
    "sls-core-stage": ("c00962aabe7b",),
}
MARKETS = {
    "markets-trade-doubts": ("57d46c9d751e", "d605bdef2cde"),
    "home-depot-earnings": ("51374560f400", "f8ff621a0b9b"),
    "alibaba-hong-kong-listing": ("360c732d1fdb",),
    "coty-kylie-stock": ("ffc109d474fd",),
    "us-car-sales-october": ("9ebb3af65694",),
    "emirates-boeing-order": ("374ac9a59a85",),
    "sensex-record-high": ("65408257dbe4",),
    "trump-farm-purchases": ("702d1da63b8e",),
    "phase-one-trade-deal": ("39d5c43beb60",),
    "tariffs-guide": ("b6906ca016bb",),
    "wework-attorney-general": ("06e5123e4ef7", "1ace8c85aaee"),
    "wework-layoffs": ("bc13ff87b263",),
    "gannett-gatehouse-merger": ("8634d1211c3f",),
}
OTHER = {
    "feather-duvet-lung": ("7bb1ca903543", "9eef8162bbb6", "a078b3656adc", "bd673bd79881"),
    "bubonic-plague-china": ("432362af0be4", "8b1945303082", "ba4dfe2d3e81", "ea25dd7edff4"),
    "meth-were-on-it": ("156770d676ce", "3f65af7b6b98", "776a1c046798", "c13b9c0e04fb"),
    "doobie-brothers-reunion": ("35b158918c67", "9cb8224b660f", "ac1bfdd4c510"),
    "fort-worth-kidnap-rescue": ("2c46804d9db4", "51d066b0602c"),
    "omar-threat-guilty-plea": ("6ebac05f637e", "7a457a4f7173"),
    "impeachment-third-hearing": ("7a664e40d256", "c90731f051d0"),
    "prince-andrew-interview": ("87bf60570e6e", "1f765c487806"),
    "stadia-launch": ("680c2848e94a", "8267acacb9e4", "e100c9612ad8", "aade2ec8d1e7"),
    "garrett-rudolph-fight": ("08f793762792", "7ab16ade3238"),
}
EVENTS = {**SPACE, **MARKETS, **OTHER}
BEATS = ("space", "science", "business", "markets", "politics", "technology", "sports", "world")
OUTLET_NAMES = (
    "Orbital Times", "Launchpad Daily", "Market Ledger", "City Business Wire", "Capitol Report", "Tech Current",
    "Evening Sentinel", "Global Dispatch", "Harbor Herald", "Northern Star", "Metro Chronicle", "Signal News",
)  # fmt: skip


@dataclass(frozen=True)
class Outlet:
    name: str
    domain: str
    furniture: tuple[str, str, str]  # top, after the first paragraph, after the second


@dataclass
class StorySet:
    articles: list[Article]
    event: dict[str, str]  # article_id -> labelled event
    outlet: dict[str, str]  # article_id -> outlet name


def read_sources() -> list[tuple[str, str, str, str]]:
    """(key, title, body, site) of the seeds and the benchmark bodies."""
    sources = []
    for path in sorted((REPO / "seeds").glob("*.txt")):
        article = extract_document(path.read_bytes(), path.as_uri(), "text")
        sources.append((path.name[:3], article.title or article.text[:80], article.text, "seed.example"))
    truth = __import__("json").loads(BENCHMARK.read_text(encoding="utf-8"))
    for key in sorted(truth):
        body, url = truth[key]["articleBody"], truth[key]["url"]
        sources.append((key[:12], title_from_url(url, body), body, urlparse(url).netloc))
    return sources


def make_outlets(rng: random.Random, titles: list[str]) -> list[Outlet]:
    outlets = []
    for name in OUTLET_NAMES:
        domain = name.lower().replace(" ", "") + ".example"
        beat = rng.choice(BEATS)
        cookie = f"We use cookies to improve your experience on {name}. By continuing you accept our cookie policy."
        newsletter = (
            f"Sign up for the {name} {beat} newsletter: the day's top {beat} stories, in your inbox every morning."
        )
        read_more = "Read more: " + " | ".join(rng.sample(titles, 3))
        outlets.append(Outlet(name, domain, (cookie, newsletter, read_more)))
    return outlets


def sentences(body: str) -> list[str]:
    return [s for p in body.split("\n\n") for s in re.split(r"(?<=[.!?])\s+", p.strip()) if s]


def rewrite(bodies: list[str], rng: random.Random, budget: int = 350) -> str:
    """A new article on the event: the lead of one source, then sentences drawn from all, in source order."""
    pools = [sentences(b) for b in bodies]
    lead = rng.choice(pools)[0]
    picked = sorted((i, s) for pool in pools for i, s in enumerate(pool[1:], 1) if rng.random() < 0.3)
    words, paragraphs, paragraph = len(lead.split()), [lead], []
    for _, sentence in picked:
        if words > budget:
            break
        paragraph.append(sentence)
        words += len(sentence.split())
        if len(paragraph) == 3:
            paragraphs.append(" ".join(paragraph))
            paragraph = []
    return "\n\n".join(paragraphs + ([" ".join(paragraph)] if paragraph else []))


def with_furniture(body: str, outlet: Outlet) -> str:
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    top, after_first, after_second = outlet.furniture
    return "\n\n".join([top, *paragraphs[:1], after_first, *paragraphs[1:2], after_second, *paragraphs[2:]])


def make_article(url: str, title: str, text: str, when: datetime) -> Article:
    return Article(
        source_uri=url,
        text=text,
        word_count=count_words(text),
        content_hash=content_hash(text),
        raw_sha256=url,
        title=title,
        site_name=urlparse(url).netloc,
        url=url,
        published_at=when,
    )


def delay(rng: random.Random) -> float:
    """Hours after the event's first article: most coverage within 36 hours, a fifth 2-6 days later."""
    return rng.uniform(1, 36) if rng.random() < 0.8 else rng.uniform(48, 144)


def generate_stories(seed: int = 1, furniture: bool = True) -> StorySet:
    rng = random.Random(f"{seed}-stories")
    sources = read_sources()
    outlets = make_outlets(rng, [title for _, title, _, _ in sources])
    event_of = {key: event for event, keys in EVENTS.items() for key in keys}
    by_event: dict[str, list[tuple[str, str, str, str]]] = {}
    for source in sources:
        by_event.setdefault(event_of.get(source[0], source[0]), []).append(source)
    dates = {}
    for event in by_event:
        window = (10, 20) if event in SPACE else (12, 22) if event in MARKETS else (0, 42)
        dates[event] = START + timedelta(days=rng.uniform(*window))
    story_set = StorySet([], {}, {})

    def add(event: str, key: str, title: str, body: str, outlet: Outlet, when: datetime) -> None:
        text = with_furniture(body, outlet) if furniture else body
        article = make_article(f"https://{outlet.domain}/{event}/{key}", title, text, when)
        story_set.articles.append(article)
        story_set.event[article.article_id] = event
        story_set.outlet[article.article_id] = outlet.name

    for event, members in by_event.items():
        for number, (key, title, body, _) in enumerate(members):
            when = dates[event] + timedelta(hours=0 if number == 0 else delay(rng))
            add(event, key, title, body, rng.choice(outlets), when)
        if len(members) >= 2:
            for number in range(rng.randint(1, 3)):
                title = rng.choice(members)[1]
                words = title.split()
                title = " ".join(words[len(words) // 2 :] + words[: len(words) // 2]) if len(words) > 3 else title
                when = dates[event] + timedelta(hours=delay(rng))
                add(event, f"rewrite-{number}", title, rewrite([m[2] for m in members], rng), rng.choice(outlets), when)
    return story_set


def shuffle_words(text: str, rng: random.Random, keep: set[str]) -> str:
    """Each sentence's words in a random order; lines in `keep` (the outlet's furniture) stay as they are."""
    paragraphs = []
    for paragraph in text.split("\n\n"):
        if paragraph in keep:
            paragraphs.append(paragraph)
            continue
        shuffled = []
        for sentence in sentences(paragraph):
            words = sentence.split()
            rng.shuffle(words)
            shuffled.append(" ".join(words))
        paragraphs.append(" ".join(shuffled))
    return "\n\n".join(paragraphs)


def repeat(story_set: StorySet, times: int, shift_days: int = 10, seed: int = 1) -> StorySet:
    """The set `times` times at `shift_days` shifts, every copy's words shuffled within sentences (furniture
    kept); copies of shift r are labelled (event, r)."""
    rng = random.Random(f"{seed}-repeat")
    furniture = {line for article in story_set.articles for line in article.text.split("\n\n")[:1]}
    furniture |= {
        p for a in story_set.articles for p in a.text.split("\n\n") if p.startswith(("Sign up for", "Read more: "))
    }
    repeated = StorySet([], {}, {})
    for shift in range(times):
        for article in story_set.articles:
            text = shuffle_words(article.text, rng, furniture)
            copy = make_article(f"{article.url}/x{shift}", article.title, text,
                                article.published_at + timedelta(days=shift * shift_days))  # fmt: skip
            repeated.articles.append(copy)
            repeated.event[copy.article_id] = f"{story_set.event[article.article_id]}@{shift}"
            repeated.outlet[copy.article_id] = story_set.outlet[article.article_id]
    return repeated
