"""The labelled syndication set extended with issue 19's hard cases: P/R/F1 per split, figures per class.

Run from the repo root: `python bench/dedup/evaluate_hard.py [--seed 1] [--rounds 3] [--shingle-words 4 ...]`.
Per split and round, two warehouses: generate.py's set (as evaluate.py runs it) and hard_cases.py's set, which
is loaded in two runs (the undated copies after the first dedup) and deduplicated with the project's
update_near_duplicates after each. They are separate warehouses because both use the split's bodies as
originals; their pair counts are pooled ("all"), as the rounds are.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evaluate as base  # noqa: E402  (its imports of the project's dedup are the ones used here)
from generate import generate  # noqa: E402
from hard_cases import CLASSES, HardSet, generate_hard  # noqa: E402

from similarity.minhash import shingle_hashes, similarity  # noqa: E402


def dedup_in_runs(hard: HardSet, settings) -> dict[str, str]:
    """article_id -> canonical: load the early articles, deduplicate, load the late ones, deduplicate again."""
    early = [a for a in hard.articles if a.article_id not in hard.late]
    late = [a for a in hard.articles if a.article_id in hard.late]
    with tempfile.TemporaryDirectory() as tmp, base.open_writer(Path(tmp) / "hard.duckdb") as conn:
        base.load_batch(conn, early, [], "bench-hard-1")
        base.update_near_duplicates(conn, settings)
        base.load_batch(conn, late, [], "bench-hard-2")
        base.update_near_duplicates(conn, settings)
        rows = conn.execute("SELECT article_id, coalesce(duplicate_of, article_id) FROM articles").fetchall()
    return dict(rows)


def class_outcomes(hard: HardSet, canonical: dict[str, str]) -> Counter:
    """Per class: true and found positive pairs, labelled and merged negative pairs, originals kept canonical."""
    counts = Counter()
    for a, b in itertools.combinations(sorted(canonical), 2):
        if hard.group[a] == hard.group[b]:
            kinds = {hard.kind[a], hard.kind[b]}
            kind = "templated pickup" if "templated pickup" in kinds else hard.kind[a]
            counts[f"{kind} true"] += 1
            counts[f"{kind} found"] += canonical[a] == canonical[b]
    members = defaultdict(set)
    for article_id, group in canonical.items():
        members[group].add(hard.group[article_id])
    merged = {frozenset(p) for keys in members.values() for p in itertools.combinations(sorted(keys), 2)}
    for kind, pairs in hard.negatives.items():
        counts[f"{kind} labelled"] += len(pairs)
        counts[f"{kind} merged"] += len(pairs & merged)
    # Any other wrong pair involving a class (e.g. a truncation merged with an unrelated article).
    for a, b in itertools.combinations(sorted(canonical), 2):
        if canonical[a] == canonical[b] and hard.group[a] != hard.group[b]:
            for kind in {hard.kind[a], hard.kind[b]}:
                counts[f"{kind} wrong"] += 1
    for family, original in hard.originals.items():
        copies = [i for i, g in hard.group.items() if g == family and i != original]
        counts["undated families"] += 1
        counts["undated original canonical"] += canonical[original] == original
        counts["undated copies on original"] += sum(canonical[c] == original for c in copies)
        counts["undated copies"] += len(copies)
    return counts


def missed_positives(hard: HardSet, canonical: dict[str, str], params) -> list[tuple[str, str, float, float]]:
    """(class, which pair, Jaccard, containment) of each true pair not found; truncation pairs are named by
    the shares of the 160 words they keep ("orig" = the 160-word original)."""
    texts = {a.article_id: a for a in hard.articles}
    missed = []
    for a, b in itertools.combinations(sorted(canonical), 2):
        if hard.group[a] == hard.group[b] and canonical[a] != canonical[b]:
            kinds = {hard.kind[a], hard.kind[b]}
            kind = "templated pickup" if "templated pickup" in kinds else hard.kind[a]
            names = sorted(texts[i].url.rsplit("-", 1)[-1] if "-0." in texts[i].url or "-1.0" in texts[i].url
                           else "orig" for i in (a, b))  # fmt: skip
            jaccard, containment = similarity(
                shingle_hashes(texts[a].text, params), shingle_hashes(texts[b].text, params)
            )
            missed.append((kind, "-".join(names), jaccard, containment))
    return missed


def pair_scores(counts: Counter) -> tuple[float, float, float]:
    precision = counts["hits"] / counts["found"] if counts["found"] else 1.0
    recall = counts["hits"] / counts["true"] if counts["true"] else 1.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def templated_similarity(hards: list[HardSet], params) -> dict[str, list[tuple[float, float]]]:
    """Exact Jaccard and containment of the reports of a family: consecutive days, and any two days."""
    found = {"consecutive days": [], "any two days": []}
    for hard in hards:
        texts = {a.article_id: a.text for a in hard.articles}
        for family in hard.families:
            shingles = [shingle_hashes(texts[i], params) for i in family]
            for (i, a), (j, b) in itertools.combinations(enumerate(shingles), 2):
                found["any two days"].append(similarity(a, b))
                if j == i + 1:
                    found["consecutive days"].append(similarity(a, b))
    return found


def main(argv: list[str] | None = None) -> None:
    defaults = base.DedupSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="first generator seed")
    parser.add_argument("--rounds", type=int, default=3, help="sets generated per split (seeds differ)")
    parser.add_argument("--shingle-words", type=int, default=defaults.minhash.shingle_words)
    parser.add_argument("--bands", type=int, default=defaults.minhash.bands, help="of 128 permutations")
    parser.add_argument("--jaccard", type=float, default=defaults.jaccard_threshold)
    parser.add_argument("--containment", type=float, default=defaults.containment_threshold)
    args = parser.parse_args(argv)
    settings = base.make_settings(args.shingle_words, args.bands, args.jaccard, args.containment)
    seeds = range(args.seed, args.seed + args.rounds)
    print(f"settings: {settings.minhash.shingle_words}-word shingles, {settings.minhash.bands} bands, Jaccard >= "
          f"{settings.jaccard_threshold} or containment >= {settings.containment_threshold}; pooled over "
          f"{args.rounds} rounds (seeds {seeds.start}-{seeds.stop - 1})")  # fmt: skip
    print(f"{'split':<9}{'set':<6}{'docs':>6}{'true':>6}{'found':>6}{'hits':>6}{'P':>8}{'R':>8}{'F1':>8}")
    per_class, all_hard, missed = {}, [], []
    for split in ("tune", "held-out"):
        totals = {"base": Counter(), "hard": Counter()}
        classes = Counter()
        for seed in seeds:
            labelled = generate(split, seed)
            totals["base"] += base.count_outcomes(labelled, base.dedup_labelled(labelled, settings))
            hard = generate_hard(split, seed)
            all_hard.append(hard)
            canonical = dedup_in_runs(hard, settings)
            totals["hard"] += base.count_outcomes(hard, canonical)
            classes += class_outcomes(hard, canonical)
            missed += missed_positives(hard, canonical, settings.minhash)
        totals["all"] = totals["base"] + totals["hard"]
        for name, counts in totals.items():
            p, r, f1 = pair_scores(counts)
            print(f"{split:<9}{name:<6}{counts['docs']:>6}{counts['true']:>6}{counts['found']:>6}{counts['hits']:>6}"
                  f"{p:>8.4f}{r:>8.4f}{f1:>8.4f}")  # fmt: skip
        per_class[split] = classes
    print("\nper class (pooled over rounds): positive pairs found/true; negative pairs merged/labelled;")
    print("wrong = found pairs of different groups involving the class")
    print(f"{'split':<9}{'class':<18}{'positives':>11}{'negatives':>12}{'wrong':>7}")
    for split, c in per_class.items():
        for kind in CLASSES:
            positives = f"{c[kind + ' found']}/{c[kind + ' true']}" if c[kind + " true"] else "-"
            negatives = f"{c[kind + ' merged']}/{c[kind + ' labelled']}" if c[kind + " labelled"] else "-"
            print(f"{split:<9}{kind:<18}{positives:>11}{negatives:>12}{c[kind + ' wrong']:>7}")
        print(f"{split:<9}undated families: original canonical in {c['undated original canonical']}/"
              f"{c['undated families']}, copies on the original {c['undated copies on original']}/"
              f"{c['undated copies']}")  # fmt: skip
    print("\nmissed positive pairs (both splits) by class and pair: count, max exact Jaccard, containment range")
    by_pair = defaultdict(list)
    for kind, names, jaccard, containment in missed:
        by_pair[kind, names if kind == "truncation" else ""].append((jaccard, containment))
    for (kind, names), values in sorted(by_pair.items()):
        print(
            f"  {kind:<18}{names:<10}{len(values):>4}  Jaccard {max(v[0] for v in values):.3f}  containment "
            f"{min(v[1] for v in values):.3f}-{max(v[1] for v in values):.3f}"
        )
    print(f"\ntemplated families ({settings.minhash.shingle_words}-word shingles, both splits): exact Jaccard / "
          f"containment, min / median / max; share of pairs at or above a threshold")  # fmt: skip
    for name, values in templated_similarity(all_hard, settings.minhash).items():
        jaccards, containments = [v[0] for v in values], [v[1] for v in values]
        over = sum(j >= settings.jaccard_threshold or c >= settings.containment_threshold for j, c in values)
        print(f"  {name:<17} {len(values):>4} pairs  Jaccard {min(jaccards):.3f} / {statistics.median(jaccards):.3f}"
              f" / {max(jaccards):.3f}   containment {min(containments):.3f} / {statistics.median(containments):.3f}"
              f" / {max(containments):.3f}   over a threshold {over}/{len(values)}")  # fmt: skip


if __name__ == "__main__":
    main()
