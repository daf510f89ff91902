"""A small, real HTTP site on 127.0.0.1 for crawler tests (standard library only, no internet).

    from tests.fixture_site import ARTICLE_PATHS, fixture_site  # noqa: F401 (importing registers the fixture)

    def test_something(fixture_site):  # noqa: F811
        fixture_site.reset()
        url = fixture_site.url("/feed.xml")
        ...

Importing ``fixture_site`` once in ``tests/conftest.py`` instead makes it available to every test module without
the noqa comments. Outside pytest: ``with FixtureSite() as site: ...``; ``python tests/fixture_site.py`` serves the
site until Ctrl-C for manual checks.

The server binds only to 127.0.0.1 on a free port chosen by the OS. Each article is news-style HTML about the
March 2022 Roscosmos video that showed the Russian segment of the ISS "undocking". Every page has its own text.
The outlet, its authors and the experts are invented; the only domains that appear are ``*.example``. XML
namespace URIs in the feeds and sitemaps are fixed by those formats and nothing fetches them.

Routes (paths are matched without the query string; anything not listed answers 404):

* ``/articles/a1.html`` .. ``/articles/a4.html``: articles; a1 carries a canonical link to itself.
* ``/feed.xml`` (RSS 2.0: a1, a2), ``/atom.xml`` (Atom: a3, a4), ``/rss1.xml`` (RSS 1.0/RDF: a1, a3),
  ``/rss091.xml`` (RSS 0.91: a2), ``/ssrf-feed.xml`` (RSS items on ``localhost`` and ``127.0.0.2``),
  ``/big-feed.xml?n=1000`` (RSS linking to ``/gen/1.html`` .. ``/gen/{n}.html``; n defaults to 1000).
* ``/sitemap_index.xml`` -> ``/sitemap-articles.xml.gz`` (gzip file, a1, a2) and ``/news-sitemap.xml``
  (Google News, a3, a4); ``/sitemap-self.xml`` is an index that lists itself.
* ``/robots.txt`` disallows ``/private/``; ``/private/secret.html`` is an article no polite crawler fetches.
* ``/etag.html``: ETag ``"v1"`` and a Last-Modified date; 304 for a matching conditional request.
* ``/flaky-429.html`` and ``/flaky-500.html``: the first request after ``reset()`` fails (429 with
  ``Retry-After: 1``, or 500); later ones get an article. ``/always-503.html``: always 503.
  ``/missing.html``: always 404.
* ``/redirect/1`` -> 302 ``/redirect/2`` -> 301 ``/redirect/3`` -> 302 ``/articles/a2.html``;
  ``/loop/a`` <-> ``/loop/b``; ``/redirect-to-localhost`` -> 302 ``http://localhost:{port}/articles/a3.html``;
  ``/redirect-to-127-0-0-2`` -> 302 ``http://127.0.0.2:{port}/articles/a2.html``.
* ``/slow.html`` (headers after 3 s), ``/drip.html`` (1 body byte every 0.5 s for 10 s, then close),
  ``/bomb.html`` (gzip Content-Encoding, about 200 KB that inflate to 200 MiB), ``/doc.pdf``,
  ``/cp1251.html`` (Russian, windows-1251, charset only in ``<meta>``), ``/tracking.html`` (utm_* links),
  ``/gen/{i}.html`` (small generated articles), ``/urls.txt`` (a plain-text URL list).
"""

from __future__ import annotations

import email.utils
import gzip
import html
import random
import socket
import socketserver
import sys
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

HOST = "127.0.0.1"
SITE_NAME = "Orbital Desk"

# --- paths -------------------------------------------------------------------------------------------------------

A1_PATH = "/articles/a1.html"
A2_PATH = "/articles/a2.html"
A3_PATH = "/articles/a3.html"
A4_PATH = "/articles/a4.html"
ARTICLE_PATHS: tuple[str, ...] = (A1_PATH, A2_PATH, A3_PATH, A4_PATH)

RSS_PATH = "/feed.xml"
ATOM_PATH = "/atom.xml"
RSS1_PATH = "/rss1.xml"
RSS091_PATH = "/rss091.xml"
SSRF_FEED_PATH = "/ssrf-feed.xml"
BIG_FEED_PATH = "/big-feed.xml"
BIG_FEED_DEFAULT_N = 1000
BIG_FEED_MAX_N = 100_000
FEED_PATHS: tuple[str, ...] = (RSS_PATH, ATOM_PATH, RSS1_PATH, RSS091_PATH)
# Article paths each feed links to (as absolute URLs on the site's base URL), in document order.
FEED_LINKS: dict[str, tuple[str, ...]] = {
    RSS_PATH: (A1_PATH, A2_PATH),
    ATOM_PATH: (A3_PATH, A4_PATH),
    RSS1_PATH: (A1_PATH, A3_PATH),
    RSS091_PATH: (A2_PATH,),
}

SITEMAP_INDEX_PATH = "/sitemap_index.xml"
SITEMAP_GZ_PATH = "/sitemap-articles.xml.gz"
NEWS_SITEMAP_PATH = "/news-sitemap.xml"
SITEMAP_SELF_PATH = "/sitemap-self.xml"
SITEMAP_INDEX_CHILDREN: tuple[str, ...] = (SITEMAP_GZ_PATH, NEWS_SITEMAP_PATH)
SITEMAP_LINKS: dict[str, tuple[str, ...]] = {
    SITEMAP_GZ_PATH: (A1_PATH, A2_PATH),
    NEWS_SITEMAP_PATH: (A3_PATH, A4_PATH),
}
# <news:publication_date> values in /news-sitemap.xml, exactly as written there.
NEWS_PUBLICATION_DATES: dict[str, str] = {
    A3_PATH: "2022-03-05T12:00:00+00:00",
    A4_PATH: "2022-03-06T08:30:00+00:00",
}

ROBOTS_PATH = "/robots.txt"
ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"
PRIVATE_PATH = "/private/secret.html"

ETAG_PATH = "/etag.html"
ETAG_VALUE = '"v1"'
LAST_MODIFIED = "Sat, 05 Mar 2022 10:00:00 GMT"

FLAKY_429_PATH = "/flaky-429.html"
FLAKY_500_PATH = "/flaky-500.html"
RETRY_AFTER_SECONDS = 1
ALWAYS_503_PATH = "/always-503.html"
MISSING_PATH = "/missing.html"

