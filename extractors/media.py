"""Embedded media and cited links of a page: what trafilatura throws away with the furniture.

Every media URL form is normalized to (platform, media_id): `youtube:VIDEO_ID` whether the page used an iframe
of youtube-nocookie.com, a youtu.be link or a Shorts URL; `x:STATUS_ID` for twitter.com and x.com;
`telegram:CHANNEL/POST` for t.me links and Telegram's widget. A malformed embed (no id, a broken URL) is
skipped: media and links are extras of an article, never a reason to reject it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import lxml.html
from lxml import etree

from extractors.records import CitedLink, MediaItem
from extractors.urls import normalize_url

__all__ = ["CitedLink", "MediaItem", "PageScan", "cited_links", "media_from_url", "scan_page"]

MAX_MEDIA = 100  # per article: enough for any real page, small enough to pickle between processes
MAX_LINKS = 200
MAX_ANCHOR_CHARS = 300
BLOCK_CHARS = 2000  # of a link's block compared with the main text
MIN_BLOCK_CHARS = 20  # a block of fewer non-space characters must be a whole line of the text to count as main text
KIND_RANK = {"embed": 0, "og": 1, "link": 2}  # an item found several ways keeps the strongest


# --- URL forms --------------------------------------------------------------------------------------------------

_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_DIGITS = re.compile(r"\d{1,25}")
_TELEGRAM_CHANNEL = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_DAILYMOTION_ID = re.compile(r"[A-Za-z0-9]{5,12}")
_INSTAGRAM_CODE = re.compile(r"[A-Za-z0-9_-]{5,40}")
_RUTUBE_ID = re.compile(r"[0-9a-fA-F]{32}")
_VK_VIDEO = re.compile(r"(?:video|clip)(-?\d+_\d+)")
_TELEGRAM_RESERVED = frozenset({"s", "c", "joinchat", "addstickers", "share", "iv", "proxy", "socks", "login"})


def _host(host: str) -> str:
    for prefix in ("www.", "m.", "mobile.", "music."):
        host = host.removeprefix(prefix)
    return host


def media_from_url(url: str | None, base: str | None = None) -> tuple[str, str] | None:
    """(platform, media_id) of a media URL in any of its forms, or None (not a media item, or no id in it)."""
    if not url or not isinstance(url, str) or len(url) > 2048:
        return None
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    elif base and not url.startswith(("http://", "https://")):
        if not _may_name_platform(url) and not _may_name_platform(base):
            return None
        url = urljoin(base, url)
    if not _may_name_platform(url):  # most URLs of a page: no platform's host in them, decided before parsing
        return None
    try:
        parts = urlsplit(url)
        host = _host((parts.hostname or "").lower())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    handler = _HANDLERS.get(host) or _HANDLERS.get(host.split(".", 1)[-1])
    if handler is None:
        return None
    segments = [unquote(s) for s in parts.path.split("/") if s]
    try:
        return handler(segments, parse_qs(parts.query))
    except (IndexError, ValueError):
        return None


def _may_name_platform(url: str) -> bool:
    """Whether the URL's host could be a platform's: urlsplit lowercases the host and drops tabs and line breaks
    (so a URL holding those is left to it), and a platform host is in the text as `_HANDLERS` spells it."""
    lowered = url.lower()
    return "\t" in lowered or "\n" in lowered or "\r" in lowered or _HANDLER_HOST.search(lowered) is not None


def _first(query: dict[str, list[str]], name: str) -> str:
    return (query.get(name) or [""])[0]


def _youtube(segments: list[str], query: dict) -> tuple[str, str] | None:
    candidate = ""
    if segments[:1] == ["watch"]:
        candidate = _first(query, "v")
    elif len(segments) >= 2 and segments[0] in ("embed", "shorts", "v", "e", "live"):
        candidate = "" if segments[1] == "videoseries" else segments[1]  # a playlist, not a video
    return ("youtube", candidate) if _YOUTUBE_ID.fullmatch(candidate) else None


def _youtu_be(segments: list[str], query: dict) -> tuple[str, str] | None:
    candidate = segments[0] if segments else ""
    return ("youtube", candidate) if _YOUTUBE_ID.fullmatch(candidate) else None


def _vimeo(segments: list[str], query: dict) -> tuple[str, str] | None:
    numbers = [s for s in segments if _DIGITS.fullmatch(s)]
    return ("vimeo", numbers[0]) if numbers else None


def _dailymotion(segments: list[str], query: dict) -> tuple[str, str] | None:
    if "video" in segments:
        candidate = segments[segments.index("video") + 1].split("_", 1)[0]
    elif any(s.startswith("player") for s in segments) and _first(query, "video"):
        candidate = _first(query, "video")
    else:
        return None
    return ("dailymotion", candidate) if _DAILYMOTION_ID.fullmatch(candidate) else None


def _dai_ly(segments: list[str], query: dict) -> tuple[str, str] | None:
    candidate = segments[0] if segments else ""
    return ("dailymotion", candidate) if _DAILYMOTION_ID.fullmatch(candidate) else None


def _x(segments: list[str], query: dict) -> tuple[str, str] | None:
    if segments[:2] == ["embed", "Tweet.html"] or segments[-1:] == ["Tweet.html"]:
        candidate = _first(query, "id")
    else:
        index = next((i for i, s in enumerate(segments) if s in ("status", "statuses")), None)
        candidate = segments[index + 1] if index is not None else ""
    return ("x", candidate) if _DIGITS.fullmatch(candidate) else None


def _telegram(segments: list[str], query: dict) -> tuple[str, str] | None:
    if segments[:1] == ["s"]:
        segments = segments[1:]
    if len(segments) < 2 or segments[0].lower() in _TELEGRAM_RESERVED:
        return None
    return telegram_post(f"{segments[0]}/{segments[1]}")


def telegram_post(value: str) -> tuple[str, str] | None:
    """`telegram:channel/post` from Telegram's widget attribute (`roscosmos/1234`); channels are case-blind."""
    channel, _, post = value.strip().strip("/").partition("/")
    if _TELEGRAM_CHANNEL.fullmatch(channel) and _DIGITS.fullmatch(post):
        return "telegram", f"{channel.lower()}/{int(post)}"
    return None


