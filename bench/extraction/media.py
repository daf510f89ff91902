"""Time added by media and link extraction, and precision/recall of media ids on the fixture pages.

Run from the repo root: `python bench/extraction/media.py [--data DIR] [--rounds N]`.

1. On the article-extraction benchmark's pages (181 by default): the CPU time per page of the whole extraction
   (`extract_document`, which includes media and links) and of the media and link steps alone, run the same way
   on the same parsed tree (`scan_page` before trafilatura, `cited_links` on the extracted
   lines after), alternated page by page for `--rounds` rounds. Goal: the steps under 5% of the extraction.
2. On tests/fixtures/media (every platform and URL form, lazy, noscript, consent, malformed, navigation): the
   precision and recall of the `platform:media_id` items against expected.json, and of the items with their kind.
   Goal: 1.0 / 1.0.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from extractors import Article, extract_document  # noqa: E402
from extractors.decode import decode_bytes  # noqa: E402
from extractors.html import load_tree  # noqa: E402
from extractors.media import cited_links, scan_page  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "eval" / "article-extraction-benchmark"
FIXTURES = REPO / "tests" / "fixtures" / "media"


def load_pages(data: Path) -> list[dict]:
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth):
        path = data / "html" / f"{page_id}.html.gz"
        pages.append({"id": page_id, "raw": path.read_bytes(), "url": truth[page_id].get("url")})
    return pages


def media_steps(html: str, url: str | None, lines: list[str]) -> tuple[int, int]:
    """The media and link steps as extract_html_fields runs them (on a tree of its own here)."""
    tree = load_tree(html)
    started = time.process_time()
    scan = scan_page(tree, url)
    links, linked = cited_links(scan.links, scan.base, lines, url)
    return time.process_time() - started, len(scan.media) + len(linked), len(links)


def time_pages(pages: list[dict], rounds: int) -> dict:
    extraction, steps = [], []
    items, links, platforms = 0, 0, Counter()
    prepared = []
    for page in pages:
        raw = gzip.decompress(page["raw"])
        decoded = decode_bytes(raw, html=True)
        article = extract_document(page["raw"], f"bench:{page['id']}", "html", url=page["url"])
        lines = article.text.split("\n") if isinstance(article, Article) else []
        if isinstance(article, Article):
            platforms.update(m.platform for m in article.media)
            items += len(article.media)
            links += len(article.links)
        prepared.append((page, getattr(decoded, "text", ""), lines))
    for _ in range(rounds):
        for page, html, lines in prepared:
            started = time.process_time()
            extract_document(page["raw"], f"bench:{page['id']}", "html", url=page["url"])
            extraction.append(time.process_time() - started)
            if html:
                steps.append(media_steps(html, page["url"], lines)[0])
    return {
        "pages": len(pages),
        "extraction_ms": 1000 * statistics.fmean(extraction),
        "steps_ms": 1000 * statistics.fmean(steps),
        "media_items": items,
        "links": links,
        "platforms": dict(platforms.most_common()),
    }


def score_fixtures() -> dict:
    expected = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
    tp = fp = fn = tp_kind = fp_kind = fn_kind = 0
    misses = []
    for name, items in sorted(expected.items()):
        path = FIXTURES / name
        article = extract_document(path.read_bytes(), path.as_uri(), "html")
        got = {f"{m.key} {m.kind}" for m in article.media} if isinstance(article, Article) else set()
        want = set(items)
        got_ids, want_ids = {g.rsplit(" ", 1)[0] for g in got}, {w.rsplit(" ", 1)[0] for w in want}
        tp += len(got_ids & want_ids)
        fp += len(got_ids - want_ids)
        fn += len(want_ids - got_ids)
        tp_kind += len(got & want)
        fp_kind += len(got - want)
        fn_kind += len(want - got)
        misses += [f"{name}: extra {g}" for g in sorted(got - want)] + [
            f"{name}: missed {w}" for w in sorted(want - got)
        ]
    return {
        "pages": len(expected),
        "items": tp + fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "precision_with_kind": tp_kind / (tp_kind + fp_kind) if tp_kind + fp_kind else 1.0,
        "recall_with_kind": tp_kind / (tp_kind + fn_kind) if tp_kind + fn_kind else 1.0,
        "misses": misses,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    timing = time_pages(load_pages(args.data), args.rounds)
    share = timing["steps_ms"] / timing["extraction_ms"]
    print(f"{timing['pages']} pages, {args.rounds} rounds, CPU time per page:")
    print(f"  whole extraction (incl. media and links)  {timing['extraction_ms']:6.2f} ms")
    print(f"  media and link steps alone                {timing['steps_ms']:6.2f} ms  ({share:.1%} of extraction)")
    print(f"  goal under 5%: {'met' if share < 0.05 else 'NOT met'}")
    print(f"  media items found {timing['media_items']} {timing['platforms']}, cited links {timing['links']}")
    scores = score_fixtures()
    print(f"fixture pages {scores['pages']}, expected items {scores['items']}:")
    print(f"  media ids        precision {scores['precision']:.3f} recall {scores['recall']:.3f}")
    print(f"  ids and kinds    precision {scores['precision_with_kind']:.3f} recall {scores['recall_with_kind']:.3f}")
    for miss in scores["misses"]:
        print(f"  {miss}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