REDIRECT_START_PATH = "/redirect/1"
# (path, status, Location) for each hop; Location values are path-only (relative to the site).
REDIRECT_CHAIN: tuple[tuple[str, int, str], ...] = (
    ("/redirect/1", 302, "/redirect/2"),
    ("/redirect/2", 301, "/redirect/3"),
    ("/redirect/3", 302, A2_PATH),
)
REDIRECT_FINAL_PATH = A2_PATH
LOOP_A_PATH = "/loop/a"
LOOP_B_PATH = "/loop/b"
REDIRECT_TO_LOCALHOST_PATH = "/redirect-to-localhost"
REDIRECT_TO_127_0_0_2_PATH = "/redirect-to-127-0-0-2"  # 302 to http://127.0.0.2:{port}/articles/a2.html

SLOW_PATH = "/slow.html"
SLOW_DELAY_SECONDS = 3.0
DRIP_PATH = "/drip.html"
DRIP_INTERVAL_SECONDS = 0.5
DRIP_DURATION_SECONDS = 10.0
DRIP_BYTES = int(DRIP_DURATION_SECONDS / DRIP_INTERVAL_SECONDS)  # 20 bytes in all

BOMB_PATH = "/bomb.html"
BOMB_UNCOMPRESSED_SIZE = 200 * 1024 * 1024

PDF_PATH = "/doc.pdf"
CP1251_PATH = "/cp1251.html"
TRACKING_PATH = "/tracking.html"
# The canonical href of /tracking.html, relative to the base URL (written with &amp; in the HTML attribute).
TRACKING_CANONICAL = "/articles/canonical-story.html?utm_source=feed&utm_medium=rss&id=7"
URLS_TXT_PATH = "/urls.txt"
URLS_TXT_PATHS: tuple[str, ...] = (A1_PATH, A2_PATH, MISSING_PATH)  # the URLs listed, in order

GEN_PREFIX = "/gen/"


def gen_path(i: int) -> str:
    """Path of the i-th generated article (big-feed items are numbered 1..n)."""
    return f"{GEN_PREFIX}{i}.html"


# --- article content ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Article:
    title: str
    author: str
    published: str  # ISO 8601
    description: str
    paragraphs: tuple[str, ...]


