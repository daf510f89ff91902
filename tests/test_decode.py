"""Bytes to text: broken UTF-8, legacy pages, wide encodings without a BOM, impossible labels, gzip members."""

from __future__ import annotations

import gzip

import pytest

from extractors import Article, Reject, extract_document
from extractors.decode import Decoded, decode_bytes, describe_binary, gunzip_capped, sniff_wide_encoding
from extractors.listings import parse_sitemap

pytestmark = pytest.mark.pure

FRENCH = "Voilà le café à la française, déjà très réputé, où l'on mange bien."
PORTUGUESE = "As informações não são públicas, disse o ministério à imprensa na terça-feira."
GERMAN = "Der Müßiggang über die Straße ist größer als gedacht, sagte Jürgen am Montag."
RUSSIAN = "Телестудия Роскосмоса опубликовала ролик, в котором космонавты прощаются с коллегами на станции."
STATION = "The station crew reported that the cargo ship docked on schedule and the hatches were opened on day {}."


def page(body: str, head: str = "") -> str:
    paragraphs = "".join(f"<p>{STATION.format(n)}</p>" for n in range(6))
    return (
        f"<html><head><title>Cargo ship docks</title>{head}</head>"
        f"<body><article><h1>Cargo ship docks</h1>{paragraphs}<p>{body}</p></article></body></html>"
    )


def test_decode_bytes_mostly_utf8_replaces_bad_bytes():
    raw = ("Caf\u00e9 r\u00e9sum\u00e9 na\u00efve. ".encode() * 10).replace(b"na", b"n\xffa", 2) + b"end \xc3\x28 here"
    decoded = decode_bytes(raw)
    assert decoded == Decoded(raw.decode("utf-8", "replace"), "utf-8", replaced_bytes=3)
    assert decoded.text.count("\ufffd") == 3 and "r\u00e9sum\u00e9" in decoded.text


def test_decode_bytes_a_few_stray_bytes_in_a_long_page_are_replaced():
    raw = ("Plain ASCII prose about the station. " * 200 + "One \u2019 quote.").encode() + b" \xa0\xa0 end"
    decoded = decode_bytes(raw)
    assert decoded.encoding == "utf-8" and decoded.replaced_bytes == 2


def test_decode_bytes_broken_utf8_garbage_stays_undecodable():
    result = decode_bytes(("Caf\u00e9 ".encode() + b"\xc3\x28 \xff ") * 20)
    assert isinstance(result, Reject) and result.reason == "undecodable"
    assert "40 bad bytes" in result.detail


def test_extract_document_counts_replaced_bytes():
    raw = page("Ca marche tr\u00e8s bien, m\u00eame \u00e0 bord.").encode().replace(b"day 1", b"d\xffy 1")
    article = extract_document(raw, "file:///broken.html", "html")
    assert isinstance(article, Article), article
    assert article.replaced_bytes == 1 and "d\ufffdy 1" in article.text
    clean = extract_document(page("Fine.").encode(), "file:///clean.html", "html")
    assert clean.replaced_bytes == 0


@pytest.mark.parametrize("text", [FRENCH, PORTUGUESE, GERMAN])
@pytest.mark.parametrize("declared", [None, "utf-8"])
def test_decode_bytes_isolated_high_bytes_read_as_cp1252(text, declared):
    decoded = decode_bytes(((text + " ") * 4).encode("cp1252"), declared)
    assert decoded == Decoded((text + " ") * 4, "cp1252")


def test_extract_html_cp1252_under_utf8_meta_is_not_mojibake():
    raw = page(FRENCH, '<meta charset="utf-8">').encode("cp1252")
    article = extract_document(raw, "file:///fr.html", "html")
    assert FRENCH in article.text and "\u0155" not in article.text  # "ŕ": windows-1250's reading of "à"
    assert article.replaced_bytes == 0


def test_decode_bytes_utf8_with_a_few_cp1252_bytes_is_not_read_as_cp1252():
    raw = (FRENCH + " ").encode() * 10 + "d\u00e9j\u00e0".encode("cp1252")
    decoded = decode_bytes(raw)
    assert decoded.encoding == "utf-8" and decoded.replaced_bytes == 2
    assert decoded.text.startswith(FRENCH)


def test_decode_bytes_undeclared_cyrillic_is_not_read_as_cp1252():
    raw = ((RUSSIAN + "\n") * 20).encode("cp1251")
    assert decode_bytes(raw).text == (RUSSIAN + "\n") * 20


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("text", [page("English"), page(RUSSIAN), RUSSIAN * 20])
def test_decode_bytes_wide_encodings_without_bom(encoding, text):
    raw = text.encode(encoding)
    assert describe_binary(raw) is None
    assert sniff_wide_encoding(raw) == encoding
    assert decode_bytes(raw, html=True) == Decoded(text, encoding)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-32-be"])
