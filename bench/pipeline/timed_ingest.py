"""`mediamon ingest ARGS` with timers, for the fixed-cost breakdown of bench/pipeline/process.py.

`python bench/pipeline/timed_ingest.py ingest DIR --db FILE`, with $BENCH_TIMELINE naming a JSON file to write.
It does what the `mediamon` console script does (import `mediamon.cli`, call `main`), with the same imports at
the top (spawned extraction workers re-run this file's top as `__mp_main__`, as they re-run the console
script), and wraps, without changing what runs:

- the import of `flows.ingest` (Prefect and the flow's modules), done just before `main` would do it, after
  the same `_temporary_server_defaults()`;
- `SubprocessASGIServer.start` and `.stop`, Prefect's temporary server (started by the flow's first API call
  when PREFECT_API_URL is unset, stopped at exit), and the import of their module, which Prefect does only
  then (imported here before the flow call, and counted with the start);
- the flow call, the flow body (its first and last calls) and every task body of `flows.ingest`;
- `ExtractionPool._pool`, where the worker processes are created (each worker writes when it entered this file
  and when its imports were done; its process start is read from /proc), and `ExtractionPool.close`.

Times are `time.monotonic()` (one clock for every process on the machine); the caller adds its own start and
exit times. Nothing of the product is edited.

What-if experiments, off unless $BENCH_WHATIF lists them (comma-separated): changes the product could make,
tried here from the outside to measure them, never what the plain runs measure:

- `early-server`: start the temporary server's process (Prefect's own uvicorn command) first thing, before
  any import, and point PREFECT_API_URL at it; wait for it only when the flow is called; stop it at exit;
- `early-pool`: when the targets hold at least 32 files (the pool's threshold), start the two extraction
  processes right after `mediamon.cli` is imported, before Prefect is; the flow's pool takes them over;
- `pool-nowait`: the pool's close does not wait for its processes to exit;
- `fast-exit`: after `main` returns, do what the interpreter does first at exit (join threads, run the
  at-exit handlers: Prefect's log and event drains, the server's stop) and leave with `os._exit`, skipping the
  interpreter's teardown.
"""

import time

T_ENTRY = time.monotonic()

import atexit  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)  # the console script's sys.path[0] is the venv's bin/, not a folder of bench scripts

MARKS = None  # the main process's Marks, written by the first at-exit handler registered, so the last to run
atexit.register(lambda: MARKS is not None and MARKS.write())
WHATIF = set(filter(None, os.environ.get("BENCH_WHATIF", "").split(",")))
MIN_POOL_FILES = 32  # ExtractionPool's min_jobs: 4 chunks of 8


