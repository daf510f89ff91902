"""The `mediamon` command: a thin edge that parses options, calls flows and prints results."""

from __future__ import annotations

import argparse
import atexit
import csv
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, nullcontext
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from config.settings import DEFAULT_BATCH_SIZE, SettingsError, load_settings

if TYPE_CHECKING:
    import duckdb

    from config.settings import Settings
    from mediamon.temporary_server import TemporaryServer

# The project's modules are imported by the commands that use them, not here: `mediamon --help` stays quick, and
# the extraction processes an ingest spawns, which import this module again (it is the console script's), pay only
# for the extractors they run (measured in bench/pipeline: about 0.3 s less per worker start).


def _add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        help="warehouse: a DuckDB file, or ducklake:sqlite:CATALOG (default: $MEDIAMON_DB, else data/mediamon.duckdb)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mediamon", description="Media-monitoring ingestion into DuckDB.")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="load files, folders, feeds, sitemaps or pages into the warehouse")
    ingest.add_argument(
        "targets",
        nargs="*",
        metavar="PATH_OR_URL",
        help=".txt/.html/.htm files (or .gz), folders, file:// URIs, or http(s) URLs of feeds, sitemaps or pages",
    )
    ingest.add_argument(
        "--urls", action="append", default=[], metavar="FILE", help="a file (or URL) of URLs, one a line"
    )
    ingest.add_argument("--source", action="append", default=[], metavar="NAME", help="a source from the sources file")
    ingest.add_argument("--sources", help="the sources file (default: $MEDIAMON_SOURCES, else sources.toml)")
    ingest.add_argument(
        "--monitors", help="the topic monitors file (default: $MEDIAMON_MONITORS, else monitors.toml if present)"
    )
    ingest.add_argument(
        "--allow-private-hosts",
        action="store_true",
        default=None,
        help="allow fetching private, loopback and link-local addresses (off by default: SSRF guard)",
    )
    ingest.add_argument("--user-agent", help="User-Agent for requests and robots.txt rules")
    _add_db_option(ingest)
    ingest.add_argument("--batch-size", type=int, help=f"documents per batch (default {DEFAULT_BATCH_SIZE})")
    ingest.add_argument("--max-document-bytes", type=int, help="larger documents are rejected (default 10 MB)")
    ingest.add_argument(
        "--extract-workers", type=int, help="extraction processes (default one per CPU; 1 extracts in-process)"
    )
    ingest.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="read symlinks in folders that lead outside the folder (default: skipped, a reject outside_root)",
    )

    backfill = commands.add_parser("backfill", help="redo a date range day by day (the flow the Prefect UI runs)")
    backfill.add_argument("--start", required=True, type=date.fromisoformat, help="first day, YYYY-MM-DD")
    backfill.add_argument("--end", required=True, type=date.fromisoformat, help="last day, YYYY-MM-DD (included)")
    backfill.add_argument(
        "--mode",
        choices=("refetch", "reextract", "rededup", "history"),
        default="reextract",
        help="fetch again, extract the stored responses again, recompute duplicates (default reextract), or "
        "bring in the range's articles from archives (history)",
    )
    backfill.add_argument(
        "--archives",
        nargs="+",
        choices=("sitemaps", "wayback", "ccnews"),
        default=[],
        help="for history: where to look (default: sitemaps for sitemap sources, wayback for the others)",
    )
    backfill.add_argument("--force", action="store_true", help="for history: look up again the days already finished")
    backfill.add_argument("--source", action="append", default=[], metavar="NAME", help="only this source")
    backfill.add_argument("--sources", help="the sources file (default: $MEDIAMON_SOURCES, else sources.toml)")
    backfill.add_argument("--max-days", type=int, default=92, help="longest range accepted (default 92)")
    _add_db_option(backfill)

    serve = commands.add_parser(
        "serve", help="serve the scheduled ingest deployments and the backfill deployment to $PREFECT_API_URL"
    )
    serve.add_argument("--sources", help="the sources file (default: $MEDIAMON_SOURCES, else sources.toml)")
    serve.add_argument(
        "--monitors", help="the topic monitors file (default: $MEDIAMON_MONITORS, else monitors.toml if present)"
    )
    serve.add_argument(
        "--allow-private-hosts",
        action="store_true",
        default=None,
        help="let served runs fetch private, loopback and link-local addresses (off by default: SSRF guard)",
    )
    _add_db_option(serve)

    sql = commands.add_parser("sql", help="run read-only SQL against the warehouse")
    sql.add_argument(
        "query", help="exactly one SELECT (or WITH, SHOW, DESCRIBE, SUMMARIZE, EXPLAIN [ANALYZE] SELECT): docs/sql.md"
    )
    _add_db_option(sql)
    sql.add_argument("--format", choices=("table", "csv", "json", "parquet"), default="table")
    sql.add_argument("--out", help="write to this file instead of standard output (required for parquet)")

    export = commands.add_parser("export", help="write every table and reporting view to files for BI tools")
    export.add_argument("--format", choices=("parquet",), default="parquet", help="file format (default parquet)")
    export.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="folder for the files: <name>.parquet per table and view, search.<name>.parquet for the index",
    )
    _add_db_option(export)

    report = commands.add_parser("report", help="write a self-contained HTML report with charts")
    report.add_argument("--out", default="report.html", metavar="FILE", help="the HTML file (default report.html)")
    _add_db_option(report)

    check = commands.add_parser(
        "check", help="run the data checks (warehouse/checks/*.sql); exit 1 naming each failing check"
    )
    check.add_argument("--rows", type=int, default=5, help="offending rows shown per failing check (default 5)")
    _add_db_option(check)

    digest = commands.add_parser("digest", help="per monitor, the stories new in a period, with pickups and media")
    digest.add_argument("--since", default="24h", help="the period before now: 24h (default), 90m, 7d, 2w")
    digest.add_argument("--monitor", action="append", default=[], metavar="M", help="only this monitor (repeatable)")
    digest.add_argument("--format", choices=("markdown", "html"), default="markdown")
    digest.add_argument("--output", metavar="FILE", help="write to this file instead of standard output")
    _add_db_option(digest)

    alerts = commands.add_parser(
        "alerts", help="Prefect automations that POST a monitor's new matches to a webhook ($PREFECT_API_URL)"
    )
    actions = alerts.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create the alert NAME, or update it")
    create.add_argument("name", metavar="NAME", help="lower-case letters, digits and dashes")
    create.add_argument("--monitor", required=True, metavar="M", help="the topic monitor whose new matches alert")
    create.add_argument("--webhook", required=True, metavar="URL", help="where the JSON is POSTed")
    create.add_argument(
        "--min-articles", type=int, default=1, metavar="N", help="only runs with N or more new articles (default 1)"
    )
    create.add_argument(
        "--allow-private-hosts",
        action="store_true",
        help="allow a webhook on a private, loopback or link-local address (off by default: SSRF guard)",
    )
    create.add_argument(
        "--monitors", help="the topic monitors file (default: $MEDIAMON_MONITORS, else monitors.toml if present)"
    )
    actions.add_parser("list", help="the alerts on the server")
    delete = actions.add_parser("delete", help="delete the alert NAME and its webhook block")
    delete.add_argument("name", metavar="NAME")

    search = commands.add_parser("search", help="full-text search of articles, best matches (BM25) first")
    search.add_argument("query", help='words to look for, e.g. "roscosmos video"')
    search.add_argument("--limit", type=int, default=10, help="most results to show (default 10)")
    _add_db_option(search)
    return parser


