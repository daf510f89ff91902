"""Score the project's HTML extraction against bare trafilatura on the article-extraction benchmark.

Run from the repo root: `python bench/extraction/run.py [--data DIR] [--limit N] [--worst N]`.
The metric is the benchmark's own (scrapinghub/article-extraction-benchmark, evaluate.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import trafilatura

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from extractors import Article, extract_document  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "eval" / "article-extraction-benchmark"
BASELINE_OPTIONS = {"include_comments": False, "favor_precision": True}
_TOKEN = re.compile(r"\w+")  # upstream's tokenizer, kept as is so figures are comparable


def load_pages(data: Path, limit: int | None) -> list[dict]:
    """Benchmark pages in id order: id, gzipped bytes, url and ground-truth text."""
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth)[:limit]
    return [
        {"id": i, "raw": (data / "html" / f"{i}.html.gz").read_bytes(), "url": truth[i]["url"],
         "truth": truth[i]["articleBody"]}
        for i in ids
    ]


def run_ours(page: dict) -> dict:
    result = extract_document(page["raw"], f"bench:{page['id']}", "html", url=page["url"])
    if isinstance(result, Article):
        return {"text": result.text, "language": result.language, "probability": result.language_probability}
    return {"text": "", "language": None, "probability": None, "reject": result.reason}


def run_baseline(page: dict) -> dict:
    html = gzip.decompress(page["raw"]).decode("utf-8")
    return {"text": trafilatura.extract(html, url=page["url"], **BASELINE_OPTIONS) or ""}


def time_runs(pages: list[dict], run) -> tuple[list[dict], float]:
    """Outputs of `run` on every page and the mean ms/page (after one untimed warm-up call)."""
    run(pages[0])
    outputs, started = [], time.perf_counter()
    for page in pages:
        outputs.append(run(page))
    return outputs, 1000 * (time.perf_counter() - started) / len(pages)


def count_shingles(text: str, n: int = 4) -> Counter:
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i:i + n])


def score_page(truth: str, pred: str) -> tuple[float, float, float]:
    """Normalised (tp, fp, fn) over 4-token shingle multisets, as upstream."""
    true, predicted = count_shingles(truth), count_shingles(pred)
    tp = sum((true & predicted).values())
    fp = sum((predicted - true).values())
    fn = sum((true - predicted).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def page_precision(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else 0.0 if tp == fp == 0 else tp / (tp + fp)


def page_recall(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else 0.0 if tp == fn == 0 else tp / (tp + fn)


def summarize_scores(scores: list[tuple[float, float, float]]) -> dict:
    """Mean precision (pages with a prediction) and recall (pages with truth), F1 of the two."""
    precision = statistics.mean([page_precision(*s) for s in scores if s[0] + s[1] > 0] or [0.0])
    recall = statistics.mean([page_recall(*s) for s in scores if s[0] + s[2] > 0] or [0.0])
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "precision": precision, "recall": recall}


def page_f1(score: tuple[float, float, float]) -> float:
    p, r = page_precision(*score), page_recall(*score)
    return 2 * p * r / (p + r) if p + r else 0.0


def report_languages(pages: list[dict], ours: list[dict]) -> None:
    labels = json.loads((HERE / "languages.json").read_text(encoding="utf-8"))
    foreign = [(p, o, labels[p["id"]]) for p, o in zip(pages, ours) if p["id"] in labels]
    right = [1 for _, o, code in foreign if o["language"] == code]
    print(f"\nnon-English pages: {len(foreign)}, right language code: {len(right)}")
    for page, out, code in foreign:
        if out["language"] != code:
            print(f"  miss {page['id'][:12]} want {code} got {out['language']} p={out['probability']}"
                  f" {out.get('reject', '')}")
    english = [(p, o) for p, o in zip(pages, ours) if p["id"] not in labels]
    print(f"English pages: {len(english)}, labelled 'en': {sum(o['language'] == 'en' for _, o in english)}")
    for page, out in english:
        if out["language"] != "en":
            print(f"  not en {page['id'][:12]} got {out['language']} p={out['probability']} {out.get('reject', '')}")


def report_worst(pages, ours_scores, base_scores, count: int) -> None:
    """Pages where our per-page F1 is lowest, with the baseline's for comparison."""
    print(f"\nworst {count} pages by our F1 (ours P/R vs baseline P/R):")
    order = sorted(range(len(pages)), key=lambda i: page_f1(ours_scores[i]))
    for i in order[:count]:
        o, b = ours_scores[i], base_scores[i]
        print(f"  {pages[i]['id'][:12]} F1 {page_f1(o):.3f} P {page_precision(*o):.3f} R {page_recall(*o):.3f}"
              f" | base F1 {page_f1(b):.3f} P {page_precision(*b):.3f} R {page_recall(*b):.3f}  {pages[i]['url'][:60]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="benchmark directory")
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages (by id)")
    parser.add_argument("--worst", type=int, default=0, help="list the N pages with our lowest F1")
    args = parser.parse_args()

    pages = load_pages(args.data, args.limit)
    baseline, base_ms = time_runs(pages, run_baseline)
    ours, ours_ms = time_runs(pages, run_ours)
    base_scores = [score_page(p["truth"], b["text"]) for p, b in zip(pages, baseline)]
    ours_scores = [score_page(p["truth"], o["text"]) for p, o in zip(pages, ours)]

    print(f"pages: {len(pages)}  data: {args.data}")
    for name, scores, ms in (("ours", ours_scores, ours_ms), ("baseline", base_scores, base_ms)):
        m = summarize_scores(scores)
        print(f"{name:<9} F1 {m['f1']:.3f}  P {m['precision']:.3f}  R {m['recall']:.3f}  {ms:.1f} ms/page")
    print(f"ours/baseline time: {ours_ms / base_ms:.2f}x")
    print(f"rejects: {sum('reject' in o for o in ours)}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    report_languages(pages, ours)
    if args.worst:
        report_worst(pages, ours_scores, base_scores, args.worst)


if __name__ == "__main__":
    main()
