"""Embedded media and cited links (extractors/media.py), their tables (migration 014), rpt_media, story joining
by media (warehouse/stories.py) and `media:` monitor terms."""

from __future__ import annotations

import json
import pickle
import shutil
import uuid

import duckdb
import lxml.html
import pytest

from extractors import Article, Reject, extract_document
from extractors.html import load_tree
from extractors.media import BLOCK_CHARS, _block_text, cited_links, media_from_url, scan_page, text_links
from mediamon.cli import main
from pipeline.ingest import IngestRequest, IngestSteps, ingest_documents
from similarity.monitors import QueryError, matching_monitors, parse_query
from tests.conftest import FIXTURES_DIR
from warehouse.checks import failing_checks

MEDIA_DIR = FIXTURES_DIR / "media"
EXPECTED = json.loads((MEDIA_DIR / "expected.json").read_text(encoding="utf-8"))
VIDEO = "youtube:RoscoSmos01"


def extract_fixture(name: str) -> Article:
    path = MEDIA_DIR / name
    article = extract_document(path.read_bytes(), path.as_uri(), "html")
    assert isinstance(article, Article), article
    return article


@pytest.mark.pure
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_extract_media_fixture_pages(name):
    """Each fixture page gives exactly its expected media items, with the kind each was found as."""
    article = extract_fixture(name)
    assert sorted(f"{m.key} {m.kind}" for m in article.media) == sorted(EXPECTED[name])


@pytest.mark.pure
def test_extract_media_fixture_set_is_complete():
    assert sorted(EXPECTED) == sorted(p.name for p in MEDIA_DIR.glob("*.html"))


@pytest.mark.pure
@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=1s", "youtube:dQw4w9WgXcQ"),
        ("https://youtu.be/dQw4w9WgXcQ?si=abc", "youtube:dQw4w9WgXcQ"),
        ("//www.youtube-nocookie.com/embed/dQw4w9WgXcQ", "youtube:dQw4w9WgXcQ"),
        ("https://youtube.com/shorts/dQw4w9WgXcQ", "youtube:dQw4w9WgXcQ"),
        ("https://m.youtube.com/watch?v=dQw4w9WgXcQ", "youtube:dQw4w9WgXcQ"),
        ("https://player.vimeo.com/video/76979871?h=1", "vimeo:76979871"),
        ("https://www.dailymotion.com/embed/video/x7tgad0", "dailymotion:x7tgad0"),
        ("https://twitter.com/roscosmos/status/1508811111111111111", "x:1508811111111111111"),
        ("https://x.com/i/web/status/1508811111111111111", "x:1508811111111111111"),
        ("https://t.me/s/Roscosmos_GK/1234", "telegram:roscosmos_gk/1234"),
        ("https://telegram.me/roscosmos_gk/1234?single", "telegram:roscosmos_gk/1234"),
        ("https://www.facebook.com/roscosmos/videos/4110000001/", "facebook:4110000001"),
        ("https://www.instagram.com/roscosmos/reel/CbX1aAAaAa1/", "instagram:CbX1aAAaAa1"),
        ("https://www.tiktok.com/@roscosmos/video/7080000000000000001?lang=en", "tiktok:7080000000000000001"),
        ("https://vk.com/video_ext.php?oid=-1&id=2&hash=3", "vk:-1_2"),
        ("https://vk.com/video-1_2", "vk:-1_2"),
        ("https://rutube.ru/video/0123456789ABCDEF0123456789ABCDEF/", "rutube:0123456789abcdef0123456789abcdef"),
    ],
)
def test_media_from_url_forms(url, key):
    assert ":".join(media_from_url(url)) == key


@pytest.mark.pure
@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/embed/",
        "https://www.youtube.com/embed/videoseries?list=PL1",
        "https://www.youtube.com/@roscosmos",
        "http://[::1",
        "https://t.me/roscosmos_gk",
        "https://t.me/share/url?url=x",
        "https://twitter.com/intent/tweet?url=x",
        "https://www.facebook.com/sharer/sharer.php?u=x",
        "https://notyoutube.com/watch?v=dQw4w9WgXcQ",
        "javascript:alert(1)",
        "",
        None,
    ],
)
def test_media_from_url_not_media(url):
    assert media_from_url(url) is None


