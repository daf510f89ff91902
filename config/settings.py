"""Configuration in one place: defaults, then MEDIAMON_* environment variables, then CLI options."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from config.defaults import DEFAULT_MAX_BYTES, MIN_PROBABILITY
from config.fetch_policy import FetchPolicy

DEFAULT_DB = Path("data/mediamon.duckdb")
# Documents per extraction and load batch: per-batch costs (a writer's open, migration check and checkpoint, two
# task runs) fall with larger batches; bench/pipeline measured 500 faster than 200.
DEFAULT_BATCH_SIZE = 500
TASK_RUNNERS = ("default", "dask")


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names the variable or option."""


@dataclass(frozen=True)
class Settings:
    db: Path = DEFAULT_DB
    batch_size: int = DEFAULT_BATCH_SIZE
    max_document_bytes: int = DEFAULT_MAX_BYTES
    language_min_probability: float = MIN_PROBABILITY
    busy_wait_seconds: float = 10.0
    sources: Path = Path("sources.toml")
    monitors: Path | None = None  # None: monitors.toml when present, else the built-in default
    allow_private_hosts: bool = False
    user_agent: str | None = None
    extract_workers: int | None = None  # None: one per CPU
    task_runner: str = "default"  # or "dask" (flows/runners.py)
    dask_address: str | None = None  # a running Dask scheduler; None: a local cluster per flow run
    dask_workers: int | None = None  # the local cluster's processes; None: one per CPU
    # Web archives for history backfills (fetching/archives.py); the public services unless pointed elsewhere.
    wayback_cdx_url: str = "https://web.archive.org/cdx/search/cdx"
    wayback_playback_url: str = "https://web.archive.org/web"
    ccnews_base_url: str = "https://data.commoncrawl.org"

    def with_options(self, **options: object) -> Settings:
        """Override with the CLI options that were given (None means not given)."""
        given = {k: v for k, v in options.items() if v is not None}
        for name in ("db", "sources", "monitors"):
            if name in given:
                given[name] = Path(given[name])
        return replace(self, **given)

    def fetch_policy(self) -> FetchPolicy:
        """The fetch policy every source starts from; the sources file overrides it per source."""
        user_agent = {"user_agent": self.user_agent} if self.user_agent else {}
        return FetchPolicy(**user_agent, allow_private_hosts=self.allow_private_hosts)


def parse_flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{value!r} is not a flag (use 1 or 0)")


parse_flag.__name__ = "flag (1 or 0)"


def parse_task_runner(value: str) -> str:
    if value not in TASK_RUNNERS:
        raise ValueError(value)
    return value


parse_task_runner.__name__ = f"task runner ({' or '.join(TASK_RUNNERS)})"

_ENV = {
    "MEDIAMON_DB": ("db", Path),
    "MEDIAMON_BATCH_SIZE": ("batch_size", int),
    "MEDIAMON_MAX_DOCUMENT_BYTES": ("max_document_bytes", int),
    "MEDIAMON_LANGUAGE_MIN_PROBABILITY": ("language_min_probability", float),
    "MEDIAMON_BUSY_WAIT_SECONDS": ("busy_wait_seconds", float),
    "MEDIAMON_SOURCES": ("sources", Path),
    "MEDIAMON_MONITORS": ("monitors", Path),
    "MEDIAMON_ALLOW_PRIVATE_HOSTS": ("allow_private_hosts", parse_flag),
    "MEDIAMON_USER_AGENT": ("user_agent", str),
    "MEDIAMON_EXTRACT_WORKERS": ("extract_workers", int),
    "MEDIAMON_TASK_RUNNER": ("task_runner", parse_task_runner),
    "MEDIAMON_DASK_ADDRESS": ("dask_address", str),
    "MEDIAMON_DASK_WORKERS": ("dask_workers", int),
    "MEDIAMON_WAYBACK_CDX_URL": ("wayback_cdx_url", str),
    "MEDIAMON_WAYBACK_PLAYBACK_URL": ("wayback_playback_url", str),
    "MEDIAMON_CCNEWS_BASE_URL": ("ccnews_base_url", str),
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for variable, (name, parse) in _ENV.items():
        if environ.get(variable, "").strip():
            try:
                values[name] = parse(environ[variable].strip())
            except ValueError as exc:
                raise SettingsError(f"{variable}={environ[variable]!r} is not a valid {parse.__name__}") from exc
    return Settings(**values)
