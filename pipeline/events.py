"""What a run announces when it ends, without Prefect (flows/events.py sends it): one `mediamon.monitor.matched`
event per monitor that matched articles for the first time in the run, and one `mediamon.run.completed` or
`mediamon.run.failed` with the run's counts and reject reasons. Titles and links only, never article text.

Prefect's triggers match an event's resource labels with glob patterns and cannot compare payload numbers, so a
monitor event also carries its count of new articles as a zero-padded label (`mediamon.new-articles`:
`000000012`); `at_least_patterns(n)` are the globs that match exactly the counts of n or more, which is how an
alert's `--min-articles` becomes part of its trigger (docs/alerts.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from warehouse.db import is_lake, open_writer
from warehouse.load import RUN_COUNTS, read_run
from warehouse.monitors import NewMatch, new_matches

log = logging.getLogger("mediamon.pipeline")

MONITOR_MATCHED = "mediamon.monitor.matched"
RUN_COMPLETED = "mediamon.run.completed"
RUN_FAILED = "mediamon.run.failed"
COUNT_LABEL = "mediamon.new-articles"
COUNT_WIDTH = 9  # counts up to 999,999,999; larger ones are labelled with that
MAX_TITLES = 5
MAX_OUTLETS = 10
MAX_TITLE_CHARS = 300
MAX_LINK_CHARS = 2000
# How long the end of a run waits for the warehouse it reads its counts from (another writer may hold it).
READ_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class RunEvent:
    """A Prefect event as plain data: its name, primary resource (labels) and payload."""

    event: str
    resource: dict[str, str]
    payload: dict


def count_label(n: int) -> str:
    return str(min(max(n, 0), 10**COUNT_WIDTH - 1)).zfill(COUNT_WIDTH)


def at_least_patterns(n: int) -> list[str]:
    """Glob patterns (fnmatch, as Prefect matches labels) matching `count_label(m)` for every m >= n and no other:
    the label itself, then per digit d < 9 the same prefix with a larger digit there and anything after it."""
    if n <= 0:
        return ["*"]
    if n >= 10**COUNT_WIDTH:
        raise ValueError(f"at most {10**COUNT_WIDTH - 1:,} articles can be asked for, not {n:,}")
    label = count_label(n)
    patterns = [label]
    for position in range(COUNT_WIDTH - 1, -1, -1):
        digit = int(label[position])
        if digit < 9:
            patterns.append(f"{label[:position]}[{digit + 1}-9]{'?' * (COUNT_WIDTH - 1 - position)}")
    return patterns


def monitor_resource_id(monitor: str) -> str:
    return f"mediamon.monitor.{monitor}"


def _article(match: NewMatch) -> dict:
    return {
        "title": (match.title or "")[:MAX_TITLE_CHARS] or None,
        "link": match.link[:MAX_LINK_CHARS],
        "outlet": match.outlet,
        "seen_at": match.seen_at.isoformat(timespec="seconds") if match.seen_at else None,
    }


def monitor_events(matches: list[NewMatch], run_id: str, flow: str, mode: str | None) -> list[RunEvent]:
    """One event per monitor among `matches` (this run's first matches, newest first per monitor)."""
    by_monitor: dict[str, list[NewMatch]] = {}
    for match in matches:
        by_monitor.setdefault(match.monitor, []).append(match)
    events = []
    for monitor, found in sorted(by_monitor.items()):
        outlets = sorted({m.outlet for m in found if m.new_outlet})
        backfill = flow == "backfill"
        payload = {
            "monitor": monitor,
            "new_articles": len(found),
            "new_stories": len({m.story_key for m in found}),
            "new_outlets": len(outlets),
            "outlets": outlets[:MAX_OUTLETS],
            "articles": [_article(m) for m in found[:MAX_TITLES]],
            "more_articles": max(len(found) - MAX_TITLES, 0),
            "run_id": run_id,
            "flow": flow,
            "backfill": backfill,
            "mode": mode,
        }
        resource = {
            "prefect.resource.id": monitor_resource_id(monitor),
            "prefect.resource.name": monitor,
            "mediamon.monitor": monitor,
            COUNT_LABEL: count_label(len(found)),
            "mediamon.backfill": str(backfill).lower(),
        }
        events.append(RunEvent(MONITOR_MATCHED, resource, payload))
    return events


def run_event(
    run_id: str,
    flow: str,
    mode: str | None,
    record: dict | None,
    matched: dict[str, int],
    error: BaseException | None = None,
) -> RunEvent:
    """The run's own event: failed when it raised or its row says so (data checks), else completed."""
    failed = error is not None or (record is not None and record["status"] != "completed")
    payload = {
        "run_id": run_id,
        "flow": flow,
        "status": "failed" if failed else "completed",
        "backfill": flow == "backfill",
        "mode": mode,
        **{name: (record or {}).get(name, 0) for name in RUN_COUNTS},
        "reject_reasons": (record or {}).get("reasons", {}),
        "monitors_matched": matched,
    }
    if error is not None:
        first_line = (str(error).splitlines() or [""])[0][:500]
        payload["error"] = f"{type(error).__name__}: {first_line}" if first_line else type(error).__name__
    resource = {
        "prefect.resource.id": f"mediamon.run.{run_id}",
        "prefect.resource.name": f"{flow} {run_id}",
        "mediamon.flow": flow,
        "mediamon.backfill": str(flow == "backfill").lower(),
    }
    return RunEvent(RUN_FAILED if failed else RUN_COMPLETED, resource, payload)


def run_events(
    db: str, run_id: str, flow: str, mode: str | None = None, error: BaseException | None = None
) -> list[RunEvent]:
    """The monitor events, then the run's event, read from the warehouse at the run's end. A warehouse that cannot
    be read (missing, busy past READ_WAIT_SECONDS, broken) still gives the run's event, without counts."""
    record, matches = None, []
    if is_lake(db) or Path(db).exists():
        try:
            with open_writer(db, wait_seconds=READ_WAIT_SECONDS) as conn:
                record = read_run(conn, run_id)
                matches = new_matches(conn, run_id) if record is not None else []
        except Exception as exc:  # the run's own outcome matters more than its counts
            log.warning("run %s: its counts could not be read for its events: %s", run_id, exc)
    events = monitor_events(matches, run_id, flow, mode)
    matched = {e.payload["monitor"]: e.payload["new_articles"] for e in events}
    return [*events, run_event(run_id, flow, mode, record, matched, error)]