def plan_ingest_runs(args: argparse.Namespace, settings: Settings) -> list[dict]:
    """One flow run's parameters per named source, plus one for the targets given directly."""
    from pipeline.sources import classify_target, ingest_parameters, load_sources, read_url_list

    base_policy = settings.fetch_policy()
    runs = []
    direct: dict[str, list[str]] = {"paths": [], "urls": [], "url_lists": []}
    for target in args.targets:  # a malformed URL goes on to the flow, which makes it a reject
        key, value = classify_target(target)
        direct[key].append(value)
    for location in args.urls:
        for key, values in read_url_list(location).items():
            direct[key] += values
    follow = {"follow_symlinks": True} if getattr(args, "follow_symlinks", False) else {}
    if any(direct.values()):
        runs.append({**direct, "fetch_policy": base_policy, **follow})
    if args.source:
        sources = load_sources(settings.sources)
        for name in args.source:
            if name not in sources:
                raise SettingsError(f"no source {name!r} in {settings.sources}; known: {', '.join(sorted(sources))}")
            runs.append({**ingest_parameters(sources[name], base_policy), **follow})
    if not runs:
        raise SettingsError("nothing to ingest: give PATH_OR_URL, --urls FILE or --source NAME")
    return runs


def configured_monitors(settings: Settings) -> dict[str, str]:
    """The monitors file named in settings (it must exist), else ./monitors.toml if present, else the default."""
    from pipeline.sources import load_monitors
    from similarity.monitors import DEFAULT_MONITORS

    if settings.monitors is not None:
        return load_monitors(settings.monitors, required=True)
    return load_monitors(Path("monitors.toml"), required=False) or DEFAULT_MONITORS


