"""Process start to exit: `mediamon ingest` as a user runs it, against a bare baseline, in the same script.

Run from the repo root: `.venv/bin/python bench/pipeline/process.py [--repeats 3] [--scale-docs 20000]`.
Everything is timed as a subprocess from `Popen` to `os.wait4` (wall clock), whose rusage gives the peak RSS
(`ru_maxrss`: the largest process of the child's tree that it waited for) and the tree's CPU time.

1. Small case: the 181 pages of ../shared/eval/article-extraction-benchmark (decompressed into a temp folder)
   plus the 5 seed articles. `mediamon ingest DIR --db FILE` with PREFECT_API_URL unset (Prefect starts its
   temporary server in the process) and against a running `prefect server start`; `bare.py` (trafilatura +
   full-text langdetect on 2 processes) on the same folder; the seeds alone both ways. `--repeats` rounds,
   medians; a warm-up run of each first (not counted; the first run on a fresh PREFECT_HOME creates Prefect's
   database, and is printed apart).
2. Fixed cost: the same runs through `timed_ingest.py` (mediamon's `main` with timers around the imports, the
   temporary server, the flow, each task body, the worker pool), `mediamon --help`, and `-X importtime`.
3. Scale (`--scale-docs`, 0 to skip): the generated corpus of `generate.py`, `mediamon ingest` once and
   `bare.py` once, CPU sampled every second from /proc: the two cores' mean use, each process's share, and the
   time the main process is busy while the extraction workers are idle.

The code measured is a snapshot of `--commit` (default HEAD, `git archive` into the temp folder, byte-compiled
as an installed package is) put first on PYTHONPATH, so edits in progress in the working tree do not change
a run; `--tree` measures the working tree instead.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BENCHMARK_HTML = REPO.parent / "shared" / "eval" / "article-extraction-benchmark" / "html"
SEEDS = REPO / "seeds"
BIN = Path(sys.executable).parent  # the venv's console scripts sit next to its python
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
CORES = len(os.sched_getaffinity(0))


# --- processes: timing, rusage, sampling -------------------------------------------------------------------------


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields of /proc/PID/stat after the command's name: state, parent pid, process group, ...) of
    every process on the machine."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        yield int(entry.name), stat.rsplit(")", 1)[1].split()


def proc_table() -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, user+system ticks, resident pages) of every process on the machine."""
    return {pid: (int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[21])) for pid, fields in proc_stats()}


