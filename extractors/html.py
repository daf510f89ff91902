"""HTML articles: trafilatura's main-text extraction with its metadata."""

from __future__ import annotations

import re
import traceback
from collections import Counter
from datetime import UTC, datetime

import lxml.html
import trafilatura
from lxml import etree
from trafilatura.settings import set_date_params
from trafilatura.utils import HTML_PARSER, load_html

from extractors.fields import ExtractedFields
from extractors.furniture import strip_furniture, strip_headlines
from extractors.media import cited_links, merge_media, scan_page
from extractors.records import Reject
from extractors.urls import normalize_url

# Measured best on the article-extraction benchmark (see bench/extraction).
TRAFILATURA_OPTIONS = {"include_comments": False, "favor_precision": True}
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # keep the time of day and zone when the page gives them
STUB_WORDS = 50  # a precision-mode text this short is retried without favor_precision
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
# libxml2 stops building the tree 256 levels down and drops everything below; a tree that reaches
# DEEP_LEVELS is re-parsed from markup flattened to at most FLAT_DEPTH levels.
DEEP_LEVELS = 250
FLAT_DEPTH = 100
FLAT_TABLES = 0  # layout tables of a flattened page go: their cells would read as "| text |" rows
_TOO_DEEP = etree.XPath("boolean(" + "/*" * DEEP_LEVELS + ")")
_MARKUP = re.compile(
    r"<!--.*?(?:-->|$)|<(script|style|textarea|title|xmp)\b[^>]*>.*?(?:</\1\s*>|$)|<(/?)([a-zA-Z][^\s/>]*)([^>]*)>",
    re.DOTALL | re.IGNORECASE,
)
_TABLE_PARTS = frozenset("caption col colgroup tbody td tfoot th thead tr".split())
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr keygen".split())
_INLINE = frozenset(
    "a abbr b bdi bdo big cite code data dfn em font i kbd mark nobr q s samp small span strong sub sup time tt u var"
    " ".split()
)


def extract_html_fields(html: str, url: str | None = None) -> ExtractedFields | Reject:
    """Main text and metadata of a page; `url` is where it was fetched from, when known."""
    options = {
        "url": url,
        "with_metadata": True,
        "date_extraction_params": {**set_date_params(), "outputformat": _DATE_FORMAT},
    }
    try:
        tree = load_tree(html)
        if tree is None:
            return Reject("bad_html", "lxml could not parse the page")
        # Media are read from the raw tree, before trafilatura cleans the embeds away (from a copy: the tree is left
        # as it is, so the links are read from it after extraction).
        scan = scan_page(tree, url)
        document = trafilatura.bare_extraction(tree, **options, **TRAFILATURA_OPTIONS)
        if document is not None and len((document.text or "").split()) < STUB_WORDS:
            retry = trafilatura.bare_extraction(tree, **options, include_comments=False)
            if retry is not None and len((retry.text or "").split()) >= 5 * len((document.text or "x").split()):
                document = retry  # precision mode kept only a stub (e.g. a reprint notice)
    except Exception as exc:  # trafilatura/lxml raise many types on hostile markup
        return Reject("bad_html", describe_exception(exc))
    if document is None or not (document.text or "").strip():
        return Reject("no_text", "no main text found in the page")
    title = _clean(document.title)
    lines = strip_headlines([ln for ln in document.text.split("\n") if ln.strip()], page_headlines(html, title))
    paragraphs = strip_furniture([[line] for line in lines])
    if not paragraphs:
        return Reject("no_text", "only site furniture in the page")
    tags = tuple(dict.fromkeys([*(document.categories or []), *(document.tags or [])]))
    main_lines = [line for paragraph in paragraphs for line in paragraph.split("\n")]
    links, linked = cited_links(scan.links, scan.base, main_lines, url)
    published_at, offset = parse_date(document.date)
    return ExtractedFields(
        paragraphs=paragraphs,
        title=title,
        author=_clean(document.author),
        site_name=_clean(document.sitename),
        url=normalize_url(document.url or ""),
        published_at=published_at,
        published_utc_offset=offset,
        description=_clean(document.description),
        tags=tags,
        media=merge_media(scan.media, linked),
        links=tuple(links),
    )


