"""Throughput of the project's near-duplicate stage against datasketch MinHash + MinHashLSH, same documents.

Run from the repo root: `python bench/dedup/run.py [--docs 100000] [--new 1000] [--profile]`.
Documents: cheap originals (words drawn with the benchmark bodies' word frequencies, 200-1500 words) and
syndicated copies made by generate.py (~25% of the documents). Each timed phase runs in its own process, so
its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing
import pstats
import random
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate import count_outcomes  # noqa: E402
from generate import BENCHMARK, START, LabelledSet, Original, build_set  # noqa: E402

from similarity.minhash import MinHashParams, tokens_for_shingling  # noqa: E402
from warehouse.db import connect, open_writer  # noqa: E402
from warehouse.dedup import DedupSettings, update_near_duplicates  # noqa: E402
from warehouse.load import load_batch  # noqa: E402

LOAD_BATCH = 5000


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, because ru_maxrss survives execve (a spawned child would report its
    parent's peak); ru_maxrss where /proc is missing."""
    status = Path("/proc/self/status")
    if status.exists():
        return int(re.search(r"VmHWM:\s+(\d+)", status.read_text()).group(1)) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_corpus(docs: int, seed: int) -> LabelledSet:
    """`docs` documents over 30 days in publication order: cheap originals, 13% of them syndicated 0-5 times."""
    truth = json.loads(BENCHMARK.read_text(encoding="utf-8"))
    frequencies = Counter(w for v in truth.values() for w in re.findall(r"[^\W\d_]+", v["articleBody"].lower()))
    vocabulary = np.array(list(frequencies))
    cdf = np.cumsum(np.array(list(frequencies.values()), dtype=float))
    cdf /= cdf[-1]
    rng = np.random.default_rng(seed)
    clock = random.Random(seed)
    originals = []
    for number in range(int(docs * 0.78)):  # 3-4% more documents than asked, the newest are dropped
        words = vocabulary[np.searchsorted(cdf, rng.random(int(rng.integers(200, 1501))))].tolist()
        when = START + timedelta(minutes=clock.randrange(30 * 24 * 60))
        title = " ".join(words[:8]).capitalize()
        originals.append(Original(f"doc{number}", title, join_paragraphs(words, rng), "wire.example", when))
    labelled = build_set(originals, seed, syndicated=0.133, outlets=100)
    kept = sorted(labelled.articles, key=lambda a: a.published_at)[:docs]
    ids = {a.article_id for a in kept}
    group = {i: key for i, key in labelled.group.items() if i in ids}
    return LabelledSet(kept, group, {i: o for i, o in labelled.outlet.items() if i in ids}, labelled.negatives)


