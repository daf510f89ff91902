"""A digest of what the monitors found in a period, without Prefect: per monitor, the stories new to it with their
first article, how far each was picked up, and the embedded media that appeared, as Markdown or HTML. The rows
come from warehouse/digest.py; `mediamon digest` prints or writes it, the `digest` deployment (flows/digest.py)
stores it as an artifact and a file."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from warehouse.atomic import atomic_write
from warehouse.db import connect_reader
from warehouse.digest import DigestError, DigestMedia, DigestStory, digest_monitors, new_media, new_stories
from warehouse.views import create_views

FORMATS = ("markdown", "html")
SUFFIXES = {"markdown": ".md", "html": ".html"}
_PERIOD = re.compile(r"(\d+)\s*([mhdw])", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class MonitorDigest:
    monitor: str
    stories: list[DigestStory] = field(default_factory=list)
    media: list[DigestMedia] = field(default_factory=list)

    @property
    def new_articles(self) -> int:
        return sum(story.new_articles for story in self.stories)


@dataclass(frozen=True)
class Digest:
    since: datetime
    until: datetime
    monitors: list[MonitorDigest]


def parse_since(text: str) -> timedelta:
    """`24h`, `90m`, `7d`, `2w`: the period before now; DigestError otherwise."""
    match = _PERIOD.fullmatch(text.strip())
    if not match or not int(match[1]):
        raise DigestError(f"--since {text!r}: expected a period such as 24h, 90m, 7d or 2w")
    return timedelta(**{_UNITS[match[2].lower()]: int(match[1])})


def read_digest(conn, monitors: list[str], since: datetime, until: datetime) -> Digest:
    names = digest_monitors(conn, monitors)
    stories = new_stories(conn, names, since, until) if names else []
    media = new_media(conn, names, since, until) if names else []
    return Digest(
        since,
        until,
        [
            MonitorDigest(name, [s for s in stories if s.monitor == name], [m for m in media if m.monitor == name])
            for name in names
        ],
    )


def load_digest(db: str, monitors: list[str], since: datetime, until: datetime, wait_seconds: float = 30.0) -> Digest:
    """The digest read from the warehouse through a read-only connection (with this code's reporting views)."""
    conn = connect_reader(db, wait_seconds=wait_seconds)
    try:
        create_views(conn, temporary=True)
        return read_digest(conn, monitors, since, until)
    finally:
        conn.close()


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "unknown time"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def _md(text: str) -> str:
    """Text safe inside Markdown: the characters that start markup escaped, on one line."""
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", " ".join(text.split()))


def _md_link(text: str, url: str) -> str:
    return f"[{_md(text)}](<{url.replace('<', '%3C').replace('>', '%3E').replace(' ', '%20')}>)"


def _headline(story: DigestStory) -> str:
    return story.title or story.link


def _story_summary(story: DigestStory) -> str:
    outlets = ", ".join(story.outlets) if story.outlets else "no named outlet"
    return (
        f"{story.outlet}, {_when(story.seen_at)} UTC; {_plural(story.articles, 'article')} "
        f"({story.new_articles:,} new) from {_plural(len(story.outlets), 'outlet')}: {outlets}"
    )


def render_markdown(digest: Digest) -> str:
    lines = [
        f"# mediamon digest, {_when(digest.since)} to {_when(digest.until)} UTC",
        "",
        "New stories per monitor: a story is new when the monitor first matched one of its articles in the period.",
    ]
    if not digest.monitors:
        lines += ["", "No monitors in the warehouse."]
    for monitor in digest.monitors:
        stories = _plural(len(monitor.stories), "new story", "new stories")
        lines += ["", f"## {_md(monitor.monitor)}: {stories}, {_plural(monitor.new_articles, 'new article')}", ""]
        if not monitor.stories:
            lines.append("Nothing new.")
        for number, story in enumerate(monitor.stories, 1):
            lines.append(f"{number}. **{_md_link(_headline(story), story.link)}**  ")
            lines.append(f"   {_md(_story_summary(story))}")
        if monitor.media:
            lines += ["", "New embedded media:", ""]
            for item in monitor.media:
                lines.append(
                    f"- {_md_link(item.media, item.url)}: {_plural(item.articles, 'article')},"
                    f" first in {_md(item.first_outlet)}"
                )
    return "\n".join(lines) + "\n"


def render_html(digest: Digest) -> str:
    """A self-contained XHTML-compatible page (every element closed, text escaped)."""
    e = html.escape
    title = f"mediamon digest, {_when(digest.since)} to {_when(digest.until)} UTC"
    body = [
        f"<h1>{e(title)}</h1>",
        "<p>New stories per monitor: a story is new when the monitor first matched one of its articles in the"
        " period.</p>",
    ]
    if not digest.monitors:
        body.append("<p>No monitors in the warehouse.</p>")
    for monitor in digest.monitors:
        stories = _plural(len(monitor.stories), "new story", "new stories")
        body.append(f"<h2>{e(monitor.monitor)}: {stories}, {_plural(monitor.new_articles, 'new article')}</h2>")
        if not monitor.stories:
            body.append("<p>Nothing new.</p>")
        else:
            items = [
                f'<li><a href="{e(story.link)}"><strong>{e(_headline(story))}</strong></a><br />'
                f"{e(_story_summary(story))}</li>"
                for story in monitor.stories
            ]
            body.append("<ol>\n" + "\n".join(items) + "\n</ol>")
        if monitor.media:
            items = [
                f'<li><a href="{e(item.url)}">{e(item.media)}</a>: {_plural(item.articles, "article")}, first in '
                f"{e(item.first_outlet)}</li>"
                for item in monitor.media
            ]
            body.append("<p>New embedded media:</p>\n<ul>\n" + "\n".join(items) + "\n</ul>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8" />\n'
        f"<title>{e(title)}</title>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def render(digest: Digest, fmt: str) -> str:
    if fmt not in FORMATS:
        raise DigestError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    return render_markdown(digest) if fmt == "markdown" else render_html(digest)


def digest_path(folder: str | Path, until: datetime, fmt: str) -> Path:
    """Where the deployment writes a digest: one file per period end, `digest-YYYYMMDD-HHMM.md` in `folder`."""
    return Path(folder) / f"digest-{until:%Y%m%d-%H%M}{SUFFIXES[fmt]}"


def write_text(path: str | Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as temp:
        temp.write_text(text, encoding="utf-8")
    return path
