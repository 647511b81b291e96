"""Summaries: whole sentences, the one that made the item match first, places counted, no fact
shown twice across outlets, never cut mid-word."""

from __future__ import annotations

import re

import pytest

from bot.match.matcher import Matcher
from bot.match.normalize import split_words
from bot.match.places import load_places
from bot.match.topics import load_topics
from bot.model import Hit, Item, Match, Topic
from bot.paths import bundled_config_dir
from bot.sentences import split_sentences
from bot.stories.vocabulary import build_vocabulary, merged_places
from bot.summarize import summarize, summarize_story

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


def test_the_matched_sentence_comes_first_and_the_lead_follows_when_there_is_room() -> None:
    assert summarize(ITEM, hit_on("evacuation"), max_chars=130) == (
        "The Red Cross will lead the evacuation convoy, officials said on Thursday. "
        "The port city has been under siege for four weeks."
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
        # Only the last word counts, however long: a long word is no abbreviation.
        ("Biggestapprox. Next one.", ["Biggestapprox.", "Next one."]),
        ("Sept. Oct.", ["Sept. Oct."]),
        ("Made in the U.S. Then", ["Made in the U.S. Then"]),
        ("E.g. this. And", ["E.g. this.", "And"]),
        ("End.\n \n«Next»", ["End.", "«Next»"]),
        ("Wait... What?! Yes.)  No", ["Wait...", "What?!", "Yes.)", "No"]),
        ("A.\u00a0B.", ["A.\u00a0B."]),
    ],
)
def test_sentences_split_where_a_reader_would(text: str, sentences: list[str]) -> None:
    assert [text[start:end] for start, end in split_sentences(text)] == sentences


MESSY = [
    "  Kyiv\n  talks\tresume.\n\nNext  one. ",
    "“No,” he said! Then… silence. Mr. O’Brien left; Mariupol's port . . . closed",
    "Т.д. и т.п. Москва, ул. Тверская. Всё.\n\n\n  м'ясо  \u00a0ціни.",
    "word.'quoted' ‘x’. U.S.A. 4.5.6 end.)] (Next)... ok",
]


@pytest.mark.parametrize("text", MESSY)
def test_sentences_hold_every_word_whole(text: str) -> None:
    """The summarizer tokenizes sentence by sentence: no word may be cut or lost."""
    spans = split_sentences(text)
    covered = [index for start, end in spans for index in range(start, end)]
    assert covered == sorted(set(covered))
    assert all(text[index].isspace() for index in set(range(len(text))) - set(covered))
    words = [word for start, end in spans for word in split_words(text[start:end])[1::2]]
    assert words == split_words(text)[1::2]


def test_summaries_with_the_default_vocabulary_match_an_equal_one_built_afresh() -> None:
    """The default vocabulary's summaries, sources and titles are remembered; the same
    vocabulary built anew remembers nothing and must agree."""
    fresh = build_vocabulary(merged_places(PLACES))
    items = [ITEM, CORRIDORS, EVACUATION_UK, report("m", "Title", MESSY[1])]
    for item in items:
        matches = [None, *BUILTIN.match(item), hit_on("convoy")]
        for match in matches:
            assert summarize(item, match) == summarize(item, match, vocabulary=fresh)
    story = [(item, None) for item in items]
    assert summarize_story(story) == summarize_story(story, vocabulary=fresh)


def test_a_summary_that_only_repeats_the_title_is_dropped() -> None:
    same = Item(feed_url="", key="k", title=TITLE, summary=TITLE + ".")
    assert summarize(same) == ""


def test_an_unbroken_run_is_cut_where_it_must() -> None:
    url = Item(feed_url="", key="k", title="T", summary="https://example.org/" + "a" * 100)
    assert summarize(url, max_chars=10) == "https://e…"


# The built-in topics and gazetteer, as the bot runs them.
PLACES = load_places(bundled_config_dir() / "places.toml")
BUILTIN = Matcher(load_topics(bundled_config_dir() / "topics.toml", PLACES), PLACES)


