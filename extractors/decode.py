"""Bytes to str: binary sniffing, gzip with a size cap, and charset resolution."""

from __future__ import annotations

import codecs
import re
import zlib
from dataclasses import dataclass

import charset_normalizer

from extractors.records import Reject

_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "PNG image",
    b"%PDF-": "PDF document",
    b"\xff\xd8\xff": "JPEG image",
    b"GIF87a": "GIF image",
    b"GIF89a": "GIF image",
    b"PK\x03\x04": "ZIP archive",
    b"\x7fELF": "ELF executable",
    b"RIFF": "RIFF media",
    b"OggS": "Ogg media",
    b"\x00\x00\x01\x00": "icon",
    b"wOFF": "web font",
}
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"
_C0_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_HIGH_BYTES = bytes(range(128, 256))
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # an invalid byte under errors="surrogateescape"
GZIP_MAGIC = b"\x1f\x8b"
GZIP_CHUNK = 1 << 16  # input fed to the inflater per call: a member's leftover input is never copied whole
SNIFF_BYTES = 4096
# Mostly-UTF-8 text is read with U+FFFD for its bad bytes when at least this share of its non-ASCII bytes
# form valid sequences, or when the bad bytes are stray: at most STRAY_BYTES, or this share of the document.
UTF8_VALID_SHARE = 0.9
STRAY_BYTES = 4
STRAY_BYTES_SHARE = 0.001
# Legacy 8-bit text read as windows-1252: its high bytes stand alone (runs of this mean length at most),
# as accented letters do in Western European text (Cyrillic or Greek text has whole words of them).
ISOLATED_MEAN_RUN = 1.5


@dataclass(frozen=True)
class Decoded:
    """Text read from bytes, the codec that read it, and how many bytes became U+FFFD."""

    text: str
    encoding: str
    replaced_bytes: int = 0


def describe_binary(raw: bytes) -> str | None:
    """Name the binary format of `raw`, or None when it looks like text."""
    if raw.startswith(tuple(bom for bom, _ in _BOMS)) or sniff_wide_encoding(raw):
        return None
    for magic, name in _MAGIC.items():
        if raw.startswith(magic):
            return name
    head = raw[:8192]
    control = sum(head.count(bytes([b])) for b in _CONTROL_BYTES)
    if control > max(2, len(head) // 100):
        return f"{control} control bytes in the first {len(head)}"
    return None


def sniff_wide_encoding(raw: bytes) -> str | None:
    """UTF-32 or UTF-16 without a BOM, told by where the NUL bytes fall, else None.

    Text in the Latin range has three NULs in every four bytes in UTF-32 and one in every two in
    UTF-16 (other alphabets: at each space and punctuation mark), always on the same side of each
    character; NULs scattered in 8-bit text fall on both sides.
    """
    head = raw[: SNIFF_BYTES - SNIFF_BYTES % 4]
    head = head[: len(head) - len(head) % 2]
    if len(head) < 4 or head.count(0) < len(head) // 40:
        return None
    quarters = [head[i::4].count(0) / max(1, len(head[i::4])) for i in range(4)]
    even, odd = (quarters[0] + quarters[2]) / 2, (quarters[1] + quarters[3]) / 2
    if len(head) % 4 == 0 and min(quarters[2], quarters[3]) > 0.9 and quarters[0] < 0.05:
        candidate = "utf-32-le"
    elif len(head) % 4 == 0 and min(quarters[0], quarters[1]) > 0.9 and quarters[3] < 0.05:
        candidate = "utf-32-be"
    elif odd >= 0.05 and even < 0.005:  # 0.05: Cyrillic or Greek text, whose NULs are its spaces
        candidate = "utf-16-le"
    elif even >= 0.05 and odd < 0.005:
        candidate = "utf-16-be"
    else:
        return None
    try:
        sample = codecs.getincrementaldecoder(candidate)().decode(head, final=False)
    except UnicodeDecodeError:
        return None
    return candidate if len(_C0_CONTROLS.findall(sample)) <= len(sample) // 100 else None


def gunzip_capped(raw: bytes, max_bytes: int) -> bytes | Reject:
    """Decompress every gzip member (`cat a.gz b.gz` is one valid stream), never holding more than
    `max_bytes` of output (bombs are rejects). Zero padding or other bytes after the last member are
    ignored, as gzip(1) does."""
    out = bytearray()
    view = memoryview(raw)
    pos, pending, members = 0, b"", 1
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    while True:
        if not pending:
            if pos >= len(raw):
                break
            pending, pos = view[pos : pos + GZIP_CHUNK], pos + GZIP_CHUNK
        try:
            out += inflater.decompress(pending, max_bytes + 1 - len(out))
        except zlib.error as exc:
            return Reject("bad_gzip", f"member {members}: {exc}")
        if len(out) > max_bytes:
            return Reject("too_large", f"decompresses to over {max_bytes} bytes")
        if not inflater.eof:
            pending = inflater.unconsumed_tail  # empty: the output cap was not reached
            continue
        pending = inflater.unused_data
        if len(pending) < 2 and pos < len(raw):
            pending, pos = pending + view[pos : pos + GZIP_CHUNK], pos + GZIP_CHUNK
        if not pending.startswith(GZIP_MAGIC):
            return bytes(out)
        inflater, members = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS), members + 1
    return Reject("bad_gzip", "truncated gzip stream" + (f" (member {members})" if members > 1 else ""))


