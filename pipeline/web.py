"""Finding and fetching pages for a run: feeds, sitemaps and URL lists expanded into links, then pages fetched
a batch at a time with conditional GETs where the warehouse holds validators."""

from __future__ import annotations

import asyncio

from extractors.listings import Link
from fetching.discover import discover_links
from fetching.fetch import Fetcher, FetchPolicy, FetchResult
from pipeline.batches import WarehouseState


def discover_web(
    urls: list[str], url_lists: list[str], state: WarehouseState, policy: FetchPolicy
) -> tuple[list[Link], dict[str, FetchResult], list]:
    """Expand feeds, sitemaps and URL lists into article links (pages given directly are their own link);
    returns the links, the pages already fetched while expanding, and the listings' rejects."""
    validators = {url: state.validators(url) for url in urls if state.validators(url)}

    async def run():
        async with Fetcher(policy) as fetcher:
            return await discover_links(fetcher, urls, url_lists, policy.max_bytes, validators)

    found = asyncio.run(run())
    return list(found.links.values()), found.prefetched, found.rejects


def fetch_pages(
    links: list[Link], prefetched: dict[str, FetchResult], state: WarehouseState, policy: FetchPolicy
) -> list[FetchResult]:
    """Fetch a batch concurrently (conditional GETs where validators are stored); pages already fetched
    while discovering links are taken from `prefetched`."""
    todo = [link.url for link in links if link.url not in prefetched]
    validators = {url: state.validators(url) for url in todo if state.validators(url)}

    async def run():
        async with Fetcher(policy) as fetcher:
            return await fetcher.fetch_many(todo, validators)

    fetched = {result.requested_url: result for result in asyncio.run(run())} if todo else {}
    return [prefetched.get(link.url) or fetched[link.url] for link in links]