def _facebook(segments: list[str], query: dict) -> tuple[str, str] | None:
    if segments[:1] == ["plugins"]:
        return media_from_url(_first(query, "href"))
    if segments[:1] == ["watch"] and _DIGITS.fullmatch(_first(query, "v")):
        return "facebook", _first(query, "v")
    for marker in ("videos", "reel", "posts"):
        if marker in segments[:-1]:
            candidate = segments[segments.index(marker) + 1]
            if _DIGITS.fullmatch(candidate):
                return "facebook", candidate
            if marker == "posts" and _INSTAGRAM_CODE.fullmatch(candidate):  # pfbid... post ids
                return "facebook", candidate
    if segments[:1] == ["video.php"] and _DIGITS.fullmatch(_first(query, "v")):
        return "facebook", _first(query, "v")
    return None


def _instagram(segments: list[str], query: dict) -> tuple[str, str] | None:
    for marker in ("p", "reel", "reels", "tv"):
        if marker in segments[:-1][:2]:
            candidate = segments[segments.index(marker) + 1]
            if _INSTAGRAM_CODE.fullmatch(candidate):
                return "instagram", candidate
    return None


def _tiktok(segments: list[str], query: dict) -> tuple[str, str] | None:
    for marker in ("video", "v2", "embed", "v1", "v"):
        if marker in segments[:-1]:
            candidate = segments[segments.index(marker) + 1].removesuffix(".html")
            if _DIGITS.fullmatch(candidate):
                return "tiktok", candidate
    return None


def _vk(segments: list[str], query: dict) -> tuple[str, str] | None:
    if segments[:1] == ["video_ext.php"]:
        oid, vid = _first(query, "oid"), _first(query, "id")
        if re.fullmatch(r"-?\d+", oid) and _DIGITS.fullmatch(vid):
            return "vk", f"{int(oid)}_{vid}"
        return None
    for candidate in [*segments[-1:], _first(query, "z")]:
        match = _VK_VIDEO.match(candidate)
        if match:
            return "vk", match.group(1)
    return None