def machine_ticks() -> tuple[int, int]:
    """(busy, total) ticks of all CPUs since boot; idle and iowait are not busy."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])  # guest time is already in user
    return total - values[3] - values[4], total


def role_of(pid: int, root: int, cache: dict[int, str]) -> str:
    """main (the timed process), server (Prefect's uvicorn), tracker (multiprocessing's resource tracker) or
    worker (any other descendant: spawned extraction workers, the baseline's forked pool)."""
    if pid not in cache:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            cmdline = ""
        if pid == root:
            cache[pid] = "main"
        elif "uvicorn" in cmdline or "prefect server" in cmdline:
            cache[pid] = "server"
        elif "resource_tracker" in cmdline:
            cache[pid] = "tracker"
        else:
            cache[pid] = "worker"
    return cache[pid]


class Sampler(threading.Thread):
    """Samples the machine's CPU and, per role, the CPU and RSS of a process tree (and, apart, of another tree
    such as a running Prefect server) every `interval` seconds until stopped."""

    def __init__(self, root: int, interval: float, server_root: int | None = None) -> None:
        super().__init__(daemon=True)
        self.root, self.interval, self.server_root = root, interval, server_root
        self.samples: list[dict] = []
        self.peak_tree_rss = 0
        self.peak_server_rss = 0
        self._stop_event = threading.Event()
        self._last: dict[int, int] = {}
        self._roles: dict[int, str] = {}

    def run(self) -> None:
        busy, total = machine_ticks()
        previous = time.monotonic()
        while not self._stop_event.wait(self.interval):
            now = time.monotonic()
            table = proc_table()
            new_busy, new_total = machine_ticks()
            cores = {"machine": (new_busy - busy) / max(new_total - total, 1) * CORES}
            busy, total = new_busy, new_total
            rss = 0
            for pid in descendants(table, self.root):
                role = role_of(pid, self.root, self._roles)
                cores[role] = cores.get(role, 0.0) + self._delta(pid, table) / TICK / (now - previous)
                rss += table[pid][2] * PAGE
            if self.server_root is not None:
                server_rss = 0
                for pid in descendants(table, self.server_root):
                    cores["server"] = cores.get("server", 0.0) + self._delta(pid, table) / TICK / (now - previous)
                    server_rss += table[pid][2] * PAGE
                self.peak_server_rss = max(self.peak_server_rss, server_rss)
            self.peak_tree_rss = max(self.peak_tree_rss, rss)
            self.samples.append({"t": now, "dt": now - previous, "cores": cores})
            previous = now

    def _delta(self, pid: int, table: dict) -> int:
        ticks = table[pid][1]
        delta = ticks - self._last.get(pid, 0)
        self._last[pid] = ticks
        return delta

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def descendants(table: dict[int, tuple[int, int, int]], root: int) -> list[int]:
    if root not in table:
        return []
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def leftovers(session: int, grace: float = 5.0) -> list[int]:
    """Processes still running in the session (and process group) `session` started by run_timed, `grace` seconds
    after its leader exited: multiprocessing's resource tracker, for one, exits a moment after the process that
    started it."""
    deadline = time.monotonic() + grace
    while True:
        # The process group (the session's leader made it and its children keep it); zombies have exited.
        found = [pid for pid, fields in proc_stats() if int(fields[3]) == session and fields[0] != "Z"]
        if not found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def run_timed(
    command: list[str],
    env: dict[str, str],
    cwd: Path,
    log: Path,
    interval: float = 0.25,
    server_root: int | None = None,
    extra_env: dict[str, str] | None = None,
) -> dict:
    """Run `command` to its exit: wall time from Popen to wait4, peak RSS and CPU from wait4's rusage, the
    tree's peak RSS and CPU per role from samples. Exits the benchmark if the command fails."""
    load1 = os.getloadavg()[0]
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(command)}\n".encode())
        out.flush()
        log_start = out.tell()
        started, started_clock = time.monotonic(), time.time()
        process = subprocess.Popen(
            command, env={**env, **(extra_env or {})}, cwd=cwd, stdout=out, stderr=out, start_new_session=True
        )
        sampler = Sampler(process.pid, interval, server_root)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        ended = time.monotonic()
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
    left = leftovers(process.pid)
    if left:  # a run that leaves a process behind (a server it started) would load the later runs: say so, stop it
        print(f"  note: {' '.join(command[:3])} left {len(left)} process(es) running: {left}; killed", flush=True)
        os.killpg(process.pid, signal.SIGKILL)
    if process.returncode:
        sys.exit(f"failed ({process.returncode}): {' '.join(command)}\n{log.read_text()[-3000:]}")
    return {
        "wall_s": ended - started,
        "start": started,
        "start_clock": started_clock,
        "log_start": log_start,
        "end": ended,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "tree_peak_rss_mb": sampler.peak_tree_rss / 2**20,
        "server_peak_rss_mb": sampler.peak_server_rss / 2**20,
        "load1": load1,
        "samples": sampler.samples,
    }


def cpu_by_role(samples: list[dict]) -> dict[str, float]:
    """Cores used on average over the samples, per role (machine = all processes on the machine)."""
    seconds = sum(s["dt"] for s in samples) or 1.0
    roles = {role for s in samples for role in s["cores"]}
    return {role: sum(s["cores"].get(role, 0.0) * s["dt"] for s in samples) / seconds for role in sorted(roles)}


def last_json_line(log: Path) -> dict:
    return json.loads([line for line in log.read_text().splitlines() if line.startswith("{")][-1])


def ingest_counts(log: Path) -> str:
    found = re.findall(r"ingest completed in [\d.]+ s: (.*) ->", log.read_text())
    return found[-1] if found else "?"


# Prefect's line for each finished task run: its local time, the task's name.
_FINISHED = re.compile(
    r"^(\d\d):(\d\d):(\d\d\.\d+) \| \w+ +\| Task run '([a-z_]+)-[0-9a-f]+' - Finished in state", re.MULTILINE
)
# Tasks submitted to the runner's threads; the others run in the flow's own thread, one after the other.
_SUBMITTED = {"extract_files", "extract_fetched", "fetch_pages"}


