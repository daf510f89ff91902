"""A CC-NEWS-like WARC for the archive benchmark, deterministic in its seed.

One `warcinfo` record, then N `response` records, each record its own gzip member (as Common Crawl writes them).
Every tenth body is one of the article-extraction benchmark's 181 real pages (read from ../shared at run time,
never copied here) under a new URI; the others are generated news pages of 20-90 KB (head, scripts, nav,
article, related links, footer). A share of the records (5% by default) carries a monitor phrase ("Russian
segment", "undocking") in its article text; no other record contains either keyword.

Run alone: `python bench/archive/generate.py FILE.warc.gz [--records N] [--seed S]`.
"""

from __future__ import annotations

import argparse
import gzip
import random
import uuid
import zlib
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCHMARK_HTML = REPO.parent / "shared" / "eval" / "article-extraction-benchmark" / "html"
REAL_EVERY = 10
MATCH_SHARE = 0.05
PHRASES = (
    "The crew closed the hatches to the Russian segment before the undocking of the cargo ship.",
    "Engineers traced the leak to a module of the Russian segment of the station.",
    "Undocking was delayed by a day after a pressure alarm on the Russian segment.",
)
WORDS = (
    "the minister said council budget city police report election week government year people health school "
    "workers energy prices market company plans public water housing court vote local national officials "
    "according statement new data rise fall percent million residents region agreement talks support "
    "opposition spokesperson announced on tuesday friday after before during while although however because"
).split()
START = datetime(2022, 3, 1)


def real_pages() -> list[bytes]:
    """The benchmark's pages, decompressed, in a stable order; none contains a monitor keyword."""
    pages = [gzip.decompress(p.read_bytes()) for p in sorted(BENCHMARK_HTML.glob("*.html.gz"))]
    if not pages:
        raise SystemExit(f"no pages under {BENCHMARK_HTML}")
    return pages


def render_page(i: int, rng: random.Random, matched: bool) -> bytes:
    """A 20-90 KB news page: most bytes are the furniture a real page carries, not the article."""
    sentence = lambda: " ".join(rng.choices(WORDS, k=rng.randint(12, 28))).capitalize() + "."  # noqa: E731
    paragraphs = [" ".join(sentence() for _ in range(rng.randint(2, 5))) for _ in range(rng.randint(5, 14))]
    if matched:
        paragraphs.insert(rng.randint(0, len(paragraphs)), rng.choice(PHRASES))
    title = sentence()[:80].rstrip(".")
    nav = "".join(f'<li><a href="/section/{w}">{w.title()}</a></li>' for w in rng.sample(WORDS, 20))
    script = "var cfg = {" + ",".join(f'"k{k}": {rng.random():.6f}' for k in range(rng.randint(300, 1800))) + "};"
    related = "".join(f'<li><a href="/p/{rng.randrange(10**6)}.html">{sentence()[:60]}</a></li>' for _ in range(30))
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | Bench News</title>'
        f"<script>{script}</script></head><body><header><nav><ul>{nav}</ul></nav></header>"
        f'<main><article><h1>{title}</h1><p class="byline">By Reporter {i % 97}</p>{body}</article>'
        f"<aside><h2>Related</h2><ul>{related}</ul></aside></main><footer>© Bench News</footer></body></html>"
    ).encode()


def warc_record(headers: list[tuple[str, str]], block: bytes) -> bytes:
    """One record as its own gzip member."""
    head = "WARC/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + f"Content-Length: {len(block)}\r\n\r\n"
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    return compressor.compress(head.encode() + block + b"\r\n\r\n") + compressor.flush()


def write_warc(path: Path, records: int = 20_000, seed: int = 0, match_share: float = MATCH_SHARE) -> dict:
    """Write the WARC; returns what it holds (records, matched, real pages, uncompressed body bytes)."""
    rng = random.Random(seed)
    pages = real_pages()
    matched = set(rng.sample(range(records), round(records * match_share)))
    body_bytes = 0
    with open(path, "wb") as out:
        info = b"software: bench/archive/generate.py\r\nformat: WARC File Format 1.0\r\n"
        out.write(
            warc_record(
                [
                    ("WARC-Type", "warcinfo"),
                    ("WARC-Date", START.strftime("%Y-%m-%dT%H:%M:%SZ")),
                    ("WARC-Record-ID", f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}>"),
                    ("Content-Type", "application/warc-fields"),
                ],
                info,
            )
        )
        for i in range(records):
            is_real = i % REAL_EVERY == 0 and i not in matched
            body = pages[(i // REAL_EVERY) % len(pages)] if is_real else render_page(i, rng, i in matched)
            body_bytes += len(body)
            http = (
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            date = START + timedelta(seconds=i * 4)
            out.write(
                warc_record(
                    [
                        ("WARC-Type", "response"),
                        ("WARC-Date", date.strftime("%Y-%m-%dT%H:%M:%SZ")),
                        ("WARC-Record-ID", f"<urn:uuid:{uuid.UUID(int=rng.getrandbits(128))}>"),
                        ("WARC-Target-URI", f"https://news{i % 50}.example/2022/03/{date.day:02d}/story-{i}.html"),
                        ("Content-Type", "application/http; msgtype=response"),
                    ],
                    http,
                )
            )
    return {"records": records, "matched": len(matched), "body_bytes": body_bytes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(write_warc(args.path, args.records, args.seed))


if __name__ == "__main__":
    main()