def find_meta_charset(raw: bytes) -> str | None:
    match = _META_CHARSET.search(raw[:16384])
    return match.group(1).decode("ascii", "replace") if match else None


def decode_bytes(raw: bytes, declared: str | None = None, html: bool = False) -> Decoded | Reject:
    """Decode by BOM, the NUL pattern of BOM-less UTF-16/32, the declared charset, `<meta charset>`,
    then UTF-8 (a few bad bytes read as U+FFFD; undeclared Western legacy bytes as windows-1252), then
    detection. Mostly-UTF-8 bytes with many broken sequences are rejected rather than guessed."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            if encoding == "utf-8-sig":
                return _decode_utf8(raw[len(bom) :])
            text = _decode_strict(raw, encoding)
            return (
                Decoded(text, encoding) if text is not None else Reject("undecodable", f"invalid {encoding} after BOM")
            )
    wide = sniff_wide_encoding(raw)
    if wide:
        text = _decode_strict(raw, wide)
        return Decoded(text, wide) if text is not None else Reject("undecodable", f"invalid {wide} (no BOM)")
    labels = [declared, find_meta_charset(raw) if html else None]
    for encoding in filter(None, map(_usable_codec, labels)):
        text = _decode_strict(raw, encoding)
        if text is not None:
            return Decoded(text, encoding)
    return _decode_utf8(raw)  # declared UTF-8 that is not valid is read like undeclared bytes


def _decode_utf8(raw: bytes) -> Decoded | Reject:
    text = _decode_strict(raw, "utf-8")
    if text is not None:
        return Decoded(text, "utf-8")
    escaped = raw.decode("utf-8", errors="surrogateescape")
    invalid = len(_ESCAPED_BYTE.findall(escaped))
    valid_bytes = len(raw) - len(raw.translate(None, _HIGH_BYTES)) - invalid
    valid_chars = len(escaped) - len(escaped.encode("ascii", "ignore")) - invalid
    if valid_chars * 20 <= invalid:  # no real UTF-8 sequence (a few by accident): a legacy charset
        if _high_bytes_isolated(raw):
            text = _decode_strict(raw, "cp1252")  # what browsers read undeclared Western pages as
            if text is not None:
                return Decoded(text, "cp1252")
        best = charset_normalizer.from_bytes(raw).best()
        if best is None or best.encoding is None:
            return Reject("undecodable", "no charset declared and none detected")
        return Decoded(str(best), best.encoding)
    stray = invalid <= max(STRAY_BYTES, STRAY_BYTES_SHARE * len(raw))
    if stray or valid_bytes >= UTF8_VALID_SHARE * (valid_bytes + invalid):
        return Decoded(raw.decode("utf-8", errors="replace"), "utf-8", replaced_bytes=invalid)
    return Reject(  # UTF-8 with many broken sequences, or mixed with another charset: any reading is wrong
        "undecodable",
        f"invalid UTF-8 at byte {_first_invalid_utf8(raw)}: {invalid} bad bytes, {valid_chars} valid characters",
    )


def _high_bytes_isolated(raw: bytes) -> bool:
    runs = [len(run) for run in _HIGH_RUN.findall(raw)]
    return bool(runs) and sum(runs) <= ISOLATED_MEAN_RUN * len(runs)


def _usable_codec(label: str | None) -> str | None:
    """Python's codec for a charset label, or None when unknown or impossible for 8-bit-readable bytes.

    A UTF-16/32 (or UTF-7) label on bytes that are neither BOM-marked nor NUL-patterned is wrong:
    browsers ignore it and read UTF-8."""
    if not label:
        return None
    try:
        name = codecs.lookup(_python_codec(label)).name
    except LookupError:
        return None
    return None if name.startswith(("utf-16", "utf-32", "utf-7")) else name


def _decode_strict(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(_python_codec(encoding))
    except (LookupError, UnicodeDecodeError):
        return None


def _python_codec(encoding: str) -> str:
    # Browsers read latin-1 declarations as windows-1252; so should we.
    name = encoding.strip().lower()
    return "cp1252" if name in ("iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii") else name


def _first_invalid_utf8(raw: bytes) -> int:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start
    return -1