def main_steps(run: dict, log: Path) -> list[tuple[str, float, float]]:
    """(task, start, end) in seconds from the process's start, for the tasks the flow runs in its own thread, from
    the run's Prefect log: each from the end of the one before (or from the start) to its own end, so a step's
    span includes the flow's wait for what it needs (a load waits for its batch's extraction)."""
    text = log.read_bytes()[run["log_start"] :].decode(errors="replace")
    day = datetime.fromtimestamp(run["start_clock"]).replace(hour=0, minute=0, second=0, microsecond=0)
    steps, previous = [], 0.0
    for hours, minutes, seconds, name in _FINISHED.findall(text):
        if name in _SUBMITTED:
            continue
        when = (day + timedelta(hours=int(hours), minutes=int(minutes), seconds=float(seconds))).timestamp()
        end = (when if when >= run["start_clock"] - 1 else when + 86400) - run["start_clock"]
        steps.append((name, previous, end))
        previous = end
    return steps


def workers_wait(run: dict, steps: list[tuple[str, float, float]], idle: float = 0.5) -> dict[str, dict]:
    """Per flow step (the first from the process's start, and after the last): its wall seconds, the seconds in
    which the extraction workers together used < `idle` of a core and the main process's CPU, from the run's 1-s
    samples. On a loaded machine workers also go idle when other processes take their cores."""
    spans = [(f"process start, then {name}" if index == 0 else name, begin, end) for index, (name, begin, end) in
             enumerate(steps)]  # fmt: skip
    spans.append(("exit (after the last task)", steps[-1][2] if steps else 0.0, run["wall_s"]))
    table: dict[str, dict] = {}
    for name, begin, end in spans:
        row = table.setdefault(name, {"n": 0, "wall_s": 0.0, "workers_idle_s": 0.0, "main_cpu_s": 0.0})
        row["n"] += 1
        row["wall_s"] += end - begin
        for sample in run["samples"]:
            at = sample["t"] - run["start"] - sample["dt"] / 2  # the middle of the sample's second
            if begin <= at < end:
                row["workers_idle_s"] += sample["dt"] if sample["cores"].get("worker", 0.0) < idle else 0.0
                row["main_cpu_s"] += sample["cores"].get("main", 0.0) * sample["dt"]
    return table


# --- the code measured, Prefect servers ----------------------------------------------------------------------------


def snapshot(commit: str, target: Path) -> str:
    """`git archive` of `commit` into `target`, byte-compiled; returns the commit's hash."""
    resolved = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--verify", f"{commit}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", resolved], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(target)], check=True, stdout=subprocess.DEVNULL)
    return resolved


