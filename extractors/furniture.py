"""Site furniture: the lines a page wraps around an article that are not the article.

Rules (documented in the README, "Cleaning rules"):
1. Anywhere: whole-line prompts and widgets (comment prompts, "Recommended Stories", "Posted on ...",
   "Check out more news ...", share/subscribe/read-more lines), copyright lines, and photo captions
   or credits (a line ending in a picture agency credit such as "... NASA via Getty Images" or
   "NASA/Getty", or a wire-photo caption "CITY - MONTH DD: In this photo ..."). A caption's short
   heading line directly above it in the same block goes with it.
2. Only at the end of the article, scanning upwards until the first real paragraph: author bios
   ("Jane Doe is a senior fellow ..."), signature blocks (a name line plus a role line) and
   disclaimer boilerplate ("views expressed ... are solely those of the author", "X is produced by ...").
Everything else, quotes and editorial notes inside the article included, is kept.
"""

from __future__ import annotations

import re
import unicodedata

_I = re.IGNORECASE

_WIDGET_LINES = re.compile(
    r"""(?:
        join\ the\ discussion | leave\ a\ (?:reply|comment) | comments?(?:\ \(\d+\))?
      | your\ email\ address\ will\ not\ be\ published.* | required\ fields\ are\ marked.*
      | recommended(?:\ stories|\ for\ you|\ reading|\ articles)? | real\ time\ analytics
      | check\ out\ more\ (?:news|stories|articles)\b.* | posted\ (?:on|in|by)\b.{0,60}
      | (?:related|more|top|latest)\ (?:stories|articles|news|coverage|videos?)
      | (?:share|tweet|email|print)(?:\ this)?(?:\ (?:article|story|page))?(?:\ on\ \w+)?
      | advertisement | sponsored(?:\ content)? | trending(?:\ now)? | most\ (?:read|popular|viewed)
      | (?:subscribe|sign\ up)\b.{0,100} | follow\ us\b.{0,80} | click\ here\b.{0,80}
      | (?:read|see)\ (?:more|also)\s*[:\u00bb>|-].{0,200}
      | don'?t\ miss | you\ (?:may|might)\ also\ like | (?:more|also|tags) | most\ read\b.{0,40}
      | related(?:\ (?:posts?|articles?|stories))?\s*:.{0,200} | filed\ under\s*:.{0,100}
      | also\ on\ [\w.]+\.(?:com|org|net|co\.uk)\b.{0,200} | like\ this\ story\?.{0,80}
      | tell\ us\ what\ you\ think.{0,10} | updated\ (?:at\ )?\d{1,2}:\d{2}.{0,20}
      | (?:tempo\ de\ leitura|reading\ time|read\ time)\s*:.{0,20} | \d+\s*min(?:ute)?s?\ read
      | .{5,200}\[(?:INSIGHT|VIDEO|REACTION|NEWS|WARNING|PICTURES|POLL|REVEAL|LATEST|ANALYSIS)\]\s*\|?
    )[\s.!:|]*""",
    _I | re.VERBOSE,
)
# Newsletter and membership pitches, follow/contact lines (checked on lines of at most PROMO_WORDS words).
PROMO_WORDS = 60
_PROMO = re.compile(
    r"""^(?:follow\b.{0,80}\b(?:on\ (?:twitter|facebook|instagram|youtube)|coverage\ of)
      | email\ [\w .'-]{2,40}\ at\ \S+@ | have\ a\ (?:news\ )?tip\b | reach\ the\ (?:reporter|writer|author)s?\b
      | if\ you\ (?:enjoyed|liked)\ this\ article\b | get\ access\ to\b.{0,80}\bsubscri
      )
    | \b(?:newsletters?|inbox|letterbox)\b.{0,80}\b(?:subscri\w*|sign\ up|delivered)\b
    | \b(?:subscri\w*|sign\ up|delivered)\b.{0,80}\b(?:newsletters?|inbox|letterbox)\b""",
    _I | re.VERBOSE,
)
_COPYRIGHT = re.compile(r"^(?:\u00a9|\(c\)\s|copyright\b)|\ball rights reserved\b", _I)
_CREDIT_END = re.compile(
    r"""(?:
        \bvia\ Getty\ Images | \bGetty\ Images | [\w.-]+/Getty | \bShutterstock | \bAlamy(?:\ Stock\ Photo)?
      | \b(?:AP|AFP|Reuters|EPA)(?:\ Photo)?/[\w .'-]{1,40} | \bAP\ Photo\b[\w .'/-]{0,40}
      | \((?:photo|image|picture|credit)s?\b[^)]{0,100}\)
    )\s*\)?\.?$""",
    re.VERBOSE,
)
CREDIT_TAIL_CHARS = 160
_CAPTION_START = re.compile(
    r"^(?:[A-Z][A-Z ,.'-]{2,40}\s[-\u2013\u2014]\s[A-Z]+\s\d{1,2}:\s+In this\b"
    r"|(?:photo|image|pictured|caption|credit)s?\s*:)",
    _I,
)
_BIO = re.compile(
    r"^[A-Z][\w.'-]+(?:\s+[A-Z][\w.'-]+){1,3}\s+(?:is|was|has been|serves as)\s+(?:a|an|the)\b[^.]{0,160}?"
    r"\b(?:associate|fellow|professor|reporter|correspondent|writer|journalist|editor|contributor"
    r"|columnist|analyst|researcher|director|author|producer)\b"
)
_DISCLAIMER = re.compile(
    r"views.{0,80}expressed.{0,160}(?:solely|only|do not necessarily|those of the author)"
    r"|does not take specific policy positions"
    r"|\bis headquartered in\b.{0,200}\b(?:employs|subsidiaries|listed on|offices in|countries)\b"
    r"|^[A-Z][\w&.-]+(?: [A-Z][\w&.-]+){0,3} is a (?:leading |global |worldwide |international )?[^.]{0,60}?"
    r"\b(?:provider|company|manufacturer|supplier) (?:of|focused on)\b"
    r"|^source\s*:.{0,60}$"
    r"|\bis (?:produced|published) by (?:the )?[^.]{0,120}\b(?:institution|organi[sz]ation|cent(?:er|re)|foundation)\b",
    _I,
)
_NAME_LINE = re.compile(r"^[A-Z][\w'-]+(?:\s+(?:[A-Z]\.|[A-Z][\w'-]+)){1,3}$")
_ROLE_WORDS = re.compile(
    r"\b(?:senior|associate|fellow|editor|reporter|correspondent|writer|contributor|professor|director"
    r"|analyst|columnist)\b",
    _I,
)


