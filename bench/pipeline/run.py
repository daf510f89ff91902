"""End-to-end ingest throughput: the real ingest flow against bare trafilatura + langdetect on the same pages.

Run from the repo root: `python bench/pipeline/run.py [--docs 20000] [--workers 2] [--keep] [--corpus DIR]`.
Phases, each in its own process (peak RSS = that process's VmHWM):
1. generate the corpus (not timed as pipeline);
2. first ingest: the `ingest` flow, as `mediamon ingest DIR` calls it, into a fresh warehouse; Prefect's
   temporary API server is started first and its start-up reported apart;
3. baseline: `trafilatura.extract(include_comments=False, favor_precision=True)` + seeded langdetect over
   the same files on `--workers` processes (multiprocessing.Pool, chunks of 8);
4. second ingest of the unchanged corpus into the same warehouse.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))

from config.settings import DEFAULT_BATCH_SIZE  # noqa: E402

BASELINE_OPTIONS = {"include_comments": False, "favor_precision": True}


def cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of another live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, because ru_maxrss survives execve; ru_maxrss where /proc is missing."""
    status = Path("/proc/self/status")
    if status.exists():
        return int(re.search(r"VmHWM:\s+(\d+)", status.read_text()).group(1)) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TaskClock:
    """Records when each task body of a module's Prefect tasks runs, on any thread, and how much the process's
    peak RSS rose while it ran (bodies that overlap both count a rise)."""

    def __init__(self, module) -> None:
        from prefect import Task

        self.intervals: list[tuple[str, float, float]] = []
        self.peak_rises: dict[str, float] = {}
        self._lock = threading.Lock()
        for value in vars(module).values():
            if isinstance(value, Task):
                value.fn = self._timed(value.name, value.fn)

    def _timed(self, name: str, fn):
        @functools.wraps(fn)  # Prefect binds submitted parameters by the wrapped signature
        def body(*args, **kwargs):
            started, peak = time.perf_counter(), peak_rss_mb()
            try:
                return fn(*args, **kwargs)
            finally:
                rise = peak_rss_mb() - peak
                with self._lock:
                    self.intervals.append((name, started, time.perf_counter()))
                    self.peak_rises[name] = self.peak_rises.get(name, 0.0) + rise

        return body

    def covered(self, start: float, end: float) -> float:
        """Seconds of [start, end] during which at least one task body ran."""
        total, reach = 0.0, start
        for _, a, b in sorted(self.intervals, key=lambda row: row[1]):
            a, b = max(a, reach), min(b, end)
            if b > a:
                total += b - a
                reach = b
        return total

    def by_task(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for name, a, b in self.intervals:
            totals[name] = totals.get(name, 0.0) + b - a
        return {name: round(seconds, 2) for name, seconds in sorted(totals.items(), key=lambda kv: -kv[1])}

    def peak_rise_by_task(self) -> dict[str, int]:
        """MB by which each task's bodies raised the peak RSS."""
        return {name: round(mb) for name, mb in sorted(self.peak_rises.items(), key=lambda kv: -kv[1]) if mb >= 1}


def phase_ingest(corpus: Path, db: Path, workers: int | None, batch_size: int) -> dict:
    """One ingest flow run, as `mediamon ingest` makes it, on a Prefect server started here."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    started = time.perf_counter()
    from prefect.logging.handlers import APILogHandler
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import temporary_settings

    import flows.ingest as module

    imports = time.perf_counter() - started
    started = time.perf_counter()
    server = SubprocessASGIServer()
    server.start()
    server_start = time.perf_counter() - started
    clock = TaskClock(module)
    try:
        with temporary_settings(updates={"api.url": server.api_url, "flows.heartbeat_frequency": None}):
            server_cpu = process_cpu_seconds(server.server_process.pid)
            cpu = cpu_seconds() + cpu_seconds(resource.RUSAGE_CHILDREN)
            peak_before = peak_rss_mb()
            started = time.perf_counter()
            summary = module.ingest(paths=[str(corpus)], db=str(db), batch_size=batch_size, extract_workers=workers)
            ended = time.perf_counter()
            cpu = cpu_seconds() + cpu_seconds(resource.RUSAGE_CHILDREN) - cpu  # this process and its pool
            server_cpu = process_cpu_seconds(server.server_process.pid) - server_cpu
            APILogHandler().flush()  # the run's last log lines reach the server before it stops
    finally:
        server.stop()
    wall = ended - started
    return {
        "imports_s": imports,
        "server_start_s": server_start,
        "wall_s": wall,
        "cpu_s": cpu,
        "server_cpu_s": server_cpu,
        "in_tasks_s": clock.covered(started, ended),
        "tasks": clock.by_task(),
        "peak_rise_by_task_mb": clock.peak_rise_by_task(),
        "summary": {k: v for k, v in summary.items() if k not in ("run_id", "db")},
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_before_flow_mb": peak_before,
    }


def _baseline_page(path: str) -> str | None:
    import trafilatura
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    html = Path(path).read_bytes().decode("utf-8")
    text = trafilatura.extract(html, **BASELINE_OPTIONS)
    if not text:
        return None
    try:
        return detect_langs(text[:5000])[0].lang
    except LangDetectException:
        return None


def _warm_worker() -> None:
    import trafilatura  # noqa: F401
    from langdetect import detect_langs

    detect_langs("warm up the profiles of every language before the clock starts")


def phase_baseline(corpus: Path, workers: int) -> dict:
    """Bare trafilatura + langdetect over the corpus on `workers` processes. The wall time leaves out the
    workers' start-up; the CPU time, like the pipeline's, includes it."""
    paths = [str(p) for p in sorted(corpus.rglob("*.html"))]
    cpu = cpu_seconds() + cpu_seconds(resource.RUSAGE_CHILDREN)
    with multiprocessing.get_context("spawn").Pool(workers, initializer=_warm_worker) as pool:
        pool.map(_baseline_page, paths[:workers])  # workers up and warm
        started = time.perf_counter()
        languages = pool.map(_baseline_page, paths, chunksize=8)
        wall = time.perf_counter() - started
        pool.close()
        pool.join()
    cpu = cpu_seconds() + cpu_seconds(resource.RUSAGE_CHILDREN) - cpu
    return {"wall_s": wall, "cpu_s": cpu, "docs": len(paths), "with_text": sum(lang is not None for lang in languages)}


def run_phase(name: str, log: Path, **arguments: object) -> dict:
    """Run a phase in a fresh interpreter, so its peak RSS is its own; its log goes to `log`."""
    command = [sys.executable, __file__, "--phase", name, "--phase-args", json.dumps(arguments, default=str)]
    with log.open("a") as stderr:
        done = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, text=True)
    if done.returncode:
        sys.exit(f"phase {name} failed ({done.returncode}); its log: {log}\n{log.read_text()[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000, help="pages to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, help="processes for the flow's extraction and the baseline")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--corpus", type=Path, help="use (or create) the corpus in this folder")
    parser.add_argument("--keep", action="store_true", help="keep the corpus and the warehouse (paths printed)")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    parser.add_argument(
        "--ingest-only", action="store_true", help="only the first ingest: its speed and peak RSS at a large --docs"
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--phase-args", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        arguments = json.loads(args.phase_args)
        for key in ("corpus", "db"):
            if key in arguments:
                arguments[key] = Path(arguments[key])
        print(json.dumps({"ingest": phase_ingest, "baseline": phase_baseline}[args.phase](**arguments)))
        return

    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    corpus = args.corpus or work / "corpus"
    db = work / "warehouse.duckdb"
    log = work / "phases.log"
    try:
        if not corpus.exists() or not any(corpus.iterdir()):
            from generate import generate_corpus

            started = time.perf_counter()
            kinds = generate_corpus(corpus, args.docs, args.seed)
            print(f"generated {args.docs} pages in {time.perf_counter() - started:.0f} s: {kinds}", flush=True)
        size = sum(p.stat().st_size for p in corpus.rglob("*.html"))
        ingest_args = {"corpus": corpus, "db": db, "workers": args.workers, "batch_size": args.batch_size}
        first = run_phase("ingest", log, **ingest_args)
        print(f"first ingest {first['wall_s']:.1f} s", flush=True)
        if args.ingest_only:
            report_ingest(first, args)
            return
        baseline = run_phase("baseline", log, corpus=corpus, workers=args.workers)
        print(f"baseline {baseline['wall_s']:.1f} s", flush=True)
        second = run_phase("ingest", log, **ingest_args)
    finally:
        if args.keep:
            print(f"kept: corpus {corpus}, warehouse {db}, log {log}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(first, baseline, second, size, args)


def report_ingest(first: dict, args: argparse.Namespace) -> None:
    docs = first["summary"]["seen"]
    print(
        f"first ingest of {docs:,} documents: {docs / first['wall_s']:.1f} articles/s ({first['wall_s']:.1f} s),"
        f" peak RSS {first['peak_rss_mb']:.0f} MB ({first['peak_rss_before_flow_mb']:.0f} MB before the flow)"
    )
    print(f"task bodies (s): {first['tasks']}")
    print(f"peak RSS rise while each task ran (MB): {first['peak_rise_by_task_mb']}")
    print(f"counts: {first['summary']}")
    if args.json:
        print(json.dumps(first))


def report(first: dict, baseline: dict, second: dict, size: int, args: argparse.Namespace) -> None:
    docs = baseline["docs"]
    ours, bare = docs / first["wall_s"], docs / baseline["wall_s"]
    prefect_share = 1 - first["in_tasks_s"] / first["wall_s"]
    pipeline_cpu = first["cpu_s"] + first["server_cpu_s"]
    figures = {
        "docs": docs,
        "corpus_mb": round(size / 1e6),
        "workers": args.workers,
        "pipeline_articles_per_s": round(ours, 1),
        "baseline_articles_per_s": round(bare, 1),
        "ratio": round(ours / bare, 3),
        "cpu_ratio": round(baseline["cpu_s"] / pipeline_cpu, 3),
        "prefect_share": round(prefect_share, 4),
        "peak_rss_mb": round(first["peak_rss_mb"]),
        "second_ingest_s": round(second["wall_s"], 2),
        "second_share": round(second["wall_s"] / first["wall_s"], 4),
        "server_start_s": round(first["server_start_s"], 1),
        "first": first,
        "second": second,
    }
    rows = [
        ("documents", f"{docs:,} ({figures['corpus_mb']} MB of HTML)", ""),
        ("pipeline (ingest flow)", f"{ours:.1f} articles/s", f"{first['wall_s']:.1f} s"),
        (f"baseline ({args.workers} processes)", f"{bare:.1f} articles/s", f"{baseline['wall_s']:.1f} s"),
        ("ratio pipeline/baseline", f"{ours / bare:.3f}", "goal >= 0.85"),
        ("CPU per article, pipeline", f"{1000 * pipeline_cpu / docs:.1f} ms",
         f"of which Prefect server {1000 * first['server_cpu_s'] / docs:.1f} ms"),
        ("CPU per article, baseline", f"{1000 * baseline['cpu_s'] / docs:.1f} ms",
         f"ratio baseline/pipeline {baseline['cpu_s'] / pipeline_cpu:.3f}"),
        ("Prefect share of wall time", f"{100 * prefect_share:.1f} %", "goal < 5 %"),
        ("peak RSS of the ingest process", f"{first['peak_rss_mb']:.0f} MB", "goal <= 1 GB at 100,000"),
        ("second ingest, unchanged corpus", f"{100 * second['wall_s'] / first['wall_s']:.1f} % of first",
         f"{second['wall_s']:.1f} s, goal <= 5 %"),
        ("Prefect server start-up (not counted)", f"{first['server_start_s']:.1f} s", ""),
    ]  # fmt: skip
    for label, value, note in rows:
        print(f"{label:<40} {value:<28} {note}")
    print(f"first ingest task bodies (s): {first['tasks']}")
    print(
        f"first ingest peak RSS {first['peak_rss_before_flow_mb']:.0f} MB before the flow, then rises while each"
        f" task ran (MB): {first['peak_rise_by_task_mb']}"
    )
    print(f"first ingest counts: {first['summary']}")
    print(f"second ingest task bodies (s): {second['tasks']}, peak RSS {second['peak_rss_mb']:.0f} MB")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
