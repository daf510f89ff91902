"""Hostile inputs: one real `mediamon ingest` over 80-odd kinds of bad files and misbehaving servers, good articles
mixed in. The run completes, every bad item is one `rejects` row with a reason, every good item loads, and the
process's peak memory stays bounded."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from tests import fixture_site as fs
from tests.helpers.prefect_server import mediamon_env
from tests.hostile_corpus import BAD_LOC, JS_LINK, LINKED_ONLY, HostileServer, Kind, write_hostile_files

pytestmark = pytest.mark.e2e

MEDIAMON = Path(sys.executable).parent / "mediamon"
# The web kinds are served on 127.0.0.2, the one address the run allows: localhost and 127.0.0.1 stay refused.
HOST = "127.0.0.2"
# Documents are capped at 10 MB (the default). A seeds run peaks near 380 MB (Prefect's temporary server), this run
# near 520 MB; extracting a page at the cap costs up to about 500 MB more. Holding the 50 MB pages, the 256 MiB
# bombs inflated or a copy per item of the 100,000-item feed would go well past this.
# The run reports to the session's Prefect server: the peak is the ingest's own, with no temporary server in it.
MEMORY_BOUND_MB = 1024
SITE_KINDS = [
    Kind("drip-fed body", fs.DRIP_PATH, "reject:timeout"),
    Kind("redirect to localhost", fs.REDIRECT_TO_LOCALHOST_PATH, "reject:private_address"),
    Kind("redirect loop", fs.LOOP_A_PATH, "reject:too_many_redirects"),
    Kind("not found", fs.MISSING_PATH, "reject:http_404"),
    Kind("always 503", fs.ALWAYS_503_PATH, "reject:http_503"),
    Kind("robots.txt disallows", fs.PRIVATE_PATH, "reject:robots_disallowed"),
    Kind("PDF", fs.PDF_PATH, "reject:not_html"),
    Kind("sitemap index listing itself", fs.SITEMAP_SELF_PATH, "reject:sitemap_loop"),
    Kind("windows-1251 in <meta> only", fs.CP1251_PATH, "loaded"),
    *(Kind(path, path, "good") for path in fs.ARTICLE_PATHS),
]
SOURCES = """[[sources]]
name = "hostile-web"
kind = "urls"
location = "urls.txt"
allowed_networks = ["{host}/32"]
min_host_interval = 0.0
per_host_concurrency = 8
connect_timeout = 2.0
read_timeout = 2.0
total_timeout = 3.0
max_attempts = 2
backoff_base = 0.05
backoff_max = 0.2
"""


def run_measured(args: list[str], env: dict[str, str], log: Path, timeout: float) -> tuple[int, int]:
    """Exit code and peak RSS in MB of the process and the children it waited for (wait4's rusage)."""
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
        watchdog = threading.Timer(timeout, process.kill)  # a hang fails the test instead of stalling the suite
        watchdog.start()
        _, status, usage = os.wait4(process.pid, 0)
        watchdog.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss // 1024


def test_hostile_inputs_one_reject_each_good_items_load_memory_bounded(tmp_path, prefect_server):
    kinds = write_hostile_files(tmp_path)
    named = [tmp_path / k.location for k in kinds if "/" not in k.location]  # given by name, not in the folder
    expected = {(tmp_path / kind.location).absolute().as_uri(): kind for kind in kinds}  # keyed as found
    with fs.FixtureSite(HOST) as site, HostileServer(HOST) as server:
        for kind in SITE_KINDS:
            expected[site.url(kind.location)] = kind
        for kind in server.kinds:
            expected[server.base_url + kind.location] = kind
        listed = [url for url, kind in expected.items() if url.startswith("http") and kind.location not in LINKED_ONLY]
        port = server.server_address[1]
        listed.append(f"http://analyst:s3cret@{HOST}:{port}/g5.html")  # loads; the credentials are never stored
        bad_urls = [
            Kind("broken IPv6 bracket", "https://[::1", "reject:bad_url"),
            Kind("port out of range", f"http://{HOST}:99999/x", "reject:bad_url"),
            Kind("gopher URL", f"gopher://{HOST}:{port}/1", "reject:unsupported_scheme"),
            Kind("ftp URL", f"ftp://{HOST}:{port}/x", "reject:unsupported_scheme"),
        ]
        for kind in bad_urls:
            expected[kind.location] = kind
            listed.append(kind.location)
        expected[BAD_LOC] = Kind("malformed sitemap <loc>", BAD_LOC, "reject:bad_url")
        expected[JS_LINK] = Kind("javascript: feed link", JS_LINK, "reject:unsupported_scheme")
        (tmp_path / "urls.txt").write_text("\n".join(listed) + "\n")
        (tmp_path / "sources.toml").write_text(SOURCES.format(host=HOST))
        env = mediamon_env(prefect_server.api_url)
        db, log = tmp_path / "hostile.duckdb", tmp_path / "ingest.log"
        args = [str(MEDIAMON), "ingest", str(tmp_path / "corpus"), *map(str, named), "--db", str(db)]
        args += ["--source", "hostile-web", "--sources", str(tmp_path / "sources.toml")]
        code, peak_mb = run_measured(args, env, log, timeout=600)
    assert code == 0, log.read_text(errors="replace")[-3000:]
    output = log.read_text(errors="replace")
    # Rejects are logged as one line per batch, counted by reason, never one line per document.
    lines = [line for line in output.splitlines() if "ingest finished:" not in line]  # the run's summary counts
    reject_lines = [line for line in lines if "rejected" in line or "see the rejects table" in line]
    assert all(" rejected (" in line and "see the rejects table" in line for line in reject_lines), reject_lines[:5]
    assert 1 <= len(reject_lines) <= 10
    with duckdb.connect(str(db), read_only=True) as conn:
        articles = {row[0] for row in conn.execute("SELECT source_uri FROM articles").fetchall()}
        rejects: dict[str, list[tuple]] = {}
        for uri, stage, reason, detail in conn.execute(
            "SELECT source_uri, stage, reason, detail FROM rejects"
        ).fetchall():
            rejects.setdefault(uri, []).append((stage, reason, detail))
        statuses = conn.execute("SELECT status FROM runs").fetchall()
        stored = conn.execute(
            "SELECT count(*) FROM (SELECT url FROM articles UNION ALL SELECT source_uri FROM articles "
            "UNION ALL SELECT url FROM fetches UNION ALL SELECT source_uri FROM rejects) WHERE url LIKE '%s3cret%'"
        ).fetchone()[0]
    wrong = []
    for uri, kind in expected.items():
        got = [reason for _, reason, detail in rejects.get(uri, []) if detail]
        if kind.expected in ("loaded", "good"):
            ok = uri in articles and uri not in rejects
        elif kind.expected == "listing":
            ok = uri not in articles and uri not in rejects
        else:
            ok = uri not in articles and got == [kind.expected.removeprefix("reject:")] == [r[1] for r in rejects[uri]]
        if not ok:
            wrong.append((kind.name, kind.expected, "article" if uri in articles else rejects.get(uri)))
    hostile = [k for k in expected.values() if k.expected != "good"]
    outcomes = [k.expected.split(":")[0] for k in hostile]
    print(
        f"hostile kinds tried: {len(hostile)} ({outcomes.count('reject')} rejects, {outcomes.count('loaded')} loaded, "
        f"{outcomes.count('listing')} listings); peak RSS {peak_mb} MB"
    )
    assert wrong == [], wrong
    assert articles <= set(expected) and set(rejects) <= set(expected)  # nothing unexpected was loaded or rejected
    assert statuses == [("completed",), ("completed",)]
    assert stored == 0  # URL credentials are stripped before anything is stored
    assert len(hostile) >= 30
    assert peak_mb < MEMORY_BOUND_MB
