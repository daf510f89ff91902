"""Configuration files (TOML): the sources to ingest, and the topic monitors."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from extractors.fetch import FetchPolicy
from extractors.listings import parse_url_list
from extractors.monitors import QueryError, parse_query

KINDS = ("feed", "sitemap", "urls", "page", "files")
# Per-source settings that override the [defaults] table and the built-in FetchPolicy.
POLICY_KEYS = {f.name for f in fields(FetchPolicy)} - {"allow_private_hosts", "max_bytes"}


class SourcesError(ValueError):
    """The sources file is missing, unreadable, or names something we do not know."""


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    location: str
    schedule: str | None = None
    policy: tuple[tuple[str, object], ...] = ()

    def fetch_policy(self, base: FetchPolicy) -> FetchPolicy:
        return FetchPolicy(**{**{f.name: getattr(base, f.name) for f in fields(FetchPolicy)}, **dict(self.policy)})


def load_sources(path: Path) -> dict[str, Source]:
    """Sources by name; relative `files` and `urls` locations are read relative to the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SourcesError(f"no sources file at {path}: copy sources.example.toml or pass --sources") from None
    except tomllib.TOMLDecodeError as exc:
        raise SourcesError(f"{path}: {exc}") from None
    defaults = data.get("defaults", {})
    _check_policy_keys(defaults, f"{path} [defaults]")
    sources = {}
    for entry in data.get("sources", []):
        name, kind, location = entry.get("name"), entry.get("kind"), entry.get("location")
        if not name or not location:
            raise SourcesError(f"{path}: every [[sources]] entry needs a name and a location")
        if kind not in KINDS:
            raise SourcesError(f"{path}: source {name!r} has kind {kind!r}; expected one of {', '.join(KINDS)}")
        if name in sources:
            raise SourcesError(f"{path}: source name {name!r} is used twice")
        overrides = {k: v for k, v in entry.items() if k not in ("name", "kind", "location", "schedule")}
        _check_policy_keys(overrides, f"{path} source {name!r}")
        if kind in ("files", "urls") and "://" not in location:
            location = str((path.parent / location).resolve())
        sources[name] = Source(name, kind, location, entry.get("schedule"), tuple({**defaults, **overrides}.items()))
    return sources


def is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def read_url_list(location: str) -> dict[str, list[str]]:
    """A URL list as ingest parameters: a local file is read now, an http(s) one is fetched by the flow."""
    if is_url(location):
        return {"url_lists": [location]}
    try:
        return {"urls": parse_url_list(Path(location).read_text(encoding="utf-8", errors="replace"))}
    except OSError as exc:
        raise SourcesError(f"cannot read URL list {location}: {exc.strerror or exc}") from None


def ingest_parameters(source: Source, base_policy: FetchPolicy) -> dict:
    """The ingest flow's parameters for one source, for `mediamon ingest --source` and scheduled runs alike."""
    if source.kind == "files":
        targets = {"paths": [source.location]}
    elif source.kind == "urls":
        targets = read_url_list(source.location)
    else:
        targets = {"urls": [source.location]}
    return {**targets, "source_name": source.name, "fetch_policy": source.fetch_policy(base_policy)}


def _check_policy_keys(settings: dict, where: str) -> None:
    unknown = set(settings) - POLICY_KEYS
    if unknown:
        raise SourcesError(
            f"{where}: unknown settings {', '.join(sorted(unknown))}; known: {', '.join(sorted(POLICY_KEYS))}"
        )


def load_monitors(path: Path, required: bool) -> dict[str, str] | None:
    """The [monitors] table of a monitors file, each query checked; None when an optional file is absent."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if required:
            raise SourcesError(f"no monitors file at {path}: copy monitors.example.toml") from None
        return None
    except tomllib.TOMLDecodeError as exc:
        raise SourcesError(f"{path}: {exc}") from None
    monitors = data.get("monitors")
    if not isinstance(monitors, dict) or not all(isinstance(q, str) for q in monitors.values()):
        raise SourcesError(f"{path}: expected a [monitors] table of name = 'query' lines")
    for name, query in monitors.items():
        try:
            parse_query(query)
        except QueryError as exc:
            raise SourcesError(f"{path}: monitor {name!r}: {exc}") from None
    return monitors
