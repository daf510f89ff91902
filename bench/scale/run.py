"""Scaling out: the ingest flow on the default runner vs a Dask local cluster, and loads by 1 and 2 concurrent
writers into a DuckLake catalog vs a DuckDB file.

Run from the repo root: `python bench/scale/run.py [--docs 4000] [--workers 2]`.
1. Runners: `mediamon ingest CORPUS` into a fresh DuckDB file, with MEDIAMON_TASK_RUNNER unset (the default:
   extraction on the flow's process pool) and `dask` (a LocalCluster of --workers processes). Articles/s of
   each, the ratio dask/default, and the peak RSS summed over the process tree (Dask workers included).
2. Loads: the corpus is extracted once, then loaded with the warehouse's own `load_batch` in batches of
   --batch-size, by 1 writer process into a DuckDB file (the baseline), by 1 writer into DuckLake (SQLite
   catalog), and by 2 concurrent writer processes (half the articles each) into DuckLake and into one DuckDB
   file (there they take turns on the file lock). Articles/s of each, the ratio to the baseline, and each
   writer's peak RSS.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "bench/pipeline")]


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants, from /proc."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def run_ingest(corpus: Path, db: Path, env: dict[str, str]) -> dict:
    """Time `mediamon ingest` and sample its process tree's RSS every 0.2 s."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIAMON_", "PREFECT_API_URL"))}
    started = time.perf_counter()
    run = subprocess.Popen(
        [str(Path(sys.executable).parent / "mediamon"), "ingest", str(corpus), "--db", str(db)],
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    peak = [0.0]

    def sample() -> None:
        while run.poll() is None:
            peak[0] = max(peak[0], tree_rss_mb(run.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = run.communicate()
    wall = time.perf_counter() - started
    sampler.join()
    if run.returncode:
        raise SystemExit(f"ingest failed ({env}):\n{output[-3000:]}")
    loaded = int(re.search(r"(\d+) loaded", output).group(1))
    return {"wall_s": wall, "loaded": loaded, "peak_rss_mb": peak[0]}


def _writer(db: str, articles: list, batch_size: int, ready, go, result) -> None:
    """Load `articles` in batches, retrying a batch whose DuckLake commit lost to the other writer."""
    from warehouse.db import is_write_conflict, open_writer
    from warehouse.load import load_batch

    with open_writer(db):
        pass  # migrations and imports before the clock starts
    ready.set()
    go.wait()
    started, retries = time.perf_counter(), 0
    for start in range(0, len(articles), batch_size):
        while True:
            try:
                with open_writer(db) as conn:
                    load_batch(conn, articles[start : start + batch_size], [], f"bench-{os.getpid()}")
                break
            except Exception as exc:
                if not is_write_conflict(exc):
                    raise
                retries += 1
                time.sleep(0.05)
    status = Path("/proc/self/status").read_text()
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
    result.put({"wall_s": time.perf_counter() - started, "retries": retries, "peak_rss_mb": peak})


def run_loads(db: str, parts: list[list], batch_size: int) -> dict:
    """Start one writer process per part, release them together, and time until the last one is done."""
    context = multiprocessing.get_context("spawn")
    go, result = context.Event(), context.Queue()
    writers = []
    for part in parts:
        ready = context.Event()
        writer = context.Process(target=_writer, args=(db, part, batch_size, ready, go, result))
        writer.start()
        ready.wait()
        writers.append(writer)
    started = time.perf_counter()
    go.set()
    outcomes = [result.get() for _ in writers]
    wall = time.perf_counter() - started
    for writer in writers:
        writer.join()
        if writer.exitcode:
            raise SystemExit(f"a writer into {db} failed")
    from warehouse.db import connect

    with connect(db, read_only=True) as conn:
        rows, distinct = conn.execute("SELECT count(*), count(DISTINCT article_id) FROM articles").fetchone()
    expected = sum(len(part) for part in parts)
    if (rows, distinct) != (expected, expected):
        raise SystemExit(f"{db}: {rows} rows, {distinct} distinct, expected {expected}")
    return {
        "wall_s": wall,
        "articles": expected,
        "retries": sum(o["retries"] for o in outcomes),
        "peak_rss_mb": max(o["peak_rss_mb"] for o in outcomes),
    }


def extract_corpus(corpus: Path) -> list:
    from extractors import Article, extract_document
    from fetching.files import file_uri

    articles = []
    for path in sorted(corpus.rglob("*.html")):
        result = extract_document(path.read_bytes(), file_uri(path.resolve()), "html")
        if isinstance(result, Article):
            articles.append(result)
    return articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=4_000, help="pages to generate")
    parser.add_argument("--workers", type=int, default=2, help="Dask local cluster processes")
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from generate import generate_corpus

    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    try:
        corpus = work / "corpus"
        generate_corpus(corpus, args.docs, args.seed)
        print(f"generated {args.docs} pages", flush=True)
        runners = {
            "default": run_ingest(corpus, work / "default.duckdb", {}),
            "dask": run_ingest(
                corpus,
                work / "dask.duckdb",
                {"MEDIAMON_TASK_RUNNER": "dask", "MEDIAMON_DASK_WORKERS": str(args.workers)},
            ),
        }
        print("runners done", flush=True)
        articles = extract_corpus(corpus)
        half = len(articles) // 2
        loads = {
            "file, 1 writer": run_loads(str(work / "one.duckdb"), [articles], args.batch_size),
            "ducklake, 1 writer": run_loads(f"ducklake:sqlite:{work}/one.sqlite", [articles], args.batch_size),
            "ducklake, 2 writers": run_loads(
                f"ducklake:sqlite:{work}/two.sqlite", [articles[:half], articles[half:]], args.batch_size
            ),
            "file, 2 writers": run_loads(str(work / "two.duckdb"), [articles[:half], articles[half:]], args.batch_size),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(runners, loads, args)


def report(runners: dict, loads: dict, args: argparse.Namespace) -> None:
    print(f"\ningest of {args.docs:,} generated pages (Prefect's temporary server start included in both)")
    base = runners["default"]["loaded"] / runners["default"]["wall_s"]
    for name, run in runners.items():
        rate = run["loaded"] / run["wall_s"]
        label = "default runner" if name == "default" else f"Dask LocalCluster, {args.workers} workers"
        print(
            f"  {label:<32} {rate:7.1f} articles/s  {run['wall_s']:6.1f} s  ratio {rate / base:.3f}"
            f"  peak RSS (process tree) {run['peak_rss_mb']:,.0f} MB"
        )
    print(
        f"\nloads of {loads['file, 1 writer']['articles']:,} extracted "
        f"articles, batches of {args.batch_size} (baseline: 1 writer into a DuckDB file)"
    )
    base = loads["file, 1 writer"]["articles"] / loads["file, 1 writer"]["wall_s"]
    for name, run in loads.items():
        rate = run["articles"] / run["wall_s"]
        print(
            f"  {name:<32} {rate:7.1f} articles/s  {run['wall_s']:6.1f} s  ratio {rate / base:.3f}"
            f"  commit retries {run['retries']:>3}  peak RSS per writer {run['peak_rss_mb']:,.0f} MB"
        )


if __name__ == "__main__":
    main()