def _rutube(segments: list[str], query: dict) -> tuple[str, str] | None:
    for marker in ("embed", "video", "shorts"):
        if marker in segments[:-1]:
            candidate = segments[segments.index(marker) + 1]
            if _RUTUBE_ID.fullmatch(candidate):
                return "rutube", candidate.lower()
    return None


_HANDLERS = {
    "youtube.com": _youtube,
    "youtube-nocookie.com": _youtube,
    "youtu.be": _youtu_be,
    "vimeo.com": _vimeo,
    "player.vimeo.com": _vimeo,
    "dailymotion.com": _dailymotion,
    "geo.dailymotion.com": _dailymotion,
    "dai.ly": _dai_ly,
    "twitter.com": _x,
    "x.com": _x,
    "platform.twitter.com": _x,
    "t.me": _telegram,
    "telegram.me": _telegram,
    "telegram.dog": _telegram,
    "facebook.com": _facebook,
    "instagram.com": _instagram,
    "tiktok.com": _tiktok,
    "vk.com": _vk,
    "vk.ru": _vk,
    "vkvideo.ru": _vk,
    "rutube.ru": _rutube,
}
_HANDLER_HOST = re.compile("|".join(re.escape(host) for host in sorted(_HANDLERS)))
PLATFORMS = (
    "youtube",
    "vimeo",
    "dailymotion",
    "x",
    "telegram",
    "facebook",
    "instagram",
    "tiktok",
    "vk",
    "rutube",
    "file",
)

# --- Pages ------------------------------------------------------------------------------------------------------

_EMBED_TAGS = frozenset({"iframe", "embed", "object", "param", "video", "source", "audio", "amp-iframe"})
_FILE_TAGS = frozenset({"video", "source", "audio", "embed", "object"})
_SOURCE_ATTRIBUTES = frozenset({"src", "data-src", "data-lazy-src", "data-original", "data", "value", "data-url"})
# Attributes that carry an id, not a URL, on lazy players and consent placeholders (<lite-youtube videoid=...>,
# <div class="yt-consent" data-video-id=...>); the platform comes from the element's tag, class or attributes.
_ID_ATTRIBUTES = ("videoid", "data-video-id", "data-videoid", "data-youtube-id", "data-yt-id", "data-embed-id")
_PLATFORM_WORDS = (
    "youtu",
    "vimeo",
    "dailymotion",
    "dai.ly",
    "twitter.com",
    "x.com/",
    "t.me/",
    "telegram",
    "facebook.com",
    "instagram.com",
    "tiktok.com",
    "vk.com",
    "vkvideo",
    "rutube",
)
_PLATFORM_WORD = re.compile("|".join(re.escape(word) for word in _PLATFORM_WORDS))
_OG_VIDEO = ("og:video", "og:video:url", "og:video:secure_url", "twitter:player")
_EMBED_BLOCKQUOTE = ("twitter", "tweet", "instagram", "tiktok", "telegram", "fb-")
_CANDIDATE_TAGS = _EMBED_TAGS | {"blockquote", "noscript"}
_ID_NAMES = frozenset({*_ID_ATTRIBUTES, "data-telegram-post"})
_FURNITURE_TAGS = frozenset({"nav", "header", "footer", "aside", "menu", "form"})
# The tags scan_page looks at one by one (an <img> is never read); any other element is read only when one of its
# attributes could give an item (_may_give_media).
_READ_TAGS = _CANDIDATE_TAGS | _FURNITURE_TAGS | {"a", "img", "meta", "link", "base", "script"}
_JSON_URL = re.compile(r'"(?:embedUrl|contentUrl|url)"\s*:\s*"(https?:[^"]{8,500})"')
_FILE_SUFFIX = re.compile(r"\.(?:mp4|webm|m3u8|mov|ogv|ogg|mp3|m4v|mpd)", re.IGNORECASE)
_FILE_SUFFIXES = (".mp4", ".webm", ".m3u8", ".mov", ".ogv", ".ogg", ".mp3", ".m4v", ".mpd")