_ARTICLES: dict[str, _Article] = {
    A1_PATH: _Article(
        title="Roscosmos video shows cosmonauts 'leaving' NASA astronaut behind on ISS",
        author="Dana Whitfield",
        published="2022-03-05T09:15:00+00:00",
        description="A short Roscosmos clip shows the Russian segment of the space station drifting away.",
        paragraphs=(
            "Russia's state space corporation Roscosmos has circulated a short video that appears to show the "
            "Russian segment of the International Space Station separating from the rest of the orbiting "
            "laboratory, a stunt that arrives as Western sanctions over the invasion of Ukraine strain one of "
            "the last working channels of cooperation between Moscow and Washington.",
            "The clip, which runs for little more than a minute, opens with ground staff in a training facility "
            "acting out a farewell scene. Two people in cosmonaut outfits wave to a third, implied to be NASA "
            "astronaut Mark Vande Hei, before the footage cuts to a computer animation of the Russian modules "
            "drifting away from the American side of the station.",
            "The video was shared on the agency's Telegram channel and quickly amplified by Dmitry Rogozin, the "
            "outspoken head of Roscosmos, who has spent the past week trading barbs online with Western officials. "
            "It carries no formal announcement and none of the technical detail that would accompany a real "
            "change to station operations.",
            "Vande Hei is scheduled to return to Earth at the end of March aboard a Soyuz capsule alongside "
            "cosmonauts Anton Shkaplerov and Pyotr Dubrov. His landing in Kazakhstan would complete a "
            "record-setting stay of almost a full year in orbit, the longest single flight by an American astronaut.",
            "Space policy researchers who spoke to Orbital Desk described the video as political theatre rather "
            "than a statement of intent. Separating the segments would leave both halves without critical "
            "systems, they noted, because the station was designed and assembled as one tightly interdependent "
            "machine over more than two decades.",
        ),
    ),
    A2_PATH: _Article(
        title="NASA says station operations continue as normal despite Roscosmos clip",
        author="Marcus Leigh",
        published="2022-03-05T14:40:00+00:00",
        description="NASA says flight controllers in Houston and Moscow are still working together.",
        paragraphs=(
            "NASA moved on Saturday to play down a provocative video released by Roscosmos, saying that flight "
            "controllers in Houston and Moscow were still working together on daily operations aboard the "
            "International Space Station and that nothing in the clip reflected an actual change in plans.",
            "In a brief statement, the agency said it continued to work with all of its international partners, "
            "including the Russian space agency, to keep the station operating safely. Officials declined to "
            "comment directly on the content of the video, which depicts the Russian modules undocking.",
            "Behind the public calm, engineers on both sides of the partnership acknowledge that relations are "
            "more fragile than at any point since the first station modules were joined in orbit in 1998. "
            "Sanctions announced by the White House in late February target Russian aerospace firms and "
            "high-technology exports.",
            "Crew schedules have not changed, according to people familiar with the planning. The seven people "
            "currently aboard the station spent the week on routine maintenance, biology experiments and "
            "preparations for a pair of American spacewalks planned for the middle of the month.",
            "A former flight director, speaking on condition of anonymity because she still advises the agency, "
            "said that mission controllers were used to ignoring political noise. What matters to the teams on "
            "the consoles, she said, is whether telemetry, commands and procedures keep flowing between the two "
            "control centres.",
        ),
    ),
    A3_PATH: _Article(
        title="What the Roscosmos 'goodbye' video means for Mark Vande Hei's ride home",
        author="Priya Raman",
        published="2022-03-05T12:00:00+00:00",
        description="Both agencies say the NASA astronaut will still land on a Soyuz at the end of March.",
        paragraphs=(
            "For all the attention it has drawn online, the Roscosmos video that shows cosmonauts waving goodbye "
            "to an American colleague has prompted a practical question among space watchers: will NASA astronaut "
            "Mark Vande Hei still come home on the Russian Soyuz capsule that carried him to orbit last April?",
            "The short answer from both agencies, so far, is yes. The Soyuz MS-19 spacecraft remains docked to the "
            "station and is scheduled to undock on March 30 with Vande Hei, Anton Shkaplerov and Pyotr Dubrov "
            "aboard, landing on the steppe of Kazakhstan a few hours later.",
            "Seats on Soyuz flights have been part of a long-running barter arrangement between the two agencies. "
            "After the retirement of the space shuttle in 2011, NASA relied entirely on Russian capsules to reach "
            "the station until commercial crew vehicles built by SpaceX began regular flights in 2020.",
            "Vande Hei's mission was extended last year so that a Russian film crew could use seats on an autumn "
            "Soyuz flight. As a result he is on track to spend 355 days in space, surpassing the previous American "
            "record for a single mission set by Scott Kelly.",
            "Analysts cautioned that the video should not be read as an operational signal. Any change to the "
            "landing plan would require weeks of coordination between flight surgeons, recovery teams and "
            "ballistics specialists in both countries, and none of that work has been reported.",
        ),
    ),
    A4_PATH: _Article(
        title="Analysis: could the ISS stay in orbit without Russian thrusters?",
        author="Tomasz Wren",
        published="2022-03-06T08:30:00+00:00",
        description="Why the station's altitude depends on Russian engines, and what could replace them.",
        paragraphs=(
            "The theatrics of the latest Roscosmos video have revived an old engineering question. The "
            "International Space Station slowly loses altitude because of drag from the thin upper atmosphere, "
            "and for most of its life the periodic boosts that keep it aloft have come from Russian engines and "
            "Progress cargo ships.",
            "The station's Russian segment also provides propulsion for attitude control and debris avoidance "
            "manoeuvres, while the American segment supplies most of the electrical power and handles the "
            "gyroscopes that keep the outpost pointed correctly during normal operations. Each half depends on "
            "the other.",
            "Dmitry Rogozin has suggested on social media that without Russian help the station could fall out "
            "of orbit, and has pointedly asked whether the United States wanted to take responsibility for an "
            "uncontrolled reentry. Engineers note that such a descent would take many months even if every boost "
            "stopped immediately.",
            "American companies have offered alternatives. Northrop Grumman has said its Cygnus cargo vehicle "
            "could be adapted to perform reboosts, and SpaceX founder Elon Musk responded to Rogozin's remarks by "
            "posting the company's logo, implying that Dragon capsules could take on the job.",
            "Even so, replacing Russian propulsion would be slow, expensive and technically awkward. Specialists "
            "interviewed for this article estimated that a reliable substitute would need at least a year of "
            "planning and testing, and they stressed that the safest outcome remains continued cooperation until "
            "the station is retired.",
        ),
    ),
    PRIVATE_PATH: _Article(
        title="Embargoed: internal briefing notes on ISS partner contingency planning",
        author="Orbital Desk editors",
        published="2022-03-06T20:00:00+00:00",
        description="Internal notes, not for publication.",
        paragraphs=(
            "These notes were prepared for the editorial desk ahead of a planned series on the future of the "
            "International Space Station and are not for publication. They summarise conversations with engineers "
            "about what contingency planning would look like if cooperation with Roscosmos broke down.",
            "Sources described a set of binders, compiled over many years, that walk through scenarios ranging "
            "from a temporary loss of communication with the Moscow control centre to an orderly handover of "
            "Russian-built modules. None of the scenarios assumes the dramatic separation shown in the recent "
            "video.",
            "Several people stressed that the most sensitive question is not hardware but people. Crew members "
            "train together for years, share food and exercise routines in orbit, and rely on one another in "
            "emergencies, which makes any talk of leaving colleagues behind deeply uncomfortable.",
            "Reporters should not contact the named engineers directly before the series is approved. Quotes in "
            "this document are paraphrased from background interviews and must be confirmed on the record before "
            "they appear in any published story on the Orbital Desk website.",
        ),
    ),
    ETAG_PATH: _Article(
        title="Live updates: reaction to the Roscosmos ISS video",
        author="Orbital Desk staff",
        published="2022-03-05T10:00:00+00:00",
        description="Reaction from agencies, crews and analysts to the Roscosmos undocking video.",
        paragraphs=(
            "This page collects reaction to the video released by Roscosmos that appears to show the Russian "
            "segment of the International Space Station undocking. It was last updated on Saturday morning and "
            "will be revised as agencies, crew members and analysts respond.",
            "10:00 GMT: European Space Agency officials said they were monitoring the situation closely and "
            "remained committed to the station partnership. The agency said earlier in the week that a joint Mars "
            "rover launch planned with Russia for this year was now very unlikely to go ahead.",
            "09:40 GMT: Russian state media repeated the clip throughout the morning, framing it as a response to "
            "Western sanctions. Commentators on state television described the undocking scene as a humorous "
            "reminder of how much the station depends on Russian hardware and expertise.",
            "09:15 GMT: Independent space historians pointed out that the station has survived previous "
            "diplomatic crises, including tensions after the annexation of Crimea in 2014. Cooperation in orbit "
            "has usually continued even when relations on the ground deteriorated sharply, they said.",
        ),
    ),
    FLAKY_429_PATH: _Article(
        title="Explainer: how Rogozin turned social media into a Roscosmos megaphone",
        author="Elena Sorvino",
        published="2022-03-04T18:20:00+00:00",
        description="The Roscosmos chief's online campaign against Western sanctions, explained.",
        paragraphs=(
            "Dmitry Rogozin, the director general of Roscosmos, has never been a conventional agency chief. A "
            "former deputy prime minister and envoy to NATO, he has long used social media to needle Western "
            "governments, and in the weeks since the invasion of Ukraine his posts have grown sharper.",
            "His messages have ranged from warnings about the station's orbit to announcements that Russia would "
            "stop supplying rocket engines to American companies. In one widely shared remark he suggested that "
            "American launch providers could fly on broomsticks instead of Russian hardware.",
            "The undocking video fits the same pattern. It is designed for a domestic audience as much as a "
            "foreign one, communications researchers say, projecting confidence at a moment when the Russian "
            "space industry faces the loss of Western components, customers and commercial launch contracts.",
            "NASA, by contrast, has chosen to say as little as possible in public. Agency officials have "
            "repeatedly declined to respond to individual posts, preferring to emphasise the professional "
            "relationship between flight controllers, which they describe as intact despite the political "
            "turbulence.",
        ),
    ),
    FLAKY_500_PATH: _Article(
        title="Timeline: two decades of Russian-American cooperation in orbit",
        author="Marcus Leigh",
        published="2022-03-03T07:00:00+00:00",
        description="From Mir to the ISS: how the two space powers learned to work together.",
        paragraphs=(
            "Russian and American space cooperation predates the International Space Station. Shuttle missions "
            "visited the Mir station throughout the 1990s, giving astronauts and cosmonauts their first long "
            "stretches of shared work and building the personal relationships that later made the station "
            "possible.",
            "The first station module, the Russian-built Zarya, reached orbit in November 1998, followed weeks "
            "later by the American Unity node. Since the first resident crew arrived in November 2000 the outpost "
            "has been continuously occupied, with Russian and American crew members living side by side.",
            "After the Columbia accident in 2003 grounded the shuttle fleet, Soyuz capsules and Progress freighters "
            "kept the station supplied and staffed. The same dependence returned after the shuttle was retired in "
            "2011, when Soyuz became the only way for any astronaut to reach orbit.",
            "The arrival of commercial crew flights in 2020 reduced that dependence, and a seat-swap agreement "
            "under negotiation in early 2022 would let cosmonauts fly on American vehicles while astronauts "
            "continue to ride Soyuz. Whether that deal survives the current crisis is now an open question.",
        ),
    ),
    SLOW_PATH: _Article(
        title="Former crew members criticise Roscosmos video as unprofessional",
        author="Priya Raman",
        published="2022-03-06T11:10:00+00:00",
        description="Veterans of long station missions say the clip trivialises trust between crews.",
        paragraphs=(
            "Several former astronauts and cosmonauts have criticised the Roscosmos undocking video, arguing that "
            "it trivialises the trust that crews depend on in orbit. Their comments, shared on social media and in "
            "interviews, reflect unease within a community that has long prided itself on staying above politics.",
            "One retired astronaut who flew two long missions to the station told Orbital Desk that crews train "
            "for years to handle fires, leaks and medical emergencies together. Joking about abandoning a "
            "colleague, he said, sends exactly the wrong message to the people currently living aboard.",
            "Some former cosmonauts were more measured, saying the clip was aimed at politicians rather than at "
            "the crew. They pointed out that Russian and American crew members have continued to share meals, "
            "conduct joint experiments and celebrate birthdays in orbit throughout the current crisis.",
            "Veteran flight controllers said the episode was unlikely to affect the work on the ground. Teams in "
            "Houston and Moscow still hold daily planning conferences, exchange procedures and sign off on each "
            "other's timelines, as they have done for more than twenty years.",
        ),
    ),
    TRACKING_PATH: _Article(
        title="OneWeb launch cancelled after Roscosmos demands guarantees",
        author="Tomasz Wren",
        published="2022-03-04T16:05:00+00:00",
        description="Roscosmos scraps a Soyuz launch of British broadband satellites from Baikonur.",
        paragraphs=(
            "Roscosmos has cancelled a Soyuz launch that was due to carry thirty-six broadband satellites for the "
            "British company OneWeb from the Baikonur Cosmodrome, after the Russian agency demanded guarantees "
            "that the spacecraft would not be used for military purposes.",
            "Before the cancellation, launch crews at Baikonur covered the flags of the United States, the United "
            "Kingdom and Japan painted on the rocket's payload fairing, leaving the Indian flag visible. Video of "
            "the work was shared by Dmitry Rogozin alongside his demands.",
            "OneWeb's board voted to suspend all launches from Baikonur, and the British government, a major "
            "shareholder in the company, said it would not accept Russian conditions. The satellites remained at "
            "the launch site as the dispute escalated into a broader break in commercial ties.",
            "Industry analysts said the episode showed how quickly commercial space business with Russia was "
            "unravelling. Together with the undocking video released days later, it signalled that Roscosmos was "
            "willing to turn launch services and station operations into tools of political pressure.",
            # The last paragraph is raw HTML (links with utm_* parameters); see _TRACKING_LINKS_PARAGRAPH.
        ),
    ),
}