@pytest.mark.pure
def test_extract_media_malformed_embeds_are_skipped_not_rejected():
    article = extract_fixture("malformed.html")
    assert article.media == () and article.word_count > 50


@pytest.mark.pure
def test_cited_links_leave_out_navigation_and_furniture():
    """Only the two links in the article's paragraphs count: not the header, nav, aside or footer links."""
    article = extract_fixture("navigation.html")
    assert [(link.url, link.host, link.anchor) for link in article.links] == [
        ("https://www.reuters.com/world/europe/roscosmos-video-2022-03-30/", "www.reuters.com", "Reuters"),
        ("https://www.nasa.gov/feature/statement", "www.nasa.gov", "NASA's statement"),
    ]


@pytest.mark.pure
def test_cited_links_of_plain_text_are_its_urls():
    raw = (
        b"Roscosmos video spreads\n\nThe agency posted it at https://t.me/roscosmos_gk/5003, and Reuters "
        b"(https://www.reuters.com/world/a?utm_source=x) reported it.\n"
    )
    article = extract_document(raw, "file:///tmp/a.txt", "text")
    assert [link.url for link in article.links] == ["https://t.me/roscosmos_gk/5003", "https://www.reuters.com/world/a"]
    assert [f"{m.key} {m.kind}" for m in article.media] == ["telegram:roscosmos_gk/5003 link"]
    assert text_links("no links here") == ([], [])


@pytest.mark.pure
def test_extract_media_hostile_markup_never_raises():
    pages = [
        b"<html><body><p>" + b"word " * 80 + b"</p><iframe src='https://youtube.com/embed/%%%%%%%%%%%'>",
        b"<html><body><p>" + b"word " * 80 + b"</p><noscript>&lt;iframe src=&quot;http://[::1&quot;</noscript>",
        b"<html><body><p>" + b"word " * 80 + b"</p>" + b"<div data-src='https://t.me/a/1'>" * 300,
        b"<html><body><p>" + b"word " * 80 + b"<a href='http://[bad'>x</a> <a href='https://x.com/a/status/'>y</a></p>",
    ]
    for raw in pages:
        result = extract_document(raw, "file:///tmp/h.html", "html")
        assert isinstance(result, Article | Reject)


# Every form the fixtures cover, alone on a page with no other media marker, and the same forms on tags and
# attributes the scan's cheap checks could misjudge (furniture tags, <script>, custom tags, upper-case names,
# entity-encoded URLs, cite, a URL next to a data-* attribute): the checks must never skip an element that gives one.
ALONE = [
    (
        '<iframe class="lazy" src="about:blank" data-src="https://www.youtube-nocookie.com/embed/AAAAAAAAAA1"></iframe>',
        "youtube:AAAAAAAAAA1 embed",
    ),
    ('<noscript><iframe src="https://player.vimeo.com/video/700000011"></iframe></noscript>', "vimeo:700000011 embed"),
    ('<div class="embed-consent youtube-placeholder" data-video-id="BBBBBBBBBB3"></div>', "youtube:BBBBBBBBBB3 embed"),
    (
        '<div class="cmp-placeholder" data-src="https://rutube.ru/play/embed/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"></div>',
        "rutube:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa embed",
    ),
    (
        '<div class="embed" data-embed="https://t.me/roscosmos_gk/5004?embed=1"></div>',
        "telegram:roscosmos_gk/5004 embed",
    ),
    (
        '<blockquote class="twitter-tweet"><a href="https://twitter.com/roscosmos/status/1508800000000000001">t</a>'
        "</blockquote>",
        "x:1508800000000000001 embed",
    ),
    (
        '<blockquote class="tiktok-embed" cite="https://www.tiktok.com/@r/video/7080000000000000001"></blockquote>',
        "tiktok:7080000000000000001 embed",
    ),
    ('<meta property="og:video" content="https://www.youtube.com/embed/CCCCCCCCCC1">', "youtube:CCCCCCCCCC1 og"),
    ('<meta property="og:video:url" content="/video/iss.mp4">', "file:news.example/video/iss.mp4 og"),
    ('<video src="/media/undocking.MP4" controls></video>', "file:news.example/media/undocking.MP4 embed"),
    (
        '<video controls><source src="https://cdn.example/v/iss.webm" type="video/webm"></video>',
        "file:cdn.example/v/iss.webm embed",
    ),
    ('<lite-youtube videoid="AAAAAAAAAA4"></lite-youtube>', "youtube:AAAAAAAAAA4 embed"),
    (
        '<script src="https://telegram.org/js/telegram-widget.js" data-telegram-post="Roscosmos_GK/5001"></script>',
        "telegram:roscosmos_gk/5001 embed",
    ),
    (
        '<script type="application/ld+json">{"@type": "VideoObject", "embedUrl": "https://vimeo.com/700000001"}</script>',
        "vimeo:700000001 og",
    ),
    ('<aside data-video-id="BBBBBBBBBB4" class="youtube"></aside>', "youtube:BBBBBBBBBB4 embed"),
    (
        '<header><span data-href="https://www.facebook.com/r/videos/411000000000002/"></span></header>',
        "facebook:411000000000002 embed",
    ),
    (
        '<x-player DATA-SRC="https://vk.com/video_ext.php?oid=-30315369&amp;id=456239001"></x-player>',
        "vk:-30315369_456239001 embed",
    ),
    (
        '<div data-kind="player" title="https:&#x2F;&#x2F;www.dailymotion.com/video/x8abc12"></div>',
        "dailymotion:x8abc12 embed",
    ),
    ('<figure cite="https://www.instagram.com/p/CbX1aAAaAa1/"></figure>', "instagram:CbX1aAAaAa1 embed"),
]


