"""The flow a scheduled deployment runs: ingest the sources of one schedule group, each as its own ingest run."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

from prefect import flow
from prefect.runtime import flow_run
from pydantic import Field

from config.settings import DEFAULT_BATCH_SIZE, DEFAULT_DB
from extractors.document import DEFAULT_MAX_BYTES
from extractors.language import MIN_PROBABILITY
from fetching.fetch import FetchPolicy
from flows.events import announced
from flows.ingest import DEFAULT_FETCH_POLICY, ingest
from pipeline.sources import source_runs
from similarity.monitors import DEFAULT_MONITORS


@flow(name="ingest-sources")
def ingest_sources(
    sources: list[str],
    sources_file: str = "sources.toml",
    db: str = str(DEFAULT_DB),
    batch_size: Annotated[int, Field(ge=1)] = DEFAULT_BATCH_SIZE,
    max_document_bytes: Annotated[int, Field(ge=1)] = DEFAULT_MAX_BYTES,
    language_min_probability: Annotated[float, Field(ge=0, le=1)] = MIN_PROBABILITY,
    fetch_policy: FetchPolicy = DEFAULT_FETCH_POLICY,
    monitors: dict[str, str] = DEFAULT_MONITORS,
    extract_workers: Annotated[int | None, Field(ge=1)] = None,
    follow_symlinks: bool = False,
) -> list[dict]:
    """Ingest each named source as its own ingest run, in order.

    The sources file is read when the run starts, so an edited location or politeness setting applies from
    the next run on (a changed schedule needs `mediamon serve` to restart).

    Args:
        sources: Source names from the sources file
        sources_file: The sources file naming the sources
        db: Warehouse: a DuckDB file, or ducklake:sqlite:CATALOG
        batch_size: Documents per extraction and load batch
        max_document_bytes: Larger documents are rejected
        language_min_probability: Below this langdetect probability, language is NULL
        fetch_policy: Politeness, timeouts and limits; each source's settings in the sources file win
        monitors: Topic monitors, name -> boolean keyword query
        extract_workers: Extraction processes; empty means one per CPU, 1 extracts in-process
        follow_symlinks: In `files` sources, read symlinks that lead outside the folder (else rejects outside_root)
    """
    # Each ingest run announces itself (flows/events.py); this run does so only when it fails before them.
    with announced(db, flow_run.get_id() or str(uuid.uuid4()), "ingest-sources", on_success=False):
        runs = source_runs(Path(sources_file), list(sources), fetch_policy)
    return [
        ingest(
            **parameters,
            db=db,
            batch_size=batch_size,
            max_document_bytes=max_document_bytes,
            language_min_probability=language_min_probability,
            monitors=monitors,
            extract_workers=extract_workers,
            follow_symlinks=follow_symlinks,
        )
        for parameters in runs
    ]
