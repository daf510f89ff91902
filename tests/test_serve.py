"""`mediamon serve`: schedule groups and deployments (pure), then end to end on a real `prefect server start`:
deployments registered with their schedules, runs started through the API and from the UI's custom-run form,
results read back from the DuckDB file."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from pathlib import Path

import duckdb
import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    TaskRunFilter,
    TaskRunFilterName,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.utilities.callables import parameter_schema

from config.settings import Settings
from extractors import EXTRACTOR_VERSION
from flows.backfill import backfill
from flows.digest import digest
from flows.ingest import ingest
from flows.ingest_sources import ingest_sources
from flows.serve import build_deployments, parse_schedule
from pipeline.sources import Source, SourcesError, load_digest_schedule, load_sources, schedule_groups
from tests import fixture_site as fs
from tests.conftest import REPO_ROOT, SEEDS_DIR
from tests.helpers.browser import ARTIFACTS
from tests.helpers.commands import SERVE_ARGV, documented_commands
from tests.helpers.news_site import NewsSite
from tests.helpers.prefect_server import BIN, SERVER_ARGV, WAIT_SECONDS, clean_env, free_port, log_tail, stop_group
from warehouse.checks import run_data_checks

MARCH = {"start": "2022-03-01", "end": "2022-03-10"}

SOURCES_TOML = """
[defaults]
min_host_interval = 0.0

[[sources]]
name = "seeds"
kind = "files"
location = "seeds"
schedule = "every 7d"

[[sources]]
name = "space-news"
kind = "feed"
location = "{site}/feed.xml"
schedule = "0 4 1 1 *"

[[sources]]
name = "space-news-atom"
kind = "feed"
location = "{site}/atom.xml"
schedule = "0 4 1 1 *"

[[sources]]
name = "by-hand"
kind = "page"
location = "{site}/articles/a1.html"

[[sources]]
name = "archive-news"
kind = "sitemap"
location = "{news}/sitemap_index.xml"

