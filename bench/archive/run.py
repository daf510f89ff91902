"""The archive backfill's read path against a bare warcio loop over the same CC-NEWS-like WARC.

Four measurements, each in its own interpreter (so its peak RSS, VmHWM, is its own), run `--rounds` times
alternately, best time kept:

- `bare`: warcio's ArchiveIterator over the file, every response body read (`content_stream().read()`);
- `prefilter`: `fetching.warc.read_warc` with the monitor keywords (all checks, capped bodies, skip counts, the
  byte pre-filter `could_match` on each body, URLs parsed only for the records that pass);
- `backfill`: the same, then `extractors.extract_document` on each record the pre-filter passes, and the monitor
  queries on the articles (to check the pre-filter missed no planted match), in the reading process;
- `backfill-pool`: the same with extraction on `--workers` spawned processes (started and warmed before the
  clock starts) while the file is read, at most 4 records a worker in flight;
- `bare-extract`, the second baseline: the bare loop, plus bare `trafilatura.extract` (with metadata, the
  project's options) and langdetect's `detect_langs` on exactly the records the pre-filter keeps (found before
  the clock starts): what any tool must at least do for this backfill, in one process;
- `history`: the whole backfill (`backfill_range` in history mode over HTTP, see `run_history`).

Run from the repo root:
`python bench/archive/run.py [--warc FILE] [--records N] [--rounds 2] [--workers 2] [--json]`. The WARC
is generated (bench/archive/generate.py) when FILE does not exist; by default into a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# The monitors the planted phrases belong to, and what the pre-filter looks for: a word, or the words of a phrase
# (all of them must occur; the phrase itself can be split across tags or lines).
MONITORS = {"russian-segment": '"russian segment"', "undocking": "undocking"}
PATTERNS = ((b"russian", b"segment"), b"undocking")
GOAL_RATIO = 1.5
GOAL_RSS_MB = 500


def peak_rss_mb() -> float:
    return _status_mb("VmHWM:")


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_bare(path: str) -> dict:
    from warcio.archiveiterator import ArchiveIterator

    records = body_bytes = 0
    start, cpu = time.perf_counter(), time.process_time()
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response":
                body_bytes += len(record.content_stream().read())
            records += 1
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": seconds, "cpu_seconds": cpu, "records": records, "body_bytes": body_bytes}


def run_bare_extract(path: str) -> dict:
    """The bare loop, and on each record the pre-filter keeps: trafilatura.extract, then langdetect."""
    import trafilatura
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException
    from warcio.archiveiterator import ArchiveIterator

    from fetching.warc import WarcResponse, read_warc

    kept = {item.record_id for item in read_warc(path, keywords=PATTERNS) if isinstance(item, WarcResponse)}
    DetectorFactory.seed = 0
    records = body_bytes = extracted = 0
    start, cpu = time.perf_counter(), time.process_time()
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type == "response":
                body = record.content_stream().read()
                body_bytes += len(body)
                if record.rec_headers.get_header("WARC-Record-ID") in kept:
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    text = trafilatura.extract(
                        body, url=uri, with_metadata=True, include_comments=False, favor_precision=True
                    )
                    if text:
                        extracted += 1
                        try:
                            detect_langs(text)
                        except LangDetectException:
                            pass
            records += 1
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "records": records,
        "body_bytes": body_bytes,
        "passed_prefilter": len(kept),
        "extracted": extracted,
    }


def run_project(path: str, extract: bool, workers: int = 0) -> dict:
    """read_warc with the keywords; with `extract`, each record that passes is extracted (inline, or on
    `workers` processes started and warmed before the clock starts, at most 4 records a worker in flight)."""
    from fetching.warc import WarcCounts, WarcResponse, read_warc

    counts = WarcCounts()
    passed = 0
    outcomes: list[tuple] = []
    pool = _start_pool(workers) if extract and workers else None
    in_flight: deque = deque()
    start, cpu = time.perf_counter(), time.process_time()
    for item in read_warc(path, keywords=PATTERNS, counts=counts):
        if not isinstance(item, WarcResponse):
            continue
        passed += 1
        if not extract:
            continue
        if pool is None:
            outcomes.append(extract_record(item.body, item.target_uri, item.charset))
            continue
        in_flight.append(pool.submit(extract_record, item.body, item.target_uri, item.charset))
        if len(in_flight) >= 4 * workers:
            outcomes.append(in_flight.popleft().result())
    outcomes.extend(future.result() for future in in_flight)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    worker_peaks = {pid: peak for *_, pid, peak in outcomes} if pool else {}
    if pool:
        pool.shutdown()
    records = counts.responses + counts.rejects + sum(counts.skipped.values())
    reasons: dict[str, int] = {}
    for kind, value, *_ in outcomes:
        if kind == "reject":
            reasons[value] = reasons.get(value, 0) + 1
    return {
        "seconds": seconds,
        "cpu_seconds": cpu + (sum(outcome[3] for outcome in outcomes) if pool else 0.0),
        "records": records,
        "responses": counts.responses,
        "rejects": counts.rejects,
        "skipped": dict(counts.skipped),
        "passed_prefilter": passed,
        "articles": sum(kind == "article" for kind, *_ in outcomes),
        "extract_rejects": reasons,
        "monitor_matches": sum(kind == "article" and value for kind, value, *_ in outcomes),
        "extract_seconds": sum(outcome[2] for outcome in outcomes),
        "workers": workers if extract else 0,
        "workers_peak_rss_mb": sum(worker_peaks.values()),
    }


_EXPRESSIONS: dict = {}


def extract_record(body: bytes, uri: str, charset: str | None) -> tuple:
    """("article", matches a monitor) or ("reject", reason), then seconds, CPU seconds, pid and this process's
    peak RSS."""
    from extractors.document import extract_document
    from extractors.records import Article
    from similarity.monitors import matching_monitors, parse_query

    if not _EXPRESSIONS:
        _EXPRESSIONS.update({name: parse_query(query) for name, query in MONITORS.items()})
    began, cpu = time.perf_counter(), time.process_time()
    result = extract_document(body, uri, "html", url=uri, declared_charset=charset)
    if isinstance(result, Article):
        outcome = ("article", bool(matching_monitors(_EXPRESSIONS, result.title, result.text)))
    else:
        outcome = ("reject", result.reason)
    return (*outcome, time.perf_counter() - began, time.process_time() - cpu, os.getpid(), peak_rss_mb())


def _start_pool(workers: int) -> ProcessPoolExecutor:
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    page = (
        b"<html><body><article><p>" + b"Warm-up text for the extraction worker. " * 40 + b"</p></article></body></html>"
    )
    for future in [pool.submit(extract_record, page, f"https://warm.example/{i}", None) for i in range(workers * 2)]:
        future.result()
    return pool


def run_history(path: str, workers: int) -> dict:
    """The whole backfill: `pipeline.redo.backfill_range` in history mode with the ccnews archive, for the day
    the WARC covers, the WARC served under a CC-NEWS name (and its month's listing) by `python -m http.server`
    in another process; 50 feed sources, one per host of the file; the warehouse a fresh DuckDB file. Timed:
    listing, streaming, pre-filter, extraction on `workers` processes (started inside the clock), loading,
    dedup, stories, monitors, search index and checks."""
    import gzip
    import resource
    import shutil
    import socket
    import uuid
    from datetime import date

    from fetching.fetch import FetchPolicy
    from pipeline.history import ArchiveEndpoints, history_targets
    from pipeline.redo import BackfillRequest, BackfillSteps, backfill_range
    from pipeline.sources import load_sources

    scratch = Path(tempfile.mkdtemp(prefix="bench-archive-history-"))
    month = scratch / "crawl-data" / "CC-NEWS" / "2022" / "03"
    month.mkdir(parents=True)
    name = "CC-NEWS-20220301000000-00001.warc.gz"
    (month / name).symlink_to(Path(path).resolve())
    (month / "warc.paths.gz").write_bytes(gzip.compress(f"crawl-data/CC-NEWS/2022/03/{name}\n".encode()))
    sources = scratch / "sources.toml"
    sources.write_text(
        "".join(
            f'[[sources]]\nname = "news{k}"\nkind = "feed"\nlocation = "https://news{k}.example/feed.xml"\n\n'
            for k in range(50)
        ),  # fmt: skip
        encoding="utf-8",
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(scratch)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        policy = FetchPolicy(allowed_networks=("127.0.0.1/32",), min_host_interval=0.0)
        targets = history_targets(load_sources(sources), [], ["ccnews"], policy)
        base = f"http://127.0.0.1:{port}"
        request = BackfillRequest(
            db=str(scratch / "warehouse.duckdb"),
            run_id=str(uuid.uuid4()),
            days=[date(2022, 3, 1)],
            mode="history",
            policy=policy,
            monitors=MONITORS,
            targets=targets,
            endpoints=ArchiveEndpoints(ccnews_base_url=base, wayback_interval=0.0),
        )
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        sampler = _DescendantPeaks(exclude={server.pid})
        sampler.start()
        parts = _CpuParts()
        steps = parts.steps(BackfillSteps(extract_workers=workers))
        start, cpu = time.perf_counter(), time.process_time()
        summary = backfill_range(request, steps)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        parts.restore()
        # Workers that were told to stop may still be exiting: their CPU counts once they are reaped.
        for _ in range(300):
            if not sampler.workers_alive():
                break
            time.sleep(0.05)
        sampler.stop()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        import duckdb

        with duckdb.connect(request.db, read_only=True) as conn:
            matches = conn.execute("SELECT count(DISTINCT article_id) FROM monitor_matches").fetchone()[0]
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(scratch, ignore_errors=True)
    worker_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu + worker_cpu,
        "records": None,  # the file's records are read inside the pipeline; records/s is counted from bare's
        "loaded": summary["loaded"],
        "rejected": summary["rejected"],
        "monitor_matches": matches,
        "workers": workers,
        "workers_peak_rss_mb": sampler.together,  # the workers alive at once (the pools of the day and of dedup)
        "worker_processes": len(sampler.peaks),
        "worker_peaks_mb": sorted(round(peak) for peak in sampler.peaks.values()),
        "cpu_parts": parts.table(cpu + worker_cpu, worker_start_cpu(workers)),
        "tree_peak_rss_mb": sampler.tree,  # this process and its workers, summed at one poll
        "tree_peak_at": sampler.tree_at,  # (seconds into the backfill, this process's MB, each worker's MB)
    }


class _CpuParts:
    """CPU seconds of the backfill's parts: each step of the run (this process, all its threads, plus the
    workers reaped during the step), the WARC reader's thread (`read_ahead`'s producer, measured with
    `thread_time` inside it) and the stored bodies' gzip and hashes (`fetch_record`, on the day's thread)."""

    def __init__(self) -> None:
        import pipeline.batches
        import pipeline.history

        self.cpu: dict[str, float] = {}
        self._patched = [
            (pipeline.history, "read_ahead", pipeline.history.read_ahead),
            (pipeline.batches, "fetch_record", pipeline.batches.fetch_record),
        ]
        pipeline.history.read_ahead = self._read_ahead(pipeline.history.read_ahead)
        pipeline.batches.fetch_record = self._timed(pipeline.batches.fetch_record, "fetch records (gzip, sha256)")

    def restore(self) -> None:
        for module, name, original in self._patched:
            setattr(module, name, original)

    def steps(self, steps):
        steps.history_day = self._step(steps.history_day, "history day (read, extract)")
        for name in ("prepare", "load", "deduplicate", "refresh_search", "match_monitors", "check", "close"):
            setattr(steps.run, name, self._step(getattr(steps.run, name), name))
        return steps

    def _add(self, name: str, seconds: float) -> None:
        self.cpu[name] = self.cpu.get(name, 0.0) + seconds

    def _step(self, fn, name: str):
        import resource

        def step(*args, **kwargs):
            children = resource.getrusage(resource.RUSAGE_CHILDREN)
            before = time.process_time(), children.ru_utime + children.ru_stime
            try:
                return fn(*args, **kwargs)
            finally:
                children = resource.getrusage(resource.RUSAGE_CHILDREN)
                self._add(name, time.process_time() - before[0])
                self._add(f"{name}: workers", children.ru_utime + children.ru_stime - before[1])

        return step

    def _timed(self, fn, name: str):
        def timed(*args, **kwargs):
            began = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self._add(name, time.thread_time() - began)

        return timed

    def _read_ahead(self, read_ahead):
        def measured(items, depth):
            def timed_items():
                iterator = iter(items)
                while True:
                    began = time.thread_time()
                    try:
                        item = next(iterator)
                    except StopIteration:
                        self._add("reader thread (HTTP, gunzip, WARC, pre-filter)", time.thread_time() - began)
                        return
                    self._add("reader thread (HTTP, gunzip, WARC, pre-filter)", time.thread_time() - began)
                    yield item

            return read_ahead(timed_items(), depth)

        return measured

    def table(self, total: float, start_cpu: float) -> dict[str, float]:
        parts = {name: round(seconds, 2) for name, seconds in self.cpu.items() if seconds >= 0.005}
        parts["workers' start (measured apart, part of the workers' CPU)"] = round(start_cpu, 2)
        parts["total"] = round(total, 2)
        return parts


def worker_start_cpu(workers: int) -> float:
    """CPU seconds of starting `workers` extraction processes (spawn, imports) and stopping them, no work."""
    import resource

    from pipeline.pool import _ready, _spawn_pool

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    pool = _spawn_pool(workers)
    for future in [pool.submit(_ready) for _ in range(workers)]:
        future.result()
    pool.shutdown(wait=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


class _DescendantPeaks:
    """Polls the memory of this process's descendants (the extraction workers) every 0.1 s: `peaks` (VmHWM) by
    pid, `together`, the largest sum of their RSS at one poll, and `tree`, the largest sum of this process's RSS
    and theirs at one poll (the memory the backfill holds at once), in MB.
    (RUSAGE_CHILDREN's maxrss would count the parent's size at fork, not a spawned worker's own.)"""

    def __init__(self, exclude: set[int]) -> None:
        import threading

        self.exclude = exclude
        self.peaks: dict[int, float] = {}
        self.together = 0.0  # the largest sum of the descendants' RSS at one poll
        self.tree = 0.0
        self.tree_at: tuple = ()
        self._began = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def workers_alive(self) -> bool:
        """Whether a descendant other than multiprocessing's resource tracker (alive until exit) is left."""
        for pid in self._descendants(os.getpid()):
            try:
                if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return True
            except OSError:
                continue
        return False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            each = []
            for pid in self._descendants(os.getpid()):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peaks[pid] = max(self.peaks.get(pid, 0.0), int(line.split()[1]) / 1024)
                    elif line.startswith("VmRSS:"):
                        each.append(int(line.split()[1]) / 1024)
            current = sum(each)
            self.together = max(self.together, current)
            main = _status_mb("VmRSS:")
            if main + current > self.tree:
                self.tree = main + current
                self.tree_at = (round(time.perf_counter() - self._began, 1), round(main), sorted(map(round, each)))

    def _descendants(self, pid: int) -> list[int]:
        try:
            children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []
        found = []
        for child in children:
            if child not in self.exclude:
                found += [child, *self._descendants(child)]
        return found


MODES = {
    "bare": lambda path, workers: run_bare(path),
    "prefilter": lambda path, workers: run_project(path, extract=False),
    "backfill": lambda path, workers: run_project(path, extract=True),
    "backfill-pool": lambda path, workers: run_project(path, extract=True, workers=workers),
    "bare-extract": lambda path, workers: run_bare_extract(path),
    "history": run_history,
}


def child(mode: str, path: str, workers: int) -> None:
    result = MODES[mode](path, workers)
    result.update(mode=mode, peak_rss_mb=peak_rss_mb())
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warc", type=Path, help="the WARC to read (generated there when missing)")
    parser.add_argument("--records", type=int, default=20_000, help="records of a generated WARC")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="extraction processes of the backfill-pool mode")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated; bare is always run")
    parser.add_argument("--child", choices=sorted(MODES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, str(args.warc), args.workers)
        return
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as scratch:
        path = args.warc or Path(scratch) / "ccnews.warc.gz"
        if not path.exists():
            from generate import write_warc

            began = time.perf_counter()
            made = write_warc(path, args.records)
            print(
                f"generated {path} ({path.stat().st_size / 1e6:,.0f} MB, {made}) in {time.perf_counter() - began:.0f} s"
            )
        best: dict[str, dict] = {}
        for _ in range(args.rounds):
            for mode in ["bare", *(m for m in args.modes.split(",") if m in MODES and m != "bare")]:
                command = [
                    sys.executable,
                    __file__,
                    "--warc",
                    str(path),
                    "--workers",
                    str(args.workers),
                    "--child",
                    mode,
                ]
                result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
                if mode not in best or result["seconds"] < best[mode]["seconds"]:
                    best[mode] = result
        report(best, path)
        if args.json:
            print(json.dumps(best))


def total_rss(result: dict) -> float:
    """The memory held at once: for `history`, this process and its workers summed at one poll; for the other
    modes, the process's peak plus each extraction worker's (an upper bound: the peaks need not coincide)."""
    if "tree_peak_rss_mb" in result:
        return result["tree_peak_rss_mb"]
    return result["peak_rss_mb"] + result.get("workers_peak_rss_mb", 0)


def report(best: dict[str, dict], path: Path) -> None:
    bare = best["bare"]
    print(f"{path.name}: {path.stat().st_size / 1e6:,.0f} MB, {bare['records']:,} records")
    for mode, result in best.items():
        print(
            f"  {mode:13} {result['seconds']:7.2f} s  {bare['records'] / result['seconds']:7,.0f} records/s  "
            f"{result['seconds'] / bare['seconds']:5.2f}x bare  CPU {result['cpu_seconds']:6.2f} s "
            f"({result['cpu_seconds'] / bare['cpu_seconds']:5.2f}x)  peak RSS {total_rss(result):4.0f} MB"
        )
    backfill = best.get("backfill")
    if backfill:
        print(
            f"  pre-filter passed {backfill['passed_prefilter']:,} of "
            f"{backfill['passed_prefilter'] + backfill['skipped'].get('no_keyword', 0):,} HTML responses; "
            f"{backfill['articles']:,} articles ({backfill['extract_seconds']:.1f} s extracting), "
            f"{backfill['monitor_matches']:,} match a monitor; extraction rejects {backfill['extract_rejects']}"
        )
    history = best.get("history")
    if history:
        print(
            f"  history (the whole backfill): {history['loaded']:,} articles loaded, {history['rejected']:,} "
            f"rejected, {history['monitor_matches']:,} matching a monitor; peak RSS at one time "
            f"{history['tree_peak_rss_mb']:.0f} MB at (s, main MB, workers MB) {history['tree_peak_at']}; the "
            f"sum of the peaks (main {history['peak_rss_mb']:.0f} + workers together "
            f"{history['workers_peak_rss_mb']:.0f}) {history['peak_rss_mb'] + history['workers_peak_rss_mb']:.0f} MB"
        )
    if history and history.get("cpu_parts"):
        print("  history CPU by part (s): " + "; ".join(f"{k} {v}" for k, v in history["cpu_parts"].items()))
    floor = best.get("bare-extract")
    if floor:
        print(
            f"  bare-extract: {floor['passed_prefilter']:,} records kept by the pre-filter, {floor['extracted']:,} "
            f"extracted by trafilatura"
        )
        for mode in [m for m in ("backfill", "backfill-pool", "history") if m in best]:
            result = best[mode]
            print(
                f"  {mode} against bare-extract: CPU {result['cpu_seconds'] / floor['cpu_seconds']:.2f}x, "
                f"wall {result['seconds'] / floor['seconds']:.2f}x"
            )
    for mode in [m for m in ("backfill", "backfill-pool", "history") if m in best]:
        ratio = best[mode]["seconds"] / bare["seconds"]
        rss = total_rss(best[mode])
        print(
            f"  goal ({mode}, {best[mode]['workers']} workers): within {GOAL_RATIO}x bare's wall time: {ratio:.2f}x "
            f"({'met' if ratio <= GOAL_RATIO else 'NOT met'}); peak RSS <= {GOAL_RSS_MB} MB: {rss:.0f} MB "
            f"({'met' if rss <= GOAL_RSS_MB else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
