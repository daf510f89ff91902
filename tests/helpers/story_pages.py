"""HTML pages about the followed story, each its own article (own words) at its own outlet, for the alert and
digest tests: the default monitor (`roscosmos AND video AND ISS`) matches every one."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.news_site import article

KEYWORDS = "Roscosmos released a video of its ISS module leaving the station."


def story_page(n: int, outlet: str, published: str = "2022-03-31T08:00:00+00:00") -> bytes:
    """Article n (its own words, the keywords as a paragraph) with a canonical URL at `outlet` and a date."""
    head = (
        f'<link rel="canonical" href="https://{outlet}/story-{n}">'
        f'<meta property="article:published_time" content="{published}">'
    )
    return article(n, KEYWORDS).replace(b"<head>", b"<head>" + head.encode(), 1)


def write_story_pages(folder: Path, numbers: range, outlets: list[str]) -> list[Path]:
    """Pages `story-N.html` in `folder`, the outlets taken in turn."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, n in enumerate(numbers):
        path = folder / f"story-{n}.html"
        path.write_bytes(story_page(n, outlets[i % len(outlets)]))
        paths.append(path)
    return paths
