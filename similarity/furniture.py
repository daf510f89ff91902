"""Site furniture (pure): the lines an outlet repeats across many of its articles (a cookie notice, a newsletter
sign-up, a fixed "Read more" block). Learned per outlet by counting in how many of its articles each line occurs
(the warehouse keeps the counts, warehouse/stories.py); a line in `min_articles` or more is furniture and is left
out of the story features. The duplicates side can use the same keys and `strip_furniture`."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping
from urllib.parse import urlsplit

from extractors.normalize import normalize_text


def text_lines(text: str) -> list[str]:
    """The non-empty lines of a text (paragraphs or single lines), stripped."""
    return list(iter_lines(text))


def iter_lines(text: str) -> Iterator[str]:
    """text_lines one at a time, for a reader that may stop early."""
    for line in text.splitlines():
        if line := line.strip():
            yield line


def line_key(line: str) -> int:
    """A stable signed 64-bit key of a line, after normalization, case folding and collapsing of spaces (so
    the same notice with other quotes or spacing is the same line). Fits DuckDB's BIGINT."""
    folded = normalize_text(line)  # already case-folded, spaces collapsed and stripped (as re's \s+ -> " ")
    return int.from_bytes(hashlib.blake2b(folded.encode(), digest_size=8).digest(), "big", signed=True)


def line_keys(text: str) -> list[int]:
    """The distinct keys of a text's lines, in order of first occurrence."""
    return list(dict.fromkeys(line_key(line) for line in text_lines(text)))


def furniture_keys(article_counts: Mapping[int, int], min_articles: int) -> frozenset[int]:
    """The keys of the lines found in at least `min_articles` of one outlet's articles."""
    return frozenset(key for key, count in article_counts.items() if count >= min_articles)


def strip_furniture(text: str, furniture: Collection[int]) -> str:
    """The text without its furniture lines (lines joined by blank lines, as paragraphs)."""
    if not furniture:
        return text
    return "\n\n".join(line for line in text_lines(text) if line_key(line) not in furniture)


def lead_without_furniture(text: str, furniture: Collection[int], words: int) -> str:
    """The first `words` words of the text without its furniture lines, joined by spaces: what
    `" ".join(strip_furniture(text, furniture).split()[:words])` gives, with only the lines up to the lead's last
    word hashed (a story's terms read the lead; the rest of a long text was hashed for nothing)."""
    if words <= 0:
        return " ".join(strip_furniture(text, furniture).split()[:words])
    lead: list[str] = []
    for line in iter_lines(text):
        if furniture and line_key(line) in furniture:
            continue
        lead += line.split()[: words - len(lead)]
        if len(lead) == words:
            break
    return " ".join(lead)


def outlet_of(url: str | None, source_uri: str | None = None, site_name: str | None = None) -> str:
    """The outlet whose furniture a text carries: the host of its canonical URL or of the fetched URI (no
    leading "www."), else the site name, else "" (local files without either share one outlet)."""
    for candidate in (url, source_uri):
        host = urlsplit(candidate).hostname if candidate else None
        if host:
            return host.removeprefix("www.")
    return (site_name or "").strip().casefold()


def count_lines(texts: Iterable[str]) -> dict[int, int]:
    """line key -> number of the texts holding it (each text counted once per line): the learning step on
    texts of one outlet."""
    counts: dict[int, int] = {}
    for text in texts:
        for key in line_keys(text):
            counts[key] = counts.get(key, 0) + 1
    return counts