[digest]
schedule = "0 6 * * *"
since = "7d"
folder = "digests"
"""


# Pure: schedules and the deployment list ------------------------------------------------------------------


@pytest.mark.pure
@pytest.mark.parametrize(
    "text, interval",
    [("every 15m", timedelta(minutes=15)), ("every 6h", timedelta(hours=6)), ("EVERY 30 s", timedelta(seconds=30))],
)
def test_parse_schedule_intervals_are_anchored_at_midnight_utc(text, interval):
    schedule = parse_schedule(text)
    assert schedule.interval == interval and schedule.cron is None
    assert schedule.anchor_date.isoformat() == "2000-01-01T00:00:00+00:00" and schedule.timezone == "UTC"


@pytest.mark.pure
def test_parse_schedule_cron_lines_are_utc():
    schedule = parse_schedule(" */30 * * * * ")
    assert schedule.cron == "*/30 * * * *" and schedule.timezone == "UTC" and schedule.interval is None


@pytest.mark.pure
@pytest.mark.parametrize("text", ["every 0m", "every 15 minutes", "*/30 * * *", "hourly", 900])
def test_parse_schedule_rejects_what_it_cannot_read(text):
    with pytest.raises(ValueError, match="every 15m|zero interval"):
        parse_schedule(text)


def sample_sources(site: str = "https://space-news.example") -> dict[str, Source]:
    return {
        "seeds": Source("seeds", "files", "/data/seeds", "every 6h"),
        "feed": Source("feed", "feed", f"{site}/feed.xml", "0 4 * * *", (("min_host_interval", 2.0),)),
        "atom": Source("atom", "feed", f"{site}/atom.xml", "0 4 * * *"),
        "by-hand": Source("by-hand", "page", f"{site}/a1.html"),
    }


@pytest.mark.pure
def test_schedule_groups_share_one_schedule_and_skip_unscheduled_sources():
    assert schedule_groups(sample_sources()) == {"every 6h": ["seeds"], "0 4 * * *": ["feed", "atom"]}


@pytest.mark.pure
def test_build_deployments_one_per_group_then_backfill(tmp_path):
    settings = Settings(db=tmp_path / "w.duckdb", sources=tmp_path / "sources.toml", allow_private_hosts=True)
    deployments = build_deployments(sample_sources(), settings, {"m": "roscosmos"})
    assert [(d.flow_name, d.name) for d in deployments] == [
        ("ingest-sources", "seeds"),
        ("ingest-sources", "feed+atom"),
        ("ingest", "ad-hoc"),
        ("backfill", "backfill"),
    ]
    seeds, feeds, ad_hoc, backfill_deployment = deployments
    assert ad_hoc.schedules == [] and "paths" not in ad_hoc.parameters  # the run form asks for them
    assert ad_hoc.entrypoint == "flows.ingest.ingest"
    assert [s.schedule.interval for s in seeds.schedules] == [timedelta(hours=6)]
    assert [s.schedule.cron for s in feeds.schedules] == ["0 4 * * *"] and backfill_deployment.schedules == []
    assert feeds.parameters["sources"] == ["feed", "atom"]
    for deployment in deployments:
        assert deployment.parameters["db"] == str(tmp_path / "w.duckdb")
        if deployment is not ad_hoc:
            assert deployment.parameters["sources_file"] == str(tmp_path / "sources.toml")
        assert deployment.parameters["fetch_policy"].allow_private_hosts is True
        assert deployment.parameters["monitors"] == {"m": "roscosmos"}
    assert backfill_deployment.entrypoint == "flows.backfill.backfill"  # importable wherever the package is


@pytest.mark.pure
def test_build_deployments_from_the_example_sources_file():
    example = REPO_ROOT / "sources.example.toml"
    deployments = build_deployments(load_sources(example), Settings(), {}, load_digest_schedule(example))
    assert [d.name for d in deployments] == ["space-news", "wire-news-sitemap", "ad-hoc", "backfill", "digest"]
    assert deployments[-1].schedules[0].schedule.cron == "0 7 * * *" and deployments[-1].parameters["since"] == "24h"


@pytest.mark.pure
def test_build_deployments_without_sources_serves_ad_hoc_ingest_and_backfill(tmp_path):
    deployments = build_deployments({}, Settings(db=tmp_path / "w.duckdb", sources=tmp_path / "none.toml"), {})
    assert [(d.flow_name, d.name) for d in deployments] == [("ingest", "ad-hoc"), ("backfill", "backfill")]


@pytest.mark.e2e
def test_serve_without_a_sources_file_says_there_are_no_schedules(tmp_path):
    """No sources file is no reason to stop: the ad hoc ingest and the backfill are still served (here to a port
    where no server listens, so the command then fails, after saying what it serves)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIAMON_", "PREFECT_"))}
    done = subprocess.run(
        [str(BIN / "mediamon"), *SERVE_ARGV],
        cwd=tmp_path,
        env={
            **env,
            "PREFECT_HOME": str(tmp_path / "prefect-home"),
            "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",
        },
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert "no sources file at" in done.stdout and "so no schedules" in done.stdout, done.stderr[-2000:]
    assert "ingest/ad-hoc, backfill/backfill" in done.stdout
    assert "no sources file at" not in done.stderr


@pytest.mark.pure
def test_build_deployments_bad_schedule_names_the_source(tmp_path):
    sources = {"odd": Source("odd", "files", "/data", "every fortnight")}
    with pytest.raises(SourcesError, match=r"source 'odd': schedule 'every fortnight' is neither"):
        build_deployments(sources, Settings(sources=tmp_path / "sources.toml"), {})


@pytest.mark.pure
def test_ingest_sources_unknown_source_fails_before_any_run(tmp_path):
    shutil.copy(REPO_ROOT / "sources.example.toml", tmp_path / "sources.toml")
    with pytest.raises(SourcesError, match=r"unknown source\(s\) nope in .*; known: seeds, space-news"):
        ingest_sources.fn(["seeds", "nope"], sources_file=str(tmp_path / "sources.toml"), db=str(tmp_path / "w.db"))
    assert not (tmp_path / "w.db").exists()


@pytest.mark.pure
@pytest.mark.parametrize(
    "deployed_flow", [backfill, ingest_sources, ingest, digest], ids=["backfill", "ingest-sources", "ingest", "digest"]
)
def test_deployed_flow_parameters_are_described_for_the_run_form(deployed_flow):
    properties = parameter_schema(deployed_flow.fn).properties
    undescribed = [name for name, schema in properties.items() if not schema.get("description")]
    assert undescribed == []


@pytest.mark.pure
def test_readme_serving_commands_are_the_ones_run_here():
    """The documented server and serve lines (docs/scheduling-and-backfills.md) are what the fixtures below start
    (they add a free port); no other documented command mentions serve."""
    commands = [shlex.split(line) for line in documented_commands() if "serve" in line]
    assert commands == [SERVER_ARGV, ["PREFECT_API_URL=http://127.0.0.1:4200/api", "mediamon", *SERVE_ARGV]]


@pytest.mark.e2e
def test_serve_without_a_prefect_server_says_what_to_do(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIAMON_", "PREFECT_"))}
    shutil.copy(REPO_ROOT / "sources.example.toml", tmp_path / "sources.toml")
    done = subprocess.run(
        [str(BIN / "mediamon"), *SERVE_ARGV],
        cwd=tmp_path,
        env={**env, "PREFECT_HOME": str(tmp_path / "prefect-home")},
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert done.returncode == 1 and "set PREFECT_API_URL=" in done.stderr and "Traceback" not in done.stderr


# End to end: a real Prefect server, `mediamon serve`, and runs ---------------------------------------------


@dataclass
class Served:
    """A `mediamon serve` process and what it was given."""

    root: Path
    db: Path
    sources_file: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.root / "serve.log"

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [str(BIN / "mediamon"), *SERVE_ARGV],
                cwd=self.root,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        """As `docker stop` does: SIGTERM."""
        stop_group(self.process)


DEPLOYMENTS = (
    "ingest-sources/seeds",
    "ingest-sources/space-news+space-news-atom",
    "ingest/ad-hoc",
    "backfill/backfill",
    "digest/digest",
)


@pytest.fixture(scope="module")
def news_site():
    """A news site with a date-partitioned sitemap index (tests/helpers/news_site.py), for the history backfill."""
    with NewsSite() as server:
        yield server


@pytest.fixture(scope="module")
def served(prefect_server, fixture_site, news_site, tmp_path_factory):
    """`mediamon serve` with a sources file naming a copy of the seeds, two feeds of the fixture site and the
    sitemap index of the news site (unscheduled: only backfills read it)."""
    root = tmp_path_factory.mktemp("served")
    shutil.copytree(SEEDS_DIR, root / "seeds")
    sources = SOURCES_TOML.format(site=fixture_site.base_url, news=news_site.base)
    (root / "sources.toml").write_text(sources, encoding="utf-8")
    env = clean_env(
        PREFECT_HOME=str(root / "prefect-home"),
        PREFECT_API_URL=prefect_server.api_url,
        PREFECT_RUNNER_POLL_FREQUENCY="1",  # pick up a new run within a second (default 10)
        MEDIAMON_DB=str(root / "warehouse" / "mediamon.duckdb"),
        MEDIAMON_ALLOW_PRIVATE_HOSTS="1",  # the fixture site is on 127.0.0.1
    )
    serving = Served(root, root / "warehouse" / "mediamon.duckdb", root / "sources.toml", env)
    serving.start()
    try:
        with prefect_server.client() as client:
            wait_until(lambda: registered(client) == set(DEPLOYMENTS), serving, "the deployments to register")
        yield serving
    finally:
        stop_group(serving.process)


def registered(client: SyncPrefectClient) -> set[str]:
    flows = {flow.id: flow.name for flow in client.read_flows()}
    return {f"{flows[d.flow_id]}/{d.name}" for d in client.read_deployments()}


def wait_until(condition, serving: Served, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert serving.process.poll() is None, f"mediamon serve exited:\n{log_tail(serving.log)}"
        assert time.monotonic() < deadline, f"gave up waiting for {what}:\n{log_tail(serving.log)}"
        time.sleep(0.5)


def start_run(client: SyncPrefectClient, deployment: str, **parameters):
    """What the UI's Run button does: a flow run of the deployment, picked up by the serving process."""
    return client.create_flow_run_from_deployment(client.read_deployment_by_name(deployment).id, parameters=parameters)


def wait_for_final(client: SyncPrefectClient, flow_run_id, serving: Served):
    runs = {}

    def final() -> bool:
        runs["run"] = client.read_flow_run(flow_run_id)
        return runs["run"].state.is_final()

    wait_until(final, serving, f"flow run {flow_run_id} to finish")
    return runs["run"]


def file_md5(path: Path) -> str | None:
    return hashlib.md5(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.fixture(scope="module")
def ingested(served, prefect_server):
    """Both scheduled groups started at once (two writers on one DuckDB file), run to the end."""
    with prefect_server.client() as client:
        started = [start_run(client, name) for name in DEPLOYMENTS[:2]]
        return [wait_for_final(client, run.id, served) for run in started]


def make_stale(db: Path, url: str) -> None:
    """Leave what an older extractor might have loaded: other text, another version, and the near-duplicate
    signature of that text (without it the edit is one made with SQL, which the data checks name and which fails
    the next run of any flow until a backfill redoes the article)."""
    with duckdb.connect(str(db)) as conn:
        conn.execute(
            "UPDATE articles SET text = 'old output', content_hash = 'old', extractor_version = '0' "
            "WHERE source_uri = ?",
            [url],
        )
        conn.execute(
            "UPDATE dedup_signatures SET content_hash = 'old' "
            "WHERE article_id IN (SELECT article_id FROM articles WHERE source_uri = ?)",
            [url],
        )
        assert run_data_checks(conn) == {}


def article_version(db: Path, url: str) -> tuple[str, str]:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute("SELECT text, extractor_version FROM articles WHERE source_uri = ?", [url]).fetchone()


def backfill_row(db: Path, run_id) -> tuple:
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(
            "SELECT flow_name, status, parameters->>'start', parameters->>'end', parameters->>'mode' FROM runs "
            "WHERE run_id = ?",
            [str(run_id)],
        ).fetchone()


def scheduled_runs(client: SyncPrefectClient, deployment_name: str) -> list:
    """The runs waiting for their time, as the server's scheduler made them from the deployment's schedule."""
    deployment = client.read_deployment_by_name(deployment_name)
    waiting = FlowRunFilter(
        deployment_id=FlowRunFilterDeploymentId(any_=[deployment.id]),
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
    )
    return client.read_flow_runs(flow_run_filter=waiting, sort=FlowRunSort.EXPECTED_START_TIME_ASC)


@pytest.mark.e2e
def test_serve_registers_each_schedule_group_and_the_backfill(served, prefect_server):
    with prefect_server.client() as client:
        seeds = client.read_deployment_by_name("ingest-sources/seeds")
        feeds = client.read_deployment_by_name("ingest-sources/space-news+space-news-atom")
        backfill_deployment = client.read_deployment_by_name("backfill/backfill")
        for name in DEPLOYMENTS[:2]:
            wait_until(lambda name=name: scheduled_runs(client, name), served, f"the scheduler to plan {name}")
        weekly = [run.expected_start_time.astimezone(UTC) for run in scheduled_runs(client, DEPLOYMENTS[0])]
        yearly = [run.expected_start_time.astimezone(UTC) for run in scheduled_runs(client, DEPLOYMENTS[1])]
    assert [(s.schedule.interval, s.active) for s in seeds.schedules] == [(timedelta(days=7), True)]
    assert [(s.schedule.cron, s.active) for s in feeds.schedules] == [("0 4 1 1 *", True)]
    assert {(t.weekday(), t.hour, t.minute) for t in weekly} == {(5, 0, 0)}  # from 2000-01-01, a Saturday
    assert {(t.month, t.day, t.hour, t.minute) for t in yearly} == {(1, 1, 4, 0)}
    assert backfill_deployment.schedules == []
    assert seeds.parameters["sources"] == ["seeds"]
    assert feeds.parameters["sources"] == ["space-news", "space-news-atom"]
    for deployment in (seeds, feeds, backfill_deployment):
        assert deployment.parameters["db"] == str(served.db)
        assert deployment.parameters["fetch_policy"]["allow_private_hosts"] is True  # from MEDIAMON_ALLOW_...
    form = backfill_deployment.parameter_openapi_schema
    assert form["required"] == ["start", "end"]
    assert form["properties"]["start"]["format"] == "date"
    assert form["properties"]["mode"]["enum"] == ["refetch", "reextract", "rededup", "history"]
    assert all(field.get("description") for field in form["properties"].values())


@pytest.mark.e2e
def test_serve_restart_keeps_the_schedules_active(served, prefect_server):
    with prefect_server.client() as client:
        planned = {name: [run.id for run in scheduled_runs(client, name)] for name in DEPLOYMENTS[:2]}
    served.stop()
    with prefect_server.client() as client:
        for name in DEPLOYMENTS[:2]:
            deployment = client.read_deployment_by_name(name)
            assert not deployment.paused and all(s.active for s in deployment.schedules), name
            assert [run.id for run in scheduled_runs(client, name)] == planned[name]  # pausing would drop them
    served.start()
    with prefect_server.client() as client:  # the restarted process serves runs again
        run = wait_for_final(client, start_run(client, "ingest-sources/seeds").id, served)
    assert run.state.is_completed(), run.state.message


@pytest.mark.e2e
def test_served_groups_run_side_by_side_into_one_warehouse(ingested, served, fixture_site):
    assert [run.state.type.value for run in ingested] == ["COMPLETED", "COMPLETED"], [r.state.message for r in ingested]
    with duckdb.connect(str(served.db), read_only=True) as conn:
        uris = {row[0] for row in conn.execute("SELECT source_uri FROM articles").fetchall()}
        runs = conn.execute(
            "SELECT parameters->>'source_name', status FROM runs WHERE flow_name = 'ingest' GROUP BY ALL ORDER BY 1"
        ).fetchall()
    assert {fixture_site.url(path) for path in fs.ARTICLE_PATHS} <= uris  # a1, a2 from RSS; a3, a4 from Atom
    assert len({uri for uri in uris if uri.startswith("file://")}) == 5  # the seeds
    assert runs == [("seeds", "completed"), ("space-news", "completed"), ("space-news-atom", "completed")]


@pytest.mark.e2e
def test_served_backfill_started_through_the_api_reextracts_the_range(ingested, served, prefect_server, fixture_site):
    a1 = fixture_site.url(fs.A1_PATH)
    fresh = article_version(served.db, a1)
    make_stale(served.db, a1)
    with prefect_server.client() as client:
        run = wait_for_final(client, start_run(client, "backfill/backfill", **MARCH, mode="reextract").id, served)
    assert run.state.is_completed(), run.state.message
    assert article_version(served.db, a1) == fresh and fresh[1] == EXTRACTOR_VERSION
    assert backfill_row(served.db, run.id) == ("backfill", "completed", *MARCH.values(), "reextract")


@pytest.mark.e2e
def test_served_backfill_end_before_start_fails_and_touches_nothing(served, prefect_server):
    before = file_md5(served.db)
    with prefect_server.client() as client:
        run = start_run(client, "backfill/backfill", start="2022-03-10", end="2022-03-01")
        run = wait_for_final(client, run.id, served)
    assert run.state.is_failed()
    assert "end 2022-03-01 is before start 2022-03-10" in run.state.message
    assert file_md5(served.db) == before


@pytest.mark.e2e
def test_served_ad_hoc_ingest_loads_the_paths_given_in_the_run(served, prefect_server):
    """What an analyst types into the `ingest/ad-hoc` run form: a folder, loaded once into the served warehouse."""
    folder = served.root / "ad-hoc"
    folder.mkdir(exist_ok=True)
    note = folder / "briefing.txt"
    note.write_text(
        "Ad hoc briefing\n\n" + "The Russian segment undocking video was discussed again by analysts today. " * 8,
        encoding="utf-8",
    )
    with prefect_server.client() as client:
        run = wait_for_final(client, start_run(client, "ingest/ad-hoc", paths=[str(folder)]).id, served)
    assert run.state.is_completed(), run.state.message
    with duckdb.connect(str(served.db), read_only=True) as conn:
        loaded = conn.execute("SELECT title, run_id FROM articles WHERE source_uri = ?", [note.as_uri()]).fetchall()
    assert loaded == [("Ad hoc briefing", str(run.id))]


@pytest.mark.e2e
def test_served_digest_deployment_runs_on_its_schedule_and_stores_its_artifact(ingested, served, prefect_server):
    """The sources file's [digest] table: a `digest/digest` deployment on its schedule; a run started as the UI's
    Run button does writes the digest file into the folder and stores it as the run's `digest` artifact."""
    with prefect_server.client() as client:
        deployment = client.read_deployment_by_name("digest/digest")
        run = wait_for_final(client, start_run(client, "digest/digest").id, served)
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["digest"])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])),
        )
    assert [(s.schedule.cron, s.active) for s in deployment.schedules] == [("0 6 * * *", True)]
    assert deployment.parameters["since"] == "7d" and deployment.parameters["folder"] == str(served.root / "digests")
    assert run.state.is_completed(), run.state.message
    (written,) = (served.root / "digests").glob("digest-*.md")
    assert [a.type for a in artifacts] == ["markdown"]
    assert artifacts[0].data == written.read_text(encoding="utf-8")  # the file is the artifact's Markdown
    assert artifacts[0].data.startswith("# mediamon digest, ")