def is_widget_line(line: str) -> bool:
    return bool(_WIDGET_LINES.fullmatch(line.strip()))


def is_promo(line: str) -> bool:
    return len(line.split()) <= PROMO_WORDS and bool(_PROMO.search(line.strip()))


def is_copyright(line: str) -> bool:
    return len(line) < 300 and bool(_COPYRIGHT.search(line))


def is_caption(line: str) -> bool:
    # A credit is at most ~115 characters, so only the line's end is searched (2.3x faster on long paragraphs).
    return bool(_CREDIT_END.search(line[-CREDIT_TAIL_CHARS:]) or _CAPTION_START.search(line))


def is_short_heading(line: str) -> bool:
    return len(line.split()) <= 10 and not line.rstrip().endswith((".", "!", "?", ":", ";", ","))


def _is_signature(block: list[str]) -> bool:
    return (
        2 <= len(block) <= 3
        and bool(_NAME_LINE.match(block[0].strip()))
        and all(_ROLE_WORDS.search(line) for line in block[1:])
    )


def _is_tail_boilerplate(block: list[str]) -> bool:
    joined = " ".join(block)
    return bool(_BIO.match(joined) or _DISCLAIMER.search(joined)) or _is_signature(block)


def _strip_block(block: list[str]) -> list[str]:
    kept: list[str] = []
    for line in block:
        if is_widget_line(line) or is_copyright(line) or is_promo(line):
            continue
        if is_caption(line):
            if kept and is_short_heading(kept[-1]):
                kept.pop()
            continue
        kept.append(line)
    return kept


def strip_furniture(blocks: list[list[str]]) -> list[str]:
    """Paragraphs of the article, given blocks of lines (a block is what blank lines separate)."""
    cleaned = [kept for kept in map(_strip_block, blocks) if kept]
    while cleaned and _is_tail_boilerplate(cleaned[-1]):
        cleaned.pop()
    return [line for block in cleaned for line in block]


SITE_WORDS = 8
_SITE_SEPARATOR = re.compile(r"\s+(?:[|\u2013\u2014\u00b7\u2022\u00bb~/]+|-+|:{2,})\s+")
_DATELINE = re.compile(r"\b\d{1,2}:\d{2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")
_WORDS = re.compile(r"\w+")


def matches_headline(line: str, headlines: list[str]) -> bool:
    """The line is one of the headlines, up to case, punctuation and spacing, or a headline without its
    site name ("Title - Site", "Site | Title"). Sharing many words is not enough: a first paragraph often
    repeats most of the title's words, and it is the article."""
    key = headline_key(line)
    return bool(key) and any(key in headline_forms(head) for head in headlines)


def headline_key(text: str) -> tuple[str, ...]:
    return tuple(_WORDS.findall(unicodedata.normalize("NFKC", text).casefold()))


def headline_forms(headline: str) -> set[tuple[str, ...]]:
    """The headline's words, and those of what is left when up to SITE_WORDS words of site name (no
    more words than are left) are split off its end or start at a separator (" - ", " | ", " :: ", ...)."""
    parts = [headline_key(part) for part in _SITE_SEPARATOR.split(headline)]
    forms = {tuple(word for part in parts for word in part)}
    for cut in range(1, len(parts)):
        head, tail = parts[:cut], parts[cut:]
        for kept, dropped in ((head, tail), (tail, head)):
            kept_words, dropped_words = sum(map(len, kept)), sum(map(len, dropped))
            if dropped_words <= SITE_WORDS and kept_words >= dropped_words:  # the site name is the shorter side
                forms.add(tuple(word for part in kept for word in part))
    forms.discard(())
    return forms


def looks_like_title(line: str) -> bool:
    """At most 30 words and not closed like a sentence (a closing quote mark is looked through)."""
    return len(line.split()) <= 30 and not line.rstrip(" \"'\u201d\u2019").endswith((".", ",", ";"))


def strip_headlines(lines: list[str], headlines: list[str], scan: int = 3) -> list[str]:
    """Drop the page's headline and a date/byline line where they open the text (first `scan` lines)."""
    head, rest = lines[:scan], lines[scan:]
    kept = [
        line
        for line in head
        if not (looks_like_title(line) and matches_headline(line, headlines))
        and not (len(line.split()) <= 15 and _DATELINE.search(line))
    ]
    return kept + rest
