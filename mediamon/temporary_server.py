"""Prefect's temporary server, started by the command line as soon as Prefect is imported.

Without PREFECT_API_URL, Prefect starts a temporary server at a flow's first API call: it imports the server's
modules into the calling process (1.4-1.6 s) and then waits for the server to answer (about 3 s). Here the same
server (Prefect's own command: uvicorn on a free 127.0.0.1 port, UI off, the database in PREFECT_HOME) is started
before the flow's modules are imported, so its start overlaps those imports, and this process never loads the
server's modules; the flow runs find PREFECT_API_URL set to it. It is stopped at exit, as Prefect stops its own.
Measured in bench/pipeline (process start to exit).
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

# What Prefect 3.8's SubprocessASGIServer sets for its temporary server (UI off, ephemeral mode).
SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}


class ServerDidNotStart(OSError):
    """The temporary server exited, or did not answer in time."""


class TemporaryServer:
    """A started temporary server: `wait()` until it answers, `stop()` (also registered at exit)."""

    def __init__(self, process: subprocess.Popen, api_url: str, timeout: float) -> None:
        self.process = process
        self.api_url = api_url
        self.timeout = timeout
        self._ready = False
        atexit.register(self.stop)

    def wait(self) -> None:
        import httpx

        deadline = time.monotonic() + self.timeout
        while not self._ready:
            if self.process.poll() is not None:
                raise ServerDidNotStart(f"Prefect's temporary server exited ({self.process.returncode})")
            try:
                self._ready = httpx.get(f"{self.api_url}/health", timeout=5).status_code == 200
            except httpx.TransportError:
                pass
            if not self._ready:
                if time.monotonic() > deadline:
                    raise ServerDidNotStart(f"Prefect's temporary server did not answer in {self.timeout:.0f} s")
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_temporary_server() -> TemporaryServer | None:
    """Start the temporary server Prefect would start, when it would start one (no API URL in its settings and
    ephemeral mode allowed); None when a server is configured."""
    import prefect
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        get_current_settings,
    )

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(prefect.__file__).parent.parent), "--factory"]
    command += ["prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "error", "--lifespan", "on"]
    env = {**os.environ, **SERVER_ENV, **get_current_settings().to_environment_variables(exclude_unset=True)}
    process = subprocess.Popen(command, env=env)
    timeout = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    return TemporaryServer(process, f"http://127.0.0.1:{port}/api", timeout)
