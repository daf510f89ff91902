"""Alerts: which matches are new to a run and the events announcing them (pure and on real DuckDB files), then end
to end on the session's real `prefect server`: an alert made with `mediamon alerts` posts a run's new matches to a
loopback webhook through Prefect's automation, once; re-runs, runs below --min-articles and nothing new stay
quiet; a failed run emits `mediamon.run.failed`."""

from __future__ import annotations

import fnmatch
import json
import time
from datetime import datetime
from pathlib import Path

import pytest

from mediamon.alerts import min_articles_of, trigger_match, webhook_body
from mediamon.cli import main
from pipeline.events import (
    COUNT_LABEL,
    MAX_TITLES,
    RUN_COMPLETED,
    RUN_FAILED,
    at_least_patterns,
    count_label,
    monitor_events,
    run_event,
    run_events,
)
from pipeline.ingest import IngestRequest, IngestSteps, ingest_documents
from similarity.monitors import DEFAULT_MONITORS
from tests.helpers.story_pages import KEYWORDS, write_story_pages
from tests.helpers.webhook import run_webhook_server
from warehouse.db import open_writer
from warehouse.monitors import NewMatch, new_matches, update_monitor_matches

MONITOR = "roscosmos-iss-video"


def match(n: int, monitor: str = "m", outlet: str = "a.example", story: str = "s1", new_outlet: bool = True):
    return NewMatch(
        monitor, f"id{n}", f"Title {n}", f"https://{outlet}/{n}", outlet, story, datetime(2022, 3, n + 1), new_outlet
    )


# --- pure: the count label, the trigger, the payloads ---


@pytest.mark.pure
@pytest.mark.parametrize("threshold", [1, 2, 9, 10, 12, 99, 100, 250, 1000, 7001])
def test_at_least_patterns_match_exactly_the_counts_from_the_threshold(threshold):
    """Prefect matches labels with fnmatch: the patterns accept every count >= threshold and none below."""
    patterns = at_least_patterns(threshold)
    for n in [*range(0, 1100), 7000, 7001, 7002, 10**6, 10**9 - 1]:
        matched = any(fnmatch.fnmatchcase(count_label(n), p) for p in patterns)
        assert matched == (n >= threshold), (threshold, n, patterns)


@pytest.mark.pure
def test_trigger_match_names_the_monitor_and_its_threshold():
    assert trigger_match("m", 1) == {"prefect.resource.id": "mediamon.monitor.m"}
    match = trigger_match("m", 12)
    assert match[COUNT_LABEL] == at_least_patterns(12) and min_articles_of(match) == 12
    assert min_articles_of(trigger_match("m", 1)) == 1


@pytest.mark.pure
def test_monitor_events_one_per_monitor_with_counts_top_titles_and_labels():
    matches = [match(n, outlet=("a.example" if n % 2 else "b.example"), story=f"s{n % 3}") for n in range(1, 8)]
    matches += [match(1, monitor="other", new_outlet=False)]
    events = monitor_events(matches, "run-1", "backfill", "history")
    assert [e.resource["mediamon.monitor"] for e in events] == ["m", "other"]
    first, other = events
    assert first.payload["new_articles"] == 7 and first.payload["new_stories"] == 3
    assert first.payload["outlets"] == ["a.example", "b.example"] and first.payload["new_outlets"] == 2
    assert [a["title"] for a in first.payload["articles"]] == [f"Title {n}" for n in range(1, MAX_TITLES + 1)]
    assert first.payload["more_articles"] == 7 - MAX_TITLES
    assert first.payload["backfill"] is True and first.payload["mode"] == "history"
    assert first.resource[COUNT_LABEL] == count_label(7) == "000000007"
    assert first.resource["prefect.resource.id"] == "mediamon.monitor.m"
    assert other.payload["new_outlets"] == 0 and other.payload["outlets"] == []
    assert set(first.payload["articles"][0]) == {"title", "link", "outlet", "seen_at"}  # no text, ever


