"""The digest flow: what the monitors found in the last period (pipeline/digest.py), stored as the run's `digest`
markdown artifact and written to a file; `mediamon serve` runs it on the sources file's `[digest]` schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from config.settings import DEFAULT_DB
from pipeline.digest import digest_path, load_digest, parse_since, render, render_markdown, write_text

DEFAULT_FOLDER = "data/digests"


@flow(name="digest")
def digest(
    db: str = str(DEFAULT_DB),
    since: str = "24h",
    monitors: list[str] = (),
    format: Literal["markdown", "html"] = "markdown",
    folder: str = DEFAULT_FOLDER,
) -> str:
    """Write the digest of the last period; returns the file written.

    Args:
        db: Warehouse: a DuckDB file, or ducklake:sqlite:CATALOG
        since: The period before the run: 24h, 90m, 7d, 2w
        monitors: Monitors to include; empty means all
        format: The file's format (the artifact is always Markdown)
        folder: Folder of the files, one per run: digest-YYYYMMDD-HHMM.md (or .html)
    """
    until = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
    found = load_digest(db, list(monitors), until - parse_since(since), until)
    path = write_text(digest_path(folder, until, format), render(found, format))
    create_markdown_artifact(key="digest", markdown=render_markdown(found), description=f"Digest of {db}, {since}")
    get_run_logger().info("digest of %s monitors -> %s", len(found.monitors), path)
    return str(path)