class _Found:
    """The media of one page, each item once, with the strongest kind it was found as."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], MediaItem] = {}

    def add(self, ids: tuple[str, str] | None, url: str, kind: str) -> None:
        if ids is None or len(self.items) >= MAX_MEDIA:
            return
        known = self.items.get(ids)
        if known is None or KIND_RANK[kind] < KIND_RANK[known.kind]:
            self.items[ids] = MediaItem(ids[0], ids[1], _shown(url), kind)


def _shown(url: str) -> str:
    return url.strip()[:2048]


def _file_media(url: str, base: str | None) -> tuple[str, str] | None:
    """A site's own video file (<video src>, og:video of an .mp4): `file:host/path`."""
    if not url or url.startswith(("blob:", "data:")):
        return None
    # Normalizing (40 us) keeps the path's ending, so a URL whose text and base name no such file is let go first:
    # JSON-LD has a dozen URLs (logos, authors) and pages a <source> per image size.
    if not _FILE_SUFFIX.search(url) and not (base and _FILE_SUFFIX.search(base)):
        return None
    absolute = urljoin(base, url.strip()) if base else url.strip()
    normalized = normalize_url(absolute)
    if not normalized:
        return None
    parts = urlsplit(normalized)
    if not parts.path.lower().endswith(_FILE_SUFFIXES):
        return None
    return "file", f"{parts.hostname}{parts.path}"


def _platform_hint(element: etree._Element) -> str | None:
    text = " ".join([str(element.tag), *(str(v) for v in element.attrib.values())]).lower()
    for platform, words in (
        ("youtube", ("youtube", "youtu")),
        ("vimeo", ("vimeo",)),
        ("dailymotion", ("dailymotion",)),
        ("rutube", ("rutube",)),
        ("tiktok", ("tiktok",)),
    ):
        if any(word in text for word in words):
            return platform
    return None


def _from_id(platform: str, value: str) -> tuple[str, str] | None:
    value = value.strip()
    check = {
        "youtube": _YOUTUBE_ID,
        "vimeo": _DIGITS,
        "dailymotion": _DAILYMOTION_ID,
        "rutube": _RUTUBE_ID,
        "tiktok": _DIGITS,
    }[platform]
    if not check.fullmatch(value):
        return None
    return platform, value.lower() if platform == "rutube" else value


_PAGE_IDS = {
    "youtube": "https://www.youtube.com/watch?v={}",
    "vimeo": "https://vimeo.com/{}",
    "dailymotion": "https://www.dailymotion.com/video/{}",
    "rutube": "https://rutube.ru/video/{}/",
    "tiktok": "https://www.tiktok.com/embed/v2/{}",
    "telegram": "https://t.me/{}",
}


@dataclass
class PageScan:
    """What one pass over a page's tree finds: the base of its relative links, its media, and its links outside
    navigation, header, footer, aside, menus and forms (elements of the tree, read again once the main text is
    known)."""

    base: str | None
    media: list[MediaItem]
    links: list[etree._Element]


def scan_page(tree: etree._Element, url: str | None) -> PageScan:
    """The page's media (players, blockquote embeds, og:video, JSON-LD, <video>, lazy and consent placeholders,
    <noscript> embeds) and links, in one pass over the tree: an XPath per kind cost 4 ms a page, 12% of the
    extraction, and one XPath for all of them 3.8 ms (libxml2 evaluates each predicate on each element). Never
    raises on markup: whatever was found before a bad part is kept."""
    candidates, links = [], []
    furniture: set[etree._Element] = set()  # the links of navigation, header, footer...: 2 in 3 of a page's links
    base_href = canonical = None
    for element in tree.iter(etree.Element):
        tag = element.tag
        if tag not in _READ_TAGS:  # most elements: a div, span, p or li with a class or nothing
            names = " ".join(element.keys())
            if ("data-" in names or "cite" in names or "videoid" in names) and _may_give_media(element):
                candidates.append(element)
        elif tag == "a":
            if element.get("href") and element not in furniture:
                links.append(element)
        elif tag in _CANDIDATE_TAGS:
            candidates.append(element)
        elif tag == "meta":
            name = element.get("property") or element.get("name")
            if name in _OG_VIDEO:
                candidates.append(element)
            elif name == "og:url" and canonical is None:
                canonical = element.get("content")
        elif tag == "link":
            if canonical is None and element.get("rel") == "canonical":
                canonical = element.get("href")
        elif tag == "base":
            base_href = base_href or element.get("href")
        elif tag == "script":  # JSON-LD, or Telegram's widget: <script data-telegram-post=...>
            if element.get("type") == "application/ld+json" or _may_give_media(element):
                candidates.append(element)
        elif tag in _FURNITURE_TAGS:
            furniture.update(element.iter("a"))
            if _may_give_media(element):
                candidates.append(element)
    if base_href:
        base = urljoin(url, base_href) if url else base_href
    else:
        base = url or canonical
    found = _Found()
    try:
        for element in candidates:
            _read_element(element, base, found)
    except (ValueError, TypeError, etree.Error):
        pass
    return PageScan(base, list(found.items.values()), links)