@pytest.mark.pure
def test_run_event_completed_failed_and_without_a_row():
    record = {"status": "completed", "seen": 5, "loaded": 4, "rejected": 1, "reasons": {"extract/empty": 1}}
    done = run_event("r", "ingest", None, record, {"m": 2})
    assert done.event == RUN_COMPLETED and done.payload["loaded"] == 4 and done.payload["monitors_matched"] == {"m": 2}
    assert done.payload["reject_reasons"] == {"extract/empty": 1} and "error" not in done.payload
    checks = run_event("r", "ingest", None, {**record, "status": "failed"}, {})
    assert checks.event == RUN_FAILED
    early = run_event("r", "backfill", "reextract", None, {}, ValueError("end is before start\nmore"))
    assert early.event == RUN_FAILED and early.payload["error"] == "ValueError: end is before start"
    assert early.payload["seen"] == 0 and early.payload["backfill"] is True


@pytest.mark.pure
def test_webhook_body_renders_valid_json_from_an_event():
    """The body template, rendered by the server's own template function, is JSON even for titles with quotes,
    markup and newlines."""
    from prefect.events.schemas.events import Event
    from prefect.server.utilities.user_templates import render_user_template_sync

    tricky = NewMatch(
        "m", "id", 'He said "go" <b>&</b>\nnext', "https://a.example/x?a=1&b=2", "a.example", "s", None, True
    )
    event = monitor_events([tricky], "run-1", "ingest", None)[0]
    prefect_event = Event(event=event.event, resource=event.resource, payload=event.payload)
    body = json.loads(render_user_template_sync(webhook_body("desk"), {"event": prefect_event}))
    assert body["alert"] == "desk" and body["monitor"] == "m" and body["new_articles"] == 1
    assert body["articles"][0]["title"] == 'He said "go" <b>&</b>\nnext'
    assert body["articles"][0]["link"] == "https://a.example/x?a=1&b=2"
    assert body["backfill"] is False and body["mode"] is None and body["event_id"] == str(prefect_event.id)


@pytest.mark.pure
def test_webhook_block_posts_the_body_as_json_and_refuses_loopback_unless_allowed():
    from mediamon.alerts import webhook_block

    hooks = run_webhook_server()
    server = next(hooks)
    try:
        with pytest.raises(ValueError, match="private|loopback|restricted|resolves"):
            webhook_block("a", server.url("/refused")).notify('{"n": 1}')
        webhook_block("a", server.url("/allowed"), allow_private=True).notify('{"n": 1}', subject="ignored")
        (call,) = server.wait_for("/allowed", 1, 10)
        assert server.calls_to("/refused") == []
        assert call.content_type == "application/json" and call.body == {"n": 1}
    finally:
        next(hooks, None)


# --- warehouse: which matches are new ---


def ingest_pages(db: Path, run_id: str, paths: list[Path], monitors: dict[str, str] = DEFAULT_MONITORS) -> dict:
    request = IngestRequest(db=str(db), run_id=run_id, paths=[str(p) for p in paths], monitors=monitors)
    return ingest_documents(request, IngestSteps(extract_workers=1))


@pytest.mark.warehouse
def test_new_matches_are_a_runs_first_matches_only(fresh_db, tmp_path):
    pages = tmp_path / "pages"
    first = write_story_pages(pages, range(1, 4), ["a.example", "b.example"])
    ingest_pages(fresh_db, "run-1", first)
    with open_writer(fresh_db) as conn:
        found = new_matches(conn, "run-1")
    assert sorted(m.link for m in found) == [
        "https://a.example/story-1",
        "https://a.example/story-3",
        "https://b.example/story-2",
    ]
    assert {m.outlet for m in found if m.new_outlet} == {"a.example", "b.example"}

    ingest_pages(fresh_db, "run-2", first)  # the same pages: nothing is new
    more = write_story_pages(pages, range(4, 6), ["b.example", "c.example"])
    ingest_pages(fresh_db, "run-3", first + more)  # two new pages, one of them from an outlet new to the monitor
    with open_writer(fresh_db) as conn:
        assert new_matches(conn, "run-2") == []
        found = new_matches(conn, "run-3")
        assert sorted((m.outlet, m.new_outlet) for m in found) == [("b.example", False), ("c.example", True)]
        # An edited monitor matches everything again, a removed and re-added one too: nothing is new to either.
        update_monitor_matches(conn, {MONITOR: DEFAULT_MONITORS[MONITOR] + " OR nothingmatchesthis"}, "run-4")
        update_monitor_matches(conn, {}, "run-5")
        update_monitor_matches(conn, DEFAULT_MONITORS, "run-6")
        assert [new_matches(conn, run) for run in ("run-4", "run-5", "run-6")] == [[], [], []]
        assert conn.execute("SELECT count(*) FROM monitor_matches").fetchone()[0] == 5


