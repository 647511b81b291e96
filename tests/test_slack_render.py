"""render_alert_blocks: what a Slack reader sees, and what a hostile feed cannot make them see."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bot.delivery.render_slack import (
    MUTE_ACTION_ID,
    UNSUBSCRIBE_ACTION_ID,
    escape_mrkdwn,
    render_alert_blocks,
)
from bot.model import Alert, ChatRef, Platform
from tests.fakes.slack import check_blocks

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STORY = "https://news.example/story"

ALERT = Alert(
    chat=ChatRef(Platform.SLACK, "C1"),
    topic_id="peace-talks",
    topic_name="Peace talks",
    title="Talks resume in Istanbul",
    summary="Delegations met on Monday.",
    links=(STORY,),
    published=NOW,
    why=("talks", "Istanbul"),
    source_titles=("Kyiv Independent",),
)

HOSTILE = [
    "<!channel>",
    "<!here|here>",
    "<!everyone>",
    "<@U123>",
    "<#C123|general>",
    "<!subteam^S123|@oncall>",
    "<https://evil.example|bank.example>",
    "<mailto:a@evil.example|support>",
    "Tom & Jerry > Itchy < Scratchy",
    "&lt;!channel&gt;",  # already-escaped text stays text, too
]


def texts(text: str, blocks: list[dict[str, Any]]) -> list[str]:
    """Every string a reader sees: the fallback and each text object in the blocks."""
    found = [text]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def control_sequences(text: str) -> list[str]:
    """Slack's ``<…>`` sequences: links, mentions, special commands, dates."""
    return re.findall(r"<[^<>]*>", text)


def ours(sequence: str) -> bool:
    return (
        sequence.startswith(f"<{STORY}|")
        or sequence == f"<{STORY}>"
        or sequence.startswith("<!date^")
    )


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("where", ["title", "summary", "topic_name", "why", "source_titles"])
def test_feed_text_never_pings_anyone_or_becomes_a_link(where: str, hostile: str) -> None:
    value: Any = (hostile,) if where in ("why", "source_titles") else hostile
    text, blocks = render_alert_blocks(replace(ALERT, **{where: value}))

    seen = texts(text, blocks)
    for shown in seen:
        assert [seq for seq in control_sequences(shown) if not ours(seq)] == []
    assert any(escape_mrkdwn(hostile) in shown for shown in seen)
    assert check_blocks(blocks) == []


def test_the_title_links_to_the_story_and_the_host_is_shown() -> None:
    text, blocks = render_alert_blocks(ALERT)

    assert blocks[0]["text"]["text"] == f"*<{STORY}|Talks resume in Istanbul>*"
    assert blocks[1]["text"]["text"] == "Delegations met on Monday."
    context = [element["text"] for element in blocks[2]["elements"]]
    assert context[:3] == [
        "*Topic:* Peace talks",
        "*Why:* matched talks + Istanbul",
        "*Source:* Kyiv Independent · news.example",
    ]
    assert context[3] == "<!date^1772366400^{date_short_pretty} {time}|2026-03-01 12:00 UTC>"
    assert text == f"Peace talks: Talks resume in Istanbul\n<{STORY}>"


def test_a_title_posing_as_a_link_shows_the_real_host() -> None:
    alert = replace(
        ALERT, title="<https://bank.example|Your bank>", links=("https://evil.example/x",)
    )
    _, blocks = render_alert_blocks(alert)

    title = blocks[0]["text"]["text"]
    assert control_sequences(title) == [
        "<https://evil.example/x|&lt;https://bank.example|Your bank&gt;>"
    ]
    assert "evil.example" in blocks[2]["elements"][2]["text"]


@pytest.mark.parametrize(
    ("url", "target"),
    [
        (
            "https://news.example/a|<https://evil.example>",
            "https://news.example/a%7C%3Chttps://evil.example%3E",
        ),
        ("https://news.example/a b\tc", "https://news.example/a%20b%09c"),
        ("https://news.example/?q=1&r=2", "https://news.example/?q=1&amp;r=2"),
        ("  HTTPS://news.example/a  ", "HTTPS://news.example/a"),
        ('http://news.example/"quoted"', "http://news.example/%22quoted%22"),
    ],
)
def test_a_url_cannot_end_its_link_early(url: str, target: str) -> None:
    _, blocks = render_alert_blocks(replace(ALERT, links=(url,)))

    assert control_sequences(blocks[0]["text"]["text"]) == [f"<{target}|Talks resume in Istanbul>"]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "ftp://files.example/a",
        "mailto:desk@news.example",
        "//news.example/no-scheme",
        "https:///no-host",
        "news.example/no-scheme",
        "",
    ],
)
def test_a_link_that_is_not_http_is_dropped(url: str) -> None:
    text, blocks = render_alert_blocks(replace(ALERT, links=(url,)))

    assert blocks[0]["text"]["text"] == "*Talks resume in Istanbul*"
    assert text == "Peace talks: Talks resume in Istanbul"
    for shown in texts(text, blocks):
        assert [seq for seq in control_sequences(shown) if not seq.startswith("<!date^")] == []


