"""Listings that point at articles: RSS/Atom feeds (feedparser), sitemaps and URL lists.

Sitemaps are read with lxml rather than trafilatura's sitemap module, which fetches by itself and
drops Google News publication dates.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime

import feedparser
from lxml import etree

from extractors.decode import GZIP_MAGIC, gunzip_capped
from extractors.records import Reject
from extractors.urls import parse_url, reject_key

_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
_SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS_NS = "{http://www.google.com/schemas/sitemap-news/0.9}"


@dataclass(frozen=True)
class Link:
    """An article URL found in a listing, with what the listing says about it."""

    url: str
    published_at: datetime | None = None
    title: str | None = None


@dataclass(frozen=True)
class Listing:
    kind: str  # "feed", "sitemap" or "sitemap_index"
    links: tuple[Link, ...] = ()
    sitemaps: tuple[str, ...] = ()
    rejects: tuple[tuple[str, Reject], ...] = ()  # listed URLs that are malformed or not http(s)


def listing_kind(body: bytes, content_type: str = "") -> str | None:
    """'feed' or 'sitemap' when the bytes look like one, else None (an ordinary page)."""
    head = body[:2048].lstrip().lower()
    if body.startswith(GZIP_MAGIC):
        return "sitemap"
    if b"<urlset" in head or b"<sitemapindex" in head:
        return "sitemap"
    if b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head:
        return "feed"
    if any(t in content_type for t in ("rss", "atom")):
        return "feed"
    return None


def parse_listing(body: bytes, base_url: str, max_bytes: int) -> Listing | Reject:
    kind = listing_kind(body)
    if kind == "sitemap":
        return parse_sitemap(body, max_bytes)
    if kind == "feed":
        return parse_feed(body, base_url)
    return Reject("not_a_listing", "neither a feed nor a sitemap")


def parse_feed(body: bytes, base_url: str) -> Listing | Reject:
    parsed = feedparser.parse(body, response_headers={"content-location": base_url})
    links, rejects = [], {}
    for entry in parsed.entries:
        url = _parsed(entry.get("link"), rejects)
        if url:
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            published = datetime.fromtimestamp(calendar.timegm(stamp), UTC).replace(tzinfo=None) if stamp else None
            links.append(Link(url, published, entry.get("title")))
    if not links and parsed.bozo:  # a malformed feed: its broken links are not worth a reject each
        return Reject("bad_feed", str(parsed.get("bozo_exception", "unreadable feed"))[:300])
    return Listing("feed", tuple(links), rejects=tuple(rejects.items()))


def parse_sitemap(body: bytes, max_bytes: int) -> Listing | Reject:
    """A urlset (plain or Google News) or a sitemap index; gzipped bodies are inflated with a cap."""
    if body.startswith(GZIP_MAGIC):
        body = gunzip_capped(body, max_bytes)
        if isinstance(body, Reject):
            return body
    try:
        root = etree.fromstring(body, _SAFE_XML)
    except etree.XMLSyntaxError as exc:
        return Reject("bad_sitemap", str(exc)[:300])
    if root is None:
        return Reject("bad_sitemap", "no XML root element")
    errors = _SAFE_XML.error_log  # what the recovering parser skipped over
    tag = etree.QName(root).localname
    rejects: dict[str, Reject] = {}
    if tag == "sitemapindex":
        locs = (_text(node, f"{_SITEMAP_NS}loc") or _text(node, "loc") for node in root)
        sitemaps = tuple(dict.fromkeys(filter(None, (_parsed(loc, rejects) for loc in locs))))
        if not sitemaps and errors:
            return Reject("bad_sitemap", f"malformed XML and no sitemap in it: {errors[0].message}"[:300])
        return Listing("sitemap_index", sitemaps=sitemaps, rejects=tuple(rejects.items()))
    if tag != "urlset":
        return Reject("bad_sitemap", f"root element <{tag}> is not urlset or sitemapindex")
    links = []
    for node in root:
        url = _parsed(_text(node, f"{_SITEMAP_NS}loc") or _text(node, "loc"), rejects)
        if not url:
            continue
        news = node.find(f"{_NEWS_NS}news")
        published = _parse_w3c_date(
            (_text(news, f"{_NEWS_NS}publication_date") if news is not None else None)
            or _text(node, f"{_SITEMAP_NS}lastmod")
        )
        title = _text(news, f"{_NEWS_NS}title") if news is not None else None
        links.append(Link(url, published, title))
    if not links and errors:
        return Reject("bad_sitemap", f"malformed XML and no URL in it: {errors[0].message}"[:300])
    return Listing("sitemap", tuple(links), rejects=tuple(rejects.items()))


def parse_url_list(text: str) -> tuple[list[str], list[tuple[str, Reject]]]:
    """One URL per line (blank lines and # comments skipped, duplicates dropped in order), and a reject per
    line that is not an http(s) URL (a `file:` line too: a list fetched from the web must not make us read
    local files)."""
    urls: dict[str, None] = {}
    rejects: dict[str, Reject] = {}
    for line in url_list_lines(text):
        url = _parsed(line, rejects)
        if url:
            urls.setdefault(url, None)
    return list(urls), list(rejects.items())


def url_list_lines(text: str) -> list[str]:
    """The entries of a URL list: one a line, blank lines and # comments skipped."""
    return [entry for entry in (line.split("#", 1)[0].strip() for line in text.splitlines()) if entry]


def _parsed(text: str | None, rejects: dict[str, Reject]) -> str | None:
    """The listed URL through the one parser; a bad one is added to `rejects` (keyed by its text)."""
    if not text or not text.strip():
        return None
    url = parse_url(text)
    if isinstance(url, Reject):
        rejects.setdefault(reject_key(text), url)
        return None
    return url


def _text(node: etree._Element, tag: str) -> str | None:
    child = node.find(tag)
    return child.text.strip() if child is not None and child.text else None


def _parse_w3c_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