@pytest.mark.warehouse
def test_run_events_read_counts_reasons_and_new_matches(fresh_db, tmp_path):
    write_story_pages(tmp_path / "pages", range(1, 3), ["a.example"])
    (tmp_path / "pages" / "empty.html").write_bytes(b"")
    ingest_pages(fresh_db, "run-1", [tmp_path / "pages"])
    events = run_events(str(fresh_db), "run-1", "ingest")
    assert [e.event for e in events] == ["mediamon.monitor.matched", RUN_COMPLETED]
    matched, run = events
    assert matched.payload["new_articles"] == 2 and matched.payload["new_outlets"] == 1
    assert run.payload["seen"] == 3 and run.payload["loaded"] == 2 and run.payload["rejected"] == 1
    assert run.payload["reject_reasons"] == {"extract/empty": 1}
    assert run.payload["monitors_matched"] == {MONITOR: 2}
    assert all(KEYWORDS not in json.dumps(e.payload) for e in events)  # titles and links, never text
    assert [e.event for e in run_events(str(tmp_path / "missing.duckdb"), "r", "ingest", None, OSError("x"))] == [
        RUN_FAILED
    ]
    assert not (tmp_path / "missing.duckdb").exists()


# --- the command line without a server ---


@pytest.mark.pure
def test_alerts_without_a_server_say_to_start_one(capsys):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: None}):
        assert main(["alerts", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "`make server`" in err and "PREFECT_API_URL" in err


# --- end to end: the session's Prefect server evaluates the automations ---

# Upper bound for an automation's webhook call to arrive (measured: bench/alerts, under a second), never a sleep.
DEADLINE = 60
# How long a call that should not come is waited for once a later run's call has arrived.
QUIET = 2.0
E2E_MONITOR = "alerts-e2e"


@pytest.fixture(scope="module")
def webhook():
    yield from run_webhook_server()


@pytest.fixture
def monitors_file(tmp_path: Path) -> Path:
    path = tmp_path / "monitors.toml"
    path.write_text(f'[monitors]\n{E2E_MONITOR} = """{DEFAULT_MONITORS[MONITOR]}"""\n', encoding="utf-8")
    return path


def create(name: str, url: str, monitors_file: Path, *options: str) -> int:
    argv = ["alerts", "create", name, "--monitor", E2E_MONITOR, "--webhook", url, "--allow-private-hosts"]
    return main([*argv, "--monitors", str(monitors_file), *options])


@pytest.mark.e2e
def test_alert_posts_a_runs_new_matches_once(prefect_harness, webhook, monitors_file, tmp_path, capsys):
    """Three alerts on one monitor: every run with new matches, at least 3, at least 4. A run matching 3 new pages
    calls the first two once; the same pages again call nothing; one more page calls the first only."""
    from flows.ingest import ingest

    every, three, four = "/hook/every", "/hook/at-least-3", "/hook/at-least-4"
    assert create("e2e-every", webhook.url("/hook/old"), monitors_file) == 0
    assert create("e2e-every", webhook.url(every), monitors_file) == 0  # updated in place: the same name
    assert create("e2e-three", webhook.url(three), monitors_file, "--min-articles", "3") == 0
    assert create("e2e-four", webhook.url(four), monitors_file, "--min-articles", "4") == 0
    out = capsys.readouterr().out
    assert "alert e2e-every created" in out and "alert e2e-every updated" in out
    try:
        assert main(["alerts", "list"]) == 0
        listed = capsys.readouterr().out
        assert f"e2e-every: {E2E_MONITOR}, 1+ new articles -> {webhook.url(every)}" in listed
        assert f"e2e-four: {E2E_MONITOR}, 4+ new articles" in listed

        pages = tmp_path / "pages"
        write_story_pages(pages, range(101, 104), ["orbit.example", "wire.example"])
        db, monitors = str(tmp_path / "w.duckdb"), {E2E_MONITOR: DEFAULT_MONITORS[MONITOR]}
        first = ingest(paths=[str(pages)], db=db, monitors=monitors, extract_workers=1)
        (call,) = webhook.wait_for(every, 1, DEADLINE)
        assert len(webhook.wait_for(three, 1, DEADLINE)) == 1
        body = call.body
        assert call.content_type == "application/json"
        assert body["alert"] == "e2e-every" and body["monitor"] == E2E_MONITOR and body["run_id"] == first["run_id"]
        assert (body["new_articles"], body["new_outlets"], body["backfill"]) == (3, 2, False)
        assert body["outlets"] == ["orbit.example", "wire.example"]
        assert sorted(a["title"] for a in body["articles"]) == ["Bulletin 101", "Bulletin 102", "Bulletin 103"]
        assert {a["link"] for a in body["articles"]} == {
            "https://orbit.example/story-101",
            "https://wire.example/story-102",
            "https://orbit.example/story-103",
        }
        with open_writer(db) as conn:
            stories = conn.execute(
                "SELECT count(DISTINCT story_key) FROM rpt_articles WHERE link LIKE '%/story-10_'"
            ).fetchone()[0]
        assert body["new_stories"] == stories

        ingest(paths=[str(pages)], db=db, monitors=monitors, extract_workers=1)  # the same pages: nothing new
        write_story_pages(pages, range(104, 105), ["space.example"])
        third = ingest(paths=[str(pages)], db=db, monitors=monitors, extract_workers=1)
        calls = webhook.wait_for(every, 2, DEADLINE)
        assert [c.body["run_id"] for c in calls] == [first["run_id"], third["run_id"]]  # none for the re-run
        assert calls[1].body["new_articles"] == 1 and calls[1].body["outlets"] == ["space.example"]
        time.sleep(QUIET)  # the later run's call came: anything else would have too
        assert (len(webhook.calls_to(every)), len(webhook.calls_to(three)), len(webhook.calls_to(four))) == (2, 1, 0)
        assert webhook.calls_to("/hook/old") == []
    finally:
        for name in ("e2e-every", "e2e-three", "e2e-four"):
            main(["alerts", "delete", name])
    capsys.readouterr()
    assert main(["alerts", "list"]) == 0
    assert "e2e-" not in capsys.readouterr().out
    assert main(["alerts", "delete", "e2e-every"]) == 1
    assert "no alert 'e2e-every'" in capsys.readouterr().err
    from prefect.exceptions import ObjectNotFound

    with prefect_harness.client() as client, pytest.raises(ObjectNotFound):
        client.read_block_document_by_name("mediamon-alert-e2e-every", "custom-webhook")


@pytest.mark.e2e
def test_failed_runs_emit_run_failed(prefect_harness, tmp_path):
    """Runs that fail still announce themselves (and still fail): an ingest with a bad monitor query and a
    backfill with a reversed range, their events read back from the server."""
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    from flows.backfill import backfill
    from flows.ingest import ingest

    pages = write_story_pages(tmp_path / "pages", range(1, 2), ["a.example"])
    db = str(tmp_path / "w.duckdb")
    states = [
        ingest(paths=[str(p) for p in pages], db=db, monitors={"bad": "roscosmos AND ("}, return_state=True),
        backfill(start="2022-03-10", end="2022-03-01", db=db, return_state=True),
    ]
    assert all(state.is_failed() for state in states)
    run_ids = [str(state.state_details.flow_run_id) for state in states]
    wanted = EventFilter(
        event=EventNameFilter(name=[RUN_FAILED, RUN_COMPLETED]),
        resource=EventResourceFilter(id=[f"mediamon.run.{run_id}" for run_id in run_ids]),
    )
    deadline = time.monotonic() + DEADLINE
    with prefect_harness.client() as client:
        while len(events := client.read_events(filter=wanted, limit=10).events) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
    by_run = {event.payload["run_id"]: event for event in events}
    assert sorted(by_run) == sorted(run_ids) and len(events) == 2
    ingested, backfilled = (by_run[run_id] for run_id in run_ids)
    assert ingested.event == RUN_FAILED and ingested.payload["error"].startswith("QueryError: ")
    assert (ingested.payload["flow"], ingested.payload["backfill"], ingested.payload["loaded"]) == ("ingest", False, 0)
    assert any(r.id == f"prefect.flow-run.{run_ids[0]}" for r in ingested.related)
    assert backfilled.event == RUN_FAILED and backfilled.payload["error"].startswith("BackfillError: end 2022-03-01")
    assert (backfilled.payload["backfill"], backfilled.payload["mode"]) == (True, "reextract")
    assert not Path(db).exists()  # neither run got as far as the warehouse