_TRACKING_LINKS_PARAGRAPH = (
    "Read our earlier reporting on "
    '<a href="/articles/a3.html?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=iss-video">what the '
    "video means for Mark Vande Hei's return</a> and our "
    '<a href="{base}/articles/a4.html?utm_source=twitter&amp;utm_medium=social&amp;utm_content=thread&amp;ref=home">'
    "analysis of whether the station can stay in orbit without Russian thrusters</a>, both of which explain why "
    "launch services and station operations are now so closely linked."
)

# Expected <title>/<h1> of a1..a4, keyed by path.
ARTICLE_TITLES: dict[str, str] = {path: _ARTICLES[path].title for path in ARTICLE_PATHS}
# Expected titles of every English article page served (a1..a4 and the special routes), keyed by path.
PAGE_TITLES: dict[str, str] = {path: article.title for path, article in _ARTICLES.items()}
# One full sentence from the body of each of a1..a4 (for extraction checks).
ARTICLE_SENTENCES: dict[str, str] = {
    A1_PATH: "The video was shared on the agency's Telegram channel and quickly amplified by Dmitry Rogozin, the "
    "outspoken head of Roscosmos, who has spent the past week trading barbs online with Western officials.",
    A2_PATH: "Crew schedules have not changed, according to people familiar with the planning.",
    A3_PATH: "The short answer from both agencies, so far, is yes.",
    A4_PATH: "American companies have offered alternatives.",
}
# Publication dates (ISO 8601, UTC) of the English article pages, as in their <meta>/<time> and in the feeds.
PUBLISHED: dict[str, str] = {path: article.published for path, article in _ARTICLES.items()}

CP1251_TITLE = "Роскосмос показал видео с «отстыковкой» российского сегмента МКС"
CP1251_SENTENCE = "Ролик был опубликован в субботу в телеграм-канале госкорпорации."
_CP1251_PARAGRAPHS = (
    "Государственная корпорация «Роскосмос» опубликовала короткий ролик, в котором российский сегмент "
    "Международной космической станции будто бы отделяется от американской части. Видео появилось на фоне "
    "западных санкций, введённых после начала военных действий на Украине, и быстро разошлось по социальным сетям.",
    CP1251_SENTENCE + " В первой части сотрудники наземного комплекса разыгрывают сцену прощания: двое в костюмах "
    "космонавтов машут рукой третьему участнику, который изображает американского астронавта Марка Ванде Хая. "
    "Затем показана компьютерная анимация отстыковки модулей.",
    "Глава «Роскосмоса» Дмитрий Рогозин в последние недели неоднократно высказывался о будущем станции и "
    "предупреждал, что без российских двигателей МКС может сойти с орбиты. Представители НАСА ответили, что "
    "совместная работа центров управления полётами продолжается в обычном режиме.",
    "По действующему графику Марк Ванде Хай должен вернуться на Землю тридцатого марта на корабле «Союз МС-19» "
    "вместе с космонавтами Антоном Шкаплеровым и Петром Дубровым. Его экспедиция продлится почти год и станет "
    "самой длительной для американских астронавтов.",
    "Эксперты, опрошенные редакцией, считают видео политическим жестом, а не техническим заявлением. По их словам, "
    "разделение станции потребовало бы многих месяцев подготовки, а обе её части сегодня зависят друг от друга в "
    "вопросах энергоснабжения, ориентации и связи.",
)


def _human_date(iso: str) -> str:
    dt = datetime.fromisoformat(iso)
    return f"{dt:%B} {dt.day}, {dt:%Y} {dt:%H:%M} UTC"


def _rfc822(iso: str) -> str:
    return email.utils.format_datetime(datetime.fromisoformat(iso).astimezone(UTC), usegmt=True)


