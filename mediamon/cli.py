"""The `mediamon` command: a thin edge that parses options, calls flows and prints results."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from contextlib import nullcontext

import duckdb

from mediamon.settings import Settings, SettingsError, load_settings
from warehouse.db import WarehouseBusy, WarehouseMissing
from warehouse.query import WritingStatement, open_query


def _add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="warehouse file (default: $MEDIAMON_DB, else data/mediamon.duckdb)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mediamon", description="Media-monitoring ingestion into DuckDB.")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="load local files or folders into the warehouse")
    ingest.add_argument("paths", nargs="+", metavar="PATH", help=".txt/.html/.htm files (or .gz), or folders")
    _add_db_option(ingest)
    ingest.add_argument("--batch-size", type=int, help="documents per batch (default 200)")
    ingest.add_argument("--max-document-bytes", type=int, help="larger documents are rejected (default 10 MB)")

    sql = commands.add_parser("sql", help="run read-only SQL against the warehouse")
    sql.add_argument("query", help="one SELECT (or WITH/EXPLAIN/SHOW/DESCRIBE) statement")
    _add_db_option(sql)
    sql.add_argument("--format", choices=("table", "csv", "json", "parquet"), default="table")
    sql.add_argument("--out", help="write to this file instead of standard output (required for parquet)")
    return parser


def run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    if any(p.startswith(("http://", "https://")) for p in args.paths):
        print("mediamon: fetching URLs is not available yet; give local files or folders", file=sys.stderr)
        return 2
    # The temporary server Prefect starts when no PREFECT_API_URL is set has nothing to report home.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.settings import temporary_settings  # Prefect is imported only by commands that run flows

    from flows.ingest import ingest

    started = time.monotonic()
    # A short CLI run needs no crash-detection heartbeat; it only slows the run's start and end.
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        summary = ingest(
            paths=args.paths,
            db=str(settings.db),
            batch_size=settings.batch_size,
            max_document_bytes=settings.max_document_bytes,
            language_min_probability=settings.language_min_probability,
        )
    print(
        f"ingest completed in {time.monotonic() - started:.1f} s: {summary['seen']} seen, "
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
        settings = load_settings().with_options(
            db=args.db,
            **(
                {"batch_size": args.batch_size, "max_document_bytes": args.max_document_bytes}
                if args.command == "ingest"
                else {}
            ),
        )
        handler = {"ingest": run_ingest, "sql": run_sql}[args.command]
        return handler(args, settings)
    except (SettingsError, WarehouseBusy, WarehouseMissing, WritingStatement, duckdb.Error, OSError) as exc:
        print(f"mediamon: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
