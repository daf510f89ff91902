"""The pipeline core turns a flow's parameters into a run's request (pipeline/ingest.py `ingest_request`,
pipeline/redo.py `plan_backfill` and `backfill_request`): the rules the flows and the CLI used to apply each on
their own, checked without Prefect."""

from __future__ import annotations

from datetime import date

import pytest

from config.settings import load_settings
from extractors import ExtractOptions
from fetching.fetch import FetchPolicy
from pipeline.backfill import BackfillError
from pipeline.ingest import ingest_request
from pipeline.redo import backfill_request, plan_backfill
from pipeline.sources import SourcesError
from similarity.monitors import QueryError
from warehouse.dedup import DedupSettings

pytestmark = pytest.mark.pure

SOURCES = """
[[sources]]
name = "wire"
kind = "feed"
location = "https://localhost/feed.xml"

[[sources]]
name = "maps"
kind = "sitemap"
location = "https://localhost/sitemap.xml"
"""


def ingest_parameters(**changes):
    return {
        "paths": ["seeds"],
        "urls": ["https://user:secret@localhost/feed.xml"],
        "url_lists": ["https://token@localhost/list.txt"],
        "batch_size": 50,
        "options": ExtractOptions(max_bytes=12_345),
        "policy": FetchPolicy(max_bytes=99_999_999),
        "dedup": DedupSettings(),
        "monitors": {"iss": "iss AND undocking"},
        **changes,
    }


def test_ingest_request_keeps_credentials_for_fetching_and_out_of_the_runs_row():
    request = ingest_request("w.duckdb", "run-1", **ingest_parameters(), extract_workers=2)
    assert request.urls == ["https://user:secret@localhost/feed.xml"]  # the fetch still needs them
    assert request.parameters == {
        "paths": ["seeds"],
        "urls": ["https://localhost/feed.xml"],
        "url_lists": ["https://localhost/list.txt"],
        "db": "w.duckdb",
        "source_name": None,
        "batch_size": 50,
        "extract_workers": 2,
    }
    assert "secret" not in repr(request.parameters) and "token" not in repr(request.parameters)


def test_ingest_request_fetches_nothing_larger_than_the_documents_limit():
    request = ingest_request("w.duckdb", "run-1", **ingest_parameters())
    assert request.policy.max_bytes == request.options.max_bytes == 12_345
    assert request.policy.user_agent == FetchPolicy().user_agent  # the rest of the policy is the one given


@pytest.mark.parametrize("query", ["iss AND", "(iss", "AND", ""])
def test_ingest_request_refuses_a_bad_monitor_query_before_the_run(query):
    with pytest.raises(QueryError):
        ingest_request("w.duckdb", "run-1", **ingest_parameters(monitors={"ok": "iss", "bad": query}))


def test_plan_backfill_reads_the_sources_file_only_when_it_needs_it(tmp_path):
    missing = tmp_path / "none.toml"
    days, known = plan_backfill(date(2022, 3, 1), date(2022, 3, 3), "reextract", [], missing, 10)
    assert days == [date(2022, 3, 1), date(2022, 3, 2), date(2022, 3, 3)] and known == {}
    with pytest.raises(SourcesError, match="no sources file"):
        plan_backfill(date(2022, 3, 1), date(2022, 3, 1), "history", [], missing, 10)
    with pytest.raises(SourcesError, match="no sources file"):
        plan_backfill(date(2022, 3, 1), date(2022, 3, 1), "refetch", ["wire"], missing, 10)
    (tmp_path / "sources.toml").write_text(SOURCES, encoding="utf-8")
    days, known = plan_backfill(date(2022, 3, 1), date(2022, 3, 1), "history", [], tmp_path / "sources.toml", 10)
    assert sorted(known) == ["maps", "wire"]


@pytest.mark.parametrize(
    "mode, sources, start, end, archives, message",
    [
        ("reextract", [], date(2022, 3, 1), date(2022, 3, 2), ["wayback"], "archives are for the history mode"),
        ("rededup", [], date(2022, 3, 1), date(2022, 3, 2), ["ccnews"], "archives are for the history mode"),
        ("reextract", [], date(2022, 3, 2), date(2022, 3, 1), [], "is before start"),
        ("reextract", [], date(2022, 3, 1), date(2022, 3, 20), [], "over the maximum of 10"),
        ("history", ["nope"], date(2022, 3, 1), date(2022, 3, 1), [], r"unknown source\(s\) nope"),
    ],
)
def test_plan_backfill_says_what_is_wrong(tmp_path, mode, sources, start, end, archives, message):
    (tmp_path / "sources.toml").write_text(SOURCES, encoding="utf-8")
    with pytest.raises(BackfillError, match=message):
        plan_backfill(start, end, mode, sources, tmp_path / "sources.toml", 10, archives)


def test_backfill_request_looks_up_history_only_for_history(tmp_path):
    sources_file = tmp_path / "sources.toml"
    sources_file.write_text(SOURCES, encoding="utf-8")
    common = {
        "start": date(2022, 3, 1),
        "end": date(2022, 3, 2),
        "sources": [],
        "sources_file": sources_file,
        "max_days": 10,
        "policy": FetchPolicy(),
        "dedup": DedupSettings(),
        "monitors": {},
        "force": True,
        "settings": load_settings(),
    }
    history = backfill_request("w.duckdb", "run-1", mode="history", archives=[], **common)
    assert sorted((t.source, t.archive) for t in history.targets) == [("maps", "sitemaps"), ("wire", "wayback")]
    assert history.parameters["archives"] == [] and history.parameters["force"] is True and history.force
    assert history.days == [date(2022, 3, 1), date(2022, 3, 2)]
    reextract = backfill_request("w.duckdb", "run-1", mode="reextract", archives=[], **common)
    assert reextract.targets == [] and "archives" not in reextract.parameters and "force" not in reextract.parameters