_NAV = (
    '<header class="site-header">\n'
    f'<a class="logo" href="{A1_PATH}">{SITE_NAME}</a>\n'
    '<nav class="main-nav" aria-label="Sections"><ul>\n'
    f'<li><a href="{A1_PATH}">Space</a></li>\n'
    f'<li><a href="{A2_PATH}">Science</a></li>\n'
    f'<li><a href="{A3_PATH}">Exploration</a></li>\n'
    f'<li><a href="{A4_PATH}">Analysis</a></li>\n'
    f'<li><a href="{RSS_PATH}">RSS</a></li>\n'
    "</ul></nav>\n"
    "</header>\n"
)
_FOOTER = (
    '<footer class="site-footer">\n'
    f"<p>&copy; 2022 {SITE_NAME}. Independent coverage of spaceflight and space policy.</p>\n"
    '<p>Contact the newsroom: <a href="mailto:newsroom@orbitaldesk.example">newsroom@orbitaldesk.example</a> '
    f'&middot; <a href="{RSS_PATH}">RSS</a> &middot; <a href="{ATOM_PATH}">Atom</a></p>\n'
    "</footer>\n"
)


def _page(
    *,
    title: str,
    paragraphs_html: list[str],
    author: str,
    published: str,
    description: str,
    extra_head: str = "",
) -> str:
    t = html.escape(title)
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs_html)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{t}</title>\n"
        f'<meta name="description" content="{html.escape(description)}">\n'
        f'<meta name="author" content="{html.escape(author)}">\n'
        f'<meta property="og:title" content="{t}">\n'
        '<meta property="og:type" content="article">\n'
        f'<meta property="og:site_name" content="{SITE_NAME}">\n'
        f'<meta property="article:published_time" content="{published}">\n'
        f"{extra_head}"
        "</head>\n<body>\n"
        f"{_NAV}"
        "<main>\n<article>\n"
        f"<h1>{t}</h1>\n"
        f'<p class="byline">By <span class="author">{html.escape(author)}</span> &middot; '
        f'<time datetime="{published}">{_human_date(published)}</time></p>\n'
        f"{body}\n"
        "</article>\n</main>\n"
        f"{_FOOTER}"
        "</body>\n</html>\n"
    )


def _article_html(path: str, base: str) -> bytes:
    a = _ARTICLES[path]
    extra_head = ""
    paragraphs = [html.escape(p, quote=False) for p in a.paragraphs]
    if path == A1_PATH:
        extra_head = f'<link rel="canonical" href="{html.escape(base + A1_PATH)}">\n'
    elif path == TRACKING_PATH:
        extra_head = f'<link rel="canonical" href="{html.escape(base + TRACKING_CANONICAL)}">\n'
        paragraphs.append(_TRACKING_LINKS_PARAGRAPH.replace("{base}", base))
    return _page(
        title=a.title,
        paragraphs_html=paragraphs,
        author=a.author,
        published=a.published,
        description=a.description,
        extra_head=extra_head,
    ).encode("utf-8")


def _cp1251_html() -> bytes:
    t = html.escape(CP1251_TITLE)
    body = "\n".join(f"<p>{html.escape(p, quote=False)}</p>" for p in _CP1251_PARAGRAPHS)
    doc = (
        "<!DOCTYPE html>\n"
        '<html lang="ru">\n<head>\n<meta charset="windows-1251">\n'
        f"<title>{t}</title>\n"
        '<meta property="og:type" content="article">\n'
        '<meta property="article:published_time" content="2022-03-05T13:20:00+00:00">\n'
        "</head>\n<body>\n"
        '<header class="site-header"><nav class="main-nav"><ul>\n'
        f'<li><a href="{A1_PATH}">Космос</a></li>\n<li><a href="{A2_PATH}">Наука</a></li>\n'
        f'<li><a href="{A4_PATH}">Аналитика</a></li>\n'
        "</ul></nav></header>\n"
        "<main>\n<article>\n"
        f"<h1>{t}</h1>\n"
        '<p class="byline">Автор: <span class="author">Ирина Волкова</span> &middot; '
        '<time datetime="2022-03-05T13:20:00+00:00">5 марта 2022 года</time></p>\n'
        f"{body}\n"
        "</article>\n</main>\n"
        '<footer class="site-footer"><p>&copy; 2022 «Орбитальный вестник». Все права защищены.</p></footer>\n'
        "</body>\n</html>\n"
    )
    return doc.encode("windows-1251")


_CP1251_BYTES = _cp1251_html()

# --- generated articles (/gen/{i}.html) --------------------------------------------------------------------------

_GEN_SUBJECTS = (
    "Mission controllers in Houston",
    "Flight directors in Moscow",
    "Engineers at the Korolev control centre",
    "Station programme managers",
    "Independent orbital analysts",
    "Crew members aboard the station",
    "Partner agencies in Europe and Japan",
    "Ground teams at Baikonur",
    "Budget officials in Washington",
    "Propulsion specialists",
    "Former cosmonauts",
    "Commercial cargo providers",
)
_GEN_VERBS = (
    "reviewed",
    "questioned",
    "updated",
    "rehearsed",
    "debated",
    "documented",
    "simulated",
    "postponed",
    "reconfirmed",
    "analysed",
    "tracked",
    "published",
)
_GEN_OBJECTS = (
    "the reboost schedule",
    "the Soyuz return timeline",
    "the Progress docking plan",
    "attitude control procedures",
    "a debris avoidance manoeuvre",
    "solar array maintenance",
    "the cargo manifest",
    "spacewalk preparations",
    "the communications relay plan",
    "contingency undocking steps",
    "life support logistics",
    "the crew rotation roster",
)
_GEN_DETAILS = (
    "during a {a}-hour overnight shift",
    "after {a} consecutive passes over the Pacific",
    "with a margin of {a} metres per second",
    "before a briefing scheduled for {a} minutes past the hour",
    "using telemetry from {a} separate sensors",
    "while the station flew at about {a} kilometres",
    "in a memo that ran to {a} pages",
    "ahead of a review involving {a} engineers",
)


def gen_title(i: int) -> str:
    """Expected title of /gen/{i}.html."""
    rng = random.Random(i)
    return f"Station bulletin {i}: {rng.choice(_GEN_SUBJECTS)} {rng.choice(_GEN_VERBS)} {rng.choice(_GEN_OBJECTS)}"


def _gen_sentence(rng: random.Random) -> str:
    detail = rng.choice(_GEN_DETAILS).format(a=rng.randint(2, 999))
    return f"{rng.choice(_GEN_SUBJECTS)} {rng.choice(_GEN_VERBS)} {rng.choice(_GEN_OBJECTS)} {detail}."


