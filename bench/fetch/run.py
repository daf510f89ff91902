"""Compare the project's Fetcher with a bare httpx.AsyncClient loop against a local loopback server.

Run from the repo root: `python bench/fetch/run.py [--pages N] [--concurrency C] [--json]`.
The server runs in its own process on 127.0.0.1 so it does not share the GIL with the clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from fetching.fetch import Fetcher, FetchPolicy  # noqa: E402

HOST = "127.0.0.1"  # loopback only, never any other address
WORDS = (
    "the minister said council budget city police report election week government year people health school "
    "workers energy prices market company plans public water housing court vote local national officials "
    "according statement new data rise fall percent million residents region agreement talks support "
    "opposition spokesperson announced on tuesday friday after before during while although however because"
).split()
ROBOTS = b"User-agent: *\nAllow: /\n"


def build_sentences(count: int = 3000) -> list[str]:
    """A fixed pool of news-like sentences that pages draw from."""
    rng = random.Random(0)
    return [" ".join(rng.choices(WORDS, k=rng.randint(12, 28))).capitalize() + "." for _ in range(count)]


def render_page(i: int, sentences: list[str]) -> bytes:
    """One 8-15 KB news article page, deterministic in i."""
    rng = random.Random(i)
    title = f"{sentences[i % len(sentences)][:70].rstrip('.')} ({i})"
    nav = "".join(f'<li><a href="/section/{w}">{w.title()}</a></li>' for w in rng.sample(WORDS, 12))
    head = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | Daily Bench</title>'
        f'<meta name="description" content="{rng.choice(sentences)}">'
        f'<link rel="stylesheet" href="/static/site.css"><link rel="canonical" href="/p/{i}.html"></head>'
        f'<body><header><a class="logo" href="/">Daily Bench</a><nav><ul>{nav}</ul></nav></header>'
        f'<main><article><h1>{title}</h1><p class="byline">By Reporter {i % 97} · '
        f'<time datetime="2024-{1 + i % 12:02d}-{1 + i % 28:02d}">{1 + i % 28} {1 + i % 12} 2024</time></p>'
    )
    related = "".join(
        f'<li><a href="/p/{(i + k * 7919) % 100000}.html">{rng.choice(sentences)[:60]}</a></li>' for k in range(1, 6)
    )
    tail = (
        f"</article><aside><h2>Related</h2><ul>{related}</ul></aside></main>"
        "<footer>© Daily Bench</footer></body></html>"
    )
    target = rng.randint(8000, 14000) - len(head) - len(tail)
    paragraphs: list[str] = []
    while sum(map(len, paragraphs)) < target:
        paragraphs.append("<p>" + " ".join(rng.sample(sentences, rng.randint(3, 6))) + "</p>")
    return (head + "".join(paragraphs) + tail).encode("utf-8")


def build_response(body: bytes, content_type: str, status: str = "200 OK") -> bytes:
    """A complete keep-alive HTTP/1.1 response."""
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        "Connection: keep-alive\r\n\r\n"
    )
    return head.encode("ascii") + body


async def handle_connection(reader, writer, responses: dict[bytes, bytes]) -> None:
    """Answer GET requests on one keep-alive connection until the client closes it."""
    not_found = build_response(b"not found", "text/plain", "404 Not Found")
    try:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            writer.write(responses.get(request.split(b" ", 2)[1], not_found))
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, IndexError):
        pass
    finally:
        writer.close()


async def serve_pages(conn, pages: int) -> None:
    """Pre-render every page, listen on a random loopback port, report (port, page sizes) and serve forever."""
    sentences = build_sentences()
    responses = {b"/robots.txt": build_response(ROBOTS, "text/plain; charset=utf-8")}
    sizes = []
    for i in range(pages):
        body = render_page(i, sentences)
        responses[f"/p/{i}.html".encode()] = build_response(body, "text/html; charset=utf-8")
        sizes.append(len(body))
    server = await asyncio.start_server(lambda r, w: handle_connection(r, w, responses), HOST, 0)
    conn.send((server.sockets[0].getsockname()[1], sizes))
    await server.serve_forever()


def run_server(conn, pages: int) -> None:
    """Entry point of the server process."""
    asyncio.run(serve_pages(conn, pages))


async def fetch_baseline(urls: list[str], concurrency: int) -> list[tuple[int, int]]:
    """Bare httpx: a semaphore and gather over client.get; (status, body size) per URL."""
    semaphore = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency), trust_env=False) as client:

        async def get(url: str) -> tuple[int, int]:
            async with semaphore:
                response = await client.get(url)
                return response.status_code, len(response.content)

        return await asyncio.gather(*(get(url) for url in urls))


async def fetch_project(urls: list[str], concurrency: int) -> list[tuple[int | None, int]]:
    """The project's Fetcher with per-host limits lifted (robots.txt still fetched); (status, body size) per URL."""
    policy = FetchPolicy(
        concurrency=concurrency, per_host_concurrency=concurrency, min_host_interval=0.0, allow_private_hosts=True
    )
    async with Fetcher(policy) as fetcher:
        results = await fetcher.fetch_many(urls)
    return [(r.status if r.reject is None else None, len(r.body)) for r in results]


def time_fetch(fetch: Callable, urls: list[str], concurrency: int, sizes: list[int]) -> float:
    """Seconds for one full run of `fetch`; exits loudly unless every page came back 200 with the right size."""
    started = time.perf_counter()
    outcomes = asyncio.run(fetch(urls, concurrency))
    elapsed = time.perf_counter() - started
    bad = [(url, got, size) for url, got, size in zip(urls, outcomes, sizes, strict=True) if got != (200, size)]
    if bad:
        sys.exit(
            f"{fetch.__name__}: {len(bad)} of {len(urls)} pages wrong, e.g. (url, (status, bytes), expected) {bad[:3]}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000, help="number of pages to serve and fetch")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent requests on both sides")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = parser.parse_args()

    context = multiprocessing.get_context("spawn")
    parent_conn, child_conn = context.Pipe()
    server = context.Process(target=run_server, args=(child_conn, args.pages), daemon=True)
    server.start()
    try:
        port, sizes = parent_conn.recv()
        urls = [f"http://{HOST}:{port}/p/{i}.html" for i in range(args.pages)]
        times: dict[str, list[float]] = {"baseline": [], "project": []}
        for _ in range(2):
            times["baseline"].append(time_fetch(fetch_baseline, urls, args.concurrency, sizes))
            times["project"].append(time_fetch(fetch_project, urls, args.concurrency, sizes))
    finally:
        server.terminate()
        server.join()

    baseline, project = (args.pages / min(times[side]) for side in ("baseline", "project"))
    figures = {
        "pages": args.pages,
        "concurrency": args.concurrency,
        "mean_page_kb": round(sum(sizes) / len(sizes) / 1024, 1),
        "baseline_pages_per_s": round(baseline, 1),
        "project_pages_per_s": round(project, 1),
        "ratio": round(project / baseline, 3),
        "client_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "server_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }
    if args.json:
        print(json.dumps(figures))
        return
    print(
        f"{args.pages} pages of {figures['mean_page_kb']} KB on average, concurrency {args.concurrency}, "
        "best of 2 runs each"
    )
    print(f"baseline (bare httpx)   {baseline:8.1f} pages/s")
    print(f"project (Fetcher)       {project:8.1f} pages/s")
    print(f"ratio project/baseline  {figures['ratio']:8.3f}  (goal >= 0.8)")
    print(
        f"peak RSS: client process {figures['client_peak_rss_mb']} MB, "
        f"server process {figures['server_peak_rss_mb']} MB"
    )


if __name__ == "__main__":
    main()
