"""One real `prefect server start` for the whole test session, shared by in-process flow runs and every
`mediamon` or Dask process a test starts.

Without PREFECT_API_URL, Prefect starts a temporary server in each process that runs a flow (5-30 s on this
machine, most of it creating its SQLite database); a session of flow tests started one per test process and one
per `mediamon` subprocess. Here one server starts when the first test asks for it and stops at the end of the
session. The tests that check the temporary-server path itself build their environment with
`mediamon_env(None)`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
SERVER_ARGV = ["prefect", "server", "start"]  # the compose file's server command (tests/test_compose.py checks)
WAIT_SECONDS = 240  # an upper bound for a process or flow run to get somewhere, never a measured duration


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without this machine's mediamon and Prefect settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIAMON_", "PREFECT_"))}
    return {**env, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **extra}


def mediamon_env(api_url: str | None, **extra: str) -> dict[str, str]:
    """The environment of a `mediamon` process: no MEDIAMON_ settings from this machine, and PREFECT_API_URL
    naming the session's server (or unset with None: the process then starts Prefect's temporary server)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIAMON_", "PREFECT_API_URL"))}
    if api_url is not None:
        env["PREFECT_API_URL"] = api_url
    return {**env, **extra}


def stop_group(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop a process started in its own session, and everything it started."""
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def log_tail(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-3000:] if path.exists() else ""


@dataclass
class PrefectServer:
    api_url: str
    ui_url: str

    def client(self):
        from prefect.client.orchestration import SyncPrefectClient

        return SyncPrefectClient(self.api_url)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory) -> Iterator[PrefectServer]:
    """`prefect server start` on a free 127.0.0.1 port, SQLite in a fresh PREFECT_HOME, UI and services on (the
    scheduler plans the served deployments' runs; tests/test_serve.py drives the UI)."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = clean_env(
        PREFECT_HOME=str(home),
        PREFECT_API_URL=api_url,  # also what the UI calls
        PREFECT_UI_ENABLED="true",
        # Events are written every 0.5 s rather than 5: a test reading a run's events back waits that long.
        PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL="0.5",
    )
    log = home / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(BIN / SERVER_ARGV[0]), *SERVER_ARGV[1:], "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            assert process.poll() is None, f"prefect server exited:\n{log_tail(log)}"
            assert time.monotonic() < deadline, f"prefect server never answered:\n{log_tail(log)}"
            try:
                if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield PrefectServer(api_url, f"http://127.0.0.1:{port}")
    finally:
        stop_group(process)


@pytest.fixture(scope="session")
def prefect_harness(prefect_server) -> Iterator[PrefectServer]:
    """In-process flow runs report to the session's server (what `prefect_test_harness` does with a server of
    its own), with flow heartbeats off; the workers that send logs and events are drained before it stops."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_server.api_url, "flows.heartbeat_frequency": None}):
        yield prefect_server
        APILogWorker.drain_all()
        EventsWorker.drain_all()
