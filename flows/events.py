"""Prefect's side of a run's announcements (pipeline/events.py builds them): the events sent when a flow that
loads articles ends, completed or failed, for automations to act on (docs/alerts.md)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from prefect import get_run_logger
from prefect.events import emit_event
from prefect.exceptions import MissingContextError

from pipeline.events import run_events


def announce_run(db: str, run_id: str, flow: str, mode: str | None = None, error: BaseException | None = None) -> None:
    """Emit the run's events; a failure to build or send them is logged, never the run's failure."""
    try:
        logger = get_run_logger()
    except MissingContextError:  # a flow's .fn() called directly (tests): no run to relate events to, no API
        logging.getLogger("mediamon.flows").info("run %s: no flow run, so no events", run_id)
        return
    try:
        events = run_events(db, run_id, flow, mode, error)
        for event in events:
            emit_event(event=event.event, resource=event.resource, payload=event.payload)
    except Exception:
        logger.exception("the run's events were not sent")
        return
    matched = [f"{e.payload['monitor']} {e.payload['new_articles']}" for e in events[:-1]]
    logger.info("%s; new matches: %s", events[-1].event, ", ".join(matched) or "none")


@contextmanager
def announced(db: str, run_id: str, flow: str, mode: str | None = None, on_success: bool = True) -> Iterator[None]:
    """Announce the run when the block ends: `mediamon.run.failed` (and the exception raised again) when it
    raises, else (unless not `on_success`) what the warehouse says of it."""
    try:
        yield
    except BaseException as exc:
        announce_run(db, run_id, flow, mode, exc)
        raise
    if on_success:
        announce_run(db, run_id, flow, mode)