def test_extract_html_wide_encoding_without_bom_loads(encoding):
    article = extract_document(page(RUSSIAN).encode(encoding), "file:///wide.html", "html")
    assert isinstance(article, Article), article
    assert RUSSIAN in article.text and article.title == "Cargo ship docks"


def test_sniff_wide_encoding_scattered_nuls_are_not_utf16():
    text = page("English")
    assert sniff_wide_encoding(text.replace(" ", "\x00 ").encode()) is None
    assert sniff_wide_encoding(bytes(range(256)) * 20) is None
    assert describe_binary(text.replace(" ", "\x00 ").encode())


@pytest.mark.parametrize("label", ["utf-16", "UTF-16LE", "utf-16be", "utf-32", "utf-7"])
@pytest.mark.parametrize("pad", ["", " "])  # even and odd lengths: an even one decoded as UTF-16 before
def test_extract_html_ignores_impossible_wide_meta_charset(label, pad):
    raw = page("Caf\u00e9 cr\u00e8me" + pad, f'<meta charset="{label}">').encode()
    article = extract_document(raw, "file:///meta.html", "html")
    assert isinstance(article, Article), article
    assert "Caf\u00e9 cr\u00e8me" in article.text


def test_extract_html_ignores_impossible_wide_declared_charset():
    raw = page("Ascii only" + " " * (len(page("x")) % 2)).encode()
    article = extract_document(raw, "https://example.test/a", "html", declared_charset="utf-16")
    assert isinstance(article, Article) and "docked on schedule" in article.text


@pytest.mark.parametrize("bom", [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"])
@pytest.mark.parametrize("kind", ["text", "html"])
def test_extract_document_only_a_bom_is_empty(bom, kind):
    assert extract_document(bom, "file:///bom", kind) == Reject("empty", "only a byte-order mark")


@pytest.mark.parametrize(
    "text",
    [
        "\U0001f600\U0001f389\U0001f44d \u203c",
        "... !!! --- ???",
        "\u2605\u2605\u2605 \u2192 \u00a9 \u2122",
        "\u3002\u3001",
    ],
)
@pytest.mark.parametrize("kind", ["text", "html"])
def test_extract_document_no_words_is_no_text(text, kind):
    raw = f"<html><body><article><p>{text}</p></article></body></html>" if kind == "html" else text
    result = extract_document(raw.encode(), f"file:///symbols.{kind}", kind)
    assert isinstance(result, Reject) and result.reason == "no_text", result


def test_decode_bytes_utf8_bom_with_a_few_bad_bytes_is_replaced():
    decoded = decode_bytes(b"\xef\xbb\xbf" + (FRENCH + " ").encode() * 5 + b"\xff")
    assert decoded.replaced_bytes == 1 and decoded.text.startswith(FRENCH)


def test_gunzip_capped_reads_every_member():
    first, second = b"first member\n" * 100, b"second member\n" * 100
    assert gunzip_capped(gzip.compress(first) + gzip.compress(second), 10_000) == first + second
    assert gunzip_capped(gzip.compress(first) + gzip.compress(b"") + gzip.compress(second), 10_000) == first + second
    assert gunzip_capped(gzip.compress(first) + b"\x00" * 512, 10_000) == first  # zero padding after the last


def test_gunzip_capped_caps_all_members_together():
    member = gzip.compress(b"a" * 600)
    assert gunzip_capped(member * 2, 1200) == b"a" * 1200
    result = gunzip_capped(member * 3, 1200)
    assert result == Reject("too_large", "decompresses to over 1200 bytes")


def test_gunzip_capped_truncated_member_is_bad_gzip():
    member = gzip.compress(b"text\n" * 1000)
    assert gunzip_capped(member + member[:-8], 100_000).reason == "bad_gzip"
    assert gunzip_capped(member + b"\x1f\x8b\x08\x00garbage", 100_000).reason == "bad_gzip"


def test_gunzip_capped_many_tiny_members_stay_linear():
    members = gzip.compress(b"x", mtime=0) * 50_000  # 1 MB of 21-byte members
    assert gunzip_capped(members, 100_000) == b"x" * 50_000


def test_extract_document_multi_member_gz_keeps_every_member():
    first = "Station report\n\nThe first member describes the cargo ship approaching the station.\n"
    second = "The second member describes the hatches opening after the docking.\n"
    raw = gzip.compress(first.encode()) + gzip.compress(second.encode())
    article = extract_document(raw, "file:///two.txt.gz", "text")
    assert "approaching the station" in article.text and "hatches opening" in article.text


def test_parse_sitemap_reads_every_gzip_member():
    def urlset(urls):
        locs = "".join(f"<url><loc>https://example.test/{u}</loc></url>" for u in urls)
        return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}'.encode()

    body = gzip.compress(urlset(["a", "b"])) + gzip.compress(b"<url><loc>https://example.test/c</loc></url></urlset>")
    listing = parse_sitemap(body, 100_000)
    assert [link.url for link in listing.links] == [f"https://example.test/{u}" for u in "abc"]
