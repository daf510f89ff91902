"""The pure dedup and story algorithms, without a warehouse: canonical choice, verification of candidates and
story grouping (similarity.duplicates and similarity.stories)."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta

import numpy as np
import pytest

from similarity import stories
from similarity.duplicates import (
    DedupSettings,
    OrderKey,
    body_shingles,
    chained_share,
    choose_canonicals,
    compare,
    confirms_chain,
    verify_candidates,
)
from similarity.minhash import MinHashParams, shingle_hashes, similarity
from similarity.slots import substituted_slots, text_features, text_slots
from similarity.stories import group_stories, story_terms

pytestmark = pytest.mark.pure
DAY = datetime(2022, 3, 1)


def test_choose_canonicals_prefers_earliest_then_longest_then_smallest_id():
    order = {
        "b": OrderKey(datetime(2022, 3, 1), 100, "b"),
        "a": OrderKey(datetime(2022, 3, 1), 100, "a"),
        "c": OrderKey(datetime(2022, 3, 1), 300, "c"),
        "d": OrderKey(None, 900, "d"),
    }
    pairs = [("a", "b", 0.9), ("a", "c", 0.9), ("b", "c", 0.9), ("c", "d", 0.9)]
    assert choose_canonicals(order, pairs) == {"a": "c", "b": "c", "d": "c"}


def test_choose_canonicals_never_chains_through_a_copy():
    order = {name: OrderKey(DAY + timedelta(hours=i), 100, name) for i, name in enumerate("abc")}
    # b copies a; c resembles only b, a copy: c stays canonical rather than joining a through b.
    assert choose_canonicals(order, [("a", "b", 0.9), ("b", "c", 0.9)]) == {"b": "a"}


def test_choose_canonicals_joins_the_most_similar_earlier_canonical():
    order = {name: OrderKey(DAY + timedelta(hours=i), 100, name) for i, name in enumerate("abc")}
    assert choose_canonicals(order, [("a", "c", 0.5), ("b", "c", 0.8)]) == {"c": "b"}
    assert choose_canonicals(order, [("c", "a", 0.7), ("c", "b", 0.7)]) == {"c": "a"}  # a tie: the earlier one


def test_choose_canonicals_is_independent_of_pair_order():
    order = {name: OrderKey(DAY + timedelta(hours=i % 3), 100 + i, name) for i, name in enumerate("abcdef")}
    pairs = [("a", "d", 0.6), ("b", "d", 0.9), ("c", "e", 0.4), ("e", "f", 0.8), ("a", "f", 0.8)]
    results = {tuple(sorted(choose_canonicals(order, list(p)).items())) for p in itertools.permutations(pairs)}
    assert len(results) == 1


def test_order_key_puts_unknown_dates_last_then_longest_then_smallest_id():
    keys = [OrderKey(None, 900, "a"), OrderKey(DAY, 100, "z"), OrderKey(DAY, 300, "y"), OrderKey(DAY, 300, "x")]
    assert [k.article_id for k in sorted(keys, key=OrderKey.sort_key)] == ["x", "y", "z", "a"]


def _text(words: range) -> str:
    return " ".join(f"w{i}" for i in words)


SETTINGS = DedupSettings(minhash=MinHashParams())
TEXTS = {
    "orig": _text(range(0, 100)),
    "copy": _text(range(0, 100)) + " " + _text(range(500, 505)),  # the original plus a line
    "other": _text(range(200, 300)),
    "short": _text(range(0, 10)),  # under min_shingles
}
SHINGLES = {name: text_features(text, SETTINGS.minhash) for name, text in TEXTS.items()}


def test_verify_candidates_keeps_similar_pairs_and_exact_matches():
    candidates = [("copy", "orig", "near"), ("orig", "other", "near"), ("orig", "short", "near")]
    candidates += [("other", "short", "exact_url")]  # an equal URL is kept whatever its shingles
    kept = verify_candidates(candidates, SETTINGS, SHINGLES, lambda ids: {})
    assert [(a, b, kind) for a, b, kind, _, _ in kept] == [("copy", "orig", "near"), ("other", "short", "exact_url")]
    (_, _, _, jaccard, containment) = kept[0]
    assert 0.9 < jaccard < 1 and containment == 1.0  # rounded to 4 places
    assert kept[1][3:] == (0.0, 0.0)


def test_verify_candidates_asks_for_missing_shingle_sets_a_batch_at_a_time():
    asked = []

    def shingles(ids: list[str]) -> dict[str, np.ndarray]:
        asked.append(ids)
        return {i: SHINGLES[i] for i in ids}

    known = {"orig": SHINGLES["orig"]}
    candidates = [("copy", "orig", "near"), ("orig", "other", "near"), ("other", "short", "near")]
    kept = verify_candidates(candidates, SETTINGS, known, shingles, batch=2)
    assert asked == [["copy", "other"], ["other", "short"]]  # sorted, never one already known
    assert [pair[:2] for pair in kept] == [("copy", "orig")]


def test_order_key_undated_goes_by_first_seen_so_a_later_longer_copy_never_wins():
    original = OrderKey(None, 300, "z", first_seen=DAY)
    longer_copy = OrderKey(None, 900, "a", first_seen=DAY + timedelta(days=1))
    dated_later = OrderKey(DAY + timedelta(hours=5), 900, "b", first_seen=DAY + timedelta(days=2))
    keys = sorted([longer_copy, dated_later, original], key=OrderKey.sort_key)
    assert [k.article_id for k in keys] == ["z", "b", "a"]
    order = {k.article_id: k for k in keys}
    assert choose_canonicals(order, [("a", "z", 0.9), ("a", "b", 0.9), ("b", "z", 0.9)]) == {"a": "z", "b": "z"}


def test_choose_canonicals_same_time_goes_longest_then_smallest_id():
    order = {name: OrderKey(None, 100 + 10 * (name == "c"), name, first_seen=DAY) for name in "bca"}
    assert choose_canonicals(order, [("a", "b", 0.9), ("b", "c", 0.9), ("a", "c", 0.9)]) == {"a": "c", "b": "c"}


def test_choose_canonicals_joins_through_a_copy_only_when_confirmed():
    order = {name: OrderKey(DAY + timedelta(hours=i), 100, name) for i, name in enumerate("abc")}
    pairs = [("a", "b", 0.9), ("b", "c", 0.9)]  # c is paired with b, a copy of a, only
    asked = []

    def confirm(article, copy, canonical):
        asked.append((article, copy, canonical))
        return True

    assert choose_canonicals(order, pairs, confirm) == {"b": "a", "c": "a"}
    assert asked == [("c", "b", "a")]
    assert choose_canonicals(order, pairs, lambda *_: False) == {"b": "a"}


def test_choose_canonicals_joins_an_earlier_canonical_through_a_later_copy_when_confirmed():
    order = {name: OrderKey(DAY + timedelta(hours=i), 100, name) for i, name in enumerate("atc")}
    pairs = [("a", "c", 0.9), ("t", "c", 0.9)]  # t (a cut pickup) is paired with c, a later copy of a, only
    assert choose_canonicals(
        order, pairs, lambda article, via, canonical: (article, via, canonical) == ("t", "c", "a")
    ) == {"t": "a", "c": "a"}
    assert choose_canonicals(order, pairs) == {"c": "a"}


def test_chained_share_tells_a_shared_original_from_a_shared_addition():
    canonical = text_features(_text(range(0, 100)))
    copy = text_features("\n\n".join([_text(range(0, 100)), _text(range(100, 130))]))  # plus an addition
    generic = "Comments are closed for this article."  # a line two outlets' pickups share, the canonical lacks
    cut = text_features("\n\n".join([_text(range(0, 30)), generic]))
    other = text_features("\n\n".join([_text(range(95, 100)), _text(range(100, 160))]))  # shares the addition
    copy_with_line = text_features("\n\n".join([_text(range(0, 100)), generic]))
    assert chained_share(cut, copy, canonical, SETTINGS) == 1.0
    assert chained_share(cut, copy_with_line, canonical, SETTINGS) == 1.0  # the generic line is left out
    assert chained_share(other, copy, canonical, SETTINGS) < SETTINGS.chain_share
    assert chained_share(text_features(_text(range(500, 530))), copy, canonical, SETTINGS) == 0.0


def test_confirms_chain_needs_a_copy_of_the_canonical_itself():
    canonical = text_features(_text(range(0, 160)))
    furniture = ["Ashford Herald | Local news you can trust", "Comments are closed for this article."]
    full = text_features("\n\n".join([*furniture, _text(range(0, 160))]), outlet="ashfordherald.example")
    cut = text_features("\n\n".join([*furniture, _text(range(0, 32))]), outlet="kingsportpost.example")
    assert confirms_chain(cut, full, canonical, SETTINGS)
    # shares with a pickup only a line its outlet puts inside every article, which the canonical holds too
    sign_up = "Sign up for the Ashford Herald newsletter and get the day's top stories in your inbox."
    same_outlet = text_features("\n\n".join([_text(range(0, 50)), sign_up, _text(range(50, 100))]))
    pickup = text_features("\n\n".join([_text(range(0, 50)), sign_up, _text(range(50, 160))]))
    other = text_features("\n\n".join([_text(range(700, 730)), sign_up, _text(range(730, 760))]))
    assert chained_share(other, pickup, same_outlet, SETTINGS) == 1.0  # enough alone to chain them
    assert not confirms_chain(other, pickup, same_outlet, SETTINGS)


REPORT = (
    "{city} stocks {moved} on {day} as investors weighed fresh inflation data. The {city} Composite index rose "
    "{points} points, or {pct} percent, to close at {level}, while the broader market gained {pct2} percent.\n\n"
    "Trading volume was {volume} million shares, above the 30-day average. Shares of {company} led the gains, "
    "climbing {gain} percent, while {company2} was the biggest decliner, falling {loss} percent by the close.\n\n"
    "The dollar rose to {fx} against the euro, and oil settled at ${oil} a barrel. Markets reopen at 9:30 a.m. "
    "on {next_day}, said {analyst} of {firm}, who expects a quiet session before the holiday weekend."
)
DAYS = [
    dict(city="Riverton", moved="rose", day="Monday", points="41.2", pct="0.84", level="4,921.5", pct2="0.6",
         volume="812", company="Northwind Systems", gain="3.1", company2="Halvorsen Foods", loss="2.2", fx="1.0841",
         oil="81.40", next_day="Tuesday", analyst="Karen Liu", firm="Harbor Capital"),
    dict(city="Riverton", moved="fell", day="Tuesday", points="17.9", pct="0.36", level="4,903.6", pct2="0.2",
         volume="774", company="Castell Pharma", gain="4.7", company2="Meridian Freight", loss="1.9", fx="1.0797",
         oil="80.95", next_day="Wednesday", analyst="Paul Ostrowski", firm="Keystone Advisors"),
]  # fmt: skip


def test_compare_tells_templated_reports_from_a_pickup_that_corrects_a_figure():
    monday, tuesday = (text_features(REPORT.format(**day)) for day in DAYS)
    corrected = text_features(
        "Ashford Herald | Local news you can trust\n\n"
        + REPORT.format(**{**DAYS[0], "gain": "3.4"})
        + "\n\nUPDATE: This story was updated at 5:10 p.m. with new information from the exchange."
    )
    assert not compare(monday, tuesday, SETTINGS)[2]  # same wording, other day: not a copy
    assert compare(monday, corrected, SETTINGS)[2]
    aligned, substituted = substituted_slots(monday.slots, tuesday.slots)
    assert aligned >= SETTINGS.slot_min_aligned and substituted >= SETTINGS.slot_substitution * aligned


HEADER = ["Ashford Herald | Local news you can trust", "By Sam Patel, Ashford Herald staff writer"]
FOOTER = [
    "Copyright 2022 Ashford Herald. All rights reserved.",
    "Follow Ashford Herald on Facebook, Twitter and Instagram for the latest updates.",
]


def test_body_shingles_leave_out_a_pickups_header_and_footer():
    original = text_features(_text(range(0, 160)))
    cut = text_features("\n\n".join([*HEADER, _text(range(0, 32)), *FOOTER]), outlet="ashfordherald.example")
    assert similarity(cut.shingles, original.shingles)[1] < SETTINGS.containment_threshold  # with the furniture
    assert set(body_shingles(cut, original, SETTINGS)) == set(shingle_hashes(_text(range(0, 32))))
    jaccard, containment, copy = compare(cut, original, SETTINGS)
    assert copy and containment == 1.0
    long_line = text_features("\n\n".join([_text(range(900, 940)), _text(range(0, 32))]))
    assert len(body_shingles(long_line, original, SETTINGS)) == len(long_line.shingles)  # 40 words: not furniture


def test_body_shingles_leave_out_the_furniture_two_articles_of_one_outlet_share():
    one, other = ("\n\n".join([*HEADER, _text(words), *FOOTER]) for words in (range(0, 24), range(100, 124)))
    same = [text_features(text, outlet="ashfordherald.example") for text in (one, other)]
    assert not compare(*same, SETTINGS)[2]
    assert similarity(same[0].shingles, same[1].shingles)[0] >= SETTINGS.jaccard_threshold  # with the furniture
    first, edited = ("\n\n".join([*HEADER, _text(range(0, 60)), *extra, *FOOTER]) for extra in ([], ["A correction."]))
    repost = [text_features(text, outlet="ashfordherald.example") for text in (first, edited)]
    assert compare(*repost, SETTINGS)[2]  # the body (over edge_words words) is compared


def test_text_slots_ignore_sentence_starts_and_lines_the_other_text_lacks():
    slots = text_slots("The Riverton index rose 41.2 points. Shares fell.")
    assert slots.tokens == 2  # "Riverton", "41 2"; not "The" or "Shares", which start a sentence
    body = REPORT.format(**DAYS[0])
    pickup = text_slots("By Sam Patel, Ashford Herald staff writer\n\n" + " ".join(body.split()[:40]))
    aligned, substituted = substituted_slots(pickup, text_slots(body))
    assert aligned > 0 and substituted == 0


def test_verify_candidates_never_groups_short_texts_by_their_text():
    stub = text_features("Chat with us in Facebook Messenger. Find out what's happening in the world as it unfolds.")
    known = {"stub1": stub, "stub2": stub, "orig": SHINGLES["orig"], "orig2": SHINGLES["orig"]}
    candidates = [("stub1", "stub2", "exact_text"), ("orig", "orig2", "exact_text"), ("stub1", "stub2", "exact_url")]
    kept = verify_candidates(candidates, SETTINGS, known, lambda ids: {})
    assert [(a, b, kind) for a, b, kind, *_ in kept] == [
        ("orig", "orig2", "exact_text"),
        ("stub1", "stub2", "exact_url"),
    ]


def test_dedup_settings_rejects_thresholds_outside_zero_to_one():
    with pytest.raises(ValueError, match="jaccard_threshold"):
        DedupSettings(jaccard_threshold=0)
    with pytest.raises(ValueError, match="story_threshold"):
        DedupSettings(story_threshold=1.5)
    assert DedupSettings().fingerprint() != DedupSettings(window_days=None).fingerprint()
    assert DedupSettings().fingerprint() == DedupSettings(story_threshold=0.5).fingerprint()  # stories: recomputed


def _document(article_id: str, when: datetime | None, title: str, text: str) -> tuple:
    return article_id, when, story_terms(title, text, 300)


VIDEO = "Roscosmos released a video of the Russian segment undocking from the International Space Station"
ELECTION = "Polling stations opened across the country as voters chose a parliament after a long campaign"


def test_group_stories_links_similar_articles_within_the_window():
    documents = [
        _document("b", DAY + timedelta(hours=5), "Russian segment video", VIDEO),
        _document("a", DAY, "Roscosmos video shows ISS split", VIDEO),
        _document("c", DAY + timedelta(days=1), "Voters go to the polls", ELECTION),
        _document("d", DAY + timedelta(days=10), "Roscosmos video, again", VIDEO),  # outside the 3-day window
        _document("e", None, "Undated copy of the video story", VIDEO),  # an unknown date is never too far
    ]
    story = group_stories(documents, threshold=0.15, window_days=3)
    assert story == {"a": "a", "b": "a", "e": "a", "d": "a", "c": "c"}  # d joins through e (single link)
    without_undated = group_stories(documents[:4], threshold=0.15, window_days=3)
    assert without_undated == {"a": "a", "b": "a", "c": "c", "d": "d"}


def test_group_stories_story_id_is_the_earliest_then_smallest_id():
    documents = [_document(i, when, "Roscosmos video", VIDEO) for i, when in (("z", DAY), ("y", DAY), ("x", None))]
    assert set(group_stories(documents, 0.15, 3).values()) == {"y"}


def test_group_stories_of_nothing_or_no_terms():
    assert group_stories([], 0.15, 3) == {}
    assert group_stories([("a", DAY, Counter()), ("b", DAY, Counter())], 0.15, 3) == {"a": "a", "b": "b"}


def test_story_pairs_in_small_blocks_equal_the_whole_product(monkeypatch):
    """Blocks bound the product's memory; they must find the same pairs as one product of every document."""
    rng = np.random.default_rng(7)
    topics = [VIDEO, ELECTION, "Wildfires spread through dry forests while crews evacuated three villages"]
    documents = [
        _document(f"n{i:03}", None if i % 7 == 0 else DAY + timedelta(hours=int(rng.integers(0, 200))), "",
                  topics[i % 3] + f" item{i}")
        for i in range(60)
    ]  # fmt: skip
    whole = group_stories(documents, 0.15, 3)
    monkeypatch.setattr(stories, "_PRODUCT_CELLS", 50)  # blocks of a few rows
    assert group_stories(documents, 0.15, 3) == whole
    assert len(set(whole.values())) < len(documents)
