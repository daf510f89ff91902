"""Which way of putting extraction on both cores costs less: the flow's ExtractionPool inside one task per batch,
or Prefect's ProcessPoolTaskRunner with one task per worker's share of a batch (in-process extraction and
ThreadPoolTaskRunner for reference).

Run from the repo root: `python bench/pipeline/runners.py CORPUS [--docs 2000] [--workers 2]` (CORPUS from
`generate.py`). Extraction only, no loading; each variant runs in its own process on a Prefect server started
there (start-up not timed), batches of 200, and is timed from flow call to return.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

BATCH = 200


def extract_paths(paths: list[str]) -> int:
    """Read and extract files in this process; returns how many became articles."""
    from extractors import Article, document_kind, extract_document

    results = [extract_document(Path(p).read_bytes(), Path(p).as_uri(), document_kind(p)) for p in paths]
    return sum(isinstance(r, Article) for r in results)


def run_variant(variant: str, paths: list[str], workers: int) -> dict:
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import temporary_settings
    from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

    from extractors import Article, ExtractOptions, document_kind
    from pipeline.pool import ExtractionPool, ExtractJob

    batches = [paths[i : i + BATCH] for i in range(0, len(paths), BATCH)]

    @task(cache_policy=NO_CACHE)
    def extract_on_pool(batch: list[str], pool: ExtractionPool) -> int:
        jobs = [ExtractJob(Path(p).read_bytes(), Path(p).as_uri(), document_kind(p)) for p in batch]
        return sum(isinstance(r, Article) for r in pool.extract(jobs, ExtractOptions()))

    extract_share = task(extract_paths, cache_policy=NO_CACHE)

    def with_pool(size: int):
        @flow
        def pooled() -> int:
            with ExtractionPool(size) as pool:
                return sum(extract_on_pool(batch, pool) for batch in batches)

        return pooled

    def with_runner(runner):
        @flow(task_runner=runner)
        def split_batches() -> int:
            total = 0
            for batch in batches:
                shares = [batch[k::workers] for k in range(workers)]
                total += sum(f.result() for f in [extract_share.submit(share) for share in shares])
            return total

        return split_batches

    chosen = {
        "in_process": with_pool(1),
        "extraction_pool": with_pool(workers),
        "process_pool_task_runner": with_runner(ProcessPoolTaskRunner(max_workers=workers)),
        "thread_pool_task_runner": with_runner(ThreadPoolTaskRunner(max_workers=workers)),
    }[variant]
    server = SubprocessASGIServer()
    server.start()
    try:
        with temporary_settings(updates={"api.url": server.api_url, "flows.heartbeat_frequency": None}):
            started = time.perf_counter()
            articles = chosen()
            wall = time.perf_counter() - started
    finally:
        server.stop()
    return {"variant": variant, "wall_s": wall, "articles": articles, "docs": len(paths)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    args = parser.parse_args()
    paths = [str(p) for p in sorted(args.corpus.rglob("*.html"))[: args.docs]]
    if args.variant:
        print(json.dumps(run_variant(args.variant, paths, args.workers)))
        return
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    for variant in ("in_process", "extraction_pool", "process_pool_task_runner", "thread_pool_task_runner"):
        command = [sys.executable, __file__, str(args.corpus), "--docs", str(args.docs), "--workers", str(args.workers)]
        done = subprocess.run([*command, "--variant", variant], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        rate = figures["docs"] / figures["wall_s"]
        print(
            f"{variant:<26} {rate:7.1f} docs/s  {figures['wall_s']:6.1f} s  ({figures['articles']} articles)",
            flush=True,
        )


if __name__ == "__main__":
    main()
