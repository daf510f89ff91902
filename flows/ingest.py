"""The ingest flow: discover documents, extract them in batches, load each batch in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from pydantic import Field

from extractors import EXTRACTOR_VERSION, Article, ExtractOptions, Reject, document_kind, extract_document
from extractors.document import DEFAULT_MAX_BYTES
from extractors.files import discover_documents, file_uri, read_document
from extractors.language import MIN_PROBABILITY
from extractors.records import sha256_hex
from mediamon.settings import DEFAULT_DB
from warehouse.db import open_writer
from warehouse.load import LoadCounts, RejectedDocument, finish_run, known_documents, load_batch, start_run


@dataclass
class ExtractedBatch:
    articles: list[Article] = field(default_factory=list)
    rejects: list[RejectedDocument] = field(default_factory=list)
    unchanged: int = 0


@task(cache_policy=NO_CACHE)
def prepare_warehouse(db: str, run_id: str, parameters: dict) -> dict[str, tuple[str, str]]:
    """Migrate, open the run's row, and return what is already loaded (to skip unchanged files)."""
    with open_writer(db) as conn:
        start_run(conn, run_id, "ingest", parameters)
        return known_documents(conn)


@task(cache_policy=NO_CACHE)
def extract_files(paths: list[Path], known: dict[str, tuple[str, str]], options: ExtractOptions) -> ExtractedBatch:
    """Read and extract a batch of files; bytes already loaded by this extractor version are skipped."""
    logger = get_run_logger()
    batch = ExtractedBatch()
    for path in paths:
        uri = file_uri(path)
        raw = read_document(path, options.max_bytes)
        if isinstance(raw, Reject):
            stage, result = "read", raw
        elif known.get(uri) == (sha256_hex(raw), EXTRACTOR_VERSION):
            batch.unchanged += 1
            continue
        else:
            stage, result = "extract", extract_document(raw, uri, document_kind(path.name), options=options)
        if isinstance(result, Reject):
            logger.warning("rejected %s at %s: %s (%s)", uri, stage, result.reason, result.detail)
            batch.rejects.append(RejectedDocument(uri, stage, result))
        else:
            batch.articles.append(result)
    return batch


@task(cache_policy=NO_CACHE)
def load_extracted(db: str, batch: ExtractedBatch, run_id: str) -> LoadCounts:
    with open_writer(db) as conn:
        return load_batch(conn, batch.articles, batch.rejects, run_id, unchanged=batch.unchanged)


@task(cache_policy=NO_CACHE)
def close_run(db: str, run_id: str, status: str, seen: int, counts: LoadCounts) -> None:
    with open_writer(db) as conn:
        finish_run(conn, run_id, status, seen, counts)


@flow(name="ingest")
def ingest(
    paths: Annotated[list[str], Field(description="Files or folders (.txt, .html, .htm, .gz) to load")] = ("seeds",),
    db: Annotated[str, Field(description="DuckDB warehouse file")] = str(DEFAULT_DB),
    batch_size: Annotated[int, Field(ge=1, description="Documents per extraction and load batch")] = 200,
    max_document_bytes: Annotated[int, Field(ge=1, description="Larger documents are rejected")] = DEFAULT_MAX_BYTES,
    language_min_probability: Annotated[
        float, Field(ge=0, le=1, description="Below this langdetect probability, language is NULL")
    ] = MIN_PROBABILITY,
) -> dict:
    """Load local documents into the warehouse; returns the run's counts."""
    logger = get_run_logger()
    run_id = flow_run.get_id() or str(uuid.uuid4())
    options = ExtractOptions(max_bytes=max_document_bytes, language_min_probability=language_min_probability)
    parameters = {"paths": list(paths), "db": db, "batch_size": batch_size, "max_document_bytes": max_document_bytes}
    known = prepare_warehouse(db, run_id, parameters)
    files, missing = discover_documents(paths)
    counts = LoadCounts()
    try:
        if missing:
            rejects = [RejectedDocument(uri, "read", reject) for uri, reject in missing]
            counts += load_extracted(db, ExtractedBatch(rejects=rejects), run_id)
        for start in range(0, len(files), batch_size):
            batch = extract_files(files[start : start + batch_size], known, options)
            counts += load_extracted(db, batch, run_id)
    except BaseException:
        close_run(db, run_id, "failed", len(files) + len(missing), counts)
        raise
    seen = len(files) + len(missing)
    close_run(db, run_id, "completed", seen, counts)
    summary = {"run_id": run_id, "db": db, "seen": seen, **counts.as_dict()}
    create_table_artifact(
        key="ingest-counts",
        table=[{"count": k, "value": v} for k, v in summary.items() if k != "db"],
        description=f"Ingest into {db}",
    )
    logger.info("ingest finished: %s", summary)
    return summary
