"""The flows' task runner is chosen from settings when a run starts, never when the flows are imported."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.pure


def test_flow_task_runner_follows_the_settings_at_run_start(monkeypatch):
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.backfill import backfill
    from flows.ingest import ingest
    from flows.runners import configured_task_runner

    monkeypatch.delenv("MEDIAMON_TASK_RUNNER", raising=False)
    for flow in (ingest, backfill):
        assert type(flow.task_runner.duplicate()) is ThreadPoolTaskRunner
    monkeypatch.setenv("MEDIAMON_TASK_RUNNER", "dask")  # set after the import: still followed
    monkeypatch.setenv("MEDIAMON_DASK_WORKERS", "3")
    for flow in (ingest, backfill):
        runner = flow.task_runner.duplicate()
        assert type(runner).__name__ == "DaskTaskRunner" and runner.cluster_kwargs["n_workers"] == 3
    chosen = ingest.with_options(task_runner=configured_task_runner())  # what the command line does
    assert type(chosen.task_runner.duplicate()).__name__ == "DaskTaskRunner"
