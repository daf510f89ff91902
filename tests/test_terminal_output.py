"""What reaches an analyst's terminal: titles, URLs and snippets come from pages anyone writes, so control
characters (ANSI/OSC escape sequences, bidi overrides) never reach it raw."""

from __future__ import annotations

import dataclasses
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from extractors import extract_document
from extractors.display import printable
from mediamon.cli import write_relation
from warehouse.db import connect, open_writer
from warehouse.load import load_batch

MEDIAMON = Path(sys.executable).parent / "mediamon"
# An OSC title change, an ANSI screen clear, a C1 CSI, a bidi override and a BEL: what a hostile title carries.
HOSTILE = "Roscosmos\x1b]0;owned\x07 video\x1b[2J\x9b31m \u202eevil\u202c end"


@pytest.mark.pure
def test_printable_replaces_every_control_character_one_for_one():
    cleaned = printable(HOSTILE)
    assert len(cleaned) == len(HOSTILE)  # highlight offsets computed on the raw text still fit
    assert not any(ch in cleaned for ch in "\x1b\x07\x9b\u202e\u202c")
    assert cleaned.startswith("Roscosmos\ufffd]0;owned\ufffd video")


@pytest.mark.pure
def test_printable_keeps_text_and_line_breaks_where_asked():
    text = "Über die ISS — 国际空间站 👩‍🚀\nzweite Zeile\tmit Tab"
    assert printable(text, one_line=False) == text  # emoji joiners and scripts untouched
    assert printable(text) == text.replace("\n", " ").replace("\t", " ")


@pytest.fixture
def hostile_db(tmp_path) -> Path:
    db = tmp_path / "hostile.duckdb"
    page = (
        f"<html><head><title>{HOSTILE}</title></head><body><article><h1>{HOSTILE}</h1>"
        + "<p>The Russian segment of the station undocked in a Roscosmos video, analysts said.</p>" * 6
        + "</article></body></html>"
    ).encode()
    article = extract_document(page, "https://news.example/a", "html")
    # Whatever path brought them in (a plain-text file's first line, an older extractor, another tool writing
    # the warehouse), stored values may hold control characters: the output must not pass them on.
    article = dataclasses.replace(
        article, title=HOSTILE, source_uri="https://news.example/\x1b[31mred", text=article.text + " " + HOSTILE
    )
    with open_writer(db) as conn:
        load_batch(conn, [article], [], "run-1")
    return db


@pytest.mark.e2e
def test_search_output_has_no_control_characters(hostile_db):
    done = subprocess.run(
        [str(MEDIAMON), "search", "roscosmos video", "--db", str(hostile_db)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Roscosmos" in done.stdout and "video" in done.stdout
    assert not any(ch in done.stdout for ch in "\x1b\x07\x9b\u202e"), repr(done.stdout)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.warehouse
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_sql_on_a_terminal_replaces_controls_but_a_pipe_gets_the_exact_values(hostile_db, fmt):
    with connect(hostile_db, read_only=True, wait_seconds=5) as conn:
        terminal, pipe = _Terminal(), io.StringIO()
        write_relation(conn.sql("SELECT title FROM articles"), fmt, terminal)
        write_relation(conn.sql("SELECT title FROM articles"), fmt, pipe)
    assert not any(ch in terminal.getvalue() for ch in "\x1b\x07\x9b\u202e")
    if fmt == "json":
        assert json.loads(pipe.getvalue())[0]["title"].startswith("Roscosmos\x1b]0;owned\x07")
    else:
        assert "\x1b]0;owned\x07" in pipe.getvalue()