def run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.pool import stop_early_workers

    _start_workers_early(args.targets, settings)
    try:
        return _run_ingest(args, settings)
    finally:
        stop_early_workers()  # when no run took them over


def _start_workers_early(targets: list[str], settings: Settings) -> None:
    """Start the extraction processes before anything else when the targets hold enough files to use them, so
    that their start overlaps the imports and Prefect's start here (only local files are counted; a run with
    no changed file leaves them unused: about a second of CPU)."""
    from pipeline.pool import MIN_POOL_JOBS, default_workers, start_workers_early

    workers = settings.extract_workers or default_workers()
    if settings.task_runner == "dask" or workers < 2:
        return
    found = 0
    for target in targets:
        found += _count_files(Path(target), MIN_POOL_JOBS - found)
        if found >= MIN_POOL_JOBS:
            start_workers_early(workers)
            return


def _count_files(path: Path, limit: int) -> int:
    """Files at or under `path`, counted up to `limit` (0 for a URL or a path that is not there)."""
    if path.is_file():
        return 1
    found = 0
    for _, _, files in os.walk(path):
        found += len(files)
        if found >= limit:
            break
    return found


def _run_ingest(args: argparse.Namespace, settings: Settings) -> int:
    runs = plan_ingest_runs(args, settings)
    monitors = configured_monitors(settings)
    server = _start_temporary_server(settings)
    from flows.ingest import ingest  # Prefect is imported only by commands that run flows
    from flows.runners import configured_task_runner
    from warehouse.checks import DataChecksFailed

    ingest = ingest.with_options(task_runner=configured_task_runner(settings))  # chosen now, not at import
    with _flow_session(settings, server):
        for parameters in runs:
            started = time.monotonic()
            label = f" {parameters['source_name']}" if parameters.get("source_name") else ""
            try:
                summary = ingest(
                    **parameters,
                    db=str(settings.db),
                    batch_size=settings.batch_size,
                    max_document_bytes=settings.max_document_bytes,
                    language_min_probability=settings.language_min_probability,
                    monitors=monitors,
                    extract_workers=settings.extract_workers,
                )
            except DataChecksFailed as failed:  # loaded, then a check failed: say what was loaded, then why
                if failed.summary:
                    print(_ingest_line(f"ingest{label} loaded, checks failed", started, failed.summary))
                raise
            print(_ingest_line(f"ingest{label} completed", started, summary))
    return 0


def _ingest_line(outcome: str, started: float, summary: dict) -> str:
    return (
        f"{outcome} in {time.monotonic() - started:.1f} s: {summary['seen']} seen, "
        f"{summary['loaded']} loaded, {summary['updated']} updated, {summary['unchanged']} unchanged, "
        f"{summary['duplicates']} duplicates, {summary['rejected']} rejects -> {summary['db']}"
    )


