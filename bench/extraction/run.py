"""Score the project's HTML extraction against bare trafilatura on the article-extraction benchmark.

Run from the repo root: `python bench/extraction/run.py [--data DIR] [--truth FILE] [--languages FILE]
[--limit N] [--worst N]`. Any corpus in the benchmark's format works: a ground-truth JSON (id ->
{articleBody, url[, language]}) and the pages as `html/<id>.html.gz` (or `.html`, in `html/` or the folder).
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
BASELINE_OPTIONS = {"include_comments": False, "favor_precision": True}  # ours; timed as the baseline
# trafilatura's own settings, each scored on the same pages: ours must score at least the best of them
TRAFILATURA_SETTINGS = {
    "defaults": {},
    "favor_precision": {"favor_precision": True},
    "favor_recall": {"favor_recall": True},
}
_TOKEN = re.compile(r"\w+")  # upstream's tokenizer, kept as is so figures are comparable

Score = tuple[float, float, float]  # normalised (tp, fp, fn) of one page


def load_pages(data: Path, limit: int | None, truth_file: Path | None = None) -> list[dict]:
    """Corpus pages in id order: id, page bytes (gzipped or not), url, ground-truth text and language."""
    truth = json.loads((truth_file or data / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        {
            "id": page_id,
            "raw": find_page(data, page_id).read_bytes(),
            "url": truth[page_id].get("url"),
            "truth": truth[page_id]["articleBody"],
            "language": truth[page_id].get("language") or truth[page_id].get("lang"),
        }
        for page_id in sorted(truth)[:limit]
    ]


def find_page(data: Path, page_id: str) -> Path:
    for folder in (data / "html", data):
        for suffix in (".html.gz", ".html", ".htm.gz", ".htm"):
            if (folder / f"{page_id}{suffix}").is_file():
                return folder / f"{page_id}{suffix}"
    raise SystemExit(f"no page file for id {page_id} in {data}/html or {data}")


def page_html(page: dict) -> str | bytes:
    """The page as trafilatura is usually fed: str when UTF-8, else the bytes (it detects the charset)."""
    raw = page["raw"]
    raw = gzip.decompress(raw) if raw.startswith(b"\x1f\x8b") else raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def run_ours(page: dict) -> dict:
    """The project's extraction from the gzipped bytes; a Reject counts as empty text."""
    result = extract_document(page["raw"], f"bench:{page['id']}", "html", url=page["url"])
    if isinstance(result, Article):
        return {"text": result.text, "language": result.language, "probability": result.language_probability}
    return {"text": "", "language": None, "probability": None, "reject": result.reason, "detail": result.detail}


def run_baseline(page: dict, options: dict | None = None) -> dict:
    """Bare trafilatura, timed from the same (gzipped) bytes."""
    options = BASELINE_OPTIONS if options is None else options
    return {"text": trafilatura.extract(page_html(page), url=page["url"], **options) or ""}


def time_runs(pages: list[dict], run) -> tuple[list[dict], float]:
    """Outputs of `run` on every page and the mean ms/page (after one untimed warm-up call)."""
    run(pages[0])
    started = time.perf_counter()
    outputs = [run(page) for page in pages]
    return outputs, 1000 * (time.perf_counter() - started) / len(pages)


def count_shingles(text: str, n: int = 4) -> Counter:
    """4-token shingles as a multiset; a text shorter than n tokens is one shingle, as upstream."""
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i : i + n])


def score_page(truth: str, pred: str) -> Score:
    """Normalised (tp, fp, fn) over the shingle multisets, as upstream."""
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


def page_f1(score: Score) -> float:
    p, r = page_precision(*score), page_recall(*score)
    return 2 * p * r / (p + r) if p + r else 0.0


def summarize_scores(scores: list[Score]) -> dict:
    """Mean precision over pages with a prediction, mean recall over pages with truth, F1 of the two."""
    precision = statistics.mean([page_precision(*s) for s in scores if s[0] + s[1] > 0] or [0.0])
    recall = statistics.mean([page_recall(*s) for s in scores if s[0] + s[2] > 0] or [0.0])
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "precision": precision, "recall": recall}


def load_languages(pages: list[dict], languages_file: Path | None) -> dict[str, str] | None:
    """Each page's language: from the languages file (pages it does not list are English), else from
    the ground truth's own `language` fields; None when the corpus gives no languages."""
    if languages_file is not None:
        labels = json.loads(languages_file.read_text(encoding="utf-8"))
        return {page["id"]: labels.get(page["id"], "en") for page in pages}
    if any(page["language"] for page in pages):
        return {page["id"]: page["language"] or "unknown" for page in pages}
    return None


def report_languages(pages: list[dict], ours: list[dict], labels: dict[str, str]) -> None:
    """Our language codes against the labels."""
    runs = [(page, out, labels[page["id"]]) for page, out in zip(pages, ours, strict=True)]
    foreign = [run for run in runs if run[2] != "en"]
    english = [run for run in runs if run[2] == "en"]
    print(f"\nnon-English pages: {len(foreign)}, right language code: {sum(o['language'] == c for _, o, c in foreign)}")
    print(f"English pages: {len(english)}, labelled 'en': {sum(o['language'] == 'en' for _, o, _ in english)}")
    for page, out, code in runs:
        if out["language"] != code:
            print(f"  miss {page['id'][:12]} want {code} got {out['language']} p={out['probability']}")