@pytest.mark.pure
@pytest.mark.parametrize(("markup", "item"), ALONE)
def test_scan_page_finds_each_embed_form_alone(markup, item):
    tree = load_tree(f"<html><head></head><body><p>Text.</p>{markup}</body></html>")
    scan = scan_page(tree, "https://news.example/a/1")
    assert [f"{m.key} {m.kind}" for m in scan.media] == [item]


@pytest.mark.pure
def test_scan_page_skips_elements_that_give_nothing():
    """Share buttons, images and data-* widgets without a media id give no item (the elements the cheap checks
    leave unread), and a media file is recognized by its path, not by a query or a host."""
    tree = load_tree(
        """<html><body><div data-url="https://twitter.com/intent/tweet?url=x" data-count="3"></div>
        <img data-src="https://i.ytimg.com/vi/AAAAAAAAAA1/0.jpg"><div title="https://youtu.be/AAAAAAAAAA2"></div>
        <video src="/watch?format=.mp4"></video><meta property="og:video" content="https://mp4.example/clip">
        </body></html>"""
    )
    assert scan_page(tree, "https://news.example/a/1").media == []


@pytest.mark.pure
def test_cited_links_fast_paths_keep_the_links_of_the_main_text():
    """A link in nested furniture is left out by the scan even when its paragraph is a line of the text; an
    anchor with markup inside, several links in one paragraph, and a link in a block longer than the part
    compared are all read."""
    long_block = "word " * 1200 + '<a href="https://long.example/x">long</a>'
    tree = load_tree(
        f"""<html><body><form><header><nav><p><a href="https://nav.example/">Launch</a></p></nav></header></form>
        <p><a href="https://c.example/3">Launch</a></p>
        <p>The launch <a href="https://a.example/1"><b>Reuters</b> said</a>, and <a href="https://b.example/2">TASS</a>
        agreed.</p><div>{long_block}</div></body></html>"""
    )
    scan = scan_page(tree, "https://news.example/a/1")
    lines = ["Launch", "The launch Reuters said, and TASS agreed.", "word " * 1200 + "long"]
    links, _ = cited_links(scan.links, scan.base, lines, "https://news.example/a/1")
    assert [(link.url, link.anchor) for link in links] == [
        ("https://c.example/3", "Launch"),
        ("https://a.example/1", "Reuters said"),
        ("https://b.example/2", "TASS"),
        ("https://long.example/x", "long"),
    ]


@pytest.mark.pure
@pytest.mark.parametrize(
    "text", ["", "a b", "x" * 5000, "word " * 700, "word " * 1000, " " * 3000 + "y" * 2500, "a     " * 900]
)
def test_block_text_is_the_start_of_the_squeezed_block(text):
    block = lxml.html.fragment_fromstring(f"<div>{text}</div>")
    assert _block_text(block) == "".join(text.split())[:BLOCK_CHARS]