def page_headlines(html: str, title: str | None) -> list[str]:
    """The metadata title and the page's first <h1> texts: what a leading headline line may repeat."""
    heads = [" ".join(_TAG.sub(" ", h).split()) for h in _H1.findall(html[:300_000])[:3]]
    return [h for h in [title or "", *heads] if h]


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def parse_date(value: str | None) -> tuple[datetime | None, int | None]:
    """htmldate's output as a naive UTC timestamp (DuckDB TIMESTAMP) and the page's UTC offset in
    minutes east, where the page gave a zone (2022-03-30T22:46:00-0300: 2022-03-31 01:46, -180)."""
    try:
        parsed = datetime.fromisoformat(value) if value else None
    except ValueError:
        return None, None
    if parsed is None or parsed.tzinfo is None:
        return parsed, None
    offset = parsed.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else None
    return parsed.astimezone(UTC).replace(tzinfo=None), minutes


def load_tree(html: str) -> lxml.html.HtmlElement | None:
    """The page's lxml tree, rooted at <html> (htmldate's cleaning asserts when it would drop the
    root, e.g. a bare <svg>), with excessive nesting flattened so that deep text is not lost."""
    tree = load_html(html)
    if tree is None:
        # trafilatura refuses markup that does not start like HTML and parses to a single element,
        # which is what a page wrapped in 100,000 <div>s looks like: such a page is flattened below
        tree = _parse_document(html)
        if tree is None or not _TOO_DEEP(tree):
            return None
    if _TOO_DEEP(tree):
        tree = _parse_document(flatten_deep_nesting(html))
    if tree is None or tree.tag == "html":
        return tree
    root = lxml.html.Element("html")
    etree.SubElement(root, "body").append(tree)
    return root


def _parse_document(html: str) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.document_fromstring(html.encode("utf-8", "surrogatepass"), parser=HTML_PARSER)
    except (etree.ParserError, ValueError):
        return None


def flatten_deep_nesting(html: str, max_depth: int = FLAT_DEPTH, max_tables: int = FLAT_TABLES) -> str:
    """Drop the start and end tags of elements opened more than `max_depth` levels down, and of tables
    beyond the first `max_tables` open ones (with their rows and cells), keeping their content (block
    tags leave a line break): 100,000 nested <div>s or 5,000 nested tables become a few levels around
    the same text. Script, style and comment contents are not read as tags. Linear in the markup."""
    out: list[str] = []
    stack: list[tuple[str, bool]] = []  # open elements: (name, kept)
    open_names: Counter[str] = Counter()
    tables: list[bool] = []  # kept flags of the open tables, innermost last
    depth, kept_tables, last = 0, 0, 0
    for match in _MARKUP.finditer(html):
        closing, name = match.group(2), match.group(3)
        if name is None:
            continue  # a comment or a raw-text element: copied as it is
        name = name.lower()
        keep = True
        if closing:
            if open_names[name]:
                index = len(stack) - 1
                while stack[index][0] != name:
                    index -= 1
                keep = stack[index][1]
                for closed, kept in stack[index:]:  # the ones above it were left open: closed with it
                    open_names[closed] -= 1
                    depth -= kept
                    if closed == "table":
                        kept_tables -= tables.pop()
                del stack[index:]
        elif name not in _VOID and not match.group(4).rstrip().endswith("/"):
            if name == "table":
                keep = depth < max_depth and kept_tables < max_tables
                tables.append(keep)
                kept_tables += keep
            elif name in _TABLE_PARTS and tables:
                keep = depth < max_depth and tables[-1]
            else:
                keep = depth < max_depth
            stack.append((name, keep))
            open_names[name] += 1
            depth += keep
        if not keep:
            out.append(html[last : match.start()])
            out.append("" if name in _INLINE else "\n")
            last = match.end()
    out.append(html[last:])
    return "".join(out)


def describe_exception(exc: Exception) -> str:
    """`Type: message` for a reject's detail; an exception without a message is named by where it
    was raised (an empty `AssertionError:` says nothing)."""
    message = str(exc).strip()
    if not message:
        frames = traceback.extract_tb(exc.__traceback__)
        where = (
            f"{frames[-1].filename.rsplit('site-packages/', 1)[-1]}:{frames[-1].lineno} in {frames[-1].name}"
            if frames
            else "unknown"
        )
        message = f"raised with no message at {where}"
    return f"{type(exc).__name__}: {message}"[:300]
