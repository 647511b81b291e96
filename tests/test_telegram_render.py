"""What a Telegram reader sees of an alert: escaped text, safe links, and never too long.

Every rendering is parsed by the fake Telegram server's HTML parser in strict mode, the way the
Bot API parses it, so "valid" here means "Telegram would accept it and show this text".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.delivery.render_telegram import (
    MAX_MESSAGE_UTF16,
    render_alert_html,
    render_alert_plain,
    utf16_length,
)
from bot.model import Alert, ChatRef, Platform
from tests.fakes.telegram import ParsedText, parse_html

ARTICLE = "https://news.example/2026/03/mariupol-evacuation"
ALERT = Alert(
    chat=ChatRef(Platform.TELEGRAM, "42"),
    topic_id="mariupol-evacuation",
    topic_name="Mariupol evacuation",
    title="Evacuation corridor opens in Mariupol",
    summary="Buses left the city at dawn. About 300 people were on board. More are expected.",
    links=(ARTICLE,),
    published=datetime(2026, 3, 1, 12, 5, tzinfo=UTC),
    why=("Mariupol", "evacuation"),
    source_titles=("Ukrinform", "Reuters"),
)
LAYOUT_ENTITIES = {"bold", "italic", "text_link"}


def shown(alert: Alert) -> ParsedText:
    """What Telegram shows for the alert's HTML (strict: a bare & or >100 entities fail)."""
    return parse_html(render_alert_html(alert), strict=True)


def test_an_alert_reads_as_title_summary_and_why_it_matched() -> None:
    parsed = shown(ALERT)
    assert parsed.text.splitlines() == [
        "Evacuation corridor opens in Mariupol",
        "Buses left the city at dawn. About 300 people were on board. More are expected.",
        "",
        "Topic: Mariupol evacuation · matched: Mariupol + evacuation",
        "Sources: Ukrinform, Reuters",
        "2026-03-01 12:05 UTC",
    ]
    title = {"offset": 0, "length": len(ALERT.title)}
    assert {"type": "bold", **title} in parsed.entities
    assert {"type": "text_link", **title, "url": ARTICLE} in parsed.entities


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert('x')</script>",
        "R&D &amp; AT&T &lt;not an entity&gt; &#60;",
        "\"double\" and 'single' quotes",
        "*bold* _italic_ __under__ ~strike~ ||spoiler|| `code` ```pre```",
        "[a link](https://evil.example) \\escaped\\ > quote # not a heading",
        "</b></a><b><i> unbalanced",
    ],
)
def test_feed_text_is_shown_as_text_never_as_markup(hostile: str) -> None:
    alert = replace(
        ALERT,
        title=hostile,
        summary=f"Summary {hostile}",
        topic_name=hostile,
        source_titles=(hostile,),
    )
    parsed = shown(alert)
    lines = parsed.text.splitlines()
    assert lines[:2] == [hostile, f"Summary {hostile}"]  # character for character
    assert f"Topic: {hostile} · matched" in lines[3]
    assert lines[4] == f"Sources: {hostile}"
    assert {entity["type"] for entity in parsed.entities} <= LAYOUT_ENTITIES
    assert len(parsed.entities) == 3  # title bold + link, metadata italic


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.example/a",
        "tg://resolve?domain=evil",
        "//news.example/no-scheme",
        "https://",
        "https://news.example/with space",
        "https://news.example/\nnext-line",
    ],
)
def test_only_http_links_become_the_title_link(link: str) -> None:
    alert = replace(ALERT, links=(link,))
    html = render_alert_html(alert)
    parsed = parse_html(html, strict=True)
    assert "href" not in html
    assert [e["type"] for e in parsed.entities if e["offset"] == 0] == ["bold"]
    assert parsed.text.startswith(ALERT.title)


def test_quotes_and_ampersands_in_a_link_survive_escaping() -> None:
    link = 'https://news.example/search?q="peace"&lang=\'uk\'&x=<1>"><script>'
    parsed = shown(replace(ALERT, links=(link,)))
    title_link = {"type": "text_link", "offset": 0, "length": len(ALERT.title), "url": link}
    assert title_link in parsed.entities


