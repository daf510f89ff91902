"""The digest tests' warehouse: three story pages and the two media fixture pages embedding one video, matched by
two monitors, with the first matches dated so that one story falls before the period of the digest."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

from pipeline.ingest import IngestRequest, IngestSteps, ingest_documents
from similarity.monitors import DEFAULT_MONITORS
from tests.helpers.story_pages import story_page
from warehouse.db import open_writer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MONITORS = {**DEFAULT_MONITORS, "roscosmos-clip": "media:youtube:RoscoSmos01"}
SINCE, UNTIL = datetime(2026, 1, 1), datetime(2026, 1, 2)


def build_digest_warehouse(folder: Path, matched: datetime = datetime(2026, 1, 1, 10), earlier=datetime(2025, 12, 31)):
    """The warehouse file: every match first made at `matched`, but story 3's at `earlier`."""
    pages = folder / "pages"
    pages.mkdir(parents=True)
    for n, outlet, day in (
        (1, "orbit.example", "2022-03-30"),
        (2, "wire.example", "2022-03-31"),
        (3, "orbit.example", "2022-03-29"),
    ):
        (pages / f"story-{n}.html").write_bytes(story_page(n, outlet, f"{day}T08:00:00+00:00"))
    for name in ("story_en.html", "story_ru.html"):
        shutil.copy(FIXTURES / "media" / name, pages / name)
    db = folder / "mediamon.duckdb"
    request = IngestRequest(db=str(db), run_id="digest-run", paths=[str(pages)], monitors=MONITORS)
    ingest_documents(request, IngestSteps(extract_workers=1))
    with open_writer(db) as conn:
        conn.execute("UPDATE monitor_first_matches SET matched_at = ?", [matched])
        conn.execute(
            """UPDATE monitor_first_matches SET matched_at = ?
               WHERE article_id IN (SELECT article_id FROM articles WHERE url LIKE '%/story-3')""",
            [earlier],
        )
    return db