def test_the_first_web_link_is_the_title_link_and_others_are_listed() -> None:
    links = ("javascript:alert(1)", STORY, STORY, "https://other.example/b", "ftp://x.example/")
    _, blocks = render_alert_blocks(replace(ALERT, links=links))

    assert blocks[0]["text"]["text"].startswith(f"*<{STORY}|")
    assert blocks[2]["elements"][2]["text"] == (
        "*Source:* Kyiv Independent · news.example · also <https://other.example/b|other.example>"
    )


@pytest.mark.parametrize(
    "summary",
    [
        pytest.param("Ceasefire talks continue " * 400, id="words"),
        pytest.param("Tom & Jerry <3 " * 400, id="escapes-grow-the-text"),
        pytest.param("🕊️ мир " * 1000, id="emoji-count-double"),
        pytest.param("x" * 5000, id="one-long-word"),
    ],
)
def test_a_long_summary_is_cut_at_a_word_within_slacks_limit(summary: str) -> None:
    _, blocks = render_alert_blocks(replace(ALERT, summary=summary))

    shown = blocks[1]["text"]["text"]
    assert len(shown.encode("utf-16-le")) // 2 <= 3000
    assert shown.endswith("…")
    assert not re.search(r"&[a-z]*…$", shown)  # never half an escape
    head = shown.removesuffix("…")
    if " " in summary:
        assert summary.startswith(head.replace("&amp;", "&").replace("&lt;", "<"))
        assert summary[len(head.replace("&amp;", "&").replace("&lt;", "<"))] == " "
    assert check_blocks(blocks) == []


def test_a_huge_alert_still_fits_every_limit() -> None:
    alert = replace(
        ALERT,
        title="<!channel> " * 500,
        summary="& " * 5000,
        topic_name="T" * 5000,
        why=tuple(f"term{n}" for n in range(2000)),
        source_titles=tuple(f"Source {n}" for n in range(2000)),
        links=tuple(f"https://s{n}.example/{'a' * 100}" for n in range(100)),
    )
    text, blocks = render_alert_blocks(alert)

    assert check_blocks(blocks) == []
    assert len(blocks) <= 50
    assert len(blocks[0]["text"]["text"]) < 500
    assert 0 < len(text) < 40_000


def test_buttons_mute_the_topic_or_unsubscribe() -> None:
    _, blocks = render_alert_blocks(ALERT)

    buttons = blocks[-1]["elements"]
    assert [(b["text"]["text"], b["action_id"], b["value"]) for b in buttons] == [
        ("Mute topic", MUTE_ACTION_ID, "peace-talks"),
        ("Unsubscribe", UNSUBSCRIBE_ACTION_ID, "peace-talks"),
    ]
    assert (MUTE_ACTION_ID, UNSUBSCRIBE_ACTION_ID) == ("wirewatch_mute", "wirewatch_unsubscribe")


@pytest.mark.parametrize(
    ("changes", "kinds"),
    [
        pytest.param({}, ["section", "section", "context", "actions"], id="full"),
        pytest.param({"summary": ""}, ["section", "context", "actions"], id="no-summary"),
        pytest.param(
            {"summary": " Talks resume in Istanbul "},
            ["section", "context", "actions"],
            id="summary-is-the-title",
        ),
    ],
)
def test_block_layout(changes: dict[str, Any], kinds: list[str]) -> None:
    _, blocks = render_alert_blocks(replace(ALERT, **changes))

    assert [block["type"] for block in blocks] == kinds


def test_a_bare_alert_still_renders() -> None:
    alert = replace(
        ALERT, title="  ", summary="", links=(), published=None, why=(), source_titles=()
    )
    text, blocks = render_alert_blocks(alert)

    assert blocks[0]["text"]["text"] == "*(untitled)*"
    assert [e["text"] for e in blocks[1]["elements"]] == ["*Topic:* Peace talks"]
    assert text == "Peace talks: (untitled)"
    assert check_blocks(blocks) == []


@pytest.mark.parametrize(
    "published",
    [
        datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
        datetime(2026, 3, 1, 12, 0),  # naive: taken as UTC
    ],
)
def test_the_time_falls_back_to_utc(published: datetime) -> None:
    _, blocks = render_alert_blocks(replace(ALERT, published=published))

    assert blocks[2]["elements"][-1]["text"].endswith("|2026-03-01 12:00 UTC>")