# In the browser: the UI's custom-run form ------------------------------------------------------------------


def offline_context(chromium):
    """A browser context that refuses every request off 127.0.0.1 (the UI must work offline); the list of refused
    URLs fills as it goes."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    outside = []

    def refuse(route):
        outside.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(https?|wss?)://(?!127\.0\.0\.1[:/])"), refuse)
    return context, outside


def open_custom_run(context, prefect_server):
    page = context.new_page()
    page.goto(f"{prefect_server.ui_url}/deployments")
    page.get_by_role("link", name="backfill", exact=True).first.click()
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Custom run").click()
    return page


def form_field(page, name: str):
    label = page.locator(".schema-form-property__label", has_text=re.compile(rf"^{name}( \(Optional\))?$"))
    return page.locator(".schema-form-property").filter(has=label)


def fill_dates(page, days: dict[str, str]) -> None:
    for name, day in days.items():
        form_field(page, name).locator(".p-date-button__control").click()
        page.locator(".p-date-picker input[type=date]").fill(day)
        page.get_by_role("button", name="Apply").click()


def choose(page, name: str, option: str) -> None:
    """Pick an option of a select (an enum) or a multi-select (a list of enums); the select opens from the
    keyboard (a click only focuses it). On a loaded machine the list can take the click before it is ready, so
    the choice is checked on the field and tried again (an option already shown is never clicked: a second click
    on a multi-select's option would remove it)."""
    field = form_field(page, name)
    shown = field.locator(".p-select-button__value")
    for _ in range(3):
        if option in shown.inner_text().split(", "):
            return
        field.locator(".p-select-button__control").focus()
        page.keyboard.press("ArrowDown")
        page.get_by_role("option", name=option, exact=True).click()
        page.keyboard.press("Escape")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and option not in shown.inner_text().split(", "):
            page.wait_for_timeout(100)
    assert option in shown.inner_text().split(", "), f"{name}: {option!r} not chosen, shown {shown.inner_text()!r}"


def submit_and_follow(page, client: SyncPrefectClient, served: Served, prefect_server, shot: str):
    """Submit the form, find the run it started, and follow it on its page to a final state: (run, badge text)."""
    of_backfill = FlowRunFilter(
        deployment_id=FlowRunFilterDeploymentId(any_=[client.read_deployment_by_name("backfill/backfill").id])
    )
    earlier = {run.id for run in client.read_flow_runs(flow_run_filter=of_backfill)}
    page.wait_for_load_state("networkidle")  # the form's own requests (schema, validation) are done
    refused = []  # the API's error answers to the page, shown if the run never appears (the UI says only "Oops")
    page.on("response", lambda response: refused.append(response) if response.status >= 400 else None)
    page.get_by_role("button", name="Submit").click()
    clicks = 1

    def submitted():
        """The new runs. Prefect's SQLite database can be busy on a loaded machine: the API then answers 503
        ("Service Unavailable", nothing created) and the UI shows "Oops"; as a user would, submit again (twice
        at most)."""
        nonlocal clicks
        page.wait_for_timeout(50)  # the page's events (the API's answers) reach `refused` while Playwright runs
        runs = [run for run in client.read_flow_runs(flow_run_filter=of_backfill) if run.id not in earlier]
        busy = [r for r in refused if r.status == 503 and r.url.endswith("/create_flow_run")]
        if not runs and len(busy) == clicks < 3:
            page.get_by_role("button", name="Submit").click()
            clicks += 1
        return runs

    try:
        wait_until(submitted, served, "the run submitted in the UI")
    except AssertionError as waited:
        page.screenshot(path=str(ARTIFACTS / f"{shot}-submit-failed.png"))
        answers = "\n".join(f"{r.request.method} {r.url} -> {r.status}: {r.text()[:500]}" for r in refused)
        raise AssertionError(
            f"{waited}\nthe API refused:\n{answers or 'nothing'}\nthe page showed:\n"
            f"{page.locator('body').inner_text()[-1500:]}"
        ) from None
    (run,) = submitted()
    page.goto(f"{prefect_server.ui_url}/runs/flow-run/{run.id}")
    final_badge = ".state-badge.state--completed, .state-badge.state--failed, .state-badge.state--crashed"
    badge = page.locator(final_badge).first
    badge.wait_for(timeout=WAIT_SECONDS * 1000)  # the page follows the run as it goes
    return client.read_flow_run(run.id), badge.inner_text()


@pytest.mark.e2e
def test_backfill_from_the_ui_custom_run_form(chromium, ingested, served, prefect_server, fixture_site):
    a2 = fixture_site.url(fs.A2_PATH)
    fresh = article_version(served.db, a2)
    make_stale(served.db, a2)
    context, outside = offline_context(chromium)
    page = open_custom_run(context, prefect_server)
    fill_dates(page, MARCH)
    assert "reextract" in form_field(page, "mode").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "backfill-form.png"))
    with prefect_server.client() as client:
        run, shown = submit_and_follow(page, client, served, prefect_server, "backfill")
    context.close()
    assert shown == "Completed" and run.state.is_completed(), run.state.message
    assert run.parameters["start"] == "2022-03-01"
    assert run.parameters["end"] == "2022-03-10" and run.parameters["mode"] == "reextract"
    assert article_version(served.db, a2) == fresh
    assert backfill_row(served.db, run.id) == ("backfill", "completed", *MARCH.values(), "reextract")
    assert outside == []


