"""Bytes to str: binary sniffing, gzip with a size cap, and charset resolution."""

from __future__ import annotations

import codecs
import re
import zlib

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
_META_CHARSET = re.compile(rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
GZIP_MAGIC = b"\x1f\x8b"


def describe_binary(raw: bytes) -> str | None:
    """Name the binary format of `raw`, or None when it looks like text."""
    if raw.startswith(tuple(bom for bom, _ in _BOMS)):
        return None
    for magic, name in _MAGIC.items():
        if raw.startswith(magic):
            return name
    head = raw[:8192]
    control = sum(head.count(bytes([b])) for b in _CONTROL_BYTES)
    if control > max(2, len(head) // 100):
        return f"{control} control bytes in the first {len(head)}"
    return None


def gunzip_capped(raw: bytes, max_bytes: int) -> bytes | Reject:
    """Decompress gzip without ever holding more than `max_bytes` of output (bombs are rejects)."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(raw, max_bytes + 1)
    except zlib.error as exc:
        return Reject("bad_gzip", str(exc))
    if len(out) > max_bytes:
        return Reject("too_large", f"decompresses to over {max_bytes} bytes")
    if not inflater.eof:
        return Reject("bad_gzip", "truncated gzip stream")
    return out


def find_meta_charset(raw: bytes) -> str | None:
    match = _META_CHARSET.search(raw[:16384])
    return match.group(1).decode("ascii", "replace") if match else None


def decode_bytes(raw: bytes, declared: str | None = None, html: bool = False) -> str | Reject:
    """Decode by BOM, then the declared charset, then `<meta charset>`, then UTF-8, then detection.

    Bytes that are mostly valid UTF-8 with broken sequences are rejected rather than guessed,
    since any legacy-charset reading of them would be mojibake.
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return _decode_strict(raw, encoding) or Reject("undecodable", f"invalid {encoding} after BOM")
    candidates = [declared, find_meta_charset(raw) if html else None]
    for encoding in filter(None, candidates):
        text = _decode_strict(raw, encoding)
        if text is not None:
            return text
    text = _decode_strict(raw, "utf-8")
    if text is not None:
        return text
    replaced = raw.decode("utf-8", errors="replace")
    invalid = replaced.count("\ufffd")
    valid_multibyte = sum(1 for ch in replaced if ord(ch) > 127) - invalid
    if valid_multibyte > invalid:
        position = _first_invalid_utf8(raw)
        return Reject("undecodable", f"invalid UTF-8 at byte {position}")
    best = charset_normalizer.from_bytes(raw).best()
    if best is None or best.encoding is None:
        return Reject("undecodable", "no charset declared and none detected")
    return str(best)


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