@pytest.mark.pure
def test_article_with_media_pickles_small():
    article = extract_fixture("youtube_forms.html")
    assert pickle.loads(pickle.dumps(article)) == article and len(article.media) == 8


@pytest.mark.pure
def test_monitor_media_terms():
    query = parse_query("media:youtube:RoscoSmos01 OR (roscosmos AND media:https://t.me/s/Roscosmos_GK/12)")
    assert matching_monitors({"m": query}, "t", "text", (VIDEO,)) == ["m"]
    assert matching_monitors({"m": query}, "t", "Roscosmos", ("telegram:roscosmos_gk/12",)) == ["m"]
    assert matching_monitors({"m": query}, "t", "roscosmos media:youtube:RoscoSmos01") == []  # text is not media
    with pytest.raises(QueryError, match="media:PLATFORM:ID"):
        parse_query("media:myspace:1")


# --- the warehouse ----------------------------------------------------------------------------------------------


def query(db, sql, params=()):
    with duckdb.connect(str(db), read_only=True) as conn:
        return conn.execute(sql, params).fetchall()


def ingest(db, folder, monitors=None):
    request = IngestRequest(db=str(db), run_id=str(uuid.uuid4()), paths=[str(folder)], monitors=monitors or {})
    return ingest_documents(request, IngestSteps(extract_workers=1))


@pytest.fixture
def story_pages(tmp_path):
    folder = tmp_path / "pages"
    folder.mkdir()
    for name in ("story_ru.html", "story_en.html", "navigation.html", "telegram.html"):
        shutil.copy(MEDIA_DIR / name, folder / name)
    return folder


@pytest.mark.warehouse
def test_media_tables_loaded_replaced_and_checked(fresh_db, story_pages):
    summary = ingest(fresh_db, story_pages)
    assert summary["loaded"] == 4
    media = """SELECT a.source_uri, m.platform || ':' || m.media_id, m.kind
               FROM article_media m JOIN articles a USING (article_id)"""
    rows = sorted((uri.rsplit("/", 1)[1], key, kind) for uri, key, kind in query(fresh_db, media))
    assert rows == [
        ("story_en.html", VIDEO, "og"),
        ("story_ru.html", VIDEO, "embed"),
        ("telegram.html", "telegram:roscosmos_gk/5001", "embed"),
        ("telegram.html", "telegram:roscosmos_gk/5002", "embed"),
        ("telegram.html", "telegram:roscosmos_gk/5003", "link"),
    ]
    assert query(fresh_db, "SELECT count(*) FROM article_links") == [(4,)]  # 2 + 1 + 1
    before = query(fresh_db, "SELECT * FROM article_media ORDER BY ALL")
    assert ingest(fresh_db, story_pages)["unchanged"] == 4  # same ingest twice changes nothing
    assert query(fresh_db, "SELECT * FROM article_media ORDER BY ALL") == before
    # an edited page replaces its rows: the embed is gone, a Vimeo link is new
    page = story_pages / "story_ru.html"
    page.write_text(
        page.read_text(encoding="utf-8").replace(
            'data-src="https://www.youtube-nocookie.com/embed/RoscoSmos01?autoplay=0"',
            'data-src="https://player.vimeo.com/video/700000099"',
        ),
        encoding="utf-8",
    )
    assert ingest(fresh_db, story_pages)["updated"] == 0  # the text is the same: only the media changed
    ru = """SELECT platform || ':' || media_id FROM article_media JOIN articles USING (article_id)
            WHERE source_uri LIKE '%story_ru.html'"""
    assert query(fresh_db, ru) == [("vimeo:700000099",)]
    with duckdb.connect(str(fresh_db)) as conn:
        assert failing_checks(conn) == []
        conn.execute("DELETE FROM articles WHERE source_uri LIKE '%telegram.html'")  # an orphan is caught
        assert [f.name for f in failing_checks(conn)] == ["article_media_orphans"]


