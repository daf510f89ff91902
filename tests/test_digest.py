"""The digest: new stories per monitor with their first article, pickups, outlets and new embedded media, from a
fixture warehouse (compared with tests/fixtures/digest/expected.md), as Markdown and well-formed HTML, from the
command line, and as the `digest` flow's artifact and file; its `[digest]` table in the sources file."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mediamon.cli import main
from pipeline.digest import Digest, MonitorDigest, load_digest, parse_since, render_html, render_markdown
from pipeline.sources import DigestSchedule, SourcesError, load_digest_schedule
from tests.helpers.digest_warehouse import FIXTURES, SINCE, UNTIL, build_digest_warehouse
from warehouse.db import open_writer
from warehouse.digest import DigestError, DigestStory

EXPECTED = FIXTURES / "digest" / "expected.md"


@pytest.fixture(scope="module")
def digest_db(tmp_path_factory) -> Path:
    return build_digest_warehouse(tmp_path_factory.mktemp("digest"))


@pytest.mark.pure
@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("24h", timedelta(hours=24)),
        ("90m", timedelta(minutes=90)),
        (" 7d", timedelta(days=7)),
        ("2W", timedelta(weeks=2)),
    ],
)
def test_parse_since_periods(text, period):
    assert parse_since(text) == period


@pytest.mark.pure
@pytest.mark.parametrize("text", ["", "0h", "24", "yesterday", "1y", "-3h"])
def test_parse_since_refuses_what_it_cannot_read(text):
    with pytest.raises(DigestError, match="expected a period"):
        parse_since(text)


@pytest.mark.pure
def test_render_escapes_titles_and_says_when_nothing_is_new():
    story = DigestStory(
        "m",
        "s",
        "A [link](javascript:x) *and* <b>",
        "https://a.example/1?x=1&y=<2>",
        "a.example",
        datetime(2022, 3, 30, 8),
        3,
        1,
        ["a.example"],
    )
    digest = Digest(SINCE, UNTIL, [MonitorDigest("m", [story]), MonitorDigest("quiet")])
    markdown = render_markdown(digest)
    assert r"**[A \[link\](javascript:x) \*and\* \<b\>](<https://a.example/1?x=1&y=%3C2%3E>)**" in markdown
    assert "## quiet: 0 new stories, 0 new articles\n\nNothing new." in markdown
    page = render_html(digest)
    ET.fromstring(page.removeprefix("<!DOCTYPE html>\n"))
    assert "A [link](javascript:x) *and* &lt;b&gt;" in page and 'href="https://a.example/1?x=1&amp;y=&lt;2&gt;"' in page


@pytest.mark.warehouse
def test_digest_of_the_fixture_warehouse_is_the_expected_markdown(digest_db):
    """Story 3 was first matched before the period: left out; the video's two articles: one story, one item."""
    assert render_markdown(load_digest(str(digest_db), [], SINCE, UNTIL)) == EXPECTED.read_text(encoding="utf-8")


@pytest.mark.warehouse
def test_digest_html_is_well_formed_with_the_same_stories(digest_db):
    digest = load_digest(str(digest_db), [], SINCE, UNTIL)
    root = ET.fromstring(render_html(digest).removeprefix("<!DOCTYPE html>\n"))
    links = [a.get("href") for a in root.iter("a")]
    stories = [s.link for m in digest.monitors for s in m.stories]
    media = [item.url for m in digest.monitors for item in m.media]
    assert sorted(links) == sorted(stories + media) and len(media) == 1
    assert [h.text.split(":")[0] for h in root.iter("h2")] == ["roscosmos-clip", "roscosmos-iss-video"]