def gen_html(i: int) -> bytes:
    rng = random.Random(f"gen-body-{i}")
    paragraphs = [" ".join(_gen_sentence(rng) for _ in range(3)) for _ in range(3)]
    minute = i % (24 * 60)
    published = (datetime(2022, 3, 6, tzinfo=UTC) - timedelta(minutes=minute)).isoformat()
    return _page(
        title=gen_title(i),
        paragraphs_html=[html.escape(p, quote=False) for p in paragraphs],
        author="Orbital Desk wire",
        published=published,
        description=f"Generated station bulletin number {i}.",
    ).encode("utf-8")


# --- feeds and sitemaps ------------------------------------------------------------------------------------------

_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'


def _x(s: str) -> str:
    return html.escape(s, quote=True)


def _rss2(base: str) -> bytes:
    items = "".join(
        "<item>\n"
        f"<title>{_x(_ARTICLES[p].title)}</title>\n"
        f"<link>{_x(base + p)}</link>\n"
        f'<guid isPermaLink="true">{_x(base + p)}</guid>\n'
        f"<pubDate>{_rfc822(_ARTICLES[p].published)}</pubDate>\n"
        f"<author>newsroom@orbitaldesk.example ({_x(_ARTICLES[p].author)})</author>\n"
        f"<description>{_x(_ARTICLES[p].description)}</description>\n"
        "</item>\n"
        for p in FEED_LINKS[RSS_PATH]
    )
    return (
        _XML_DECL + '<rss version="2.0">\n<channel>\n'
        f"<title>{SITE_NAME}: Space</title>\n<link>{_x(base)}/</link>\n"
        "<description>Spaceflight and space policy news.</description>\n<language>en</language>\n"
        f"<lastBuildDate>{_rfc822('2022-03-05T15:00:00+00:00')}</lastBuildDate>\n"
        f"{items}</channel>\n</rss>\n"
    ).encode("utf-8")


def _atom(base: str) -> bytes:
    entries = "".join(
        "<entry>\n"
        f"<title>{_x(_ARTICLES[p].title)}</title>\n"
        f'<link rel="alternate" type="text/html" href="{_x(base + p)}"/>\n'
        f"<id>tag:orbitaldesk.example,2022:{p.rsplit('/', 1)[-1]}</id>\n"
        f"<published>{_ARTICLES[p].published}</published>\n"
        f"<updated>{_ARTICLES[p].published}</updated>\n"
        f"<author><name>{_x(_ARTICLES[p].author)}</name></author>\n"
        f"<summary>{_x(_ARTICLES[p].description)}</summary>\n"
        "</entry>\n"
        for p in FEED_LINKS[ATOM_PATH]
    )
    return (
        _XML_DECL + '<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>{SITE_NAME}: Analysis</title>\n"
        f'<link rel="self" type="application/atom+xml" href="{_x(base + ATOM_PATH)}"/>\n'
        f'<link rel="alternate" type="text/html" href="{_x(base)}/"/>\n'
        "<id>tag:orbitaldesk.example,2022:atom</id>\n"
        "<updated>2022-03-06T08:30:00+00:00</updated>\n"
        f"{entries}</feed>\n"
    ).encode("utf-8")


def _rss1(base: str) -> bytes:
    links = FEED_LINKS[RSS1_PATH]
    seq = "".join(f'<rdf:li rdf:resource="{_x(base + p)}"/>\n' for p in links)
    items = "".join(
        f'<item rdf:about="{_x(base + p)}">\n'
        f"<title>{_x(_ARTICLES[p].title)}</title>\n"
        f"<link>{_x(base + p)}</link>\n"
        f"<description>{_x(_ARTICLES[p].description)}</description>\n"
        f"<dc:date>{_ARTICLES[p].published}</dc:date>\n"
        f"<dc:creator>{_x(_ARTICLES[p].author)}</dc:creator>\n"
        "</item>\n"
        for p in links
    )
    return (
        _XML_DECL + '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f'<channel rdf:about="{_x(base + RSS1_PATH)}">\n'
        f"<title>{SITE_NAME}: Station</title>\n<link>{_x(base)}/</link>\n"
        "<description>Coverage of the International Space Station.</description>\n"
        f"<items>\n<rdf:Seq>\n{seq}</rdf:Seq>\n</items>\n"
        "</channel>\n"
        f"{items}</rdf:RDF>\n"
    ).encode("utf-8")


def _rss091(base: str) -> bytes:
    items = "".join(
        "<item>\n"
        f"<title>{_x(_ARTICLES[p].title)}</title>\n"
        f"<link>{_x(base + p)}</link>\n"
        f"<description>{_x(_ARTICLES[p].description)}</description>\n"
        "</item>\n"
        for p in FEED_LINKS[RSS091_PATH]
    )
    return (
        _XML_DECL + '<rss version="0.91">\n<channel>\n'
        f"<title>{SITE_NAME}: Headlines</title>\n<link>{_x(base)}/</link>\n"
        "<description>Top space stories.</description>\n<language>en-us</language>\n"
        f"{items}</channel>\n</rss>\n"
    ).encode("utf-8")


def _ssrf_feed(port: int) -> bytes:
    targets = (
        (f"http://localhost:{port}{A1_PATH}", _ARTICLES[A1_PATH]),
        (f"http://127.0.0.2:{port}{A2_PATH}", _ARTICLES[A2_PATH]),
    )
    items = "".join(
        "<item>\n"
        f"<title>{_x(a.title)}</title>\n<link>{_x(url)}</link>\n<guid>{_x(url)}</guid>\n"
        f"<pubDate>{_rfc822(a.published)}</pubDate>\n"
        "</item>\n"
        for url, a in targets
    )
    return (
        _XML_DECL + '<rss version="2.0">\n<channel>\n'
        "<title>Mirror of Orbital Desk</title>\n<link>http://mirror.example/</link>\n"
        "<description>A feed whose items point at loopback hosts.</description>\n"
        f"{items}</channel>\n</rss>\n"
    ).encode("utf-8")


def _big_feed(base: str, n: int) -> bytes:
    start = datetime(2022, 3, 6, 12, 0, tzinfo=UTC)
    parts = [
        _XML_DECL,
        '<rss version="2.0">\n<channel>\n',
        f"<title>{SITE_NAME}: Wire</title>\n<link>{_x(base)}/</link>\n",
        "<description>Generated station bulletins.</description>\n",
    ]
    for i in range(1, n + 1):
        url = _x(base + gen_path(i))
        when = email.utils.format_datetime(start - timedelta(minutes=i), usegmt=True)
        parts.append(
            f"<item>\n<title>Station bulletin {i}</title>\n<link>{url}</link>\n"
            f'<guid isPermaLink="true">{url}</guid>\n<pubDate>{when}</pubDate>\n</item>\n'
        )
    parts.append("</channel>\n</rss>\n")
    return "".join(parts).encode("utf-8")