HISTORY = {"start": "2022-03-05", "end": "2022-03-06"}


@pytest.mark.e2e
def test_history_backfill_from_the_ui_custom_run_form(chromium, served, prefect_server, news_site):
    """What an analyst does to get a story's past coverage: the history mode and the sitemaps archive chosen in
    the run form; the run reads the news site's date-partitioned sitemaps, and each day of the range is one task
    run, shown on the run's page."""
    context, outside = offline_context(chromium)
    page = open_custom_run(context, prefect_server)
    fill_dates(page, HISTORY)
    choose(page, "mode", "history")
    choose(page, "archives", "sitemaps")
    assert form_field(page, "mode").locator(".p-select-button__value").inner_text() == "history"
    assert form_field(page, "archives").locator(".p-select-button__value").inner_text() == "sitemaps"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "history-form.png"))
    with prefect_server.client() as client:
        run, shown = submit_and_follow(page, client, served, prefect_server, "history")
        page.get_by_text("Task Runs", exact=True).click()
        listed = page.locator(".task-run-list-item")
        listed.filter(has_text="history 2022-03-06").first.wait_for(timeout=WAIT_SECONDS * 1000)
        in_ui = sorted({text.split("\n")[0] for text in listed.all_inner_texts() if text.startswith("history ")})
        page.screenshot(path=str(ARTIFACTS / "history-task-runs.png"))
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run.id])),
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="history 2022-")),
        )
    context.close()
    assert shown == "Completed" and run.state.is_completed(), run.state.message
    assert run.parameters["mode"] == "history" and run.parameters["archives"] == ["sitemaps"]
    assert sorted((t.name, t.state.type.value) for t in task_runs) == [
        ("history 2022-03-05", "COMPLETED"),
        ("history 2022-03-06", "COMPLETED"),
    ]
    assert in_ui == ["history 2022-03-05", "history 2022-03-06"]
    with duckdb.connect(str(served.db), read_only=True) as conn:
        loaded = conn.execute(
            "SELECT a.source_uri, f.source_name FROM articles a JOIN fetches f ON f.url = a.source_uri "
            "WHERE a.run_id = ? ORDER BY 1",
            [str(run.id)],
        ).fetchall()
        finished = conn.execute("SELECT day, source_name, archive, found FROM history_days ORDER BY day").fetchall()
    # 05/3.html is published 23:30 at UTC-2 on the 5th: a day of the range all the same (the 6th in UTC)
    assert loaded == [
        (news_site.url(f"/2022/03/0{d}/{n}.html"), "archive-news") for d, n in ((5, 1), (5, 2), (5, 3), (6, 6))
    ]
    assert finished == [
        (date(2022, 3, 5), "archive-news", "sitemaps", 2),
        (date(2022, 3, 6), "archive-news", "sitemaps", 2),
    ]
    assert backfill_row(served.db, run.id) == ("backfill", "completed", *HISTORY.values(), "history")
    assert outside == []