def report(key: str, title: str, summary: str) -> Item:
    return Item(feed_url=f"https://{key}.example/rss", key=key, title=title, summary=summary)


def matched(item: Item, topic: str = "mariupol-evacuation") -> Match:
    return next(match for match in BUILTIN.match(item) if match.topic_id == topic)


CORRIDORS = report(
    "wire",
    "Ukraine says humanitarian corridors will open on Friday",
    "Ukraine and Russia agreed on Thursday to open three humanitarian corridors in the south. "
    "Deputy Prime Minister Iryna Vereshchuk said the routes would be confirmed overnight. "
    "A convoy of 45 buses will evacuate civilians from Mariupol to Zaporizhzhia at dawn. "
    "The Red Cross said it was ready to escort the buses.",
)


def test_the_sentence_that_triggered_the_match_opens_the_summary() -> None:
    assert summarize(CORRIDORS, matched(CORRIDORS)) == (
        "A convoy of 45 buses will evacuate civilians from Mariupol to Zaporizhzhia at dawn. "
        "Ukraine and Russia agreed on Thursday to open three humanitarian corridors in the south. "
        "The Red Cross said it was ready to escort the buses."
    )


def test_of_two_equally_matched_sentences_the_earlier_opens_the_summary() -> None:
    match = Match("t", (*hit_on("convoy").hits, *hit_on("Zaporizhzhia").hits))
    assert summarize(ITEM, match, max_sentences=2) == (
        "Ukraine's deputy prime minister said 45 buses would leave Zaporizhzhia at dawn. "
        "The Red Cross will lead the evacuation convoy, officials said on Thursday."
    )


EVACUATION_UK = report(
    "ua",
    "Верещук: евакуація триватиме до вечора",
    "Колона з 30 автобусів вирушила з Маріуполя о 10:00, повідомила Ірина Верещук. "
    "Посадка тривала кілька годин через велику кількість охочих. "
    "Маршрут пролягає через Бердянськ і Мелітополь до Запоріжжя.",
)


def test_a_sentence_naming_places_beats_a_generic_one() -> None:
    assert summarize(EVACUATION_UK, matched(EVACUATION_UK), max_sentences=2) == (
        "Колона з 30 автобусів вирушила з Маріуполя о 10:00, повідомила Ірина Верещук. "
        "Маршрут пролягає через Бердянськ і Мелітополь до Запоріжжя."
    )


def test_without_places_the_earlier_filler_is_kept() -> None:
    generic = report(
        "ua",
        EVACUATION_UK.title,
        EVACUATION_UK.summary.replace("Бердянськ і Мелітополь до Запоріжжя", "кілька міст"),
    )
    assert summarize(generic, matched(generic), max_sentences=2) == (
        "Колона з 30 автобусів вирушила з Маріуполя о 10:00, повідомила Ірина Верещук. "
        "Посадка тривала кілька годин через велику кількість охочих."
    )


def test_countries_do_not_count_as_places() -> None:
    item = report(
        "wire",
        "Talks resume",
        "Delegations met for three hours. "
        "Ukraine and Russia traded accusations. "
        "Kyiv and Kharkiv were quiet overnight.",
    )
    assert summarize(item, max_sentences=2) == (
        "Delegations met for three hours. Kyiv and Kharkiv were quiet overnight."
    )


def test_a_repeated_lead_is_shown_once() -> None:
    item = report(
        "ru",
        "Эвакуация из Мариуполя",
        "Из Мариуполя в Запорожье эвакуировали более 300 человек. "
        "Из Мариуполя в Запорожье эвакуировали более 300 человек, сообщили местные власти. "
        "Колонну сопровождал Красный Крест. Следующая колонна ожидается в понедельник.",
    )
    assert summarize(item, matched(item)) == (
        "Из Мариуполя в Запорожье эвакуировали более 300 человек. "
        "Колонну сопровождал Красный Крест. Следующая колонна ожидается в понедельник."
    )


