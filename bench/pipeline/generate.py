"""A corpus of generated news pages for the pipeline benchmark, deterministic in its seed.

Bodies are sentences of words drawn with the word frequencies of the article-extraction benchmark's
ground-truth bodies (read from ../shared at run time, never copied here); 3% of originals are German,
Italian, Portuguese, Russian or Indonesian, drawn from that language's benchmark bodies. Each page is
wrapped in one of four site templates (head metadata, scripts, nav, related links, newsletter box, comments,
footer); 15% of pages are syndicated copies of an earlier original on another site, with a new headline,
the site's boilerplate and, half the time, the body cut to 50-90% of its paragraphs.

Run alone: `python bench/pipeline/generate.py DIR [--docs N] [--seed S]`.
"""

from __future__ import annotations

import argparse
import html
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
BENCHMARK = REPO.parent / "shared" / "eval" / "article-extraction-benchmark"
LANGUAGES_FILE = REPO / "bench" / "extraction" / "languages.json"
OTHER_LANGUAGES = ("de", "it", "pt", "ru", "id")  # space-separated scripts, so word sampling makes sense
FOREIGN_SHARE = 0.03
SYNDICATED_SHARE = 0.15
FILES_PER_FOLDER = 1000
START = datetime(2024, 1, 1)
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Site:
    name: str
    host: str
    sections: tuple[str, ...]


SITES = (
    Site("Riverton Courier", "courier.example", ("World", "Politics", "Business", "Science", "Sport", "Culture")),
    Site("Lakeview Daily Herald", "herald.example", ("News", "Local", "Economy", "Tech", "Opinion", "Health")),
    Site("Northgate Wire", "wire.example", ("Top stories", "Markets", "Energy", "Space", "Climate")),
    Site("Bayside Observer", "observer.example", ("Home", "Region", "Nation", "World", "Arts", "Weather")),
)


class Vocabulary:
    """Words drawn with their frequency in a set of bodies."""

    def __init__(self, bodies: list[str]):
        counts = Counter(w for body in bodies for w in _WORD.findall(body.lower()))
        self.words = np.array(list(counts))
        cdf = np.cumsum(np.array(list(counts.values()), dtype=float))
        self.cdf = cdf / cdf[-1]

    def draw(self, rng: np.random.Generator, count: int) -> list[str]:
        return self.words[np.searchsorted(self.cdf, rng.random(count))].tolist()


def load_vocabularies() -> dict[str, Vocabulary]:
    """English and one vocabulary per language in OTHER_LANGUAGES, from the benchmark bodies."""
    truth = json.loads((BENCHMARK / "ground-truth.json").read_text(encoding="utf-8"))
    labels = json.loads(LANGUAGES_FILE.read_text(encoding="utf-8"))
    by_language: dict[str, list[str]] = {}
    for page_id, page in truth.items():
        by_language.setdefault(labels.get(page_id, "en"), []).append(page["articleBody"])
    return {code: Vocabulary(by_language[code]) for code in ("en", *OTHER_LANGUAGES)}


def make_paragraphs(words: list[str], rng: np.random.Generator) -> list[str]:
    """Sentences of 8-30 words, 2-6 sentences a paragraph."""
    sentences, at = [], 0
    while at < len(words):
        length = int(rng.integers(8, 31))
        sentence = " ".join(words[at : at + length])
        sentences.append(sentence[:1].upper() + sentence[1:] + ".")
        at += length
    paragraphs, at = [], 0
    while at < len(sentences):
        length = int(rng.integers(2, 7))
        paragraphs.append(" ".join(sentences[at : at + length]))
        at += length
    return paragraphs


def headline(vocabulary: Vocabulary, rng: np.random.Generator) -> str:
    text = " ".join(vocabulary.draw(rng, int(rng.integers(6, 13))))
    return text[:1].upper() + text[1:]


