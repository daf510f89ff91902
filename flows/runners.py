"""Where the flows' fetch and extraction batches run: Prefect's default runner (threads in the flow's process,
extraction on its process pool), or a Dask cluster through prefect-dask. Loads always run in the flow's process.

The runner is chosen by settings when a flow run starts, never at import: the command line passes the runner of
its settings (`flow.with_options(task_runner=configured_task_runner(settings))`), and the flows' own runner,
`SettingsTaskRunner`, reads `MEDIAMON_TASK_RUNNER`, `MEDIAMON_DASK_ADDRESS` and `MEDIAMON_DASK_WORKERS` as each
run starts, so runs of `mediamon serve`'s deployments and the schedule group's ingests use the same.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.context import FlowRunContext
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from config.settings import Settings, SettingsError, load_settings
from pipeline.pool import default_workers


def dask_task_runner(address: str | None = None, workers: int | None = None) -> TaskRunner:
    """A DaskTaskRunner on the scheduler at `address`, or on a local cluster of `workers` single-threaded
    processes (one per CPU when None), started with the flow run and stopped with it."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    # The local scheduler logs in this process: its INFO lines (a dozen per worker) would drown the run's own.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    cluster = {"n_workers": workers or default_workers(), "threads_per_worker": 1, "processes": True}
    return DaskTaskRunner(cluster_kwargs={**cluster, "dashboard_address": "127.0.0.1:0"})


def configured_task_runner(settings: Settings | None = None) -> TaskRunner:
    settings = settings or load_settings()
    if settings.task_runner == "dask":
        return dask_task_runner(settings.dask_address, settings.dask_workers)
    return ThreadPoolTaskRunner()


class SettingsTaskRunner(ThreadPoolTaskRunner):
    """The flows' default runner: a placeholder that Prefect duplicates as each flow run starts, and whose
    duplicate is the runner the settings name then (the default runner, or Dask)."""

    def duplicate(self) -> TaskRunner:
        return configured_task_runner()


def dask_threads() -> int | None:
    """Threads of the Dask cluster the current flow run submits to; None on the default runner."""
    context = FlowRunContext.get()
    runner = context.task_runner if context else None
    if runner is None or not type(runner).__module__.startswith("prefect_dask"):
        return None
    return sum(runner.client.nthreads().values())


@contextmanager
def prefect_api_for_workers(settings: Settings) -> Iterator[None]:
    """On the Dask runner, make sure the workers (other processes) reach this process's Prefect API.

    Without PREFECT_API_URL, every process starts a temporary server of its own (about 8 s each), and the
    workers' task runs would be recorded in their own databases. For a local cluster, start the temporary
    server here instead (the one Prefect would start, stopped the same way when the process exits) and point
    this process and the workers it spawns (they inherit the environment) at it; the workers of a running
    scheduler cannot be pointed anywhere from here, so that needs a Prefect server."""
    if settings.task_runner != "dask":
        yield
        return
    if PREFECT_API_URL.value():
        os.environ.setdefault("PREFECT_API_URL", PREFECT_API_URL.value())
        yield
        return
    if settings.dask_address:
        raise SettingsError(
            "MEDIAMON_DASK_ADDRESS needs PREFECT_API_URL: the scheduler's workers must report to the Prefect server"
            " this run uses (start one with `prefect server start` and set PREFECT_API_URL here and on the workers)"
        )
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    server.start()
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings({PREFECT_API_URL: server.api_url}):
            yield
    finally:
        del os.environ["PREFECT_API_URL"]
