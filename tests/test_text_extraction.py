"""Plain-text extraction on the five seed articles and on made-up furniture."""

from __future__ import annotations

import unicodedata

import pytest

from extractors import Article, extract_document
from extractors.furniture import is_caption
from extractors.normalize import to_nfc
from extractors.text import looks_like_headline
from tests.conftest import SEEDS_DIR

pytestmark = pytest.mark.pure

FURNITURE = [
    "Join the Discussion",
    "Leave a Reply",
    "Your email address will not be published",
    "Recommended Stories",
    "Real Time Analytics",
    "Check out more news",
    "Posted on",
    "is a senior associate",
    "Commentary is produced",
    "All rights reserved",
    "\u00a9",
    "NASA via Getty Images",
    "NASA/Getty",
    "In this handout photo",
    "Senior Associate (Non-resident)",
]

# file -> (title, first paragraph start, last paragraph end)
SEEDS = {
    "000_95def5dfe9abb11a.txt": (
        "Russia Launches \u2018Musical\u2019 Space Salvo",
        "Since 1998, the International Space Station (ISS) has been praised",
        "Russia\u2019s warnings of abandoning the ISS partnership are no laughing matter.",
    ),
    "001_7cbc2cbc22a746dc.txt": (
        None,
        "Russian state-affiliated media Novosti have posted a strange and vaguely threatening video",
        "What current tensions mean for the future of the ISS is unclear.",
    ),
    "002_83585d02e822ea92.txt": (
        "In space, Russia is losing allies. Here\u2019s the current situation",
        "For decades, everything noteworthy in space was directly linked to the US.",
        "the United States would never launch satellites that were utilized against its strategic interests.",
    ),
    "003_848ba6b5a11fe827.txt": (
        "Is Russia Officially Leaving International Space Station?"
        " Here\u2019s How ISS Could Stay Without Roscosmos [LOOK]",
        "Russia published a video confirming its departure from the International Space Station (ISS)",
        "the United States supplies the International Space Station with electrical and stability control.",
    ),
    "004_a6894620ba0b7f20.txt": (
        "Russia Shares CGI Video of Dismantled ISS as Tensions Rise Amid Ukraine Conflict",
        "Russia's Roscosmos space agency has produced a video clip depicting the International Space Station",
        "and Vande Hei is due to return to Earth on March 30.",
    ),
}


def extract_seed(name: str) -> Article:
    path = SEEDS_DIR / name
    article = extract_document(path.read_bytes(), path.as_uri(), "text")
    assert isinstance(article, Article), article
    return article


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_extract_seed_title_language_and_paragraphs(name):
    title, first, last = SEEDS[name]
    article = extract_seed(name)
    paragraphs = article.text.split("\n\n")
    assert article.title == title
    assert article.language == "en" and article.language_probability > 0.9
    assert paragraphs[0].startswith(first)
    assert paragraphs[-1].endswith(last)
    assert article.word_count > 300


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_extract_seed_strips_furniture(name):
    text = extract_seed(name).text
    left = [marker for marker in FURNITURE if marker in text]
    assert left == []


def test_extract_seed_keeps_quotes_and_editorial_notes():
    text = extract_seed("003_848ba6b5a11fe827.txt").text
    assert '"The blame for the collapse of cooperation in space lies on the shoulders of the United States' in text
    assert "(DISCLAIMER: The above quote is a Google translation of Russian tweet.)" in text
    assert "Russia 'Officially' Walks Out Of ISS" in text  # a subheading is article text


def test_extract_seed_paragraphs_separated_by_blank_lines():
    article = extract_seed("001_7cbc2cbc22a746dc.txt")  # one paragraph per line in the file
    assert len(article.text.split("\n\n")) == 9
    assert "\n\n\n" not in article.text


@pytest.mark.parametrize(
    "line, expected",
    [
        ("Russia Launches \u2018Musical\u2019 Space Salvo", True),
        ("Is Russia Leaving the ISS? Here's How [LOOK]", True),
        ("Russian state media have posted a strange video showing the ISS breaking apart.", False),
        ("Leave a Reply", False),
        (" ".join(["word"] * 30), False),
    ],
)
def test_looks_like_headline_cases(line, expected):
    assert looks_like_headline(line) is expected


def test_extract_text_caption_heading_goes_with_caption():
    raw = (
        b"A headline\n\nFirst real paragraph of the story, long enough to matter.\n\n"
        b"Mission Control\nEngineers watch the screens in Houston. AP Photo/John Smith\n\n"
        b"Second real paragraph follows the picture.\n"
    )
    article = extract_document(raw, "file:///x.txt", "text")
    assert article.text == (
        "First real paragraph of the story, long enough to matter.\n\nSecond real paragraph follows the picture."
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (" ".join(["The crew floated past the window."] * 40) + " NASA via Getty Images", True),
        (" ".join(["The crew floated past the window."] * 40) + " (photo: " + "x" * 90 + ")", True),
        ("(photo: NASA) " + " ".join(["The crew floated past the window."] * 40), False),
        ("NASA via Getty Images, " + " ".join(["the crew floated past the window."] * 40), False),
    ],
)
def test_a_long_line_is_a_caption_only_when_it_ends_in_a_credit(line, expected):
    assert is_caption(line) is expected


def test_extract_text_stores_nfc():
    decomposed = "Cafe\u0301 cre\u0300me a\u0300 Sa\u0303o Paulo"  # what macOS file names and some CMSs give
    raw = f"{decomposed}\n\nLe cafe\u0301 est servi a\u0300 la terrasse depuis le matin, dit le patron.\n".encode()
    article = extract_document(raw, "file:///nfc.txt", "text")
    assert article.title == "Caf\u00e9 cr\u00e8me \u00e0 S\u00e3o Paulo"
    assert article.text == "Le caf\u00e9 est servi \u00e0 la terrasse depuis le matin, dit le patron."
    assert unicodedata.is_normalized("NFC", article.text)


def test_to_nfc_leaves_none_and_composed_text_alone():
    assert to_nfc(None) is None
    text = "d\u00e9j\u00e0"
    assert to_nfc(text) is text
    assert to_nfc("\u212b") == "\u00c5"  # the angstrom sign's canonical form; NFKC would be the same here
    assert to_nfc("\ufb01") == "\ufb01"  # a compatibility ligature stays: NFC, not NFKC