def _temporary_server_defaults() -> None:
    """How the temporary server Prefect starts when no PREFECT_API_URL is set behaves (set before Prefect is
    imported): nothing reported home, and time for its first start on a fresh machine, which creates its
    database (Prefect's 20 s default timed out there)."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def _start_temporary_server(settings: Settings) -> TemporaryServer | None:
    """Without a Prefect server configured, start the temporary one now, before the flow's modules are imported
    (mediamon/temporary_server.py); None when PREFECT_API_URL (or a Prefect profile) names a server, and on Dask,
    whose runs share one API with their workers as `prefect_api_for_workers` decides."""
    _temporary_server_defaults()
    if settings.task_runner == "dask":
        return None
    from mediamon.temporary_server import start_temporary_server

    return start_temporary_server()


@contextmanager
def _flow_session(settings: Settings, server: TemporaryServer | None = None) -> Iterator[None]:
    """How the command line runs flows: on the temporary server started early, if any (once it answers), with no
    crash-detection heartbeat (it only slows a short run's start and end), and on Dask one Prefect API shared
    with the workers."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.runners import prefect_api_for_workers

    updates = {"flows.heartbeat_frequency": None}
    if server is not None:
        server.wait()
        os.environ["PREFECT_API_URL"] = server.api_url  # for the processes this one starts (Dask workers)
        updates[PREFECT_API_URL] = server.api_url
    try:
        with temporary_settings(updates=updates), prefect_api_for_workers(settings):
            yield
    finally:
        if server is not None:
            del os.environ["PREFECT_API_URL"]


def run_backfill(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.redo import plan_backfill

    # The request is checked here, before Prefect starts a server: a wrong range is a line, not 17 s and a traceback.
    plan_backfill(args.start, args.end, args.mode, args.source, settings.sources, args.max_days, args.archives)
    server = _start_temporary_server(settings)
    from flows.backfill import backfill
    from flows.runners import configured_task_runner

    backfill = backfill.with_options(task_runner=configured_task_runner(settings))
    monitors = configured_monitors(settings)
    with _flow_session(settings, server):
        summary = backfill(
            start=args.start,
            end=args.end,
            mode=args.mode,
            sources=args.source,
            db=str(settings.db),
            sources_file=str(settings.sources),
            max_days=args.max_days,
            monitors=monitors,
            fetch_policy=settings.fetch_policy(),
            **({"archives": args.archives, "force": args.force} if args.mode == "history" else {}),
        )
    print(
        f"backfill {summary['mode']} of {summary['days']} days completed: {summary['loaded']} loaded, "
        f"{summary['updated']} updated, {summary['unchanged']} unchanged, {summary['rejected']} rejects "
        f"-> {summary['db']}"
    )
    return 0


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    from prefect import serve
    from prefect.settings import get_current_settings

    from flows.serve import build_deployments
    from pipeline.sources import load_digest_schedule, load_sources

    api_url = get_current_settings().api.url
    if not api_url:
        raise SettingsError(
            "mediamon serve needs a Prefect server: start one (`prefect server start`) and set"
            " PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    if settings.sources.exists():
        sources, origin = load_sources(settings.sources), f"from {settings.sources}"
    else:
        sources, origin = {}, f"(no sources file at {settings.sources}, so no schedules: copy sources.example.toml)"
    digest = load_digest_schedule(settings.sources)
    deployments = build_deployments(sources, settings, configured_monitors(settings), digest)
    names = ", ".join(f"{d.flow_name}/{d.name}" for d in deployments)
    print(f"serving {len(deployments)} deployments {origin} to {api_url}: {names}", flush=True)
    # Schedules stay active when this process stops, so a restart (or a new container) picks them up again.
    serve(*deployments, pause_on_shutdown=False)
    return 0


def run_sql(args: argparse.Namespace, settings: Settings) -> int:
    from warehouse.query import open_query, write_parquet

    if args.format == "parquet" and not args.out:
        raise SettingsError("--format parquet needs --out FILE")
    conn, relation = open_query(settings.db, args.query, settings.busy_wait_seconds, on_busy=_busy_notice(settings))
    try:
        if args.format == "parquet":
            write_parquet(relation, args.out)
            return 0
        with open(args.out, "w", encoding="utf-8", newline="") if args.out else nullcontext(sys.stdout) as out:
            write_relation(relation, args.format, out)
    finally:
        conn.close()
    return 0


def _busy_notice(settings: Settings) -> Callable[[], None]:
    """What a reader says, once, while a flow holds the warehouse: it waits instead of failing."""
    message = (
        f"mediamon: warehouse {settings.db} is busy (a flow is writing); retrying for up to"
        f" {settings.busy_wait_seconds:.0f} s"
    )
    return partial(print, message, file=sys.stderr, flush=True)


def _open_reader(settings: Settings, extensions: tuple[str, ...] = ()) -> duckdb.DuckDBPyConnection:
    """A locked-down read-only connection (as `mediamon sql` has) with the reporting views of this code (as
    temporary views)."""
    from warehouse.db import connect_reader
    from warehouse.views import create_views

    conn = connect_reader(
        settings.db, wait_seconds=settings.busy_wait_seconds, on_busy=_busy_notice(settings), extensions=extensions
    )
    try:
        create_views(conn, temporary=True)
    except Exception:
        conn.close()
        raise
    return conn


def _size(n: float) -> str:
    if n < 1000:
        return f"{n:.0f} B"
    for unit in ("kB", "MB", "GB"):
        n /= 1000
        if n < 1000 or unit == "GB":
            return f"{n:,.1f} {unit}"


def run_export(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.progress import progress_bar
    from warehouse.db import connect_reader
    from warehouse.export import export_parquet, export_targets
    from warehouse.views import create_views

    # Locked down like `mediamon sql`, except that DuckDB may write into the export folder.
    reader = connect_reader(
        settings.db, wait_seconds=settings.busy_wait_seconds, on_busy=_busy_notice(settings), writable_dir=args.out
    )
    with closing(reader) as conn:
        create_views(conn, temporary=True)
        targets = export_targets(conn)
        with progress_bar("export", total=len(targets), unit="files") as bar:
            for exported in export_parquet(conn, targets, args.out):
                rows = f"{exported.rows:,} row{'' if exported.rows == 1 else 's'}"
                print(f"wrote {exported.path} ({exported.kind}, {rows}, {_size(exported.size_bytes)})")
                bar.advance(description=f"export {exported.name}")
    kinds = [kind for _, kind in targets]
    print(f"exported {kinds.count('table')} tables and {kinds.count('view')} views to {args.out}")
    return 0


def run_report(args: argparse.Namespace, settings: Settings) -> int:
    from mediamon.report import write_report  # plotly is imported only by the command that draws

    with closing(_open_reader(settings)) as conn:
        generated_at = datetime.now(UTC).replace(tzinfo=None)
        out = write_report(conn, args.out, source=str(settings.db), generated_at=generated_at)
    print(f"wrote {out} ({_size(out.stat().st_size)}): open it in a browser, no network needed")
    return 0


def run_digest(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.digest import parse_since, read_digest, render, write_text

    period = parse_since(args.since)
    with closing(_open_reader(settings)) as conn:
        until = datetime.now(UTC).replace(tzinfo=None)
        text = render(read_digest(conn, args.monitor, until - period, until), args.format)
    if args.output:
        print(f"wrote {write_text(args.output, text)}")
    else:
        sys.stdout.write(text)
    return 0


def run_alerts(args: argparse.Namespace, settings: Settings) -> int:
    from mediamon import alerts

    if args.action == "create":
        monitors = configured_monitors(settings)
        if args.monitor not in monitors:
            raise alerts.AlertError(f"no monitor {args.monitor!r}; configured: {', '.join(sorted(monitors))}")
        created = alerts.create_alert(
            args.name, args.monitor, args.webhook, args.min_articles, allow_private=args.allow_private_hosts
        )
        at_least = f", runs with {args.min_articles}+ new articles" if args.min_articles > 1 else ""
        print(f"alert {args.name} {'created' if created else 'updated'}: {args.monitor}{at_least} -> {args.webhook}")
    elif args.action == "list":
        found = alerts.list_alerts()
        for alert in found:
            state = "" if alert.enabled else " (disabled)"
            print(f"{alert.name}: {alert.monitor}, {alert.min_articles}+ new articles -> {alert.webhook}{state}")
        if not found:
            print("no alerts: `mediamon alerts create NAME --monitor M --webhook URL` makes one")
    else:
        alerts.delete_alert(args.name)
        print(f"alert {args.name} deleted, with its webhook block")
    return 0


def run_search(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console
    from rich.text import Text

    from extractors.display import printable
    from warehouse.search import highlight_spans, search_articles

    with closing(_open_reader(settings, extensions=("fts",))) as conn:
        result = search_articles(conn, args.query, args.limit)
    if result.note:
        print(f"mediamon: note: {result.note}; they were indexed in memory for this query", file=sys.stderr)
    console = Console(highlight=False, soft_wrap=True)
    if not result.hits:
        console.print(Text(f"no articles match {printable(repr(args.query))}"))
        return 0
    for rank, hit in enumerate(result.hits, 1):
        date = f"{hit.published_at:%Y-%m-%d}" if hit.published_at else f"ingested {hit.first_ingested_at:%Y-%m-%d}"
        snippet = Text(printable(hit.snippet))  # same length, so the highlight spans still fit
        for start, end in highlight_spans(hit.snippet, hit.terms):
            snippet.stylize("bold yellow", start, end)
        title, outlet = printable(hit.title or "(no title)"), printable(hit.outlet or "(unknown outlet)")
        console.print(Text(f"{rank}. {title}", style="bold"))
        console.print(Text(f"   {outlet} · {date} · score {hit.score:.3f}", style="dim"))
        console.print(Text("   ") + snippet)
        console.print(Text(f"   {printable(hit.link)}", style="blue"))
        console.print()
    return 0


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    """The data checks the flows run at their end, on demand: each failing check with its row count and first
    rows; exit 1 when any fails."""
    from extractors.display import printable
    from warehouse.checks import check_files, failing_checks
    from warehouse.db import connect_reader

    reader = connect_reader(settings.db, wait_seconds=settings.busy_wait_seconds, on_busy=_busy_notice(settings))
    with closing(reader) as conn:
        failures = failing_checks(conn, sample=max(args.rows, 0))
    total = len(check_files())
    for failure in failures:
        rows = f"{failure.rows:,} row{'' if failure.rows == 1 else 's'}"
        print(f"FAILED {failure.name}: {rows} ({printable(failure.description)})")
        print("  " + " | ".join(failure.columns))
        for row in failure.sample:
            print("  " + " | ".join(printable(str(value))[:120] for value in row))
    if failures:
        print(f"{len(failures)} of {total} checks failed -> {settings.db}")
        return 1
    print(f"all {total} checks passed -> {settings.db}")
    return 0


def write_relation(relation: duckdb.DuckDBPyRelation, fmt: str, out) -> None:
    """The relation as a table, CSV or JSON. On a terminal, control characters in values are replaced (a title
    can carry escape sequences that rewrite the screen); into a file or a pipe, values are written exactly."""
    from extractors.display import printable

    if fmt == "table":
        out.write(str(relation))
        return
    columns, rows = relation.columns, relation.fetchall()
    if out.isatty():
        rows = [[printable(v, one_line=False) if isinstance(v, str) else v for v in row] for row in rows]
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(rows)
    else:
        json.dump(
            [dict(zip(columns, row, strict=True)) for row in rows], out, default=str, ensure_ascii=False, indent=1
        )
        out.write("\n")


def _user_errors() -> tuple[type[Exception], ...]:
    """What a command turns into a one-line message and exit code 1 (imported when one is raised)."""
    import duckdb

    from mediamon.alerts import AlertError
    from pipeline.backfill import BackfillError
    from pipeline.sources import SourcesError
    from warehouse.checks import DataChecksFailed
    from warehouse.db import WarehouseBusy, WarehouseMissing
    from warehouse.digest import DigestError
    from warehouse.extensions import ExtensionMissing
    from warehouse.query import WritingStatement
    from warehouse.search import BadSearch

    return (
        SettingsError,
        SourcesError,
        AlertError,
        DigestError,
        BackfillError,
        WarehouseBusy,
        WarehouseMissing,
        WritingStatement,
        BadSearch,
        DataChecksFailed,
        ExtensionMissing,  # SearchUnavailable (fts) included
        duckdb.Error,
        OSError,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if argv is None and args.command in ("ingest", "backfill"):  # the console script running a flow
        atexit.register(_skip_teardown)  # before Prefect registers its handlers, so it runs after them
    code = _run_command(args)
    _exit_code.append(code)
    return code


# The exit code of the command the console script ran, once it returned.
_exit_code: list[int] = []


def _skip_teardown() -> None:
    """The last at-exit handler of a flow command: once its run returned and every other handler ran (Prefect's
    log and event drains, its temporary server's stop; worker threads were joined before), leave without the
    interpreter's teardown of Prefect's modules, 0.3-0.8 s of every command measured in bench/pipeline. Every
    warehouse connection is closed by then; a command that raised exits the usual way."""
    if not _exit_code:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(_exit_code[-1])


def _run_command(args: argparse.Namespace) -> int:
    try:
        ingest_options = (
            "batch_size",
            "max_document_bytes",
            "sources",
            "monitors",
            "allow_private_hosts",
            "user_agent",
            "extract_workers",
        )
        settings = load_settings().with_options(
            db=getattr(args, "db", None),
            **{name: getattr(args, name) for name in ingest_options if hasattr(args, name)},
        )
        handler = {
            "ingest": run_ingest,
            "backfill": run_backfill,
            "serve": run_serve,
            "sql": run_sql,
            "export": run_export,
            "report": run_report,
            "search": run_search,
            "check": run_check,
            "digest": run_digest,
            "alerts": run_alerts,
        }[args.command]
        return handler(args, settings)
    except Exception as exc:
        if not isinstance(exc, _user_errors()):
            raise
        from extractors.display import printable

        print(f"mediamon: {printable(str(exc).splitlines()[0])}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