@pytest.mark.warehouse
def test_russian_and_english_pages_embedding_one_video_are_one_story(fresh_db, story_pages):
    """Texts in two languages share no words; the video they embed (an iframe in one, og:video and a youtu.be
    link in the other) puts them in one story, the older story id kept."""
    ingest(fresh_db, story_pages)
    stories = dict(
        (uri.rsplit("/", 1)[1], (story, lang))
        for uri, story, lang in query(fresh_db, "SELECT source_uri, story_id, language FROM articles")
    )
    assert stories["story_ru.html"][1] == "ru" and stories["story_en.html"][1] == "en"
    assert stories["story_ru.html"][0] == stories["story_en.html"][0]
    # the two other pages share their text (one story of their own), not the video
    assert stories["navigation.html"][0] == stories["telegram.html"][0] != stories["story_ru.html"][0]
    merged = query(fresh_db, "SELECT count(*) FROM stories WHERE merged_into = ?", [stories["story_ru.html"][0]])
    assert merged == [(1,)]
    row = query(
        fresh_db,
        "SELECT media, articles, outlets, languages, language_codes, hours_first_to_last, first_outlet FROM rpt_media "
        "WHERE media = ?",
        [VIDEO],
    )
    assert row == [(VIDEO, 2, 2, 2, "en, ru", 25.5, "novosti.example")]


@pytest.mark.warehouse
def test_edit_embedding_only_a_shared_video_joins_the_stories(fresh_db, story_pages):
    """A page whose text stays the same but which now embeds the video another story's article carries: its
    re-ingest updates no article, yet the story step joins the two stories."""
    page = story_pages / "story_ru.html"
    embed = 'data-src="https://www.youtube-nocookie.com/embed/RoscoSmos01?autoplay=0"'
    original = page.read_text(encoding="utf-8")
    page.write_text(original.replace(embed, 'data-src="https://player.vimeo.com/video/700000099"'), encoding="utf-8")
    ingest(fresh_db, story_pages)
    pair = "SELECT count(DISTINCT story_id) FROM articles WHERE regexp_matches(source_uri, '/story_(ru|en)[.]html$')"
    assert query(fresh_db, pair) == [(2,)]  # no word and no media in common
    page.write_text(original, encoding="utf-8")  # the edit: only the embedded video changes
    summary = ingest(fresh_db, story_pages)
    assert (summary["loaded"], summary["updated"]) == (0, 0)
    assert query(fresh_db, pair) == [(1,)]
    assert query(fresh_db, "SELECT count(*) FROM media_changes") == [(0,)]  # the story step took them
    assert ingest(fresh_db, story_pages)["unchanged"] == 4 and query(fresh_db, pair) == [(1,)]


@pytest.mark.warehouse
def test_media_outside_the_story_window_joins_nothing(fresh_db, story_pages):
    page = story_pages / "story_en.html"
    page.write_text(page.read_text(encoding="utf-8").replace("2022-03-31T08:30", "2022-04-20T08:30"), encoding="utf-8")
    ingest(fresh_db, story_pages)
    stories = query(
        fresh_db,
        "SELECT count(DISTINCT story_id) FROM articles WHERE regexp_matches(source_uri, '/story_(ru|en)[.]html$')",
    )
    assert stories == [(2,)]


@pytest.mark.warehouse
def test_monitor_naming_a_media_item_matches_its_articles(fresh_db, story_pages):
    ingest(fresh_db, story_pages, monitors={"iss-video": f"media:{VIDEO}", "tg": "media:telegram:roscosmos_gk/5003"})
    rows = query(
        fresh_db,
        "SELECT monitor, source_uri FROM monitor_matches JOIN articles USING (article_id) ORDER BY ALL",
    )
    assert [(m, uri.rsplit("/", 1)[1]) for m, uri in rows] == [
        ("iss-video", "story_en.html"),
        ("iss-video", "story_ru.html"),
        ("tg", "telegram.html"),
    ]


@pytest.mark.warehouse
def test_report_shows_top_embedded_media(fresh_db, story_pages, tmp_path):
    ingest(fresh_db, story_pages)
    out = tmp_path / "report.html"
    assert main(["report", "--out", str(out), "--db", str(fresh_db)]) == 0
    page = out.read_text(encoding="utf-8")
    assert 'data-chart="media"' in page and "Top embedded media and how each spread" in page
    assert f">{VIDEO}</a></td><td class='num'>2</td><td class='num'>2</td><td>en, ru</td>" in page
    assert "telegram:roscosmos_gk/5001" not in page  # carried by one article only: not a spread
