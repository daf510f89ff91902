"""URL normalization with courlan: tracking parameters and fragments removed, host lower-cased."""

from __future__ import annotations

from urllib.parse import urlsplit

import courlan


def normalize_url(url: str) -> str | None:
    """The canonical form of an http(s) URL, or None when it is not one."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    try:
        return courlan.normalize_url(url, strict=True)
    except ValueError:
        return None