def test_a_sentence_that_rewords_the_title_is_dropped() -> None:
    item = report(
        "wire",
        "Red Cross convoy reaches Mariupol",
        "A Red Cross convoy has reached Mariupol, the ICRC said. "
        "It carried food and medicine for 2,000 people.",
    )
    assert summarize(item, matched(item)) == "It carried food and medicine for 2,000 people."


REUTERS = report(
    "reuters",
    "Buses leave Mariupol under Red Cross escort",
    "Forty-five buses carrying civilians left the besieged port of Mariupol on Friday morning. "
    "The Red Cross said the convoy was heading for Zaporizhzhia.",
)
AP = report(
    "ap",
    "Evacuation convoy departs Mariupol",
    "Forty-five buses carrying civilians left the besieged city of Mariupol on Friday morning, "
    "officials said. "
    "A second convoy could follow on Saturday if the ceasefire holds, officials said.",
)


def test_a_story_told_by_two_outlets_shows_each_fact_once() -> None:
    reports = [(REUTERS, matched(REUTERS)), (AP, matched(AP))]
    assert summarize_story(reports) == (
        "Forty-five buses carrying civilians left the besieged port of Mariupol on Friday morning. "
        "The Red Cross said the convoy was heading for Zaporizhzhia. "
        "A second convoy could follow on Saturday if the ceasefire holds, officials said."
    )


def test_a_later_report_that_repeats_the_shown_title_adds_nothing() -> None:
    echo = report("echo", "Buses leave Mariupol", "Buses leave Mariupol under Red Cross escort.")
    reports = [(REUTERS, matched(REUTERS)), (echo, matched(echo))]
    assert summarize_story(reports) == summarize(REUTERS, matched(REUTERS))


def test_a_story_of_one_report_is_that_reports_summary() -> None:
    match = matched(CORRIDORS)
    assert summarize_story([(CORRIDORS, match)]) == summarize(CORRIDORS, match)
    assert summarize_story([]) == ""


def test_a_trigger_too_long_to_fit_gives_way_to_whole_sentences() -> None:
    long_trigger = "The evacuation convoy " + "waited at the checkpoint " * 20 + "for hours."
    item = report("wire", "T", f"Shelling continued overnight. {long_trigger} Roads were icy.")
    start = item.summary.index("evacuation")
    match = Match("t", (Hit("summary", start, start + 10, "evacuation"),))
    assert summarize(item, match, max_chars=100) == "Shelling continued overnight. Roads were icy."


ARTICLE = " ".join(
    [
        "The evacuation of Mariupol resumed on Friday after a two-day pause.",
        "Officials in Zaporizhzhia said 1,200 people had arrived by evening, most of them women "
        "and children who had spent weeks in basements.",
        "The convoy of 60 buses left at 7 a.m. and travelled through Berdiansk and Tokmak.",
        "Russian forces stopped it at 14 checkpoints, Ukraine's deputy prime minister said.",
        "The Red Cross, which escorted the buses, said some evacuees needed urgent medical care.",
        "Another convoy is planned for Saturday.",
    ]
)


@pytest.mark.parametrize("max_chars", [60, 80, 120, 150, 200, 260, 320, 400, 1000])
def test_only_whole_sentences_up_to_three_within_the_limit(max_chars: int) -> None:
    item = report("wire", "Mariupol evacuation resumes", ARTICLE)
    whole = {ARTICLE[start:end] for start, end in split_sentences(ARTICLE)}
    text = summarize(item, matched(item), max_chars=max_chars)
    sentences = [text[start:end] for start, end in split_sentences(text)]
    assert 0 < len(text) <= max_chars
    assert 1 <= len(sentences) <= 3
    assert set(sentences) <= whole, text


def test_a_long_article_gives_its_three_most_telling_sentences() -> None:
    item = report("wire", "Mariupol: buses are moving again", ARTICLE)
    assert summarize(item, matched(item)) == (
        "The evacuation of Mariupol resumed on Friday after a two-day pause. "
        "The convoy of 60 buses left at 7 a.m. and travelled through Berdiansk and Tokmak. "
        "The Red Cross, which escorted the buses, said some evacuees needed urgent medical care."
    )
