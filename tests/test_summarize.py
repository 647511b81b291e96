"""Summaries: short, never cut mid-word, built around the sentences that made the item match."""

from __future__ import annotations

import re

import pytest

from bot.match.matcher import Matcher
from bot.model import Hit, Item, Match, Topic
from bot.summarize import split_sentences, summarize

TITLE = "Buses evacuate civilians from Mariupol"
SUMMARY = (
    "The port city has been under siege for four weeks. "
    "Buses evacuate civilians from Mariupol. "
    "Ukraine's deputy prime minister said 45 buses would leave Zaporizhzhia at dawn. "
    "The Red Cross will lead the evacuation convoy, officials said on Thursday. "
    "Weather along the route was cold."
)
ITEM = Item(feed_url="https://wire.example/rss", key="k", title=TITLE, summary=SUMMARY)


def hit_on(word: str, item: Item = ITEM) -> Match:
    start = item.summary.index(word)
    return Match("t", (Hit("summary", start, start + len(word), word),))


def test_without_a_match_the_lead_comes_first_and_the_title_is_not_repeated() -> None:
    assert summarize(ITEM) == (
        "The port city has been under siege for four weeks. "
        "Ukraine's deputy prime minister said 45 buses would leave Zaporizhzhia at dawn. "
        "The Red Cross will lead the evacuation convoy, officials said on Thursday."
    )


def test_the_matched_sentence_is_chosen_and_the_lead_kept_when_there_is_room() -> None:
    assert summarize(ITEM, hit_on("evacuation"), max_chars=130) == (
        "The port city has been under siege for four weeks. "
        "The Red Cross will lead the evacuation convoy, officials said on Thursday."
    )


def test_a_sentence_with_more_matched_terms_beats_the_lead() -> None:
    start = SUMMARY.index("Weather")
    match = Match(
        "t",
        (
            Hit("summary", start, start + 7, "weather"),
            Hit("summary", start + 14, start + 19, "route"),
        ),
    )
    assert summarize(ITEM, match, max_sentences=1) == "Weather along the route was cold."


def test_the_lead_wins_a_tie() -> None:
    lead_hit = hit_on("siege")
    later = hit_on("convoy")
    match = Match("t", lead_hit.hits + later.hits)
    assert summarize(ITEM, match, max_sentences=1) == SUMMARY.split(". ")[0] + "."


def test_a_real_match_drives_the_summary() -> None:
    matcher = Matcher([Topic("t", "T", "Mariupol (evacu* OR convoy)")])
    (match,) = matcher.match(ITEM)
    assert "evacuation convoy" in summarize(ITEM, match, max_chars=80, max_sentences=1)


@pytest.mark.parametrize("max_chars", [1, 2, 5, 12, 20, 33, 50, 51, 52, 80, 129, 200, 400, 1000])
def test_never_longer_than_max_chars_and_never_cut_mid_word(max_chars: int) -> None:
    for match in (None, hit_on("evacuation"), hit_on("Zaporizhzhia")):
        text = summarize(ITEM, match, max_chars=max_chars)
        assert 0 < len(text) <= max_chars
        words = set(re.findall(r"[\w']+", SUMMARY))
        body = text.removesuffix("…")
        assert all(word in words for word in re.findall(r"[\w']+", body)), text


def test_one_long_sentence_is_cut_at_a_word_and_marked() -> None:
    long = Item(feed_url="", key="k", title="T", summary="word " * 200)
    assert summarize(long, max_chars=23) == "word word word word…"


@pytest.mark.parametrize("max_sentences", [1, 2, 3])
def test_at_most_max_sentences(max_sentences: int) -> None:
    text = summarize(ITEM, max_chars=10_000, max_sentences=max_sentences)
    assert len(split_sentences(text)) == max_sentences


def test_the_title_is_used_when_there_is_no_summary() -> None:
    title_only = Item(feed_url="", key="k", title="Kyiv: talks resume. Delegations meet.")
    assert summarize(title_only) == "Kyiv: talks resume. Delegations meet."
    assert summarize(Item(feed_url="", key="k", title="")) == ""


def test_hits_on_the_title_do_not_steer_the_summary() -> None:
    match = Match("t", (Hit("title", 0, 5, "Buses"),))
    assert summarize(ITEM, match, max_sentences=1) == SUMMARY.split(". ")[0] + "."


def test_whitespace_is_tidied() -> None:
    messy = Item(feed_url="", key="k", title="T", summary="  Kyiv\n  talks\tresume.\n\nNext  one. ")
    assert summarize(messy) == "Kyiv talks resume. Next one."


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "Mr. Smith met U.S. officials. They agreed.",
            ["Mr. Smith met U.S. officials.", "They agreed."],
        ),
        ("Prices rose 4.5 percent. Fuel too.", ["Prices rose 4.5 percent.", "Fuel too."]),
        ("Gen. Milley spoke. J. Biden listened.", ["Gen. Milley spoke.", "J. Biden listened."]),
        ("It was J. Biden. Then", ["It was J. Biden.", "Then"]),
        (
            "Is it over? “No,” he said! Then… silence.",
            ["Is it over?", "“No,” he said!", "Then… silence."],
        ),
        ("He said: “It is over.” Then left.", ["He said: “It is over.”", "Then left."]),
        ("approx. five buses. Done.", ["approx. five buses.", "Done."]),
        ("Line one\n\nLine two", ["Line one", "Line two"]),
        ("Київ, вул. Хрещатик. Друге речення.", ["Київ, вул. Хрещатик.", "Друге речення."]),
        ("Т.д. и т.п. Москва, ул. Тверская. Всё.", ["Т.д. и т.п. Москва, ул. Тверская.", "Всё."]),
        (
            "Сорок п'ять автобусів. Евакуація можлива!",
            ["Сорок п'ять автобусів.", "Евакуація можлива!"],
        ),
        ("No full stop", ["No full stop"]),
        ("", []),
    ],
)
def test_sentences_split_where_a_reader_would(text: str, sentences: list[str]) -> None:
    assert [text[start:end] for start, end in split_sentences(text)] == sentences


def test_a_summary_that_only_repeats_the_title_is_dropped() -> None:
    same = Item(feed_url="", key="k", title=TITLE, summary=TITLE + ".")
    assert summarize(same) == ""


def test_an_unbroken_run_is_cut_where_it_must() -> None:
    url = Item(feed_url="", key="k", title="T", summary="https://example.org/" + "a" * 100)
    assert summarize(url, max_chars=10) == "https://e…"
