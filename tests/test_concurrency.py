"""One writer at a time: concurrent ingest processes into one DuckDB file wait for each other."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.conftest import FIXTURES_DIR, SEEDS_DIR

MEDIAMON = Path(sys.executable).parent / "mediamon"


def test_two_concurrent_ingests_both_complete_without_lost_or_doubled_rows(tmp_path):
    first, second = tmp_path / "seeds", tmp_path / "html"
    shutil.copytree(SEEDS_DIR, first)
    shutil.copytree(FIXTURES_DIR / "html", second)
    db = tmp_path / "shared.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIAMON_", "PREFECT_API_URL"))}
    runs = [
        subprocess.Popen(
            [str(MEDIAMON), "ingest", str(folder), "--db", str(db), "--batch-size", "1"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in (first, second)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
    with duckdb.connect(str(db), read_only=True) as conn:
        counts = conn.execute("SELECT count(*), count(DISTINCT source_uri) FROM articles").fetchone()
        statuses = conn.execute("SELECT status, count(*) FROM runs GROUP BY 1").fetchall()
    assert counts == (8, 8)
    assert statuses == [("completed", 2)]