def base_env(code: Path, prefect_home: Path) -> dict[str, str]:
    """The caller's environment without any PREFECT_ or MEDIAMON_ setting, with the code measured first on the
    path and its own PREFECT_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MEDIAMON_"))}
    env.update(PYTHONPATH=str(code), PREFECT_HOME=str(prefect_home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrefectServer:
    """`prefect server start` on 127.0.0.1 and a free port, in its own session (stopped by its process group)."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        started = time.monotonic()
        self._log = log.open("ab")
        command = [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=self._log, stderr=self._log, start_new_session=True
        )
        while time.monotonic() - started < 300:
            if self.process.poll() is not None:
                sys.exit(f"prefect server exited ({self.process.returncode}); its log: {log}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            sys.exit(f"prefect server did not answer in 300 s; its log: {log}")
        self.start_s = time.monotonic() - started

    def cpu_s(self) -> float:
        table = proc_table()
        return sum(table[pid][1] for pid in descendants(table, self.process.pid)) / TICK

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # the group of the session started above, nothing else
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


# --- 1 and 2: the small case and the fixed cost ---------------------------------------------------------------------


def small_corpus(target: Path) -> tuple[int, int]:
    """The benchmark's pages (decompressed) and the seeds into `target`; returns (files, bytes)."""
    target.mkdir(parents=True)
    for source in sorted(BENCHMARK_HTML.glob("*.html.gz")):
        (target / source.name.removesuffix(".gz")).write_bytes(gzip.decompress(source.read_bytes()))
    for seed in sorted(SEEDS.iterdir()):
        shutil.copyfile(seed, target / seed.name)
    files = list(target.iterdir())
    return len(files), sum(f.stat().st_size for f in files)


BREAKDOWN_ROWS = (
    "interpreter start (python, site, venv .pth)",
    "import mediamon.cli",
    "import flows.ingest (Prefect, the flow's modules)",
    "CLI before the flow (arguments, settings)",
    "Prefect temporary server start (and its module's import)",
    "Prefect engine before the flow body",
    "prepare_warehouse (migrations, run row)",
    "find_files",
    "worker pool start (2 spawned processes, imports)",
    "extraction (extract_files less pool start)",
    "load (load_extracted)",
    "dedup (deduplicate)",
    "search index (refresh_search)",
    "monitors (match_monitors)",
    "worker pool close",
    "close_run",
    "other task bodies (e.g. check_warehouse)",
    "Prefect inside the flow body (task runs, states, logs)",
    "Prefect engine after the flow body",
    "CLI after the flow",
    "exit: temporary server stop",
    "exit: other threads and at-exit handlers",
    "exit: interpreter teardown",
)


def breakdown(run: dict, timeline: dict) -> dict[str, float]:
    """The run's wall time cut into BREAKDOWN_ROWS (they add up to it)."""
    points = timeline["points"]
    spans: dict[str, list[tuple[float, float]]] = {}
    for name, start, end in timeline["intervals"]:
        spans.setdefault(name, []).append((start, end))

    def total(name: str) -> float:
        return sum(end - start for start, end in spans.get(name, []))

    (call_start, call_end), imported = spans["flow call"][0], spans["import flows.ingest"][0][1]
    body_start, body_end = points["flow_body_start"], points["flow_body_end"]
    pool_start = 0.0
    if timeline["workers"] and "pool_created" in points:
        pool_start = max(0.0, max(w["ready"] for w in timeline["workers"]) - points["pool_created"])
    server_start = total("temporary server start")  # the module's import (before the call), then the start
    server_import = spans["temporary server start"][0][1] - spans["temporary server start"][0][0] if server_start else 0
    tasks = {name.removeprefix("task "): total(name) for name in spans if name.startswith("task ")}
    stop = total("temporary server stop")
    rows = {
        "interpreter start (python, site, venv .pth)": points["entry"] - run["start"],
        "import mediamon.cli": points["cli_imported"] - points["entry"],
        "import flows.ingest (Prefect, the flow's modules)": imported - points["cli_imported"],
        "CLI before the flow (arguments, settings)": call_start - imported - server_import,
        "Prefect temporary server start (and its module's import)": server_start,
        "Prefect engine before the flow body": body_start - call_start - (server_start - server_import),
        "prepare_warehouse (migrations, run row)": tasks.pop("prepare_warehouse", 0.0),
        "find_files": tasks.pop("find_files", 0.0),
        "worker pool start (2 spawned processes, imports)": pool_start,
        "extraction (extract_files less pool start)": tasks.pop("extract_files", 0.0) - pool_start,
        "load (load_extracted)": tasks.pop("load_extracted", 0.0),
        "dedup (deduplicate)": tasks.pop("deduplicate", 0.0),
        "search index (refresh_search)": tasks.pop("refresh_search", 0.0),
        "monitors (match_monitors)": tasks.pop("match_monitors", 0.0),
        "worker pool close": total("pool close"),
        "close_run": tasks.pop("close_run", 0.0),
        "other task bodies (e.g. check_warehouse)": sum(tasks.values()),
        "Prefect engine after the flow body": call_end - body_end,
        "CLI after the flow": points["main_returned"] - call_end,
        "exit: temporary server stop": stop,
        "exit: other threads and at-exit handlers": points["last_atexit"] - points["main_returned"] - stop,
        "exit: interpreter teardown": run["end"] - points["last_atexit"],
    }
    in_body = sum(rows[name] for name in BREAKDOWN_ROWS[6:17])
    # The small corpus is one batch, so task bodies do not overlap: what is left of the body is Prefect's.
    rows["Prefect inside the flow body (task runs, states, logs)"] = (body_end - body_start) - in_body
    assert set(rows) == set(BREAKDOWN_ROWS)
    return {name: rows[name] for name in BREAKDOWN_ROWS}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def import_profile(env: dict[str, str], cwd: Path) -> dict:
    """What `mediamon ingest` imports before its flow runs, from `-X importtime`: self seconds per top-level
    package, and the cumulative seconds of each direct import of `mediamon.cli` and of `flows.ingest` (the first
    importer of a module pays for it)."""
    code = "import mediamon.cli as c; c._temporary_server_defaults(); import flows.ingest"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], env=env, cwd=cwd, capture_output=True, text=True, check=True
    )
    by_package: dict[str, float] = {}
    children: list[tuple[str, float]] = []
    direct: dict[str, dict[str, float]] = {}
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)$", line)
        if not match:
            continue
        own, cumulative, indent, name = int(match[1]) / 1e6, int(match[2]) / 1e6, len(match[3]), match[4]
        by_package[name.split(".")[0]] = by_package.get(name.split(".")[0], 0.0) + own
        if indent == 2:  # imported by the next module listed at the top level
            children.append((name, cumulative))
        elif indent == 0:
            direct[name] = dict(sorted(children, key=lambda kv: -kv[1]))
            children = []
    return {
        "self_by_package": dict(sorted(by_package.items(), key=lambda kv: -kv[1])),
        "mediamon.cli": direct.get("mediamon.cli", {}),
        "flows.ingest": direct.get("flows.ingest", {}),
    }