_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _sitemap_index(base: str, children: tuple[str, ...]) -> bytes:
    entries = "".join(
        f"<sitemap>\n<loc>{_x(base + c)}</loc>\n<lastmod>2022-03-06T09:00:00+00:00</lastmod>\n</sitemap>\n"
        for c in children
    )
    return (_XML_DECL + f'<sitemapindex xmlns="{_SITEMAP_NS}">\n{entries}</sitemapindex>\n').encode("utf-8")


def _sitemap_articles_gz(base: str) -> bytes:
    urls = "".join(
        f"<url>\n<loc>{_x(base + p)}</loc>\n<lastmod>{_ARTICLES[p].published}</lastmod>\n"
        "<changefreq>daily</changefreq>\n</url>\n"
        for p in SITEMAP_LINKS[SITEMAP_GZ_PATH]
    )
    xml = _XML_DECL + f'<urlset xmlns="{_SITEMAP_NS}">\n{urls}</urlset>\n'
    return gzip.compress(xml.encode("utf-8"), mtime=0)


def _news_sitemap(base: str) -> bytes:
    urls = "".join(
        f"<url>\n<loc>{_x(base + p)}</loc>\n<news:news>\n"
        f"<news:publication>\n<news:name>{SITE_NAME}</news:name>\n<news:language>en</news:language>\n"
        "</news:publication>\n"
        f"<news:publication_date>{NEWS_PUBLICATION_DATES[p]}</news:publication_date>\n"
        f"<news:title>{_x(_ARTICLES[p].title)}</news:title>\n"
        "</news:news>\n</url>\n"
        for p in SITEMAP_LINKS[NEWS_SITEMAP_PATH]
    )
    return (
        _XML_DECL + f'<urlset xmlns="{_SITEMAP_NS}" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
        f"{urls}</urlset>\n"
    ).encode("utf-8")


def _urls_txt(base: str) -> bytes:
    a1, a2, missing = (base + p for p in URLS_TXT_PATHS)
    return f"# Seed URLs for the {SITE_NAME} fixture site\n{a1}\n\n{a2}\n{missing}\n".encode()


def _pdf() -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        None,  # content stream, below
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    stream = b"BT /F1 18 Tf 72 720 Td (Roscosmos ISS video: briefing) Tj ET"
    objects[3] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


PDF_BYTES = _pdf()

_bomb_lock = threading.Lock()
_bomb_cache: bytes | None = None


def bomb_bytes() -> bytes:
    """gzip of BOMB_UNCOMPRESSED_SIZE bytes of b"a", built once (in 1 MiB chunks) and cached."""
    global _bomb_cache
    with _bomb_lock:
        if _bomb_cache is None:
            comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip wrapper
            chunk = b"a" * (1024 * 1024)
            parts = []
            remaining = BOMB_UNCOMPRESSED_SIZE
            while remaining > 0:
                piece = chunk if remaining >= len(chunk) else chunk[:remaining]
                parts.append(comp.compress(piece))
                remaining -= len(piece)
            parts.append(comp.flush())
            _bomb_cache = b"".join(parts)
        return _bomb_cache


# --- server ------------------------------------------------------------------------------------------------------

_HTML = "text/html; charset=utf-8"
_DISCONNECT_ERRORS = (ConnectionError, TimeoutError)  # BrokenPipe, ConnectionReset, ConnectionAborted, timeouts


