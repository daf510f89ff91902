"""Commands the docs show and the compose files run, and a process that holds a warehouse's write lock."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
MEDIAMON = Path(sys.executable).parent / "mediamon"
SERVE_ARGV = ["serve"]  # the compose file's mediamon command (tests/test_serve.py runs it)
# What docker-compose.scale.yml runs (tests/test_compose.py checks it; tests/test_scale_out.py runs it).
SCHEDULER_ARGV = ["dask", "scheduler"]
WORKER_ARGV = ["dask", "worker", "--nworkers", "2", "--nthreads", "1"]


def documented_pages() -> list[Path]:
    """The README, then the reference pages in docs/ (docs/sql.md's commands are run by test_sql_sandbox)."""
    docs = sorted(p for p in (REPO_ROOT / "docs").glob("*.md") if p.name != "sql.md")
    return [REPO_ROOT / "README.md", *docs]


def documented_commands() -> list[str]:
    """Every `$ ...` line in the console blocks of the README and docs/, in page order, comments stripped."""
    commands = []
    for page in documented_pages():
        blocks = re.findall(r"```console\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL)
        lines = [line for block in blocks for line in block.splitlines() if line.startswith("$ ")]
        commands += [line[2:].split("  #")[0].strip() for line in lines]
    return commands


HOLD_WRITE_LOCK = """
import sys, time, duckdb
conn = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold_write_lock(db: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the warehouse open for writing for `seconds` (returns once it holds it)."""
    argv = [sys.executable, "-c", HOLD_WRITE_LOCK, str(db), str(seconds)]
    writer = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "locked"
    return writer
