"""The deployments `mediamon serve` serves: one ingest deployment per schedule group, and the backfill.

A source's `schedule` is a five-field cron line (`"*/30 * * * *"`, UTC) or an interval `"every 15m"` (s, m,
h or d; counted from midnight UTC, so `every 6h` runs at 00:00, 06:00, 12:00 and 18:00). Sources with the
same schedule text form one group, ingested one after the other by one scheduled run.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval, Schedule
from prefect.types.entrypoint import EntrypointType

from config.settings import Settings
from flows.backfill import backfill
from flows.digest import digest
from flows.ingest import ingest
from flows.ingest_sources import ingest_sources
from pipeline.sources import DigestSchedule, Source, SourcesError, schedule_groups
from warehouse.db import absolute_location

INTERVAL = re.compile(r"every\s+(\d+)\s*([smhd])", re.IGNORECASE)
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
INTERVAL_ANCHOR = datetime(2000, 1, 1, tzinfo=UTC)


def parse_schedule(text: object) -> Schedule:
    """`every 15m` is an interval, anything else must be a cron line; ValueError says what is wrong."""
    if not isinstance(text, str):
        raise ValueError(f"schedule {text!r} is not text: write a cron line or an interval like 'every 15m'")
    interval = INTERVAL.fullmatch(text.strip())
    if interval:
        every = timedelta(**{UNITS[interval[2].lower()]: int(interval[1])})
        if not every:
            raise ValueError(f"schedule {text!r} is a zero interval")
        return Interval(every, anchor_date=INTERVAL_ANCHOR, timezone="UTC")
    try:
        return Cron(text.strip(), timezone="UTC")
    except ValueError:
        raise ValueError(
            f"schedule {text!r} is neither a five-field cron line ('*/30 * * * *') nor an interval ('every 15m')"
        ) from None


def build_deployments(
    sources: dict[str, Source],
    settings: Settings,
    monitors: dict[str, str],
    digest_schedule: DigestSchedule | None = None,
) -> list[RunnerDeployment]:
    """An `ingest-sources` deployment per schedule group (named after its sources), then `ingest/ad-hoc` (paths
    or URLs typed into the UI's run form) and `backfill`, which are served even with no sources at all, then
    `digest/digest` when the sources file has a `[digest]` table (on its schedule, if it gives one).

    The deployments carry the settings as default parameters, so a run started from the UI shows them."""
    db, sources_file = absolute_location(settings.db), str(settings.sources.absolute())
    shared = {"db": db, "sources_file": sources_file, "fetch_policy": settings.fetch_policy(), "monitors": monitors}
    deployments = []
    for text, names in schedule_groups(sources).items():
        try:
            schedule = parse_schedule(sources[names[0]].schedule)
        except ValueError as exc:
            raise SourcesError(f"{sources_file}: source {names[0]!r}: {exc}") from None
        deployments.append(
            ingest_sources.to_deployment(
                "+".join(names),
                schedule=schedule,
                parameters={
                    **shared,
                    "sources": names,
                    "batch_size": settings.batch_size,
                    "max_document_bytes": settings.max_document_bytes,
                    "language_min_probability": settings.language_min_probability,
                    "extract_workers": settings.extract_workers,
                },
                description=f"Ingests {', '.join(names)} on the schedule {text!r} (UTC).",
                tags=["scheduled"],
                entrypoint_type=EntrypointType.MODULE_PATH,
            )
        )
    deployments.append(
        ingest.to_deployment(
            "ad-hoc",
            parameters={
                "db": db,
                "fetch_policy": settings.fetch_policy(),
                "monitors": monitors,
                "batch_size": settings.batch_size,
                "max_document_bytes": settings.max_document_bytes,
                "language_min_probability": settings.language_min_probability,
                "extract_workers": settings.extract_workers,
            },
            description="Load files, folders or URLs once: fill in paths or urls, then Run.",
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
    )
    deployments.append(
        backfill.to_deployment(
            "backfill",
            parameters=shared,
            description="Redo a date range day by day: fill in start, end and mode, then Run.",
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
    )
    if digest_schedule is not None:
        deployments.append(digest_deployment(digest_schedule, db, sources_file))
    return deployments


def digest_deployment(config: DigestSchedule, db: str, sources_file: str) -> RunnerDeployment:
    schedule = None
    if config.schedule is not None:
        try:
            schedule = parse_schedule(config.schedule)
        except ValueError as exc:
            raise SourcesError(f"{sources_file} [digest]: {exc}") from None
    when = f"on the schedule {config.schedule!r} (UTC)" if schedule else "when started (no schedule in [digest])"
    return digest.to_deployment(
        "digest",
        schedule=schedule,
        parameters={
            "db": db,
            "since": config.since,
            "monitors": list(config.monitors),
            "format": config.format,
            "folder": str(Path(config.folder).absolute()),
        },
        description=f"Writes the digest of the last {config.since} {when}: an artifact and a file.",
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
