"""Network side of listings: fetch feeds, sitemaps (following indexes) and URL lists into article links."""

from __future__ import annotations

from dataclasses import dataclass, field

from extractors.listings import Link, Listing, listing_kind, parse_listing, parse_url_list
from extractors.records import Reject
from extractors.urls import parse_url, reject_key
from fetching.fetch import HTML_TYPES, Fetcher, FetchResult, Validators

MAX_SITEMAPS = 200


@dataclass
class Discovery:
    """Article links found, pages already fetched while looking (kept to avoid a second GET), rejects."""

    links: dict[str, Link] = field(default_factory=dict)
    prefetched: dict[str, FetchResult] = field(default_factory=dict)
    rejects: list[tuple[str, Reject]] = field(default_factory=list)

    def add(self, link: Link) -> None:
        self.links.setdefault(link.url, link)


async def discover_links(
    fetcher: Fetcher,
    urls: list[str],
    url_lists: list[str],
    max_bytes: int,
    page_validators: dict[str, Validators] | None = None,
) -> Discovery:
    """Expand feeds and sitemaps into their article links; any other page is itself the article.

    `page_validators` are sent for URLs last seen as article pages, so an unchanged page costs a 304. Every
    URL given or listed goes through the one parser: a malformed one, or one of another scheme, is a reject
    (`bad_url`, `unsupported_scheme`) and the others go on.
    """
    found = Discovery()
    for list_url in _parsed_all(url_lists, found):
        result = await fetcher.fetch(list_url, expect="any")
        if result.reject:
            found.rejects.append((list_url, result.reject))
        else:
            listed, rejects = parse_url_list(result.body.decode("utf-8", "replace"))
            found.rejects.extend(rejects)
            for url in listed:
                found.add(Link(url))
    pending = _parsed_all(urls, found)
    seen_sitemaps: set[str] = set()
    parents: dict[str, str] = {}  # sitemap -> the index that listed it, to tell a loop from a repeat
    while pending:
        results = await fetcher.fetch_many(pending, page_validators, expect="any")
        pending = []
        for result in results:
            url = result.requested_url
            if result.reject:
                found.rejects.append((url, result.reject))
                continue
            if result.not_modified or listing_kind(result.body, result.content_type) is None:
                if result.content_type and result.content_type not in HTML_TYPES:
                    found.rejects.append((url, Reject("not_html", f"Content-Type {result.content_type}")))
                    continue
                found.add(Link(url))
                found.prefetched[url] = result
                continue
            listing = parse_listing(result.body, result.final_url, max_bytes)
            if isinstance(listing, Reject):
                found.rejects.append((url, listing))
                continue
            for link in listing.links:
                found.add(link)
            found.rejects.extend(listing.rejects)
            seen_sitemaps.add(url)
            pending.extend(_new_sitemaps(url, listing, seen_sitemaps, parents, found))
    return found


def _parsed_all(urls: list[str], found: Discovery) -> list[str]:
    """The given URLs through the one parser, in order and unique; the bad ones become rejects."""
    parsed: dict[str, None] = {}
    for text in urls:
        url = parse_url(text)
        if isinstance(url, Reject):
            found.rejects.append((reject_key(text), url))
        else:
            parsed.setdefault(url, None)
    return list(parsed)


def _new_sitemaps(index: str, listing: Listing, seen: set[str], parents: dict[str, str], found: Discovery) -> list[str]:
    """Sitemaps the index lists that are not read yet; one that leads back to the index is a reject."""
    lineage = [index]
    while lineage[-1] in parents:
        lineage.append(parents[lineage[-1]])
    fresh = []
    for child in listing.sitemaps:
        if child in lineage:
            found.rejects.append((index, Reject("sitemap_loop", f"{index} lists {child}, which leads back to it")))
            continue
        if child in seen:
            continue
        if len(seen) >= MAX_SITEMAPS:
            found.rejects.append((child, Reject("too_many_sitemaps", f"over {MAX_SITEMAPS} sitemaps in one run")))
            continue
        seen.add(child)
        parents[child] = index
        fresh.append(child)
    return fresh
