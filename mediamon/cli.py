"""The `mediamon` command: a thin edge that parses options, calls flows and prints results."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import duckdb

from extractors.fetch import FetchPolicy
from extractors.listings import parse_url_list
from mediamon.settings import Settings, SettingsError, load_settings
from mediamon.sources import SourcesError, load_sources
from warehouse.db import WarehouseBusy, WarehouseMissing
from warehouse.query import WritingStatement, open_query


def _add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="warehouse file (default: $MEDIAMON_DB, else data/mediamon.duckdb)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mediamon", description="Media-monitoring ingestion into DuckDB.")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="load files, folders, feeds, sitemaps or pages into the warehouse")
    ingest.add_argument(
        "targets",
        nargs="*",
        metavar="PATH_OR_URL",
        help=".txt/.html/.htm files (or .gz), folders, or http(s) URLs of feeds, sitemaps or pages",
    )
    ingest.add_argument(
        "--urls", action="append", default=[], metavar="FILE", help="a file (or URL) of URLs, one a line"
    )
    ingest.add_argument("--source", action="append", default=[], metavar="NAME", help="a source from the sources file")
    ingest.add_argument("--sources", help="the sources file (default: $MEDIAMON_SOURCES, else sources.toml)")
    ingest.add_argument(
        "--allow-private-hosts",
        action="store_true",
        default=None,
        help="allow fetching private, loopback and link-local addresses (off by default: SSRF guard)",
    )
    ingest.add_argument("--user-agent", help="User-Agent for requests and robots.txt rules")
    _add_db_option(ingest)
    ingest.add_argument("--batch-size", type=int, help="documents per batch (default 200)")
    ingest.add_argument("--max-document-bytes", type=int, help="larger documents are rejected (default 10 MB)")

    sql = commands.add_parser("sql", help="run read-only SQL against the warehouse")
    sql.add_argument("query", help="one SELECT (or WITH/EXPLAIN/SHOW/DESCRIBE) statement")
    _add_db_option(sql)
    sql.add_argument("--format", choices=("table", "csv", "json", "parquet"), default="table")
    sql.add_argument("--out", help="write to this file instead of standard output (required for parquet)")
    return parser


def _is_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def _read_url_list(location: str) -> dict[str, list[str]]:
    if _is_url(location):
        return {"url_lists": [location]}
    try:
        return {"urls": parse_url_list(Path(location).read_text(encoding="utf-8", errors="replace"))}
    except OSError as exc:
        raise SettingsError(f"cannot read URL list {location}: {exc.strerror or exc}") from None


def plan_ingest_runs(args: argparse.Namespace, settings: Settings) -> list[dict]:
    """One flow run's parameters per named source, plus one for the targets given directly."""
    base_policy = FetchPolicy(
        **({"user_agent": settings.user_agent} if settings.user_agent else {}),
        allow_private_hosts=settings.allow_private_hosts,
    )
    runs = []
    direct: dict[str, list[str]] = {"paths": [], "urls": [], "url_lists": []}
    for target in args.targets:
        direct["urls" if _is_url(target) else "paths"].append(target)
    for location in args.urls:
        for key, values in _read_url_list(location).items():
            direct[key] += values
    if any(direct.values()):
        runs.append({**direct, "fetch_policy": base_policy})
    if args.source:
        sources = load_sources(settings.sources)
        for name in args.source:
            if name not in sources:
                raise SettingsError(f"no source {name!r} in {settings.sources}; known: {', '.join(sorted(sources))}")
            source = sources[name]
            targets = (
                {"paths": [source.location]}
                if source.kind == "files"
                else _read_url_list(source.location)
                if source.kind == "urls"
                else {"urls": [source.location]}
            )
            runs.append({**targets, "source_name": name, "fetch_policy": source.fetch_policy(base_policy)})
    if not runs:
        raise SettingsError("nothing to ingest: give PATH_OR_URL, --urls FILE or --source NAME")
    return runs


def run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    runs = plan_ingest_runs(args, settings)
    # The temporary server Prefect starts when no PREFECT_API_URL is set has nothing to report home.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.settings import temporary_settings  # Prefect is imported only by commands that run flows

    from flows.ingest import ingest

    # A short CLI run needs no crash-detection heartbeat; it only slows the run's start and end.
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        for parameters in runs:
            started = time.monotonic()
            summary = ingest(
                **parameters,
                db=str(settings.db),
                batch_size=settings.batch_size,
                max_document_bytes=settings.max_document_bytes,
                language_min_probability=settings.language_min_probability,
            )
            label = f" {parameters['source_name']}" if parameters.get("source_name") else ""
            print(
                f"ingest{label} completed in {time.monotonic() - started:.1f} s: {summary['seen']} seen, "
                f"{summary['loaded']} loaded, {summary['updated']} updated, {summary['unchanged']} unchanged, "
                f"{summary['duplicates']} duplicates, {summary['rejected']} rejects -> {summary['db']}"
            )
    return 0


def run_sql(args: argparse.Namespace, settings: Settings) -> int:
    if args.format == "parquet" and not args.out:
        raise SettingsError("--format parquet needs --out FILE")
    conn, relation = open_query(settings.db, args.query, settings.busy_wait_seconds)
    try:
        if args.format == "parquet":
            relation.write_parquet(args.out)
            return 0
        with open(args.out, "w", encoding="utf-8", newline="") if args.out else nullcontext(sys.stdout) as out:
            write_relation(relation, args.format, out)
    finally:
        conn.close()
    return 0


def write_relation(relation: duckdb.DuckDBPyRelation, fmt: str, out) -> None:
    if fmt == "table":
        out.write(str(relation))
        return
    columns, rows = relation.columns, relation.fetchall()
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        json.dump(
            [dict(zip(columns, row, strict=True)) for row in rows], out, default=str, ensure_ascii=False, indent=1
        )
        out.write("\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        ingest_options = ("batch_size", "max_document_bytes", "sources", "allow_private_hosts", "user_agent")
        settings = load_settings().with_options(
            db=args.db, **{name: getattr(args, name) for name in ingest_options if hasattr(args, name)}
        )
        handler = {"ingest": run_ingest, "sql": run_sql}[args.command]
        return handler(args, settings)
    except (
        SettingsError,
        SourcesError,
        WarehouseBusy,
        WarehouseMissing,
        WritingStatement,
        duckdb.Error,
        OSError,
    ) as exc:
        print(f"mediamon: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