def report_by_language(pages: list[dict], ours: list[Score], labels: dict[str, str]) -> None:
    """Our F1 per language of the corpus."""
    print("\nper language (ours):")
    for code in sorted(set(labels.values())):
        scores = [score for page, score in zip(pages, ours, strict=True) if labels[page["id"]] == code]
        m = summarize_scores(scores)
        print(f"  {code:<8} {len(scores):>5} pages  F1 {m['f1']:.3f}  P {m['precision']:.3f}  R {m['recall']:.3f}")


def report_lost_pages(pages: list[dict], ours: list[dict], bare: list[dict], labels: dict[str, str] | None) -> int:
    """Pages bare trafilatura reads (any of its settings) but the pipeline rejects, with the reason (goal: none)."""
    lost = [
        (page, out)
        for page, out, plain in zip(pages, ours, bare, strict=True)
        if "reject" in out and plain["text"].strip()
    ]
    print(f"\npages bare trafilatura reads but we reject: {len(lost)}")
    counts = Counter((labels or {}).get(page["id"], "-") for page, _ in lost)
    if labels and lost:
        print("  by language: " + ", ".join(f"{code} {n}" for code, n in sorted(counts.items())))
    for page, out in lost:
        language = (labels or {}).get(page["id"], "-")
        print(f"  {page['id'][:16]} [{language}] {out['reject']}: {out['detail'][:100]}  {(page['url'] or '')[:60]}")
    return len(lost)


def describe_page(page: dict, ours: Score, base: Score) -> str:
    return (
        f"  {page['id'][:12]} F1 {page_f1(ours):.3f} P {page_precision(*ours):.3f} R {page_recall(*ours):.3f}"
        f" | base F1 {page_f1(base):.3f} P {page_precision(*base):.3f} R {page_recall(*base):.3f}"
        f"  {(page['url'] or '')[:60]}"
    )


def report_worst(pages: list[dict], ours: list[Score], base: list[Score], count: int) -> None:
    """Pages with our lowest F1, then every page where the baseline beats us."""
    rows = list(zip(pages, ours, base, strict=True))
    print(f"\nworst {count} pages by our F1 (ours | baseline):")
    for row in sorted(rows, key=lambda row: page_f1(row[1]))[:count]:
        print(describe_page(*row))
    behind = [row for row in rows if page_f1(row[1]) < page_f1(row[2]) - 1e-9]
    print(f"pages where the baseline scores higher: {len(behind)}")
    for row in sorted(behind, key=lambda row: page_f1(row[1]) - page_f1(row[2])):
        print(describe_page(*row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="corpus directory (pages, ground truth)")
    parser.add_argument("--truth", type=Path, default=None, help="ground-truth JSON (default: DATA/ground-truth.json)")
    parser.add_argument(
        "--languages",
        type=Path,
        default=None,
        help="JSON of id -> ISO 639-1 code, unlisted pages English (default: languages.json for the default corpus)",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N pages (by id)")
    parser.add_argument("--worst", type=int, default=0, help="list our N lowest-F1 pages and those the baseline wins")
    args = parser.parse_args()

    languages_file = args.languages
    if languages_file is None and args.data.resolve() == DEFAULT_DATA.resolve():
        languages_file = HERE / "languages.json"
    pages = load_pages(args.data, args.limit, args.truth)
    labels = load_languages(pages, languages_file)
    baseline, base_ms = time_runs(pages, run_baseline)
    ours, ours_ms = time_runs(pages, run_ours)
    base_scores = [score_page(p["truth"], b["text"]) for p, b in zip(pages, baseline, strict=True)]
    ours_scores = [score_page(p["truth"], o["text"]) for p, o in zip(pages, ours, strict=True)]
    settings = {name: [run_baseline(p, options) for p in pages] for name, options in TRAFILATURA_SETTINGS.items()}

    print(f"pages: {len(pages)}  data: {args.data}")
    ours_f1 = summarize_scores(ours_scores)["f1"]
    for name, scores, ms in (("ours", ours_scores, ours_ms), ("baseline", base_scores, base_ms)):
        m = summarize_scores(scores)
        print(f"{name:<9} F1 {m['f1']:.4f}  P {m['precision']:.4f}  R {m['recall']:.4f}  {ms:.1f} ms/page")
    print(f"ours/baseline time: {ours_ms / base_ms:.2f}x")
    print("bare trafilatura's own settings (url given):")
    best = ("baseline", summarize_scores(base_scores)["f1"])
    for name, outputs in settings.items():
        m = summarize_scores([score_page(p["truth"], o["text"]) for p, o in zip(pages, outputs, strict=True)])
        print(f"  {name:<16} F1 {m['f1']:.4f}  P {m['precision']:.4f}  R {m['recall']:.4f}")
        best = max(best, (name, m["f1"]), key=lambda item: item[1])
    verdict = "met" if ours_f1 >= best[1] else "NOT met"
    print(f"best trafilatura F1 {best[1]:.4f} ({best[0]}); ours {ours_f1:.4f}: goal ours >= best {verdict}")
    print(f"rejects (scored as empty): {sum('reject' in o for o in ours)}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    read = [
        {"text": max((o["text"] for o in outs), key=len)} for outs in zip(baseline, *settings.values(), strict=True)
    ]
    report_lost_pages(pages, ours, read, labels)
    if labels:
        report_by_language(pages, ours_scores, labels)
        report_languages(pages, ours, labels)
    if args.worst:
        report_worst(pages, ours_scores, base_scores, args.worst)


if __name__ == "__main__":
    main()
