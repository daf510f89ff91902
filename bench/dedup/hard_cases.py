"""Labelled hard cases for near-duplicates (issue 19), generated per split next to generate.py's set.

Classes (each article has one; `group` is its true duplicate group):

- templated: daily reports on one template (templates.py), 5-7 consecutive days per family, two families of
  each of the four kinds per set; every day is its own group (negatives: all pairs of the same kind).
- templated pickup: an outlet's pickup of one templated report that corrects one figure: a copy of that day.
- updated pickup: an outlet's pickup of a real body that corrects one figure or adds an "UPDATE:" line.
- truncation: a 160-word start of a real body and pickups cut to 20%, 35% and 60% of it (32, 56, 96 words)
  plus one full-length pickup, each with its outlet's header and footer: one group.
- stub: pages whose whole text is the same short stub (a Messenger line, a cookie or paywall notice...),
  titled after unrelated events, on days 0, 5, 88 and 93: every page its own group.
- undated copy: an undated original (a plain file: seed 000 and real bodies) loaded and deduplicated first,
  then three undated pickups (longer: outlet header, footer, an update line) loaded in a later run. The
  original must stay canonical.

Bodies come from the split's originals (read_originals: seeds plus even or odd benchmark bodies), each used by
one class only. The templated wording is the first of templates.py on "tune", the second on "held-out".
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from generate import LabelledSet, Outlet, add_article, make_outlets, read_originals, split_paragraphs, take_words
from templates import TEMPLATES, family_fields, report

START = datetime(2022, 6, 1)
CLASSES = ("templated", "templated pickup", "updated pickup", "truncation", "stub", "undated copy")
STUBS = (
    "Chat with us in Facebook Messenger. Find out what's happening in the world as it unfolds.",
    "We use cookies to improve your experience on our site. By continuing to browse you agree to our use of cookies.",
    "Subscribe to continue reading. You have reached your limit of free articles this month.",
    "This video is no longer available. Please check back later for more news from our team.",
    "Please enable JavaScript in your browser to view this content.",
)
STUB_DAYS = (0, 5, 88, 93)
TRUNCATIONS = (0.2, 0.35, 0.6)
TRUNCATED_WORDS = 160


@dataclass
class HardSet:
    articles: list  # every article, in load order
    late: set[str] = field(default_factory=set)  # article ids loaded after the first dedup run
    group: dict[str, str] = field(default_factory=dict)  # article_id -> true group
    kind: dict[str, str] = field(default_factory=dict)  # article_id -> class
    negatives: dict[str, set[frozenset[str]]] = field(default_factory=dict)  # class -> pairs of groups kept apart
    originals: dict[str, str] = field(default_factory=dict)  # undated family -> the original's article id
    families: list[list[str]] = field(default_factory=list)  # templated families (article ids, by day)
    outlet: dict[str, str] = field(default_factory=dict)  # empty: read by evaluate.count_outcomes (same template)


class _Builder:
    def __init__(self, seed: int, split: str) -> None:
        self.rng = random.Random(f"{seed}-{split}-hard")
        self.outlets = make_outlets(self.rng, 40)
        self.hard = HardSet([])
        self.late: list = []
        self.labelled = LabelledSet([], {}, {}, {})

    def add(self, group: str, kind: str, url: str, title: str, text: str, when: datetime | None,
            outlet: Outlet | None = None, late: bool = False) -> str:  # fmt: skip
        add_article(self.labelled, group, url, title, text, when, outlet)
        article = self.labelled.articles.pop()
        (self.late if late else self.hard.articles).append(article)
        if late:
            self.hard.late.add(article.article_id)
        self.hard.group[article.article_id] = group
        self.hard.kind[article.article_id] = kind
        return article.article_id

    def wrap(self, outlet: Outlet, paragraphs: list[str], extra: list[str] = ()) -> str:
        return "\n\n".join([*outlet.header, *extra, *paragraphs, *outlet.footer])


def correct_one_figure(text: str, rng: random.Random) -> str | None:
    """The text with one number changed (a corrected figure), or None when it has no number."""
    numbers = [m for m in re.finditer(r"\d+(?:[.,]\d+)*", text) if not re.fullmatch(r"(19|20)\d\d", m.group())]
    if not numbers:
        return None
    match = rng.choice(numbers)
    digits = list(match.group())
    positions = [i for i, c in enumerate(digits) if c.isdigit()]
    position = positions[-1] if len(positions) == 1 else rng.choice(positions[1:])
    digits[position] = str((int(digits[position]) + rng.randint(1, 8)) % 10)
    return text[: match.start()] + "".join(digits) + text[match.end() :]


def generate_hard(split: str, seed: int) -> HardSet:
    b = _Builder(seed, split)
    rng, hard = b.rng, b.hard
    wording = {"tune": 0, "held-out": 1}[split]
    # Templated families: two per kind, days in a row; one day of each family picked up with a corrected figure.
    hard.negatives = {"templated": set(), "stub": set()}
    day0 = START
    for kind in TEMPLATES:
        keys_of_kind = []
        for family_number in range(2):
            family = family_fields(kind, rng)
            days = rng.randint(5, 7)
            picked_up = rng.randrange(days)
            first = day0 + timedelta(days=rng.randint(0, 20))
            ids = []
            for day in range(days):
                when = first + timedelta(days=day, hours=16, minutes=rng.randrange(60))
                title, text, _ = report(kind, wording, when, family, rng)
                key = f"tmpl-{kind.split()[0]}-{family_number}-{day}"
                site = f"{kind.split()[0]}desk{family_number}.example"
                ids.append(b.add(key, "templated", f"https://{site}/{key}", title, text, when))
                keys_of_kind.append(key)
                if day == picked_up:
                    outlet = rng.choice(b.outlets)
                    fixed = correct_one_figure(text, rng)
                    b.add(
                        key,
                        "templated pickup",
                        f"https://{outlet.domain}/news/{key}",
                        title,
                        b.wrap(outlet, split_paragraphs(fixed)),
                        when + timedelta(hours=rng.randint(1, 6)),
                        outlet,
                    )
            hard.families.append(ids)
        hard.negatives["templated"] |= {frozenset(p) for p in itertools.combinations(keys_of_kind, 2)}
    # Real bodies, each used by one class.
    bodies = [o for o in read_originals(split, seed) if o.site != "seed.example"]
    seeds = {o.key: o for o in read_originals(split, seed) if o.site == "seed.example"}
    rng.shuffle(bodies)
    numbered = [o for o in bodies if correct_one_figure(o.body, random.Random(0))]
    pickups = numbered[:8]
    rest = [o for o in bodies if o not in pickups]
    long_enough = [o for o in rest if len(o.body.split()) >= TRUNCATED_WORDS + 40 and o.body.isascii()]
    truncated = long_enough[:6]
    rest = [o for o in rest if o not in truncated]
    undated = [seeds["000"], *rest[:3]]
    titles = [o.title for o in rest[3:]]
    for number, original in enumerate(pickups):
        key = f"upd-{original.key}"
        when = START + timedelta(days=rng.randint(0, 40), hours=rng.randint(6, 20))
        b.add(key, "updated pickup", f"https://{original.site}/{original.key}", original.title, original.body, when)
        outlet = rng.choice(b.outlets)
        paragraphs = split_paragraphs(original.body)
        if number % 2:
            paragraphs = split_paragraphs(correct_one_figure(original.body, rng))
            extra = []
        else:
            extra = [
                f"UPDATE: This story was updated at {rng.randint(1, 11)}:{rng.randrange(60):02d} p.m. with "
                f"new information from {rng.choice(('officials', 'the company', 'police', 'a spokesperson'))}."
            ]
        b.add(
            key,
            "updated pickup",
            f"https://{outlet.domain}/news/{key}",
            f"UPDATE: {original.title}",
            b.wrap(outlet, paragraphs, extra),
            when + timedelta(hours=rng.randint(1, 30)),
            outlet,
        )
    for original in truncated:
        key = f"trunc-{original.key}"
        paragraphs = take_words(split_paragraphs(original.body), TRUNCATED_WORDS)
        when = START + timedelta(days=rng.randint(0, 40), hours=rng.randint(6, 20))
        b.add(
            key, "truncation", f"https://{original.site}/{original.key}", original.title, "\n\n".join(paragraphs), when
        )
        for share in (*TRUNCATIONS, 1.0):
            outlet = rng.choice(b.outlets)
            cut = take_words(paragraphs, round(TRUNCATED_WORDS * share))
            b.add(
                key,
                "truncation",
                f"https://{outlet.domain}/news/{key}-{share}",
                original.title,
                b.wrap(outlet, cut),
                when + timedelta(hours=rng.randint(1, 30)),
                outlet,
            )
    for number, stub in enumerate(STUBS):
        site = rng.choice(b.outlets)
        keys = []
        first = START + timedelta(days=rng.randint(0, 20))
        for day in STUB_DAYS:
            title = titles.pop() if titles else f"Story {number}-{day}"
            key = f"stub-{number}-{day}"
            b.add(
                key,
                "stub",
                f"https://{site.domain}/{key}",
                title,
                stub,
                first + timedelta(days=day, hours=rng.randint(6, 20)),
                site,
            )
            keys.append(key)
        hard.negatives["stub"] |= {frozenset(p) for p in itertools.combinations(keys, 2)}
    for original in undated:
        key = f"undated-{original.key}"
        hard.originals[key] = b.add(
            key, "undated copy", f"file:///plain/{original.key}.txt", original.title, original.body, None
        )
        for number in range(3):
            outlet = rng.choice(b.outlets)
            update = f"UPDATE: This story has been updated with a statement from {rng.choice(('officials', 'NASA'))}."
            b.add(
                key,
                "undated copy",
                f"file:///plain/{outlet.domain}-{original.key}-{number}.txt",
                f"{original.title} | {outlet.name}",
                b.wrap(outlet, split_paragraphs(original.body), [update]),
                None,
                outlet,
                late=True,
            )
    hard.articles += b.late
    return hard
