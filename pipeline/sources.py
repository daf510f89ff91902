"""Configuration files (TOML): the sources to ingest, and the topic monitors."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from extractors.listings import url_list_lines
from extractors.records import Reject
from extractors.urls import is_file_uri, looks_like_url, parse_url, path_from_file_uri, strip_userinfo
from fetching.fetch import FetchPolicy
from fetching.files import read_document
from pipeline.digest import DigestError, parse_since
from similarity.monitors import QueryError, parse_query

MAX_URL_LIST_BYTES = 64 * 1024 * 1024  # a million URLs of 64 characters
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
        if kind in ("files", "urls") and not (is_file_uri(location) or looks_like_url(location)):
            location = str((path.parent / location).resolve())
        sources[name] = Source(name, kind, location, entry.get("schedule"), tuple({**defaults, **overrides}.items()))
    return sources


def is_url(value: str) -> bool:
    """Whether a target is meant as a URL (any scheme but `file:`) rather than a local path. A name that
    exists on disk is a path even when it reads like a URL (a file called `data:x.html`)."""
    return not is_file_uri(value) and looks_like_url(value) and not os.path.lexists(value)


def classify_target(text: str) -> tuple[str, str]:
    """The ingest parameter a command-line target or a local URL list's entry goes to, and its value:
    ("urls", the URL normalized by the one parser), ("urls", the text without credentials) for a malformed
    URL or another scheme (the flow parses it again into its reject, `bad_url` or `unsupported_scheme`,
    so it reaches the rejects table), or ("paths", text) for a `file:` URI or a file name."""
    if not is_url(text):
        return "paths", strip_userinfo(text) if is_file_uri(text) else text
    return "urls", url_parameter(text)


def url_parameter(text: str) -> str:
    """A URL as the ingest flow is given it: normalized by the one parser, or, when the parser rejects it, the
    text without credentials (the flow parses it again into the same reject, which reaches the warehouse)."""
    parsed = parse_url(text)
    return strip_userinfo(text) if isinstance(parsed, Reject) else parsed


def read_url_list(location: str) -> dict[str, list[str]]:
    """A URL list as ingest parameters: a local file (a path or a `file:` URI) is read now, an http(s) one is
    fetched by the flow. A local list's `file:` lines are paths; any other line goes through the one parser."""
    if is_file_uri(location):
        named = path_from_file_uri(location)
        if isinstance(named, Reject):
            raise SourcesError(f"cannot read URL list {strip_userinfo(location)[:200]}: {named.detail}")
        location = str(named)
    elif is_url(location):
        return {"url_lists": [url_parameter(location)]}
    raw = read_document(Path(location).expanduser(), MAX_URL_LIST_BYTES)  # never blocks on a FIFO or a device
    if isinstance(raw, Reject):
        raise SourcesError(f"cannot read URL list {location}: {raw.detail}")
    if len(raw) > MAX_URL_LIST_BYTES:
        raise SourcesError(f"cannot read URL list {location}: larger than {MAX_URL_LIST_BYTES:,} bytes")
    text = raw.decode("utf-8", errors="replace")
    urls: dict[str, None] = {}
    paths: dict[str, None] = {}
    for line in url_list_lines(text):
        if is_file_uri(line):
            paths.setdefault(strip_userinfo(line), None)
        else:
            urls.setdefault(url_parameter(line), None)
    return {"urls": list(urls), **({"paths": list(paths)} if paths else {})}


def ingest_parameters(source: Source, base_policy: FetchPolicy) -> dict:
    """The ingest flow's parameters for one source, for `mediamon ingest --source` and scheduled runs alike."""
    if source.kind == "files":
        targets = {"paths": [strip_userinfo(source.location)]}
    elif source.kind == "urls":
        targets = read_url_list(source.location)
    else:
        targets = {"urls": [url_parameter(source.location)]}
    return {**targets, "source_name": source.name, "fetch_policy": source.fetch_policy(base_policy)}


def source_runs(path: Path, names: list[str], base_policy: FetchPolicy) -> list[dict]:
    """The ingest flow's parameters for each named source of the sources file at `path`, in order (a schedule
    group's runs): SourcesError naming the unknown ones, or a bad URL list, before any run starts."""
    known = load_sources(path)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SourcesError(f"unknown source(s) {', '.join(unknown)} in {path}; known: {', '.join(known)}")
    return [ingest_parameters(known[name], base_policy) for name in names]


def schedule_groups(sources: dict[str, Source]) -> dict[str, list[str]]:
    """Source names by schedule text, in the sources file's order; sources without a schedule are left out."""
    groups: dict[str, list[str]] = {}
    for source in sources.values():
        if source.schedule is not None:
            groups.setdefault(str(source.schedule).strip(), []).append(source.name)
    return groups


def _check_policy_keys(settings: dict, where: str) -> None:
    unknown = set(settings) - POLICY_KEYS
    if unknown:
        raise SourcesError(
            f"{where}: unknown settings {', '.join(sorted(unknown))}; known: {', '.join(sorted(POLICY_KEYS))}"
        )


@dataclass(frozen=True)
class DigestSchedule:
    """The sources file's `[digest]` table: when the `digest` deployment runs and what it writes."""

    schedule: str | None = None
    since: str = "24h"
    monitors: tuple[str, ...] = ()
    format: str = "markdown"
    folder: str = "data/digests"


def load_digest_schedule(path: Path) -> DigestSchedule | None:
    """The `[digest]` table of the sources file; None when the file or the table is absent."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except tomllib.TOMLDecodeError as exc:
        raise SourcesError(f"{path}: {exc}") from None
    table = data.get("digest")
    if table is None:
        return None
    known = {f.name for f in fields(DigestSchedule)}
    if not isinstance(table, dict) or set(table) - known:
        unknown = ", ".join(sorted(set(table) - known)) if isinstance(table, dict) else "not a table"
        raise SourcesError(f"{path} [digest]: unknown settings {unknown}; known: {', '.join(sorted(known))}")
    if table.get("format", "markdown") not in ("markdown", "html"):
        raise SourcesError(f"{path} [digest]: format is markdown or html, not {table['format']!r}")
    try:
        parse_since(str(table.get("since", "24h")))
    except DigestError as exc:
        raise SourcesError(f"{path} [digest]: {exc}") from None
    return DigestSchedule(**{**table, "monitors": tuple(table.get("monitors", ()))})


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
