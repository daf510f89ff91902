"""Reading commands, process start to exit: `mediamon sql`, `search`, `check`, `digest` and `report` on a warehouse
of the seeds, against a bare `python -c` that opens the same file read-only with duckdb and prints the same query.

Run from the repository root: `.venv/bin/python bench/cli/run.py [--rounds 5]`. The warehouse is made once by
`mediamon ingest seeds` (Prefect's temporary server: PREFECT_API_URL is removed) in a temp folder. Each command
runs `--rounds` times, alternating with the baseline; medians of the wall clock from `Popen` to `os.wait4`, and
the peak RSS that `wait4` reports. Figures go in bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
QUERY = "select title, language, word_count from articles"
COMMANDS = [
    f'sql "{QUERY}"',
    'search "roscosmos video" --limit 3',
    "check",
    "digest --since 7d",
    "report --out {tmp}/report.html",
]
BARE = f"import duckdb, sys; duckdb.connect(sys.argv[1], read_only=True).sql({QUERY!r}).show()"


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run; exits if the command fails."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {shlex.join(argv)}\n{process.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIAMON_", "PREFECT_API_URL"))}
    with tempfile.TemporaryDirectory() as tmp:
        db = f"{tmp}/seeds.duckdb"
        ingest = [BIN / "mediamon", "ingest", REPO / "seeds", "--db", db]
        subprocess.run(ingest, env=env, check=True, capture_output=True)
        bare = [str(BIN / "python"), "-c", BARE, db]
        runs: dict[str, list[tuple[float, float]]] = {"bare duckdb": []}
        for _ in range(args.rounds):
            runs["bare duckdb"].append(timed(bare, env))
            for command in COMMANDS:
                argv = [str(BIN / "mediamon"), *shlex.split(command.format(tmp=tmp)), "--db", db]
                runs.setdefault(f"mediamon {command.split(' ', 1)[0]}", []).append(timed(argv, env))
    baseline = statistics.median(wall for wall, _ in runs["bare duckdb"])
    print(f"{args.rounds} rounds, medians; load average {os.getloadavg()[0]:.1f}")
    print(f"{'command':<18} {'wall s':>7} {'x bare':>7} {'peak MB':>8}")
    for name, values in runs.items():
        wall = statistics.median(w for w, _ in values)
        peak = max(m for _, m in values)
        print(f"{name:<18} {wall:7.2f} {wall / baseline:7.2f} {peak:8.0f}")


if __name__ == "__main__":
    main()