def _may_give_media(element: etree._Element) -> bool:
    """Whether an element of no media tag can give an item: an id attribute or a Telegram post, or a platform URL
    next to a data-* or cite attribute (`_read_element` looks closer)."""
    names = element.keys()
    if not _ID_NAMES.isdisjoint(names):
        return True
    values = "\n".join(element.values())
    return (
        "//" in values
        and _PLATFORM_WORD.search(values) is not None
        and ("cite" in names or any(name.startswith("data-") for name in names))
    )


def _read_element(element: etree._Element, base: str | None, found: _Found, depth: int = 0) -> None:
    tag = element.tag
    if tag == "meta":
        value = element.get("content") or ""
        found.add(media_from_url(value, base) or _file_media(value, base), value, "og")
        return
    if tag == "script" and element.get("type") == "application/ld+json":
        for value in _JSON_URL.findall(element.text or ""):
            value = value.replace("\\/", "/")
            found.add(media_from_url(value) or _file_media(value, None), value, "og")
        return
    if tag == "noscript":
        if depth == 0 and "<" in (element.text or ""):  # a parser that kept <noscript> as text: parsed here
            try:
                fragment = lxml.html.fragment_fromstring(element.text, create_parent="div")
            except (etree.ParserError, ValueError):
                return
            for inner in fragment.iter(etree.Element):
                if inner is not fragment:
                    _read_element(inner, base, found, depth + 1)
        return
    if tag == "blockquote" and any(word in (element.get("class") or "") for word in _EMBED_BLOCKQUOTE):
        for link in element.iter("a"):
            found.add(media_from_url(link.get("href"), base), link.get("href") or "", "embed")
    platform = None
    for name, value in element.items():
        if name in _ID_ATTRIBUTES:
            platform = platform or _platform_hint(element)
            if platform:
                found.add(_from_id(platform, value), _PAGE_IDS[platform].format(value.strip()), "embed")
        elif name == "data-telegram-post":
            found.add(telegram_post(value), f"https://t.me/{value.strip()}", "embed")
        elif tag in _EMBED_TAGS and name in _SOURCE_ATTRIBUTES:
            ids = media_from_url(value, base)
            if ids is None and tag in _FILE_TAGS:
                ids = _file_media(value, base)
            found.add(ids, value, "embed")
        elif "//" in value and _PLATFORM_WORD.search(value):
            found.add(media_from_url(value, base), value, "embed")


# --- Cited links ------------------------------------------------------------------------------------------------

_BLOCK_TAGS = tuple("p li blockquote h1 h2 h3 h4 h5 h6 td th dd dt figcaption div section article pre".split())
_SKIPPED_HREFS = ("#", "javascript:", "mailto:", "tel:", "data:")


def _squeeze(text: str) -> str:
    return "".join(text.split())


