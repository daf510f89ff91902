"""Story grouping on labelled events (stories_set.py): pairwise P/R/F1, ARI, the largest story, density.

Run from the repo root: `python bench/dedup/evaluate_stories.py [--seeds 1 2 3] [--times 1 10]`.
Each set is loaded into a fresh DuckDB warehouse and given the project's update_duplicates (near-duplicates,
canonicals, then stories, with the default settings); every article's story_id is compared with its event.
The density test runs the same events repeated at 10-day shifts (`--times`), words shuffled within sentences
(see stories_set.repeat), so only the story grouping can join the shifts.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evaluate as base  # noqa: E402
from stories_set import StorySet, generate_stories, repeat  # noqa: E402

from similarity.stories import StorySettings  # noqa: E402
from warehouse.db import transaction  # noqa: E402
from warehouse.dedup import update_near_duplicates  # noqa: E402
from warehouse.stories import assign_stories  # noqa: E402


def stories_of(story_set: StorySet, settings, story_settings: StorySettings) -> tuple[dict[str, str], set[str]]:
    """article_id -> story_id after the project's dedup (near-duplicates, canonicals, then stories with
    `story_settings`, as update_duplicates runs them) on a fresh warehouse; and the canonical articles."""
    with tempfile.TemporaryDirectory() as tmp, base.open_writer(Path(tmp) / "stories.duckdb") as conn:
        base.load_batch(conn, story_set.articles, [], "bench-stories")
        update_near_duplicates(conn, settings)
        with transaction(conn):
            assign_stories(conn, settings, story_settings=story_settings)
        rows = conn.execute(
            "SELECT article_id, coalesce(story_id, article_id), duplicate_of IS NULL FROM articles"
        ).fetchall()
    return {row[0]: row[1] for row in rows}, {row[0] for row in rows if row[2]}


def pairs(sizes) -> int:
    return sum(math.comb(n, 2) for n in sizes)


def scores(truth: dict[str, str], found: dict[str, str]) -> dict:
    """Pairwise precision, recall, F1; adjusted Rand index; the largest story, its size and events."""
    true_pairs = pairs(Counter(truth.values()).values())
    found_pairs = pairs(Counter(found.values()).values())
    hits = pairs(Counter((truth[a], found[a]) for a in truth).values())
    precision = hits / found_pairs if found_pairs else 1.0
    recall = hits / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    total = pairs([len(truth)])
    expected = true_pairs * found_pairs / total if total else 0.0
    top = (true_pairs + found_pairs) / 2
    ari = (hits - expected) / (top - expected) if top != expected else 1.0
    largest, size = Counter(found.values()).most_common(1)[0]
    events = Counter(truth[a] for a in truth if found[a] == largest)
    return {
        "articles": len(truth), "events": len(set(truth.values())), "stories": len(set(found.values())),
        "true": true_pairs, "found": found_pairs, "hits": hits, "P": precision, "R": recall, "F1": f1, "ARI": ari,
        "largest": size, "largest events": len(events), "largest purity": events.most_common(1)[0][1] / size,
        "multi-event stories": sum(1 for s in set(found.values())
                                   if len({truth[a] for a in truth if found[a] == s}) > 1),
    }  # fmt: skip


def window_ceiling(story_set: StorySet, window_days: int) -> float:
    """The best pairwise recall of a grouping that joins only articles of one event, each within the window of
    another (chains allowed): an event's articles split where two consecutive ones are further apart. Merging
    events can reach past it (another event's articles bridge the gap)."""
    times = defaultdict(list)
    for article in story_set.articles:
        times[story_set.event[article.article_id]].append(article.published_at)
    true, reachable = 0, 0
    for dates in times.values():
        dates.sort()
        true += math.comb(len(dates), 2)
        run = 1
        for before, after in zip(dates, dates[1:], strict=False):
            if (after - before).total_seconds() > window_days * 86400:
                reachable += math.comb(run, 2)
                run = 0
            run += 1
        reachable += math.comb(run, 2)
    return reachable / true if true else 1.0


def format_row(name: str, s: dict, seconds: float) -> str:
    return (
        f"{name:<26}{s['articles']:>9}{s['events']:>7}{s['stories']:>8}{s['true']:>7}{s['found']:>8}"
        f"{s['P']:>7.3f}{s['R']:>7.3f}{s['F1']:>7.3f}{s['ARI']:>7.3f}{s['largest']:>8}{s['largest events']:>7}"
        f"{s['largest purity']:>7.2f}{s['multi-event stories']:>6}{seconds:>6.1f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3], help="generator seeds (dates, outlets)")
    parser.add_argument("--times", type=int, nargs="+", default=[1, 10], help="density test: repeats of the set")
    defaults = StorySettings()
    parser.add_argument("--threshold", type=float, default=defaults.threshold, help="story assignment threshold")
    parser.add_argument("--merge-threshold", type=float, default=defaults.merge_threshold, help="story merges")
    parser.add_argument("--window-days", type=int, default=defaults.window_days)
    parser.add_argument("--furniture-articles", type=int, default=defaults.furniture_articles)
    args = parser.parse_args(argv)
    settings = base.DedupSettings()
    story_settings = StorySettings(
        threshold=args.threshold, merge_threshold=args.merge_threshold, window_days=args.window_days,
        furniture_articles=args.furniture_articles,
    )  # fmt: skip
    print(f"story settings: mean TF-IDF cosine >= {story_settings.threshold} with a story's members in the window "
          f"(merge >= {story_settings.merge_threshold}), title + {story_settings.lead_words}-word lead without "
          f"lines repeated in >= {story_settings.furniture_articles} of an outlet's articles, "
          f"{story_settings.window_days}-day window")  # fmt: skip
    print(f"{'set (seed)':<26}{'articles':>9}{'events':>7}{'stories':>8}{'true':>7}{'found':>8}{'P':>7}{'R':>7}"
          f"{'F1':>7}{'ARI':>7}{'largest':>8}{'events':>7}{'purity':>7}{'mixed':>6}{'s':>6}")  # fmt: skip
    pooled: dict[str, list[dict]] = defaultdict(list)
    ceilings = []
    for seed in args.seeds:
        story_set = generate_stories(seed)
        ceilings.append(window_ceiling(story_set, story_settings.window_days))
        runs = [("real text", story_set), ("no furniture", generate_stories(seed, furniture=False))]
        runs += [(f"shuffled x{t}", repeat(story_set, t, seed=seed)) for t in args.times]
        for name, labelled in runs:
            started = time.perf_counter()
            found, canonical = stories_of(labelled, settings, story_settings)
            s = scores(labelled.event, found)
            pooled[name].append(s)
            pooled[f"{name}, canonicals"].append(
                scores({a: e for a, e in labelled.event.items() if a in canonical}, {a: found[a] for a in canonical})
            )
            print(format_row(f"{name} ({seed})", s, time.perf_counter() - started), flush=True)
    print("pooled over seeds (pairs summed; ARI mean; largest: the largest of the seeds' largest stories)")
    for name, runs in pooled.items():
        total = {key: sum(r[key] for r in runs) for key in ("articles", "events", "stories", "true", "found", "hits")}
        p = total["hits"] / total["found"] if total["found"] else 1.0
        r = total["hits"] / total["true"] if total["true"] else 1.0
        worst = max(runs, key=lambda run: run["largest"])
        total |= {"P": p, "R": r, "F1": 2 * p * r / (p + r) if p + r else 0.0,
                  "ARI": sum(run["ARI"] for run in runs) / len(runs), "largest": worst["largest"],
                  "largest events": worst["largest events"], "largest purity": worst["largest purity"],
                  "multi-event stories": sum(run["multi-event stories"] for run in runs)}  # fmt: skip
        print(format_row(name, total, 0.0))
    print(
        f"recall ceiling of a {story_settings.window_days}-day window (same-event chains) on real text: "
        + ", ".join(f"{c:.3f}" for c in ceilings)
    )
    print("largest = articles in the largest story, events = labelled events in it, purity = share of its main event,")
    print("mixed = stories holding more than one event; no furniture = the same articles without the outlets' lines;")
    print("canonicals = scored on the canonical articles only (the story grouping's own errors: a copy takes its")
    print("canonical's story, so a near-duplicate joining two events' articles mixes their stories)")


if __name__ == "__main__":
    main()