@pytest.mark.warehouse
def test_digest_command_filters_monitors_and_writes_files(digest_db, tmp_path, capsys):
    """From the command line the period ends now: the copy's matches are moved to an hour ago (story 3's to three
    days ago)."""
    db = tmp_path / "copy.duckdb"
    shutil.copy(digest_db, db)
    now = datetime.now(UTC).replace(tzinfo=None)
    with open_writer(db) as conn:
        conn.execute(
            "UPDATE monitor_first_matches SET matched_at = matched_at + (? - TIMESTAMP '2026-01-01 11:00')", [now]
        )
    assert main(["digest", "--db", str(db), "--since", "24h", "--monitor", "roscosmos-clip"]) == 0
    out = capsys.readouterr().out
    assert "## roscosmos-clip: 1 new story, 2 new articles" in out and "roscosmos-iss-video" not in out
    assert (
        main(["digest", "--db", str(db), "--since", "7d", "--format", "html", "--output", str(tmp_path / "d.html")])
        == 0
    )
    assert capsys.readouterr().out == f"wrote {tmp_path / 'd.html'}\n"
    page = (tmp_path / "d.html").read_text(encoding="utf-8")
    assert "Bulletin 3" in page and "roscosmos-iss-video: 3 new stories, 3 new articles" in page
    assert main(["digest", "--db", str(db), "--monitor", "nope"]) == 1
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1 and "no monitor nope in the warehouse; known: roscosmos-clip, roscosmos-iss-video" in err
    )
    assert main(["digest", "--db", str(db), "--since", "soon"]) == 1
    assert "--since 'soon'" in capsys.readouterr().err


@pytest.mark.pure
def test_digest_schedule_from_the_sources_file(tmp_path):
    path = tmp_path / "sources.toml"
    path.write_text('[digest]\nschedule = "0 7 * * *"\nsince = "24h"\nmonitors = ["m"]\nformat = "html"\n')
    assert load_digest_schedule(path) == DigestSchedule("0 7 * * *", "24h", ("m",), "html", "data/digests")
    assert load_digest_schedule(tmp_path / "none.toml") is None
    path.write_text("[[sources]]\nname = 'a'\nkind = 'page'\nlocation = 'https://a.example/'\n")
    assert load_digest_schedule(path) is None
    for table, message in (
        ("since = 'soon'", "expected a period"),
        ("format = 'pdf'", "markdown or html"),
        ("every = '1h'", "unknown settings every"),
    ):
        path.write_text(f"[digest]\n{table}\n")
        with pytest.raises(SourcesError, match=message):
            load_digest_schedule(path)


@pytest.mark.pure
def test_digest_deployment_from_the_sources_files_schedule(tmp_path):
    from config.settings import Settings
    from flows.serve import build_deployments

    settings = Settings(db=tmp_path / "w.duckdb", sources=tmp_path / "sources.toml")
    config = DigestSchedule("0 7 * * *", "12h", ("m",), "markdown", str(tmp_path / "digests"))
    deployments = build_deployments({}, settings, {}, config)
    assert [(d.flow_name, d.name) for d in deployments][-1] == ("digest", "digest")
    digest = deployments[-1]
    assert digest.schedules[0].schedule.cron == "0 7 * * *"
    assert digest.parameters == {
        "db": str(settings.db.absolute()),
        "since": "12h",
        "monitors": ["m"],
        "format": "markdown",
        "folder": str(tmp_path / "digests"),
    }
    assert build_deployments({}, settings, {}, DigestSchedule())[-1].schedules in (None, [])
    assert [d.name for d in build_deployments({}, settings, {})] == ["ad-hoc", "backfill"]


@pytest.mark.flows
def test_digest_flow_stores_the_artifact_and_the_file(prefect_harness, digest_db, tmp_path):
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    from flows.digest import digest

    state = digest(db=str(digest_db), since="520w", folder=str(tmp_path / "digests"), return_state=True)
    assert state.is_completed()
    written = Path(state.result())
    assert written.parent == tmp_path / "digests" and written.name.startswith("digest-") and written.suffix == ".md"
    with prefect_harness.client() as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[state.state_details.flow_run_id]))
        )
    (artifact,) = [a for a in found if a.key == "digest"]
    assert artifact.type == "markdown" and artifact.data == written.read_text(encoding="utf-8")
    assert "## roscosmos-iss-video: 3 new stories, 3 new articles" in artifact.data