def test_extra_links_are_listed_by_host() -> None:
    alert = replace(ALERT, links=(ARTICLE, "https://www.reuters.example/a", "javascript:x"))
    parsed = shown(alert)
    assert "Sources: Ukrinform, Reuters · also: reuters.example" in parsed.text
    assert {"url": "https://www.reuters.example/a"}.items() <= parsed.entities[-1].items()


def test_time_is_shown_in_utc() -> None:
    kyiv = timezone(timedelta(hours=2))
    alert = replace(ALERT, published=datetime(2026, 3, 1, 14, 5, tzinfo=kyiv))
    assert shown(alert).text.endswith("2026-03-01 12:05 UTC")


def test_at_most_three_sentences_of_summary() -> None:
    alert = replace(ALERT, summary="One. Two! Three? Four. Five.")
    assert "One. Two! Three?\n" in shown(alert).text


def _words(count: int, word: str = "evacuation") -> str:
    return " ".join(f"{word}{n}" for n in range(count))


@pytest.mark.parametrize(
    "summary",
    [
        _words(2_000),  # ~26 000 characters, one sentence
        " ".join(["😀🇺🇦"] * 3_000),  # 6 UTF-16 units per word from 4 code points
        " ".join(["a&b <c>"] * 2_000),  # escaping makes the HTML longer, not the text
        "x" * 10_000,  # no word boundary at all
    ],
)
def test_a_huge_summary_is_cut_at_a_word_to_fit_4096_utf16_units(summary: str) -> None:
    parsed = shown(replace(ALERT, summary=summary))
    summary_shown = parsed.text.splitlines()[1]
    assert MAX_MESSAGE_UTF16 - 30 <= utf16_length(parsed.text) <= MAX_MESSAGE_UTF16
    assert summary_shown.endswith("…")
    kept = summary_shown.removesuffix("…")
    assert summary.startswith(kept)
    if " " in summary:
        assert summary[len(kept)] == " "  # cut between words
    assert "2026-03-01 12:05 UTC" in parsed.text  # metadata kept whole


def test_every_field_huge_still_fits_and_keeps_few_entities() -> None:
    many = tuple(f"https://source{n}.example/{'story/' * 300}" for n in range(500))
    alert = replace(
        ALERT,
        title="T" * 20_000,
        topic_name="Topic " * 5_000,
        summary=_words(5_000),
        links=many,
        why=tuple(f"term{n}" for n in range(500)),
        source_titles=tuple(f"Source {n}" for n in range(500)),
    )
    parsed = shown(alert)
    assert utf16_length(parsed.text) <= MAX_MESSAGE_UTF16
    assert len(parsed.entities) <= 12
    assert "and 490 more" in parsed.text
    assert len(parsed.text.splitlines()[1]) > 1_000  # the summary still has room
    plain = render_alert_plain(alert)
    assert utf16_length(plain) <= MAX_MESSAGE_UTF16
    assert len(plain.splitlines()[1]) > 500


def test_a_summary_that_only_repeats_the_title_is_left_out() -> None:
    alert = replace(ALERT, summary=ALERT.title)
    assert shown(alert).text.splitlines()[:2] == [ALERT.title, ""]


def test_control_characters_and_lone_surrogates_are_dropped() -> None:
    alert = replace(ALERT, title="Bad\x00 \x1b[31mtitle\ud800\u200b", summary="a\x07b\r\nc")
    text = shown(alert).text
    assert text.startswith("Bad [31mtitle\u200b\nab c\n")


def test_the_plain_fallback_has_the_same_story_without_markup() -> None:
    alert = replace(ALERT, title="<b>Evacuation</b> & more")
    plain = render_alert_plain(alert)
    assert plain.splitlines()[:3] == [
        "<b>Evacuation</b> & more",
        "Buses left the city at dawn. About 300 people were on board. More are expected.",
        ARTICLE,
    ]
    assert plain.endswith("Sources: Ukrinform, Reuters\n2026-03-01 12:05 UTC")


def test_the_plain_fallback_fits_too() -> None:
    plain = render_alert_plain(replace(ALERT, summary="😀 " * 10_000, links=(ARTICLE * 20,)))
    assert utf16_length(plain) <= MAX_MESSAGE_UTF16
    assert plain.splitlines()[1].endswith("…")