def import_exit(env: dict[str, str], cwd: Path, repeats: int) -> dict[str, float]:
    """`python -c "import mediamon.cli, flows.ingest"` from process start to exit, and the part after the
    imports (the interpreter's teardown of what they loaded): medians."""
    code = "import time; import mediamon.cli, flows.ingest; print(time.monotonic())"
    walls, teardowns = [], []
    for _ in range(repeats):
        started = time.monotonic()
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True, check=True)
        ended = time.monotonic()
        walls.append(ended - started)
        teardowns.append(ended - float(out.stdout.split()[-1]))
    return {"wall_s": median(walls), "teardown_s": median(teardowns)}


def small_case(args: argparse.Namespace, work: Path, code: Path, log: Path) -> dict:
    corpus = work / "small"
    files, size = small_corpus(corpus)
    seeds = work / "seeds"
    shutil.copytree(SEEDS, seeds)
    print(f"\n== small case: {files} files ({size / 1e6:.1f} MB), {args.repeats} rounds, medians", flush=True)
    env_temporary = base_env(code, work / "prefect-home-temporary")
    env_client = base_env(code, work / "prefect-home-client")
    commands = {
        "bare": [sys.executable, str(HERE / "bare.py")],
        "mediamon": [str(BIN / "mediamon"), "ingest"],
        "timed": [sys.executable, str(HERE / "timed_ingest.py"), "ingest"],
    }
    counter = iter(range(10**6))
    (work / "db").mkdir()

    def command(kind: str, folder: Path) -> list[str]:
        """The command on `folder`; an ingest gets a fresh warehouse."""
        db = ["--db", str(work / "db" / f"w{next(counter)}.duckdb")] if kind != "bare" else []
        return commands[kind] + [str(folder)] + db

    results: dict = {"files": files, "bytes": size, "warm_up_s": {}}
    warm = run_timed(command("mediamon", seeds), env_temporary, work, log)
    results["warm_up_s"]["first run on a fresh PREFECT_HOME (creates Prefect's database)"] = warm["wall_s"]
    run_timed(command("bare", corpus), env_temporary, work, log)  # the pages in the page cache
    server = PrefectServer(env_client | {"PREFECT_HOME": str(work / "prefect-home-server")}, work, log)
    try:
        print(f"prefect server start, to a healthy API: {server.start_s:.1f} s ({server.api_url})", flush=True)
        api = {"PREFECT_API_URL": server.api_url}
        warm = run_timed(command("mediamon", seeds), env_client, work, log, extra_env=api)
        results["warm_up_s"]["first run against the fresh running server"] = warm["wall_s"]
        later = {"BENCH_WHATIF": "early-server,early-pool,pool-nowait,fast-exit"}  # see timed_ingest.py
        variants = {  # name: (kind, folder, environment, extra environment)
            "baseline": ("bare", corpus, env_temporary, {}),
            "small, temporary server": ("mediamon", corpus, env_temporary, {}),
            "small, running server": ("mediamon", corpus, env_client, api),
            "baseline seeds": ("bare", seeds, env_temporary, {}),
            "seeds, temporary server": ("mediamon", seeds, env_temporary, {}),
            "seeds, running server": ("mediamon", seeds, env_client, api),
            "timed: small, temporary": ("timed", corpus, env_temporary, {}),
            "timed: small, running": ("timed", corpus, env_client, api),
            "timed: seeds, temporary": ("timed", seeds, env_temporary, {}),
            "timed: seeds, running": ("timed", seeds, env_client, api),
            "what-if: small, temporary": ("timed", corpus, env_temporary, later),
            "what-if: small, running": ("timed", corpus, env_client, api | later),
            "what-if: seeds, temporary": ("timed", seeds, env_temporary, later),
            "what-if: seeds, running": ("timed", seeds, env_client, api | later),
        }
        runs: dict[str, list[dict]] = {name: [] for name in variants}
        for round_ in range(args.repeats):
            print(f"round {round_ + 1}: load average {os.getloadavg()[0]:.2f}", flush=True)
            for name, (kind, folder, env, extra) in variants.items():
                timeline = work / f"timeline{next(counter)}.json"
                if kind == "timed":
                    extra = extra | {"BENCH_TIMELINE": str(timeline)}
                server_cpu = server.cpu_s()
                run = run_timed(command(kind, folder), env, work, log, server_root=server.process.pid, extra_env=extra)
                run["server_cpu_s"] = server.cpu_s() - server_cpu
                if kind == "timed":
                    run["breakdown"] = breakdown(run, json.loads(timeline.read_text()))
                run["counts"] = last_json_line(log) if kind == "bare" else ingest_counts(log)
                del run["samples"]
                runs[name].append(run)
                print(f"  {name:<30} {run['wall_s']:6.2f} s", flush=True)
        help_runs = [
            run_timed([str(BIN / "mediamon"), "--help"], env_temporary, work, log) for _ in range(args.repeats)
        ]
    finally:
        server.stop()
    results["server_start_s"] = server.start_s
    results["runs"] = runs
    results["help_s"] = median([run["wall_s"] for run in help_runs])
    results["imports"] = import_profile(env_temporary, work)
    results["import_exit"] = import_exit(env_temporary, work, args.repeats)
    return results