def _error_page(status: int, message: str) -> bytes:
    return (
        f"<!DOCTYPE html>\n<html><head><title>{status} {message}</title></head>"
        f"<body><h1>{status} {message}</h1></body></html>\n"
    ).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stop() must not wait for /drip.html or /slow.html to finish
    allow_reuse_address = True

    def __init__(self, site: FixtureSite):
        self.site = site
        self.stopping = threading.Event()
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__((site.host, 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a DNS lookup; skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name = self.site.host
        self.server_port = self.server_address[1]

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def drop_connections(self) -> None:
        """Shut down every open client connection (idle keep-alive ones included) so handler threads end."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, _DISCONNECT_ERRORS) or (isinstance(exc, OSError) and self.stopping.is_set()):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes; avoid 40 ms delayed-ACK stalls
    server_version = "OrbitalDesk/1.0"
    sys_version = ""
    server: _Server

    # -- plumbing --

    def log_message(self, format, *args) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except _DISCONNECT_ERRORS:
            pass
        finally:
            self.server.track(self.connection, False)

    def handle(self) -> None:
        try:
            super().handle()
        except _DISCONNECT_ERRORS:
            self.close_connection = True
        except OSError:
            if not self.server.stopping.is_set():
                raise
            self.close_connection = True

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def _send(
        self, status: int, body: bytes = b"", content_type: str | None = _HTML, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not self._head and status != 304:
            self.wfile.write(body)

    def _redirect(self, status: int, location: str) -> None:
        self._send(status, _error_page(status, "Moved"), headers={"Location": location})

    def _not_found(self) -> None:
        self._send(404, _error_page(404, "Not Found"))

    def _wait(self, seconds: float) -> bool:
        """Sleep without holding anything; returns False when the site is stopping."""
        return not self.server.stopping.wait(seconds)

    # -- routing --

    def _dispatch(self, head: bool) -> None:
        self._head = head
        raw = self.path
        if raw.startswith("/"):
            path, _, query = raw.partition("?")
            path = path.partition("#")[0]
        else:  # absolute-form request target
            parts = urlsplit(raw)
            path, query = parts.path or "/", parts.query
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        nth = self.server.site._record(path, headers)
        site = self.server.site
        base, port = site.base_url, site.port

        if path in _ARTICLES and path not in (ETAG_PATH, FLAKY_429_PATH, FLAKY_500_PATH, SLOW_PATH):
            self._send(200, _article_html(path, base))
        elif path == RSS_PATH:
            self._send(200, _rss2(base), "application/rss+xml")
        elif path == ATOM_PATH:
            self._send(200, _atom(base), "application/atom+xml")
        elif path == RSS1_PATH:
            self._send(200, _rss1(base), "application/rdf+xml")
        elif path == RSS091_PATH:
            self._send(200, _rss091(base), "application/rss+xml")
        elif path == SSRF_FEED_PATH:
            self._send(200, _ssrf_feed(port), "application/rss+xml")
        elif path == BIG_FEED_PATH:
            self._send(200, _big_feed(base, _parse_n(query)), "application/rss+xml")
        elif path == SITEMAP_INDEX_PATH:
            self._send(200, _sitemap_index(base, SITEMAP_INDEX_CHILDREN), "application/xml")
        elif path == SITEMAP_GZ_PATH:
            self._send(200, _sitemap_articles_gz(base), "application/x-gzip")
        elif path == NEWS_SITEMAP_PATH:
            self._send(200, _news_sitemap(base), "application/xml")
        elif path == SITEMAP_SELF_PATH:
            self._send(200, _sitemap_index(base, (SITEMAP_SELF_PATH,)), "application/xml")
        elif path == ROBOTS_PATH:
            self._send(200, ROBOTS_TXT.encode(), "text/plain; charset=utf-8")
        elif path == URLS_TXT_PATH:
            self._send(200, _urls_txt(base), "text/plain; charset=utf-8")
        elif path == ETAG_PATH:
            self._etag(base)
        elif path == FLAKY_429_PATH:
            if nth == 1:
                self._send(
                    429,
                    _error_page(429, "Too Many Requests"),
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            else:
                self._send(200, _article_html(path, base))
        elif path == FLAKY_500_PATH:
            if nth == 1:
                self._send(500, _error_page(500, "Internal Server Error"))
            else:
                self._send(200, _article_html(path, base))
        elif path == ALWAYS_503_PATH:
            self._send(503, _error_page(503, "Service Unavailable"))
        elif path == MISSING_PATH:
            self._not_found()
        elif any(path == hop for hop, _, _ in REDIRECT_CHAIN):
            _, status, location = next(h for h in REDIRECT_CHAIN if h[0] == path)
            self._redirect(status, location)
        elif path == LOOP_A_PATH:
            self._redirect(302, LOOP_B_PATH)
        elif path == LOOP_B_PATH:
            self._redirect(302, LOOP_A_PATH)
        elif path == REDIRECT_TO_LOCALHOST_PATH:
            self._redirect(302, f"http://localhost:{port}{A3_PATH}")
        elif path == REDIRECT_TO_127_0_0_2_PATH:
            self._redirect(302, f"http://127.0.0.2:{port}{A2_PATH}")  # nothing listens there: the server is on .1
        elif path == SLOW_PATH:
            if self._wait(SLOW_DELAY_SECONDS):
                self._send(200, _article_html(path, base))
            else:
                self.close_connection = True
        elif path == DRIP_PATH:
            self._drip(base)
        elif path == BOMB_PATH:
            self._send(200, bomb_bytes(), "text/html", headers={"Content-Encoding": "gzip"})
        elif path == PDF_PATH:
            self._send(200, PDF_BYTES, "application/pdf")
        elif path == CP1251_PATH:
            self._send(200, _CP1251_BYTES, "text/html")
        elif path.startswith(GEN_PREFIX) and path.endswith(".html"):
            number = path[len(GEN_PREFIX) : -len(".html")]
            if number.isascii() and number.isdigit() and len(number) < 10:
                self._send(200, gen_html(int(number)))
            else:
                self._not_found()
        else:
            self._not_found()

    def _etag(self, base: str) -> None:
        validators = {"ETag": ETAG_VALUE, "Last-Modified": LAST_MODIFIED}
        inm = self.headers.get("If-None-Match")
        ims = self.headers.get("If-Modified-Since")
        not_modified = False
        if inm is not None:  # RFC 9110: If-None-Match wins; If-Modified-Since is then ignored
            tags = [t.strip() for t in inm.split(",")]
            not_modified = any(t == "*" or t.removeprefix("W/") == ETAG_VALUE for t in tags)
        elif ims is not None:
            try:
                since = email.utils.parsedate_to_datetime(ims)
                not_modified = since >= email.utils.parsedate_to_datetime(LAST_MODIFIED)
            except (TypeError, ValueError):
                not_modified = False
        if not_modified:
            self._send(304, content_type=None, headers=validators)
        else:
            self._send(200, _article_html(ETAG_PATH, base), headers=validators)

    def _drip(self, base: str) -> None:
        body = _page(
            title="Drip",
            paragraphs_html=["A page that arrives one byte at a time."],
            author=SITE_NAME,
            published="2022-03-05T00:00:00+00:00",
            description="",
        ).encode()[:DRIP_BYTES]
        self.send_response(200)
        self.send_header("Content-Type", _HTML)
        self.send_header("Connection", "close")  # no Content-Length: the body ends when the connection closes
        self.end_headers()
        self.close_connection = True
        if self._head:
            return
        for i in range(DRIP_BYTES):
            if not self._wait(DRIP_INTERVAL_SECONDS):
                return
            self.wfile.write(body[i : i + 1])


def _parse_n(query: str) -> int:
    values = parse_qs(query).get("n")
    try:
        n = int(values[0]) if values else BIG_FEED_DEFAULT_N
    except ValueError:
        n = BIG_FEED_DEFAULT_N
    return max(0, min(n, BIG_FEED_MAX_N))


class FixtureSite:
    """The fixture site. ``start()``/``stop()`` (or ``with FixtureSite() as site``); restartable.

    Each start binds a new free port on 127.0.0.1, so ``base_url`` and ``port`` change across restarts.
    Counters and flaky state are kept until ``reset()`` (they survive a restart).
    """

    def __init__(self, host: str = HOST) -> None:
        self.host = host  # another loopback address (127.0.0.2) lets tests allow it while 127.0.0.1 stays refused
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._requests: dict[str, list[dict[str, str]]] = {}
        self.port: int = 0
        self.base_url: str = ""

    # -- lifecycle --

    def start(self) -> FixtureSite:
        if self._server is not None:
            return self
        server = _Server(self)
        self.port = server.server_address[1]
        self.base_url = f"http://{self.host}:{self.port}"
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fixture-site-{self.port}", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        if _bomb_cache is None:  # build /bomb.html's body (about 1.5 s of CPU, once per process) in the background
            threading.Thread(target=bomb_bytes, name="fixture-site-bomb", daemon=True).start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.stopping.set()  # wakes /slow.html and /drip.html handlers
        server.shutdown()
        server.drop_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> FixtureSite:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- helpers for tests --

    def url(self, path: str) -> str:
        if not self.base_url:
            raise RuntimeError("FixtureSite is not started")
        return self.base_url + path

    def hits(self, path: str) -> int:
        with self._lock:
            return len(self._requests.get(path, ()))

    def requests(self, path: str) -> list[dict[str, str]]:
        with self._lock:
            return [dict(h) for h in self._requests.get(path, ())]

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()

    def _record(self, path: str, headers: dict[str, str]) -> int:
        """Store one request; returns how many requests the path has had since reset (this one included)."""
        with self._lock:
            seen = self._requests.setdefault(path, [])
            seen.append(headers)
            return len(seen)


@pytest.fixture(scope="session")
def fixture_site() -> Iterator[FixtureSite]:
    """The fixture site, started once per session. Call ``fixture_site.reset()`` for clean counters."""
    with FixtureSite() as site:
        yield site


if __name__ == "__main__":
    with FixtureSite() as _site:
        print(f"Fixture site serving at {_site.base_url} (Ctrl-C to stop)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
