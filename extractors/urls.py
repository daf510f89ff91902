"""The one URL parser: every URL from an argument, a list, a feed, a sitemap, a redirect or a page goes through
`parse_url`, which returns the URL (normalized with courlan, credentials removed) or a `Reject`, never an
exception.

Credentials (`user:password@`) are removed from every URL and never sent: the URLs mediamon is given are
recorded (flow parameters on the Prefect server, `runs`, `fetches`, `articles`), so a URL is no place for a
secret.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import courlan
import idna

from extractors.records import Reject

# The sitemap protocol's limit (URLs "must be less than 2,048 characters"); real article URLs are far shorter,
# and a longer one is more likely garbage or an attack on whatever stores it.
MAX_URL_LENGTH = 2048
SHOWN_CHARS = 200  # of the offending text, in a reject's detail
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# The userinfo of an authority, found without parsing, so it can be removed from malformed text too.
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*:[/\\]{2})[^/\\?#]*@")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # C0, DEL, C1, lone surrogates
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_\-]{1,63}(?<!-)")
# Schemes taken for URLs (rather than file names) even without "//" after them.
_OPAQUE_SCHEMES = frozenset({"javascript", "data", "mailto", "about", "blob", "vbscript", "tel", "news", "urn"})


def parse_url(text: str, normalize: bool = True) -> str | Reject:
    """An http(s) URL without credentials, normalized with courlan (as `normalize_url` always did), or a
    Reject `bad_url` / `unsupported_scheme` whose detail shows the offending text (credentials removed).

    `normalize=False` only checks the URL and removes credentials, leaving the rest as given (redirect
    targets are requested as the server wrote them)."""
    if not isinstance(text, str):
        return Reject("bad_url", f"not text: {type(text).__name__}")
    text = strip_userinfo(text)  # first, so a URL is judged the same with or without its credentials
    checked = _check_url(text, normalize)
    if isinstance(checked, tuple):  # the offending text is shown only when there is a reject to explain
        reason, problem = checked
        return Reject(reason, f"{problem}: {shown_url(text)}" if text else problem)
    return checked


def _check_url(text: str, normalize: bool) -> str | tuple[str, str]:
    """The URL, or (reason, what is wrong)."""
    if not text:
        return "bad_url", "empty URL"
    if len(text) > MAX_URL_LENGTH:
        return "bad_url", f"longer than {MAX_URL_LENGTH} characters ({len(text):,})"
    if _CONTROL.search(text):
        return "bad_url", "control character in URL"
    scheme = _SCHEME.match(text)
    if scheme is None:
        return "bad_url", "no scheme (expected http:// or https://)"
    if scheme.group(1).lower() not in ("http", "https"):
        return "unsupported_scheme", f"{scheme.group(1).lower()}: URLs are not fetched"
    if "\\" in text and "\\" in text[: _authority_end(text)]:
        return "bad_url", "backslash in the host part"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        return "bad_url", f"malformed URL ({exc})"
    if not text[scheme.end() :].startswith("//"):
        return "bad_url", "no // after the scheme"
    hostport = parts.netloc.rpartition("@")[2]
    host = _check_host(hostport.rpartition(":")[0] if port is not None or hostport.endswith(":") else hostport)
    if isinstance(host, Reject):
        return host.reason, host.detail
    if port == 0:
        return "bad_url", "port 0"
    clean = parts._replace(scheme=parts.scheme.lower(), netloc=hostport).geturl()
    if not normalize:
        return clean
    try:
        return courlan.normalize_url(clean, strict=True)
    except ValueError as exc:
        return "bad_url", f"malformed URL ({exc})"


def normalize_url(url: str) -> str | None:
    """The canonical form of an http(s) URL, or None when it is not one (see `parse_url` for why)."""
    parsed = parse_url(url)
    return None if isinstance(parsed, Reject) else parsed


def strip_userinfo(text: str) -> str:
    """The text with the credentials of a URL's authority removed, without parsing it (works on malformed
    text too): what is shown, logged or passed on for a URL that may carry a password."""
    return _USERINFO.sub(r"\1", text.strip(), count=1)


def shown_url(text: str, limit: int = SHOWN_CHARS) -> str:
    """The text for a message or a reject's key: credentials removed, control characters escaped, cut at
    `limit` characters."""
    text = strip_userinfo(text)
    cut = text[:limit]
    shown = "".join(c if c.isprintable() and not 0xD800 <= ord(c) < 0xE000 else f"\\x{ord(c):02x}" for c in cut)
    return shown + ("…" if len(text) > limit else "")


def reject_key(text: str) -> str:
    """The `source_uri` of a reject for an unusable URL: the text as given, credentials removed, cut at the
    longest accepted URL; stable from run to run."""
    return shown_url(text, MAX_URL_LENGTH)


def looks_like_url(text: str) -> bool:
    """Whether a command-line target or a list line is meant as a URL rather than a file name: a scheme of two
    or more letters followed by // (`gopher://`, `file:///`), or a scheme that never names a file
    (`javascript:`, `data:`)."""
    scheme = _SCHEME.match(text.strip())
    if scheme is None or len(scheme.group(1)) < 2:
        return False
    rest = text.strip()[scheme.end() :]
    return rest.startswith(("//", "\\\\")) or scheme.group(1).lower() in _OPAQUE_SCHEMES


def has_scheme(text: str) -> bool:
    """Whether the text starts with a scheme (`http:`, `gopher:`), so it is not relative to another URL."""
    return _SCHEME.match(text.strip()) is not None


def is_file_uri(text: str) -> bool:
    return text.strip().lower().startswith("file:")


def path_from_file_uri(text: str) -> Path | Reject:
    """The local path a `file:` URI names (percent-decoded): `file:///tmp/x.html` and
    `file://localhost/tmp/x.html` are /tmp/x.html; any other host, a query or a relative path is `bad_url`."""
    text = strip_userinfo(text)
    shown = shown_url(text)
    if len(text) > MAX_URL_LENGTH:
        return Reject("bad_url", f"longer than {MAX_URL_LENGTH} characters ({len(text):,}): {shown}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        return Reject("bad_url", f"control character in URL: {shown}")
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        return Reject("bad_url", f"malformed file URI ({exc}): {shown}")
    if parts.scheme.lower() != "file":
        return Reject("bad_url", f"not a file: URI: {shown}")
    if parts.netloc and parts.netloc.lower() != "localhost":
        host = shown_url(parts.netloc, 80)
        return Reject("bad_url", f"file URI names host {host}; only local files are read: {shown}")
    if parts.query or parts.fragment:
        return Reject("bad_url", f"file URI with a query or fragment (percent-encode ? and #): {shown}")
    path = unquote(parts.path, errors="surrogateescape")
    if not path.startswith("/"):
        return Reject("bad_url", f"file URI without an absolute path: {shown}")
    if "\x00" in path:
        return Reject("bad_url", f"NUL byte in the path: {shown}")
    return Path(path)


def _authority_end(text: str) -> int:
    """Where the authority of `scheme://authority/...` ends (the first /, ?, # after the //)."""
    start = text.find("//") + 2
    ends = [i for i in (text.find(c, start) for c in "/?#") if i >= 0]
    return min(ends, default=len(text))


def _check_host(host: str) -> str | Reject:
    """The host as given when it is an IP literal or a name that IDNA can encode, else a Reject."""
    if not host:
        return Reject("bad_url", "no host")
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return Reject("bad_url", "malformed IPv6 address")
        return host
    if not host.isascii():
        try:
            ascii_host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError) as exc:
            return Reject("bad_url", f"host is not a valid international name ({str(exc)[:80]})")
    else:
        ascii_host = host.lower()
    labels = ascii_host.removesuffix(".").split(".")
    if len(ascii_host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return Reject("bad_url", "host is not a valid name")
    return host