def report_small(results: dict) -> None:
    runs = results["runs"]

    def med(name: str, key: str = "wall_s") -> float:
        return median([run[key] for run in runs[name]])

    print(f"\n== small case: {results['files']} files ({results['bytes'] / 1e6:.1f} MB), process start to exit")
    print(f"{'':<30} {'median s':>9} {'runs (s)':<20} {'baseline/x':>10} {'peak RSS':>9} {'tree RSS':>9} {'CPU s':>6}")
    for name in runs:
        base = "baseline seeds" if "seeds" in name else "baseline"
        ratio = "" if name.startswith("baseline") else f"{med(base) / med(name):.2f}"
        walls = " ".join(f"{run['wall_s']:.2f}" for run in runs[name])
        print(
            f"{name:<30} {med(name):9.2f} {walls:<20} {ratio:>10} {med(name, 'peak_rss_mb'):7.0f}MB"
            f" {med(name, 'tree_peak_rss_mb'):7.0f}MB {med(name, 'cpu_s'):6.1f}"
        )
    for name in ("small, temporary server", "baseline"):
        print(f"counts, {name}: {runs[name][-1]['counts']}")
    served = [name for name in runs if name.endswith("running server")]
    cpu = ", ".join(f"{name} {med(name, 'server_cpu_s'):.2f}" for name in served)
    print(f"running server: started in {results['server_start_s']:.1f} s; its CPU during each run (median s): {cpu}")
    for name, seconds in results["warm_up_s"].items():
        print(f"warm-up, seeds: {name}: {seconds:.1f} s")
    print(f"`mediamon --help`, process start to exit: {results['help_s']:.2f} s (median)")
    imports = results["imports"]
    in_all = sum(imports["self_by_package"].values())
    print(f"-X importtime of mediamon.cli + flows.ingest ({in_all:.2f} s in all), self seconds by package: "
          + ", ".join(f"{k} {v:.2f}" for k, v in list(imports["self_by_package"].items())[:10]))  # fmt: skip
    for module in ("mediamon.cli", "flows.ingest"):
        print(f"  {module}'s direct imports, cumulative s: "
              + ", ".join(f"{k} {v:.2f}" for k, v in list(imports[module].items())[:8]))  # fmt: skip
    print(f"`python -c 'import mediamon.cli, flows.ingest'`: {results['import_exit']['wall_s']:.2f} s start to exit,"
          f" of which {results['import_exit']['teardown_s']:.2f} s after the imports (teardown)")  # fmt: skip

    timed = [name for name in runs if name.startswith(("timed", "what-if"))]
    print("\n== fixed-cost breakdown, s (median of the rounds per row, so rows add up to the total only roughly);")
    print(
        "   what-if = server and pool started at process start, pool closed without waiting, os._exit (timed_ingest.py)"
    )
    for first in range(0, len(timed), 4):
        columns = timed[first : first + 4]
        print(f"{'':<56}" + "".join(f"{name:>27}" for name in columns))
        for row in BREAKDOWN_ROWS:
            values = [median([run["breakdown"][row] for run in runs[name]]) for name in columns]
            print(f"{row:<56}" + "".join(f"{value:27.2f}" for value in values))
        print(f"{'total (median wall, process start to exit)':<56}" + "".join(f"{med(name):27.2f}" for name in columns))


