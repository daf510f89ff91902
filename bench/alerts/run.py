"""The delay from a run's end to its alert's webhook call: real `ingest` flow runs, each loading one new page that
matches a monitor, against a `prefect server start` whose automation (made by `mediamon alerts create`) POSTs to
a webhook on 127.0.0.1.

    python bench/alerts/run.py [--runs 8] [--api-url URL]

A run's end is the moment it emits its events (the `occurred` of its `mediamon.monitor.matched` event, after
the run's row is closed); its flow run's final state comes after that, so the delay from the flow call's return
is also printed. Baseline: the same kind of event POSTed to the server's `/events` endpoint with httpx, outside
any flow: Prefect's automation path alone (event -> triggers -> actions -> notification block).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

MONITOR = "roscosmos-iss-video"


def start_server(home: Path) -> tuple[subprocess.Popen, str]:
    from tests.helpers.prefect_server import BIN, clean_env, free_port

    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = clean_env(PREFECT_HOME=str(home), PREFECT_API_URL=api_url)
    with open(home / "server.log", "wb") as log:
        process = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    import httpx

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return process, api_url
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("prefect server never answered")


def occurred(body: dict) -> float:
    return datetime.fromisoformat(body["occurred"]).timestamp()


def summary(name: str, delays: list[float]) -> str:
    return (
        f"{name}: median {statistics.median(delays):.3f} s, max {max(delays):.3f} s, min {min(delays):.3f} s"
        f" over {len(delays)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--api-url", help="a running Prefect server (default: start one for the benchmark)")
    options = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    server = None
    api_url = options.api_url
    if api_url is None:
        (tmp / "home").mkdir()
        server, api_url = start_server(tmp / "home")
    os.environ["PREFECT_API_URL"] = api_url
    try:
        return measure(options.runs, api_url, tmp)
    finally:
        if server is not None:
            from tests.helpers.prefect_server import stop_group

            stop_group(server)


def measure(runs: int, api_url: str, tmp: Path) -> int:
    import httpx
    from prefect.events.schemas.events import Event

    from flows.ingest import ingest
    from mediamon.alerts import create_alert, delete_alert
    from pipeline.events import monitor_events
    from tests.helpers.story_pages import write_story_pages
    from tests.helpers.webhook import run_webhook_server
    from warehouse.monitors import NewMatch

    hooks = run_webhook_server()
    webhook = next(hooks)
    create_alert("bench-alerts", MONITOR, webhook.url("/bench"), allow_private=True)
    try:
        db, pages = str(tmp / "w.duckdb"), tmp / "pages"
        ingest(paths=[str(write_story_pages(pages, range(0, 1), ["warm.example"])[0])], db=db, extract_workers=1)
        webhook.wait_for("/bench", 1, 60)
        from_event, from_return, baseline = [], [], []
        for n in range(1, runs + 1):
            page = write_story_pages(pages, range(n, n + 1), [f"outlet{n}.example"])[0]
            ingest(paths=[str(page)], db=db, extract_workers=1)
            returned = time.time()
            calls = webhook.wait_for("/bench", n + 1, 60)
            assert len(calls) == n + 1, "no webhook call within 60 s"
            call = calls[-1]
            from_event.append(call.at - occurred(call.body))
            from_return.append(call.at - returned)
        for n in range(1, runs + 1):  # the baseline: a bare event of the same shape, outside any flow
            match = NewMatch(MONITOR, f"b{n}", "Baseline", "https://b.example/", "b.example", "s", None, True)
            event = monitor_events([match], f"baseline-{n}", "ingest", None)[0]
            bare = Event(event=event.event, resource=event.resource, payload=event.payload)
            httpx.post(f"{api_url}/events", json=[bare.model_dump(mode="json")], timeout=30).raise_for_status()
            calls = webhook.wait_for("/bench", runs + 1 + n, 60)
            assert len(calls) == runs + 1 + n, "no webhook call within 60 s"
            baseline.append(calls[-1].at - occurred(calls[-1].body))
    finally:
        delete_alert("bench-alerts")
        next(hooks, None)
    print(summary("run's end (its event) -> webhook call", from_event))
    print(summary("flow call returned -> webhook call", from_return))
    print(summary("baseline: event POSTed to /api/events -> webhook call", baseline))
    ratio = statistics.median(from_event) / statistics.median(baseline)
    print(f"ratio of medians {ratio:.2f}; load average {os.getloadavg()[0]:.1f}")
    print(f"peak memory of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
