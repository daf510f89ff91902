"""Kill `mediamon ingest` with SIGKILL at random points, run it again, and count the warehouses that end identical
to an uninterrupted run over the same input (seeds, copies of them, fixture-site feeds and pages).

    python bench/crash/kill_loop.py [--kills 20] [--seed 7]

A kill point is a hook point of tests/crashpoint.py (fetch, extract, load, dedup) at a random arrival, or
"timer": SIGKILL from outside after a random delay between the moment the uninterrupted run first opened the
warehouse and 80% of its duration (discovery, loads, checkpoints, anywhere). Identical means: the re-run exits 0,
every table's checksum (run ids and load times left out) equals the uninterrupted run's, and, for hook kills,
the killed warehouse held whole batches only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.crashpoint import (  # noqa: E402
    journal_batches,
    stored_sources,
    warehouse_checksums,
    write_crash_input,
)
from tests.fixture_site import FixtureSite  # noqa: E402

MEDIAMON = Path(sys.executable).parent / "mediamon"
HOOKS = ("fetch", "extract", "load", "dedup")


def crashpoint(point: str, nth: int, journal: Path, args: list[str], db: Path, env: dict) -> subprocess.Popen:
    command = [sys.executable, "-m", "tests.crashpoint", point, str(nth), str(journal), *args, "--db", str(db)]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def rerun(args: list[str], db: Path, env: dict) -> int:
    command = [str(MEDIAMON), *args, "--db", str(db)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, timeout=600).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    from prefect.settings import get_current_settings
    from prefect.testing.utilities import prefect_test_harness

    with tempfile.TemporaryDirectory() as tmp, FixtureSite() as site, prefect_test_harness():
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIAMON_", "PREFECT_API_URL"))}
        env["PREFECT_API_URL"] = str(get_current_settings().api.url)  # one server for every run: no start-up
        args = write_crash_input(root, site)
        started = time.monotonic()
        baseline = crashpoint("none", 0, root / "baseline.jsonl", args, root / "baseline.duckdb", env)
        while not (root / "baseline.duckdb").exists() and baseline.poll() is None:
            time.sleep(0.05)
        opened = time.monotonic() - started  # timer kills land after this: before it, nothing is written
        if baseline.wait(timeout=600) != 0:
            raise SystemExit("the uninterrupted run failed")
        duration = time.monotonic() - started
        expected = warehouse_checksums(root / "baseline.duckdb")
        arrivals = json.loads((root / "baseline.jsonl").read_text().splitlines()[-1])["arrivals"]
        print(f"uninterrupted run: {duration:.1f} s (warehouse opened at {opened:.1f} s), points reached {arrivals}")
        identical = kills = 0
        for i in range(1, options.kills + 1):
            point = rng.choice((*HOOKS, "timer"))
            db, journal = root / f"kill-{i}.duckdb", root / f"kill-{i}.jsonl"
            if point == "timer":
                delay = rng.uniform(opened, 0.8 * duration)  # a run may be faster than the uninterrupted one
                where = f"timer {delay:.1f} s"
                process = crashpoint("none", 0, journal, args, db, env)
                try:
                    process.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    process.send_signal(signal.SIGKILL)
                code = process.wait()
            else:
                nth = rng.randint(1, arrivals[point])
                where = f"{point} #{nth}"
                code = crashpoint(point, nth, journal, args, db, env).wait(timeout=600)
            whole = None  # not checked for a timer kill: it may land between a commit and its journal line
            if point != "timer" and db.exists():
                committed, _ = journal_batches(journal)
                whole = stored_sources(db) == committed
            rerun_code = rerun(args, db, env)
            same = rerun_code == 0 and warehouse_checksums(db) == expected
            identical += whole is not False and same
            kills += code == -signal.SIGKILL
            killed = "killed" if code == -signal.SIGKILL else f"exit {code}"
            batches = "-" if whole is None else str(whole)
            print(
                f"{i:2d}. {where:16s} {killed:8s} whole batches {batches:5s} identical after re-run {same}", flush=True
            )
        print(f"identical: {identical}/{options.kills} ({kills} killed, the others finished before their timer)")
        return 0 if identical == options.kills else 1


if __name__ == "__main__":
    sys.exit(main())