# --- 3: scale --------------------------------------------------------------------------------------------------------


def scale_case(args: argparse.Namespace, work: Path, code: Path, log: Path) -> dict:
    corpus = args.corpus or work / "corpus"
    if not corpus.exists() or not any(corpus.iterdir()):
        started = time.monotonic()
        subprocess.run(
            [sys.executable, str(HERE / "generate.py"), str(corpus), "--docs", str(args.scale_docs)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"\ngenerated {args.scale_docs:,} pages in {time.monotonic() - started:.0f} s", flush=True)
    docs = sum(1 for _ in corpus.rglob("*.html"))
    size = sum(p.stat().st_size for p in corpus.rglob("*.html"))
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\n== scale: {docs:,} pages ({size / 1e6:.0f} MB), load average {load}", flush=True)
    env = base_env(code, work / "prefect-home-temporary")
    if not (work / "prefect-home-temporary").exists():  # its database, created before the clock starts
        run_timed([str(BIN / "mediamon"), "ingest", str(SEEDS), "--db", str(work / "warm.duckdb")], env, work, log)
    mediamon = run_timed(
        [str(BIN / "mediamon"), "ingest", str(corpus), "--db", str(work / "scale.duckdb")], env, work, log, interval=1.0
    )
    mediamon["counts"] = ingest_counts(log)
    mediamon["steps"] = main_steps(mediamon, log)
    mediamon["workers_wait"] = workers_wait(mediamon, mediamon["steps"])
    print(f"mediamon ingest {mediamon['wall_s']:.1f} s", flush=True)
    baseline = run_timed([sys.executable, str(HERE / "bare.py"), str(corpus)], env, work, log, interval=1.0)
    baseline["counts"] = last_json_line(log)
    print(f"baseline {baseline['wall_s']:.1f} s", flush=True)
    return {"docs": docs, "bytes": size, "mediamon": mediamon, "baseline": baseline}


def main_blocks_workers(samples: list[dict], busy: float = 0.5, idle: float = 0.5) -> dict[str, float]:
    """Share of the run's seconds in each state: the main process busy (>= `busy` of a core) or not, the workers
    together idle (< `idle` of one core) or not."""
    seconds = sum(s["dt"] for s in samples) or 1.0
    shares: dict[str, float] = {}
    for s in samples:
        main = "main busy" if s["cores"].get("main", 0.0) >= busy else "main idle"
        workers = "workers idle" if s["cores"].get("worker", 0.0) < idle else "workers busy"
        shares[f"{main}, {workers}"] = shares.get(f"{main}, {workers}", 0.0) + s["dt"] / seconds
    return dict(sorted(shares.items()))


def report_scale(results: dict) -> None:
    ours, bare, docs = results["mediamon"], results["baseline"], results["docs"]
    print(
        f"\n== scale: {docs:,} generated pages ({results['bytes'] / 1e6:.0f} MB), process start to exit, one run each"
    )
    for name, run in (("mediamon ingest (temporary server)", ours), ("baseline (bare, 2 processes)", bare)):
        cores = cpu_by_role(run["samples"])
        others = cores["machine"] - sum(v for k, v in cores.items() if k != "machine")
        print(
            f"{name:<36} {run['wall_s']:7.1f} s {docs / run['wall_s']:6.1f} articles/s  peak RSS"
            f" {run['peak_rss_mb']:.0f} MB (tree {run['tree_peak_rss_mb']:.0f} MB)  CPU {run['cpu_s']:.0f} s;"
            f" cores used: machine {cores['machine']:.2f} of {CORES}, "
            + ", ".join(f"{k} {v:.2f}" for k, v in cores.items() if k != "machine")
            + f", other processes on the machine {others:.2f}"
        )
    print(f"ratio baseline/mediamon: {bare['wall_s'] / ours['wall_s']:.3f}")
    print(f"counts: mediamon {ours['counts']}; baseline {bare['counts']}")
    shares = main_blocks_workers(ours["samples"])
    print("mediamon, share of the run (1-s samples; busy >= 0.5 core, workers idle < 0.5 core together): "
          + ", ".join(f"{k} {100 * v:.0f}%" for k, v in shares.items()))  # fmt: skip
    print("where the workers wait: each step the flow runs in its own thread, from the end of the one before to")
    print("its own end (a load's span includes waiting for its batch); seconds in which the workers used < 0.5 core")
    print(f"  {'step':<40} {'runs':>5} {'wall s':>8} {'workers idle s':>15} {'main CPU s':>11}")
    for name, row in ours["workers_wait"].items():
        print(
            f"  {name:<40} {row['n']:5d} {row['wall_s']:8.1f} {row['workers_idle_s']:15.0f} {row['main_cpu_s']:11.1f}"
        )
    ends = {name: end for name, _, end in ours["steps"]}
    if "deduplicate" in ends:
        loads = [end for name, _, end in ours["steps"] if name == "load_extracted"]
        print(f"  last load ended at {max(loads, default=0):.1f} s, deduplicate at {ends['deduplicate']:.1f} s,"
              f" the process at {ours['wall_s']:.1f} s")  # fmt: skip
    print("mediamon over the run, mean cores per tenth: machine / main / workers / server")
    samples, start = ours["samples"], ours["start"]
    for tenth in range(10):
        part = [s for s in samples if tenth / 10 <= (s["t"] - start) / ours["wall_s"] < (tenth + 1) / 10]
        if part:
            cores = cpu_by_role(part)
            print(
                f"  {part[0]['t'] - start:6.0f}-{part[-1]['t'] - start:4.0f} s  {cores.get('machine', 0):.2f} /"
                f" {cores.get('main', 0):.2f} / {cores.get('worker', 0):.2f} / {cores.get('server', 0):.2f}"
            )


# --- main ------------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds of the small case (medians)")
    parser.add_argument("--scale-docs", type=int, default=20_000, help="generated pages for the scale run; 0 skips")
    parser.add_argument("--corpus", type=Path, help="the scale corpus: use (or create) this folder")
    parser.add_argument("--no-small", action="store_true", help="only the scale run")
    parser.add_argument("--commit", default="HEAD", help="the code measured (default HEAD)")
    parser.add_argument("--tree", action="store_true", help="measure the working tree, not a commit's snapshot")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (logs, warehouses, timelines)")
    parser.add_argument("--json", type=Path, help="write every figure and run to this JSON file")
    args = parser.parse_args()

    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"{date.today()}  {CORES} cores  uptime: {uptime}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-process-"))
    log = work / "runs.log"
    try:
        if args.tree:
            code, commit = REPO, "working tree"
        else:
            code, commit = work / "code", snapshot(args.commit, work / "code")
        print(f"code: {commit}; temp folder {work}", flush=True)
        results: dict = {"date": str(date.today()), "commit": commit, "uptime": uptime, "cores": CORES}
        if not args.no_small:
            results["small"] = small_case(args, work, code, log)
            report_small(results["small"])
        if args.scale_docs:
            results["scale"] = scale_case(args, work, code, log)
            report_scale(results["scale"])
        print(f"\nuptime at the end: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
        if args.json:
            args.json.write_text(json.dumps(results, indent=1, default=str))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