def start_early_server() -> tuple[subprocess.Popen, str]:
    """The command `SubprocessASGIServer` runs, on a free port, without importing Prefect."""
    import importlib.util
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    site = Path(importlib.util.find_spec("prefect").submodule_search_locations[0]).parent
    command = [sys.executable, "-m", "uvicorn", "--app-dir", str(site), "--factory"]
    command += ["prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "error", "--lifespan", "on"]
    env = {**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    return subprocess.Popen(command, env=env), f"http://127.0.0.1:{port}/api"


EARLY_SERVER = None
if __name__ == "__main__" and "early-server" in WHATIF and not os.environ.get("PREFECT_API_URL"):
    EARLY_SERVER, os.environ["PREFECT_API_URL"] = start_early_server()

from mediamon.cli import main  # noqa: E402  the console script's one import

T_CLI = time.monotonic()
TIMELINE = os.environ.get("BENCH_TIMELINE")


def process_start_monotonic() -> float:
    """When this process started, on the monotonic clock (from /proc/self/stat, 10 ms resolution)."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    started_since_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")
    age = time.clock_gettime(time.CLOCK_BOOTTIME) - started_since_boot
    return time.monotonic() - age


if __name__ == "__mp_main__" and TIMELINE:  # an extraction worker, spawned: its imports are done
    with open(TIMELINE + ".workers", "a") as out:
        out.write(
            json.dumps({"pid": os.getpid(), "start": process_start_monotonic(), "entry": T_ENTRY, "ready": T_CLI})
            + "\n"
        )


def start_early_pool():
    """Two spawned processes, as ExtractionPool makes them, when the targets hold enough files to use them."""
    files = 0
    for target in sys.argv[2:]:
        path = Path(target)
        if path.is_dir():
            files += sum(1 for p in path.rglob("*") if p.is_file())
    if files < MIN_POOL_FILES:
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    workers = len(os.sched_getaffinity(0))  # default_workers()
    executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    for _ in range(workers):  # a spawn pool starts a process per waiting call: all of them now, in the background
        executor.submit(os.getpid)
    return executor


class Marks:
    """Named instants and intervals, written as JSON at exit (the last atexit handler to run)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.points: dict[str, float] = {"entry": T_ENTRY, "cli_imported": T_CLI}
        self.intervals: list[tuple[str, float, float]] = []

    def point(self, name: str) -> None:
        self.points.setdefault(name, time.monotonic())

    def timed(self, name: str, fn):
        import functools

        @functools.wraps(fn)  # Prefect binds parameters by the wrapped signature
        def wrapper(*args, **kwargs):
            started = time.monotonic()
            try:
                return fn(*args, **kwargs)
            finally:
                self.intervals.append((name, started, time.monotonic()))

        return wrapper

    def write(self) -> None:
        self.points["last_atexit"] = time.monotonic()
        workers = []
        if os.path.exists(self.path + ".workers"):
            workers = [json.loads(line) for line in open(self.path + ".workers")]
        with open(self.path, "w") as out:
            json.dump({"points": self.points, "intervals": self.intervals, "workers": workers}, out)


def instrument(marks: Marks, early_pool) -> None:
    import mediamon.cli as cli

    cli._temporary_server_defaults()  # as run_ingest does before it imports the flow
    skip_teardown = getattr(cli, "_skip_teardown", None)
    if skip_teardown is not None:  # the product's last at-exit handler leaves with os._exit: write the marks first

        def write_then_skip():
            # The product's handler is registered after the early server's stop, so it runs before it and its
            # os._exit would leave the server running: stop it here (timed as the handler would be).
            if EARLY_SERVER is not None and EARLY_SERVER.poll() is None:
                marks.timed("temporary server stop", stop_early_server)()
            marks.write()
            skip_teardown()

        cli._skip_teardown = write_then_skip
    started = time.monotonic()
    from prefect import Task

    import flows.ingest as module

    marks.intervals.append(("import flows.ingest", started, time.monotonic()))
    for value in vars(module).values():
        if isinstance(value, Task):
            value.fn = marks.timed(f"task {value.name}", value.fn)
    if not os.environ.get("PREFECT_API_URL"):  # Prefect imports the server's module only for a temporary server
        instrument_temporary_server(marks)

    pool_class = module.ExtractionPool
    make_pool, close_pool = pool_class._pool, pool_class.close

    def timed_pool(self):
        if self._executor is None:
            marks.point("pool_created")
            if early_pool is not None and early_pool._max_workers == self.workers:
                self._executor = early_pool
        return make_pool(self)

    def close_without_waiting(self):
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    timed_close = marks.timed("pool close", close_without_waiting if "pool-nowait" in WHATIF else close_pool)

    def close(self):  # the workers' shutdown, at the end of the flow body
        return (timed_close if self._executor is not None else close_pool)(self)

    pool_class._pool, pool_class.close = timed_pool, close
    # The flow body's first and last calls mark its start and end (wrapping `Flow.fn` itself would break
    # Prefect's parameter validation, which resolves the annotations in the function's globals).
    get_logger, make_artifact = module.get_run_logger, module.create_table_artifact

    def first_call(*args, **kwargs):
        marks.point("flow_body_start")
        return get_logger(*args, **kwargs)

    def last_call(*args, **kwargs):
        try:
            return make_artifact(*args, **kwargs)
        finally:
            marks.point("flow_body_end")

    module.get_run_logger, module.create_table_artifact = first_call, last_call
    module.ingest = TimedFlow(module.ingest, marks)  # run_ingest imports `ingest` from the module at call time


class TimedFlow:
    """The flow, its call timed (as a copy made by `with_options` is)."""

    def __init__(self, flow, marks: Marks) -> None:
        self._flow, self._marks = flow, marks

    def __call__(self, *args, **kwargs):
        if EARLY_SERVER is not None:
            wait_for_early_server(self._marks)
        started = time.monotonic()
        try:
            return self._flow(*args, **kwargs)
        finally:
            self._marks.intervals.append(("flow call", started, time.monotonic()))

    def with_options(self, *args, **kwargs) -> "TimedFlow":
        return TimedFlow(self._flow.with_options(*args, **kwargs), self._marks)

    def __getattr__(self, name: str):
        return getattr(self._flow, name)


def instrument_temporary_server(marks: Marks) -> None:
    """Times `SubprocessASGIServer.start` and `.stop`, and the import of their module (the client imports it
    when it starts the server: counted with the start)."""
    started = time.monotonic()
    from prefect.server.api.server import SubprocessASGIServer

    marks.intervals.append(("temporary server start", started, time.monotonic()))
    start_server = SubprocessASGIServer.start
    timed_start = marks.timed("temporary server start", start_server)

    def start(self, *args, **kwargs):  # called before every API client is made; only the first one starts it
        return (start_server if self.running else timed_start)(self, *args, **kwargs)

    SubprocessASGIServer.start = start
    SubprocessASGIServer.stop = marks.timed("temporary server stop", SubprocessASGIServer.stop)


def wait_for_early_server(marks: Marks) -> None:
    import httpx

    started = time.monotonic()
    url = os.environ["PREFECT_API_URL"] + "/health"
    while time.monotonic() - started < 120:
        try:
            if httpx.get(url).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.05)
    marks.intervals.append(("temporary server start", started, time.monotonic()))


def stop_early_server() -> None:
    if EARLY_SERVER.poll() is not None:  # stopped already (by write_then_skip, see instrument)
        return
    EARLY_SERVER.terminate()
    try:
        EARLY_SERVER.wait(timeout=10)
    except subprocess.TimeoutExpired:
        EARLY_SERVER.kill()
        EARLY_SERVER.wait()


if __name__ == "__main__":
    import threading

    MARKS = marks = Marks(TIMELINE)
    early_pool = start_early_pool() if "early-pool" in WHATIF else None
    if EARLY_SERVER is not None:
        atexit.register(marks.timed("temporary server stop", stop_early_server))
    instrument(marks, early_pool)
    marks.point("main_called")
    code = main()
    marks.point("main_returned")
    if "fast-exit" in WHATIF:
        sys.stdout.flush()
        sys.stderr.flush()
        threading._shutdown()  # what the interpreter does before its at-exit handlers: joins threads, stops
        atexit._run_exitfuncs()  # Prefect's loops (without it, logging's flush waits 5 s on a stopped worker)
        os._exit(code)
    sys.exit(code)