def join_paragraphs(words: list[str], rng: np.random.Generator) -> str:
    """Paragraphs of 30-90 words, each one sentence."""
    ends = np.cumsum(rng.integers(30, 90, size=len(words) // 30 + 1)).tolist()
    starts = [0, *ends[:-1]]
    return "\n\n".join(
        " ".join(words[a:b]).capitalize() + "." for a, b in zip(starts, ends, strict=True) if a < len(words)
    )


def load_articles(db: Path, articles: list, run_id: str) -> float:
    """Load in batches through load_batch; returns the seconds taken."""
    started = time.perf_counter()
    with open_writer(db) as conn:
        conn.execute("SET enable_progress_bar = false")
        for start in range(0, len(articles), LOAD_BATCH):
            load_batch(conn, articles[start : start + LOAD_BATCH], [], f"{run_id}-{start}")
    return time.perf_counter() - started


def run_project(db: Path, settings: DedupSettings, profile: bool) -> dict:
    """update_near_duplicates on the warehouse, timed (and profiled when asked), in this process."""
    with open_writer(db) as conn:
        conn.execute("SET enable_progress_bar = false")
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        update_near_duplicates(conn, settings)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
        pairs = conn.execute("SELECT count(*) FROM near_duplicates").fetchone()[0]
    report = io.StringIO()
    if profiler:
        pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(18)
    return {"seconds": seconds, "pairs": pairs, "peak_rss_mb": peak_rss_mb(), "profile": report.getvalue()}


def run_datasketch(db: Path, params: MinHashParams) -> dict:
    """MinHash.update_batch over the project's shingle strings, then MinHashLSH insert all and query each."""
    from datasketch import MinHash, MinHashLSH

    with connect(db, read_only=True) as conn:
        conn.execute("SET enable_progress_bar = false")
        texts = conn.execute("SELECT article_id, text FROM articles ORDER BY article_id").fetchall()
    timings = Counter()
    started = time.perf_counter()
    signatures = []
    for article_id, text in texts:
        tokens, by_words = tokens_for_shingling(text)
        size = min(params.shingle_words if by_words else params.shingle_chars, len(tokens))
        shingles = {" ".join(tokens[i : i + size]).encode() for i in range(len(tokens) - size + 1)}
        mark = time.perf_counter()
        minhash = MinHash(num_perm=params.permutations)
        minhash.update_batch(shingles)
        timings["minhash"] += time.perf_counter() - mark
        signatures.append((article_id, minhash))
    timings["shingles"] = time.perf_counter() - started - timings["minhash"]
    mark = time.perf_counter()
    lsh = MinHashLSH(num_perm=params.permutations, params=(params.bands, params.rows))
    for article_id, minhash in signatures:
        lsh.insert(article_id, minhash)
    timings["insert"] = time.perf_counter() - mark
    mark = time.perf_counter()
    candidates = sum(len(lsh.query(minhash)) - 1 for _, minhash in signatures)
    timings["query"] = time.perf_counter() - mark
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "candidates": candidates // 2, "peak_rss_mb": peak_rss_mb(), "timings": timings}


def in_own_process(function, *args) -> dict:
    """Run a phase in a fresh interpreter, so its peak RSS is its own."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def main(argv: list[str] | None = None) -> None:
    defaults = DedupSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000, help="documents loaded before the timed runs")
    parser.add_argument("--new", type=int, default=1000, help="documents added afterwards (incremental path)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--shingle-words", type=int, default=defaults.minhash.shingle_words)
    parser.add_argument("--bands", type=int, default=defaults.minhash.bands, help="of 128 permutations")
    parser.add_argument("--jaccard", type=float, default=defaults.jaccard_threshold)
    parser.add_argument("--containment", type=float, default=defaults.containment_threshold)
    parser.add_argument("--profile", action="store_true", help="cProfile the project's runs, print the top calls")
    args = parser.parse_args(argv)
    params = MinHashParams(shingle_words=args.shingle_words, bands=args.bands)
    settings = DedupSettings(minhash=params, jaccard_threshold=args.jaccard, containment_threshold=args.containment)

    started = time.perf_counter()
    corpus = make_corpus(args.docs + args.new, args.seed)
    first, new = corpus.articles[: args.docs], corpus.articles[args.docs :]
    copies = sum(a.article_id in corpus.outlet for a in first)
    words = sum(a.word_count for a in first) / len(first)
    print(f"generated {len(corpus.articles)} documents in {time.perf_counter() - started:.0f} s")
    print(f"corpus: {len(first)} documents ({copies / len(first):.0%} copies, {words:.0f} words on average)")
    print(f"settings: {params.shingle_words}-word shingles, {params.bands}x{params.rows} of {params.permutations}")

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        print(f"load_batch: {len(first)} documents in {load_articles(db, first, 'bench'):.1f} s (not counted)")
        project = in_own_process(run_project, db, settings, args.profile)
        baseline = in_own_process(run_datasketch, db, params)
        load_seconds = load_articles(db, new, "bench-new")
        incremental = in_own_process(run_project, db, settings, args.profile)
        with connect(db, read_only=True) as conn:
            rows = conn.execute("SELECT article_id, coalesce(duplicate_of, article_id) FROM articles").fetchall()
    counts = count_outcomes(corpus, dict(rows))
    rate, base_rate = len(first) / project["seconds"], len(first) / baseline["seconds"]
    print(
        f"project   update_near_duplicates: {project['seconds']:7.1f} s {rate:8.0f} docs/s "
        f"peak RSS {project['peak_rss_mb']:6.0f} MB  verified pairs {project['pairs']}"
    )
    print(
        f"datasketch MinHash + MinHashLSH:  {baseline['seconds']:7.1f} s {base_rate:8.0f} docs/s "
        f"peak RSS {baseline['peak_rss_mb']:6.0f} MB  candidate pairs {baseline['candidates']}"
    )
    print("  datasketch phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in baseline["timings"].items()))
    print(f"ratio project/datasketch: {rate / base_rate:.2f}x (goal >= 2x)")
    print(
        f"incremental: +{len(new)} documents: load {load_seconds:.1f} s (not counted), "
        f"update_near_duplicates {incremental['seconds']:.2f} s, peak RSS {incremental['peak_rss_mb']:.0f} MB"
    )
    print(f"generate + load process peak RSS {peak_rss_mb():.0f} MB")
    precision, recall = counts["hits"] / max(counts["found"], 1), counts["hits"] / max(counts["true"], 1)
    print(
        f"accuracy on all {counts['docs']} documents: pairwise precision {precision:.4f}, recall {recall:.4f}, "
        f"same-template pairs merged {counts['same template merged']}/{counts['same template labelled']}"
    )
    if args.profile:
        print(f"profile of the full run (cProfile inflates its time):\n{project['profile']}")
        print(f"profile of the incremental run:\n{incremental['profile']}")


if __name__ == "__main__":
    main()