def _block_text(block: etree._Element) -> str:
    """The first BLOCK_CHARS non-space characters of a block: of the whole article, when the link sits in a
    <div> around it, only the beginning is squeezed (squeezing a cut text gives the start of the squeezed whole)."""
    content = block.text_content()
    squeezed = _squeeze(content[: 2 * BLOCK_CHARS])
    if len(squeezed) < BLOCK_CHARS and len(content) > 2 * BLOCK_CHARS:
        squeezed = _squeeze(content)
    return squeezed[:BLOCK_CHARS]


def cited_links(
    page_links: Iterable[etree._Element], base: str | None, lines: list[str], page_url: str | None
) -> tuple[list[CitedLink], list[MediaItem]]:
    """The links of the page outside navigation, header, footer, aside, menus and forms (`PageScan.links`: the
    scan leaves those out), whose block (paragraph, list item, quote, cell) made it into the extracted main text
    (`lines`), normalized, each URL once; and the media items they link to (kind `link`), read from the links as
    written (normalizing drops query parameters such as YouTube's `v`).

    Cheap first: a link whose own text is not in the main text is dropped before its block is looked at, and a
    block with several links is read once."""
    squeezed_lines = [_squeeze(line) for line in lines]
    whole = set(squeezed_lines)
    text = "\n".join(squeezed_lines)
    own: str | None = ""  # the page's own URL, normalized when a link gets that far
    links: dict[str, CitedLink] = {}
    media = []
    in_text: dict[str, bool] = {}
    in_main: dict[etree._Element, bool] = {}
    for link in page_links:
        href = (link.get("href") or "").strip()
        if not href or href.startswith(_SKIPPED_HREFS):
            continue
        # text_content() is an XPath call (5 us): most anchors are a single text
        anchor_text = (link.text or "") if not len(link) else link.text_content()
        anchor_key = _squeeze(anchor_text)
        known = in_text.get(anchor_key)
        if known is None:
            known = in_text[anchor_key] = bool(anchor_key) and anchor_key in text
        if not known:
            continue
        block = next(link.iterancestors(*_BLOCK_TAGS), None)  # filtered in C: no proxy for the others
        if block is None:
            continue
        known = in_main.get(block)
        if known is None:
            squeezed = _block_text(block)
            known = in_main[block] = bool(squeezed) and (
                squeezed in whole or (len(squeezed) >= MIN_BLOCK_CHARS and squeezed in text)
            )
        if not known:
            continue
        absolute = urljoin(base, href) if base else href
        ids = media_from_url(absolute)
        if ids:
            media.append(MediaItem(*ids, _shown(absolute), "link"))
        url = normalize_url(absolute)
        if own == "":
            own = normalize_url(page_url) if page_url else None
        if url is None or url == own or url in links or len(links) >= MAX_LINKS:
            continue
        anchor = " ".join(anchor_text.split())[:MAX_ANCHOR_CHARS]
        links[url] = CitedLink(url, urlsplit(url).hostname or "", anchor or None)
    return list(links.values()), media


def merge_media(*groups: Iterable[MediaItem]) -> tuple[MediaItem, ...]:
    found = _Found()
    for group in groups:
        for item in group:
            found.add((item.platform, item.media_id), item.url, item.kind)
    return tuple(found.items.values())


# --- Plain text -------------------------------------------------------------------------------------------------

_TEXT_URL = re.compile(r"https?://[^\s<>\"'«»()\[\]{}]+", re.IGNORECASE)


def text_links(text: str) -> tuple[list[CitedLink], list[MediaItem]]:
    """URLs written out in a plain-text document (trailing punctuation left out), and the media they name."""
    links: dict[str, CitedLink] = {}
    media = []
    for match in _TEXT_URL.finditer(text):
        raw = match.group(0).rstrip(".,;:!?…")
        ids = media_from_url(raw)
        if ids:
            media.append(MediaItem(*ids, _shown(raw), "link"))
        url = normalize_url(raw)
        if url and url not in links and len(links) < MAX_LINKS:
            links[url] = CitedLink(url, urlsplit(url).hostname or "", None)
    return list(links.values()), media


def describe_media(items: Iterable[MediaItem]) -> str:
    """`platform:id (kind)` per item, for logs and the command line."""
    return json.dumps([f"{item.key} ({item.kind})" for item in items], ensure_ascii=False)
