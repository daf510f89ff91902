"""Bad bytes become Rejects with stable reasons, never exceptions."""

from __future__ import annotations

import gzip
import os

import pytest

from extractors import ExtractOptions, Reject, extract_document
from extractors.decode import decode_bytes
from fetching.files import read_document

pytestmark = pytest.mark.pure

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
GOOD_TEXT = "A headline\n\nA paragraph about the Russian segment of the space station and its video.\n"


@pytest.mark.parametrize(
    "raw, kind, reason",
    [
        (b"", "text", "empty"),
        (b"   \n\t\n  ", "text", "empty"),
        (PNG, "text", "binary"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "html", "binary"),
        (("Caf\u00e9 ".encode() + b"\xc3\x28 \xff ") * 20, "text", "undecodable"),  # half its non-ASCII broken
        (b"\x1f\x8b\x08\x00garbage-not-deflate", "text", "bad_gzip"),
        (gzip.compress(GOOD_TEXT.encode(), mtime=0)[:-12], "text", "bad_gzip"),
        (b"Leave a Reply\n\nJoin the Discussion\n", "text", "no_text"),
    ],
    # Named: ids made of the bytes would change with gzip's time stamp, and pytest-xdist's workers must collect
    # the same tests.
    ids=["empty", "blank", "png", "pdf", "undecodable", "not-deflate", "truncated-gzip", "no-text"],
)
def test_extract_bad_input_rejects(raw, kind, reason):
    result = extract_document(raw, "file:///bad", kind)
    assert isinstance(result, Reject)
    assert result.reason == reason, result


def test_extract_over_size_limit_rejects():
    raw = (GOOD_TEXT * 100).encode()
    result = extract_document(raw, "file:///big.txt", "text", options=ExtractOptions(max_bytes=1000))
    assert result == Reject("too_large", "over the 1000-byte limit")


def test_extract_gzip_bomb_rejects_without_inflating_it():
    bomb = gzip.compress(b"<p>" + b"a" * 50_000_000)
    assert len(bomb) < 100_000
    result = extract_document(bomb, "file:///bomb.html.gz", "html", options=ExtractOptions(max_bytes=1_000_000))
    assert result.reason == "too_large"


def test_decode_latin_text_without_declaration():
    assert decode_bytes(
        "Le cosmonaute a ferm\u00e9 l'\u00e9coutille et quitt\u00e9 la station.".encode("cp1252")
    ).text == ("Le cosmonaute a ferm\u00e9 l'\u00e9coutille et quitt\u00e9 la station.")


def test_decode_utf16_with_bom():
    assert decode_bytes("МКС".encode("utf-16")).text == "МКС"


def test_extract_options_validate():
    with pytest.raises(ValueError, match="max_bytes"):
        ExtractOptions(max_bytes=0)


def test_read_document_reads_at_most_one_byte_past_the_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 5000)
    assert read_document(path, 1000) == b"x" * 1001
    assert read_document(path, 5000) == b"x" * 5000
    assert read_document(tmp_path / "missing.txt", 1000).reason == "unreadable"
    pipe = tmp_path / "pipe.txt"  # a FIFO is not read at all (9d9f38d): it could block the run
    os.mkfifo(pipe)
    assert read_document(pipe, 1000).reason == "unsupported_type"
