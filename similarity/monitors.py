"""Topic monitors: boolean keyword queries (AND, OR, NOT, "quoted phrases", parentheses, trailing * for
prefixes), case-insensitive and for any language, matched against an article's title and text. A term
`media:PLATFORM:ID` (`media:youtube:VIDEO_ID`, `media:x:STATUS_ID`, `media:telegram:channel/post`) or `media:URL`
(any URL form of the item) matches the articles that embed or cite that media item (table article_media)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractors.media import PLATFORMS, media_from_url, telegram_post
from extractors.normalize import normalize_text

_TOKEN = re.compile(r'\s*(?:(\()|(\))|"([^"]*)"|([^\s()"]+))')


# The story this project follows first; the sources' monitors file may add or replace monitors.
DEFAULT_MONITORS = {
    "roscosmos-iss-video": 'roscosmos AND (video OR clip OR footage) AND (ISS OR "space station")',
}


class QueryError(ValueError):
    """A monitor query that cannot be parsed; the message says where."""


@dataclass(frozen=True)
class Term:
    pattern: re.Pattern

    def matches(self, text: str) -> bool:
        return bool(self.pattern.search(text))


@dataclass(frozen=True)
class MediaTerm:
    """A media item the article carries: its key is looked for among the marker lines `matching_monitors`
    appends to the normalized text (NUL-delimited, so no article text can contain one)."""

    key: str

    def matches(self, text: str) -> bool:
        return f"\x00{self.key}\x00" in text


def media_marker(keys: list[str] | tuple[str, ...]) -> str:
    return "".join(f"\x00{key}\x00" for key in keys)


def media_term(value: str) -> MediaTerm:
    """`media:youtube:ID` or `media:https://youtu.be/ID`: the item's `platform:media_id` key."""
    rest = value[len("media:") :]
    ids = media_from_url(rest) if rest.lower().startswith(("http://", "https://")) else None
    if ids is None:
        platform, _, media_id = rest.partition(":")
        platform = platform.lower()
        if platform not in PLATFORMS or not media_id:
            raise QueryError(
                f"media term {value!r}: expected media:PLATFORM:ID (platforms: {', '.join(PLATFORMS)}) or media:URL"
            )
        ids = telegram_post(media_id) if platform == "telegram" else (platform, media_id)
        if ids is None:
            raise QueryError(f"media term {value!r}: a Telegram post is media:telegram:CHANNEL/POST")
    return MediaTerm(f"{ids[0]}:{ids[1]}")


@dataclass(frozen=True)
class Not:
    operand: object

    def matches(self, text: str) -> bool:
        return not self.operand.matches(text)


@dataclass(frozen=True)
class All:
    operands: tuple

    def matches(self, text: str) -> bool:
        return all(o.matches(text) for o in self.operands)


@dataclass(frozen=True)
class Any:
    operands: tuple

    def matches(self, text: str) -> bool:
        return any(o.matches(text) for o in self.operands)


def _term(words: str) -> Term:
    """Whole words in order; a trailing * matches any ending. Scripts without spaces match as substrings."""
    parts = normalize_text(words).split()
    if not parts:
        raise QueryError(f"empty term {words!r}")
    prefix = parts[-1].endswith("*")
    parts[-1] = parts[-1].rstrip("*")
    body = r"\W+".join(re.escape(p) for p in parts)
    if _no_spaces(body):
        return Term(re.compile(body))
    return Term(re.compile(rf"(?<!\w){body}" + (r"\w*" if prefix else r"(?!\w)")))


def _no_spaces(text: str) -> bool:
    return bool(re.search(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f]", text))


def parse_query(query: str) -> object:
    """The query's expression tree; AND binds tighter than OR, adjacent terms mean AND."""
    tokens = []
    position = 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if not match or match.end() == position:
            if query[position:].strip():
                raise QueryError(f"unbalanced quote in {query!r}")
            break
        position = match.end()
        opening, closing, phrase, word = match.groups()
        if opening or closing:
            tokens.append(opening or closing)
        elif phrase is not None:
            tokens.append(("term", phrase))
        elif word in ("AND", "OR", "NOT"):
            tokens.append(word)
        else:
            tokens.append(("term", word))
    expression, rest = _parse_or(tokens, query)
    if rest:
        raise QueryError(f"unexpected {rest[0]!r} in {query!r}")
    return expression


def _parse_or(tokens: list, query: str) -> tuple[object, list]:
    operands = []
    node, tokens = _parse_and(tokens, query)
    operands.append(node)
    while tokens and tokens[0] == "OR":
        node, tokens = _parse_and(tokens[1:], query)
        operands.append(node)
    return (operands[0] if len(operands) == 1 else Any(tuple(operands))), tokens


def _parse_and(tokens: list, query: str) -> tuple[object, list]:
    operands = []
    node, tokens = _parse_not(tokens, query)
    operands.append(node)
    while tokens and tokens[0] not in ("OR", ")"):
        if tokens[0] == "AND":
            tokens = tokens[1:]
        node, tokens = _parse_not(tokens, query)
        operands.append(node)
    return (operands[0] if len(operands) == 1 else All(tuple(operands))), tokens


def _parse_not(tokens: list, query: str) -> tuple[object, list]:
    if not tokens:
        raise QueryError(f"query ends too early: {query!r}")
    head = tokens[0]
    if head == "NOT":
        node, rest = _parse_not(tokens[1:], query)
        return Not(node), rest
    if head == "(":
        node, rest = _parse_or(tokens[1:], query)
        if not rest or rest[0] != ")":
            raise QueryError(f"missing ')' in {query!r}")
        return node, rest[1:]
    if isinstance(head, tuple):
        if head[1].lower().startswith("media:"):
            return media_term(head[1]), tokens[1:]
        return _term(head[1]), tokens[1:]
    raise QueryError(f"unexpected {head!r} in {query!r}")


def matching_monitors(
    expressions: dict[str, object], title: str | None, text: str, media: list[str] | tuple[str, ...] = ()
) -> list[str]:
    """Names of the monitors (name -> parsed query) an article matches; its text is normalized once. `media`:
    the `platform:media_id` keys of the media items it carries."""
    normalized = normalize_text(f"{title or ''}\n{text}") + media_marker(media or ())
    return [name for name, expression in expressions.items() if expression.matches(normalized)]
