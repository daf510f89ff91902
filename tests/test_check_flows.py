"""The data checks at the end of the flows: a warehouse broken on purpose makes the next ingest and backfill
runs end Failed, with the failing checks published as the run's `data-checks` artifact and noted on its row,
after their data is committed."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from flows.backfill import backfill
from flows.ingest import ingest
from mediamon.cli import main as mediamon

pytestmark = [pytest.mark.flows, pytest.mark.usefixtures("prefect_harness")]


def artifacts_of(flow_run_id) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a.data for a in found}


def test_flows_fail_on_a_broken_invariant_with_the_checks_artifact(fresh_db, seed_copy, capsys):
    passed = ingest(paths=[str(seed_copy)], db=str(fresh_db), extract_workers=1, return_state=True)
    assert passed.is_completed()
    assert artifacts_of(passed.state_details.flow_run_id)["data-checks"].startswith("All data checks passed")
    with duckdb.connect(str(fresh_db)) as conn:
        conn.execute("INSERT INTO articles SELECT * FROM articles ORDER BY source_uri LIMIT 1")
    (seed_copy / "new.txt").write_text("A new article about the station.\n\n" + "The crew slept well. " * 30)

    state = ingest(paths=[str(seed_copy)], db=str(fresh_db), extract_workers=1, return_state=True)
    assert state.is_failed() and "articles_unique_id (2 rows)" in state.message
    artifacts = artifacts_of(state.state_details.flow_run_id)
    report = artifacts["data-checks"]
    assert "## articles_unique_id: 2 row(s)" in report and "| key | value | n |" in report
    assert "ingest-counts" in artifacts  # the data is loaded: its counts are published too
    with duckdb.connect(str(fresh_db), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM articles WHERE source_uri LIKE '%new.txt'").fetchone() == (1,)
        row = conn.execute("SELECT status, failed_checks FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
    assert row[0] == "failed" and json.loads(row[1]) == {"articles_unique_id": 2}

    assert mediamon(["ingest", str(seed_copy), "--db", str(fresh_db), "--extract-workers", "1"]) == 1
    out, err = capsys.readouterr()
    assert "ingest loaded, checks failed in " in out and "6 unchanged" in out
    assert err.startswith("mediamon: data checks failed: articles_unique_id (2 rows)")

    redo = backfill(start=date(2022, 3, 1), end=date(2022, 3, 2), mode="rededup", db=str(fresh_db), return_state=True)
    assert redo.is_failed() and "data-checks" in artifacts_of(redo.state_details.flow_run_id)
