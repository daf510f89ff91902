"""Language detection: FastDetector gives langdetect's own probabilities, on many scripts and on noise."""

from __future__ import annotations

import random

import pytest
from langdetect import DetectorFactory, detect_langs
from langdetect.detector_factory import PROFILES_DIRECTORY
from langdetect.lang_detect_exception import LangDetectException

from extractors.language import FastDetector, detect_language, language_profiles
from tests.conftest import FIXTURES_DIR, SEEDS_DIR

pytestmark = pytest.mark.pure

SAMPLES = [
    "The Russian segment of the International Space Station appeared to undock in a video from Roscosmos.",
    "Die russische Raumfahrtbehörde veröffentlichte ein Video, in dem sich das Segment von der Station löst.",
    "L'agence spatiale russe a publié une vidéo montrant le segment russe quitter la station spatiale.",
    "La agencia espacial rusa publicó un vídeo en el que el segmento ruso abandona la estación espacial.",
    "A agência espacial russa publicou um vídeo em que o segmento russo deixa a estação espacial.",
    "L'agenzia spaziale russa ha pubblicato un video in cui il segmento russo lascia la stazione spaziale.",
    "Роскосмос опубликовал видео, на котором российский сегмент отстыковывается от МКС.",
    "Роскосмос оприлюднив відео, на якому російський сегмент відстиковується від станції.",
    "俄罗斯航天局发布了一段视频，显示国际空间站的俄罗斯舱段脱离空间站。",
    "ロシアの宇宙機関は、国際宇宙ステーションのロシア区画が離脱する動画を公開した。",
    "러시아 우주국은 국제우주정거장의 러시아 구역이 분리되는 영상을 공개했다.",
    "نشرت وكالة الفضاء الروسية مقطع فيديو يظهر انفصال القطاع الروسي عن المحطة الفضائية.",
    "रूसी अंतरिक्ष एजेंसी ने एक वीडियो जारी किया जिसमें रूसी खंड स्टेशन से अलग होता दिखता है।",
    "Η ρωσική διαστημική υπηρεσία δημοσίευσε βίντεο με το ρωσικό τμήμα να αποσυνδέεται από τον σταθμό.",
    "สำนักงานอวกาศรัสเซียเผยแพร่วิดีโอที่แสดงส่วนของรัสเซียแยกตัวออกจากสถานีอวกาศ",
    "סוכנות החלל הרוסית פרסמה סרטון שבו המקטע הרוסי מתנתק מתחנת החלל.",
    "Cơ quan vũ trụ Nga đã đăng một video cho thấy phân đoạn của Nga rời khỏi trạm không gian.",
    "Co\u0302 quan vu\u0303 tru\u0323 Nga đa\u0303 đăng mô\u0323t video (combining marks, as normalize_vi sees them).",
    "NASA AND ROSCOSMOS SAID THE ISS IS SAFE; the CEO of ESA, and the US-UK-EU statement, were brief.",
    "Роскосмос (Roscosmos) показал видео: ISS, NASA, ESA и JAXA не комментировали, see https://example.org/a?b=c.",
    "Write to press@roscosmos.example or visit http://www.example.com/news     for   more    spaces  here.",
    "12345 67890 !!! ??? ... --- ",
    "",
    "   ",
]


def langdetect_result(text: str):
    try:
        return [(lang.lang, lang.prob) for lang in detect_langs(text)]
    except LangDetectException as exc:
        return type(exc).__name__


def fast_result(text: str):
    detector = FastDetector(language_profiles())
    detector.append(text)
    try:
        return [(lang.lang, lang.prob) for lang in detector.get_probabilities()]
    except LangDetectException as exc:
        return type(exc).__name__


def noise(rng: random.Random) -> str:
    """Characters from the ranges langdetect normalizes differently, with spaces, capitals and punctuation."""
    ranges = [(0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x52F), (0x600, 0x6FF), (0x1E00, 0x1EFF),
              (0x2000, 0x206F), (0x3040, 0x30FF), (0x3100, 0x312F), (0x4E00, 0x4FFF), (0xAC00, 0xAD00)]  # fmt: skip
    chars = []
    for _ in range(rng.randint(1, 400)):
        low, high = rng.choice(ranges)
        chars.append(" " * rng.randint(1, 3) if rng.random() < 0.15 else chr(rng.randint(low, high)))
    return "".join(chars)


def test_fast_detector_equals_langdetect_on_samples():
    assert DetectorFactory.seed == 0
    for text in SAMPLES:
        assert fast_result(text) == langdetect_result(text), text


def test_fast_detector_equals_langdetect_on_documents():
    paths = sorted(SEEDS_DIR.glob("*.txt")) + sorted(FIXTURES_DIR.rglob("*.html"))
    texts = [p.read_bytes().decode("utf-8", "replace") for p in paths]
    assert len(texts) >= 8
    for text in texts:
        for sample in (text[:2000], text[:10_000], text[5000:7000]):
            assert fast_result(sample) == langdetect_result(sample)


def test_fast_detector_equals_langdetect_on_noise():
    rng = random.Random(11)
    texts = [noise(rng) for _ in range(300)]
    results = [langdetect_result(text) for text in texts]
    assert [fast_result(text) for text in texts] == results
    assert {type(result) for result in results} == {list, str}  # detections and "no features" both compared


@pytest.mark.parametrize(("text", "expected"), [(SAMPLES[0] * 3, "en"), (SAMPLES[6] * 3, "ru"), ("", None)])
def test_detect_language(text, expected):
    assert detect_language(text)[0] == expected


def test_compact_profiles_equal_langdetect_profiles():
    """Every n-gram of langdetect's profiles, with the same probability in every language, in the same order."""
    own = DetectorFactory()
    own.load_profile(PROFILES_DIRECTORY)
    compact = language_profiles()
    assert compact.langlist == own.langlist
    assert list(compact.word_lang_prob_map) == list(own.word_lang_prob_map)
    differing = [w for w, row in own.word_lang_prob_map.items() if compact.row_probabilities(w).tolist() != row]
    assert differing == []