def render_page(
    site: Site,
    number: int,
    title: str,
    paragraphs: list[str],
    when: datetime,
    language: str,
    rng: np.random.Generator,
    vocabulary: Vocabulary,
    note: str | None = None,
) -> str:
    """One article page in `site`'s template."""
    esc = html.escape
    section = site.sections[number % len(site.sections)]
    url = f"https://{site.host}/{section.lower().replace(' ', '-')}/{when:%Y/%m/%d}/{number}.html"
    author = f"{' '.join(w.title() for w in vocabulary.draw(rng, 2))}"
    nav = "".join(f'<li><a href="https://{site.host}/{s.lower()}/">{esc(s)}</a></li>' for s in site.sections)
    related = "".join(
        f'<li><a href="https://{site.host}/story/{int(rng.integers(1_000_000))}.html">{esc(headline(vocabulary, rng))}'
        "</a></li>"
        for _ in range(int(rng.integers(4, 9)))
    )
    comments = "".join(
        f'<li class="comment"><span class="comment-author">{esc(vocabulary.draw(rng, 1)[0].title())}</span>'
        f"<p>{esc(' '.join(vocabulary.draw(rng, int(rng.integers(5, 40)))))}</p></li>"
        for _ in range(int(rng.integers(0, 9)))
    )
    body = []
    for index, paragraph in enumerate(paragraphs):
        body.append(f"<p>{esc(paragraph)}</p>")
        if index == 3 and len(paragraphs) > 8:
            body.append(f"<h2>{esc(headline(vocabulary, rng))}</h2>")
        if index == 5 and number % 3 == 0:
            body.append('<div class="ad-slot" data-slot="inline"><span>Advertisement</span></div>')
    if note:
        body.append(f'<p class="syndication">{esc(note)}</p>')
    script = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": title, "author": author})
    tracker = "".join(f"window.dl.push({{'k{i}':'{int(rng.integers(10**9))}'}});" for i in range(300))
    menu = "".join(
        f'<li><a href="https://{site.host}/topic/{word}/">{esc(word.title())}</a></li>'
        for word in vocabulary.draw(rng, 40)
    )
    return f"""<!DOCTYPE html>
<html lang="{language}"><head><meta charset="utf-8"><title>{esc(title)} | {esc(site.name)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="{esc(paragraphs[0][:160])}">
<meta property="og:title" content="{esc(title)}"><meta property="og:site_name" content="{esc(site.name)}">
<meta property="og:url" content="{url}"><link rel="canonical" href="{url}">
<meta property="article:published_time" content="{when:%Y-%m-%dT%H:%M:%S}+00:00">
<meta name="author" content="{esc(author)}">
<link rel="stylesheet" href="https://{site.host}/static/site.css">
<script type="application/ld+json">{script}</script>
<script>window.dl=window.dl||[];{tracker}</script>
</head><body class="article-page">
<header class="site-header"><a class="logo" href="https://{site.host}/">{esc(site.name)}</a>
<nav class="main-nav"><ul>{nav}</ul><ul class="mega-menu">{menu}</ul></nav>
<form class="search" action="/search"><input name="q" placeholder="Search"><button>Search</button></form></header>
<div class="breadcrumb"><a href="/">Home</a> &gt; <a href="/{section.lower()}/">{esc(section)}</a></div>
<main><article>
<h1 class="headline">{esc(title)}</h1>
<div class="byline">By <a rel="author" href="/authors/{number % 50}">{esc(author)}</a>
<time datetime="{when:%Y-%m-%dT%H:%M:%S}+00:00">{when:%d %B %Y, %H:%M}</time></div>
<ul class="share"><li><a href="#">Share on Facebook</a></li><li><a href="#">Share on X</a></li>
<li><a href="#">Email</a></li></ul>
<div class="article-body">{"".join(body)}</div>
<div class="tags"><a href="/tag/{esc(section.lower())}">{esc(section)}</a></div>
</article>
<aside class="related"><h3>Related stories</h3><ul>{related}</ul></aside>
<div class="newsletter"><h3>Sign up for our newsletter</h3><p>Get the top stories from {esc(site.name)} every
morning.</p><form><input type="email" placeholder="Your email"><button>Subscribe</button></form></div>
<section class="comments" id="comments"><h3>Comments</h3><ol>{comments}</ol>
<p>Leave a Reply. Your email address will not be published.</p></section>
</main>
<footer class="site-footer"><ul><li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li>
<li><a href="/privacy">Privacy policy</a></li><li><a href="/terms">Terms of use</a></li></ul>
<p>© 2024 {esc(site.name)}. All rights reserved.</p></footer>
</body></html>
"""


def generate_corpus(target: Path, docs: int, seed: int = 0) -> dict[str, int]:
    """Write `docs` pages under `target` (folders of 1,000); returns counts by kind."""
    vocabularies = load_vocabularies()
    rng = np.random.default_rng(seed)
    originals: list[tuple[int, str, list[str], datetime, str]] = []  # site, title, paragraphs, when, language
    counts = Counter()
    for number in range(docs):
        folder = target / f"{number // FILES_PER_FOLDER:03d}"
        if number % FILES_PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        when = START + timedelta(minutes=int(number * 2 + rng.integers(0, 120)))
        if originals and rng.random() < SYNDICATED_SHARE:
            site_index, _, paragraphs, _, language = originals[
                int(rng.integers(max(0, len(originals) - 500), len(originals)))
            ]
            site_index = (site_index + int(rng.integers(1, len(SITES)))) % len(SITES)
            if rng.random() < 0.5:
                paragraphs = paragraphs[: max(1, int(len(paragraphs) * rng.uniform(0.5, 0.9)))]
            vocabulary = vocabularies[language]
            title = headline(vocabulary, rng)
            note = f"This story originally appeared on {SITES[(site_index + 1) % len(SITES)].name}."
            kind = "syndicated"
        else:
            language = str(rng.choice(OTHER_LANGUAGES)) if rng.random() < FOREIGN_SHARE else "en"
            vocabulary = vocabularies[language]
            site_index = int(rng.integers(len(SITES)))
            paragraphs = make_paragraphs(vocabulary.draw(rng, int(rng.integers(150, 2001))), rng)
            title, note = headline(vocabulary, rng), None
            originals.append((site_index, title, paragraphs, when, language))
            kind = "original" if language == "en" else f"original_{language}"
        page = render_page(SITES[site_index], number, title, paragraphs, when, language, rng, vocabulary, note)
        (folder / f"{number:06d}.html").write_text(page, encoding="utf-8")
        counts[kind] += 1
    return dict(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="folder to write the pages to")
    parser.add_argument("--docs", type=int, default=20_000, help="number of pages")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(generate_corpus(args.target, args.docs, args.seed))


if __name__ == "__main__":
    main()
