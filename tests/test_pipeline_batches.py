"""The pipeline core's rules without Prefect or DuckDB: change detection on fetched pages and files (the fixture
site on 127.0.0.1 and real files), and the bounded in-flight loop."""

from __future__ import annotations

import dataclasses
import gzip
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from extractors import EXTRACTOR_VERSION, ExtractOptions
from extractors.listings import Link
from extractors.records import sha256_hex
from fetching.fetch import FetchPolicy
from fetching.files import discover_documents
from pipeline.batches import WarehouseState, extract_fetched, extract_files
from pipeline.runs import Done, call_now, load_in_order
from pipeline.web import fetch_pages
from tests import fixture_site as fs

pytestmark = pytest.mark.pure

POLICY = FetchPolicy(allowed_networks=("127.0.0.1/32",), min_host_interval=0.0, backoff_base=0.01)
OPTIONS = ExtractOptions()


def fetched(site, *paths, state=None):
    links = [Link(site.url(path)) for path in paths]
    return links, fetch_pages(links, {}, state or WarehouseState(), POLICY)


def test_extract_fetched_page_is_an_article_with_its_body_stored_gzipped(fixture_site):
    links, results = fetched(fixture_site, fs.A1_PATH)
    batch = extract_fetched(links, results, WarehouseState(), "site", OPTIONS)
    assert [a.source_uri for a in batch.articles] == [results[0].final_url] and batch.rejects == []
    (record,) = batch.fetches
    assert gzip.decompress(record.body_gzip) == results[0].body and record.body_bytes == len(results[0].body)
    assert record.raw_sha256 == sha256_hex(results[0].body) and record.source_name == "site"
    again = extract_fetched(links, results, WarehouseState(), "site", OPTIONS)
    assert again.fetches[0].body_gzip == record.body_gzip  # mtime 0: equal bodies, equal stored bytes


def test_extract_fetched_not_html_is_a_fetch_reject(fixture_site):
    links, results = fetched(fixture_site, fs.A2_PATH)
    headers = {**results[0].headers, "content-type": "application/xml; charset=utf-8"}
    as_xml = [dataclasses.replace(results[0], headers=headers)]  # as a prefetched listing page can be
    batch = extract_fetched(links, as_xml, WarehouseState(), None, OPTIONS)
    assert batch.articles == [] and batch.fetches == [] and batch.unchanged == 0
    (reject,) = batch.rejects
    assert (reject.stage, reject.reject.reason) == ("fetch", "not_html")
    assert "application/xml" in reject.reject.detail


def test_extract_fetched_failed_fetch_is_a_reject_keyed_by_the_link(fixture_site):
    links, results = fetched(fixture_site, fs.MISSING_PATH, fs.PDF_PATH)
    batch = extract_fetched(links, results, WarehouseState(), None, OPTIONS)
    assert [(r.source_uri, r.stage) for r in batch.rejects] == [(link.url, "fetch") for link in links]
    assert batch.rejects[1].reject.reason == "not_html"


def test_extract_fetched_304_is_unchanged_without_extraction(fixture_site):
    links, first = fetched(fixture_site, fs.ETAG_PATH)
    stored = {links[0].url: (first[0].etag, first[0].last_modified, sha256_hex(first[0].body))}
    state = WarehouseState(fetches=stored)
    _, second = fetched(fixture_site, fs.ETAG_PATH, state=state)
    assert second[0].not_modified
    batch = extract_fetched(links, second, state, None, OPTIONS)
    assert (batch.unchanged, batch.articles, batch.rejects, batch.fetches) == (1, [], [], [])


def test_extract_fetched_unchanged_body_is_unchanged_and_not_stored_again(fixture_site):
    links, results = fetched(fixture_site, fs.A3_PATH)
    body, url = results[0].body, results[0].final_url
    state = WarehouseState(
        documents={url: (sha256_hex(body), EXTRACTOR_VERSION)},
        fetches={links[0].url: (results[0].etag, results[0].last_modified, sha256_hex(body))},
    )
    batch = extract_fetched(links, results, state, None, OPTIONS)
    assert (batch.unchanged, batch.articles, batch.rejects, batch.fetches) == (1, [], [], [])
    older_extractor = WarehouseState(documents={url: (sha256_hex(body), "0.0")}, fetches=state.fetches)
    assert len(extract_fetched(links, results, older_extractor, None, OPTIONS).articles) == 1


def test_extract_files_bad_file_is_a_reject_and_the_batch_goes_on(tmp_path, seed_paths):
    (tmp_path / "good.txt").write_bytes(seed_paths[0].read_bytes())
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02PNG" * 50)
    (tmp_path / "empty.txt").write_bytes(b"")
    files, missing = discover_documents([str(tmp_path)])
    batch = extract_files(files, WarehouseState(), OPTIONS)
    assert missing == [] and [a.source_uri.rsplit("/", 1)[1] for a in batch.articles] == ["good.txt"]
    assert sorted((r.source_uri.rsplit("/", 1)[1], r.reject.reason) for r in batch.rejects) == [
        ("binary.txt", "binary"),
        ("empty.txt", "empty"),
    ]
    good = next(f for f in files if f.path.name == "good.txt")
    known = WarehouseState(documents={good.uri: (sha256_hex(seed_paths[0].read_bytes()), EXTRACTOR_VERSION)})
    assert extract_files([good], known, OPTIONS).unchanged == 1


@pytest.mark.parametrize("max_pending", [1, 2, 3])
def test_load_in_order_loads_in_order_and_never_holds_more_than_max_pending(max_pending):
    lock, started, loaded, most = threading.Lock(), [], [], [0]

    def step(item: int) -> int:
        time.sleep(0.002 * (10 - item))  # later items finish first
        return item * item

    def start(item: int):
        with lock:
            started.append(item)
            most[0] = max(most[0], len(started) - len(loaded))
        return pool.submit(step, item)

    with ThreadPoolExecutor(4) as pool:
        load_in_order(range(10), start, lambda item, result: loaded.append((item, result)), max_pending)
    assert loaded == [(i, i * i) for i in range(10)]
    assert most[0] == max_pending


def test_load_in_order_with_direct_calls_runs_each_step_before_the_next():
    events = []

    def start(item):
        events.append(f"start {item}")
        return call_now(lambda x: x + 1, item)

    load_in_order([1, 2], start, lambda item, result: events.append(f"load {item}={result}"), 1)
    assert events == ["start 1", "load 1=2", "start 2", "load 2=3"]
    assert Done(3).result() == 3


def test_load_in_order_refuses_no_room_and_stops_on_a_failing_step():
    with pytest.raises(ValueError, match="max_pending"):
        load_in_order([1], lambda item: Done(item), lambda item, result: None, 0)
    loaded = []

    def start(item):
        if item == 2:
            raise RuntimeError("step 2 broke")
        return Done(item)

    with pytest.raises(RuntimeError, match="step 2"):
        load_in_order([1, 2, 3], start, lambda item, result: loaded.append(item), 1)
    assert loaded == [1]
