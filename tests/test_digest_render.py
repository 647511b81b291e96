"""Digest messages as each platform shows them: split under its limits, never mid-story."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.delivery.digest_messages import digest_messages
from bot.delivery.render import render_alert_text
from bot.delivery.render_digest import render_digest_text
from bot.delivery.render_digest_telegram import (
    render_digest_html,
    render_digest_plain,
    render_message_html,
    render_message_plain,
)
from bot.delivery.render_slack import render_alert_blocks
from bot.digest.content import DigestTopic, build_digest, one_line_summary
from bot.model import Alert, AlertKind, ChatRef, Digest, DigestEntry, DigestSection, Platform
from bot.store.alerts import alert_from_payload, alert_to_payload
from bot.store.digests import StoryRow
from tests.fakes.slack import check_blocks
from tests.fakes.telegram import parse_html, utf16_length

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
END = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
TELEGRAM = ChatRef(Platform.TELEGRAM, "42")
SLACK = ChatRef(Platform.SLACK, "C42")
CONSOLE = ChatRef(Platform.CONSOLE, "terminal")
EVIL = "<b>Strike</b> & <a href='x'>“evacuation”</a> <!channel> *bold* _it_ 🇺🇦"


def entry(rank: int, *, long: bool = False, links: int = 3) -> DigestEntry:
    words = " ".join(f"word{n}" for n in range(40)) if long else "Talks resume"
    return DigestEntry(
        rank=rank,
        title=f"{rank}: {EVIL} {words}"[:200],
        summary=(f"{EVIL} summary " * 12)[:200] if long else "Delegations met for four hours.",
        links=tuple(f"https://news{n}.example/story/{rank}?a=1&b=2" for n in range(links)),
        sources=tuple(f"Source {n} & Co" for n in range(6)),
        source_count=6,
        published=END,
    )


def digest(topics: int, per_topic: int, *, long: bool = False, links: int = 3) -> Digest:
    sections = tuple(
        DigestSection(
            f"topic-{t}",
            f"Topic {t} {EVIL}",
            per_topic + 5,
            tuple(entry(r, long=long, links=links) for r in range(1, per_topic + 1)),
        )
        for t in range(topics)
    )
    return Digest(
        title="Daily digest",
        period_start=START,
        period_end=END,
        zone="Europe/Kyiv",
        stories=sum(s.total for s in sections),
        topics=topics,
        sections=sections,
        late=True,
    )


SHAPES = [
    pytest.param(1, 3, False, 3, id="small"),
    pytest.param(20, 10, True, 3, id="long-text"),
    pytest.param(12, 10, False, 3, id="many-links"),
    pytest.param(40, 1, False, 0, id="many-topics"),
]


def stories_of(parts: list[Digest]) -> list[tuple[str, int]]:
    return [(s.topic_id, e.rank) for part in parts for s in part.sections for e in s.entries]


@pytest.mark.parametrize(("topics", "per_topic", "long", "links"), SHAPES)
def test_telegram_parts_fit_4096_units_and_100_entities(
    topics: int, per_topic: int, long: bool, links: int
) -> None:
    whole = digest(topics, per_topic, long=long, links=links)
    messages = digest_messages(TELEGRAM, whole)
    parts = [message.digest for message in messages if message.digest is not None]
    assert stories_of(parts) == stories_of([whole])  # every story once, in order, none cut
    for number, part in enumerate(parts, 1):
        assert (part.part, part.parts) == (number, len(parts))
        parsed = parse_html(render_digest_html(part))  # strict: escaping, tags, entity count
        assert utf16_length(parsed.text) <= 4096
        assert len(parsed.entities) <= 100
        assert utf16_length(render_digest_plain(part)) <= 4096
        assert "<b>Strike</b>" in parsed.text  # feed text shown as typed, never as markup
    if len(parts) > 1:
        assert parse_html(render_digest_html(parts[1])).text.startswith(
            f"Daily digest (2/{len(parts)})"
        )


@pytest.mark.parametrize(("topics", "per_topic", "long", "links"), SHAPES)
def test_slack_parts_fit_50_blocks_and_3000_per_section(
    topics: int, per_topic: int, long: bool, links: int
) -> None:
    whole = digest(topics, per_topic, long=long, links=links)
    messages = digest_messages(SLACK, whole)
    parts = [message.digest for message in messages if message.digest is not None]
    assert stories_of(parts) == stories_of([whole])
    for message in messages:
        text, blocks = render_alert_blocks(message)  # what SlackChannel sends
        assert check_blocks(blocks) == []  # the strict fake's Block Kit rules: 50, 3000, 150…
        assert "<!channel>" not in text + str(blocks)  # escaped: never pings anyone
    for message in messages[:-1]:  # tight: a part ends only when the next story cannot fit
        assert len(render_alert_blocks(message)[1]) >= 49


def test_a_long_digest_continues_its_topic_in_the_next_message() -> None:
    parts = [m.digest for m in digest_messages(TELEGRAM, digest(2, 40, long=True))]
    assert len(parts) > 2
    second = parts[1]
    assert second is not None and second.sections[0].continued
    html = render_digest_html(second)
    assert "(continued)" in parse_html(html).text
    assert "sent late" not in parse_html(html).text  # the full header is on the first part only


def test_plain_text_shows_the_period_on_the_chats_clock_and_late() -> None:
    text = render_digest_text(digest(1, 2))
    assert text.splitlines()[0] == "Daily digest"
    assert "Mon 2 Mar 08:00 – Tue 3 Mar 08:00 (Europe/Kyiv) · sent late" in text
    assert "1. " in text and "6 sources" in text


def test_console_gets_a_digest_as_one_message() -> None:
    [message] = digest_messages(CONSOLE, digest(20, 10, long=True))
    assert render_alert_text(message) == render_digest_text(digest(20, 10, long=True))


def test_an_empty_digest_says_so() -> None:
    empty = Digest("Daily digest", START, END, "UTC", 0, 0, ())
    assert "No new stories on this chat's digest topics." in render_digest_text(empty)
    [message] = digest_messages(SLACK, empty)
    _, blocks = render_alert_blocks(message)
    assert check_blocks(blocks) == []
    assert "No new stories" in parse_html(render_digest_html(empty)).text


def test_a_message_of_an_unknown_kind_renders_as_plain_text() -> None:
    future = Alert(
        SLACK, "", "", "Weekly report", "12 feeds, 3 failing <@U1>", (), None, kind="report"
    )
    assert render_alert_text(future) == "Weekly report\n12 feeds, 3 failing <@U1>"
    _, blocks = render_alert_blocks(future)
    assert check_blocks(blocks) == []
    assert "&lt;@U1&gt;" in blocks[0]["text"]["text"]
    shown = parse_html(render_message_html(future)).text  # what Telegram's renderer hands over
    assert shown == render_message_plain(future) == "Weekly report\n12 feeds, 3 failing <@U1>"
    [digest_message] = digest_messages(TELEGRAM, digest(1, 2))
    assert digest_message.digest is not None
    assert render_message_html(digest_message) == render_digest_html(digest_message.digest)


def test_a_digest_survives_the_outbox_payload_and_a_story_alert_is_unchanged() -> None:
    [message] = digest_messages(TELEGRAM, digest(2, 3))
    back = alert_from_payload(TELEGRAM, alert_to_payload(message))
    assert back == message
    story = Alert(TELEGRAM, "peace-talks", "Peace talks", "t", "s", ("https://x.example",), END)
    payload = alert_to_payload(story)
    assert "kind" not in payload and "digest" not in payload
    assert alert_from_payload(TELEGRAM, payload).kind == AlertKind.ALERT


# -- content: what makes the top stories -------------------------------------------------------


def row(item: int, feed: int, url: str | None, minute: int, **extra: object) -> StoryRow:
    values: dict[str, object] = {
        "topic_id": "peace-talks",
        "matched_at": START.replace(minute=minute),
        "item_id": item,
        "feed_id": feed,
        "source": f"Feed {feed}",
        "url": url,
        "title": f"Story {url or item}",
        "summary": "First sentence here. Second sentence.",
        "published": None,
    }
    values.update(extra)
    return StoryRow(**values)  # type: ignore[arg-type]


def test_stories_rank_by_independent_sources_then_recency() -> None:
    rows = [
        row(1, 1, "https://a.example/1", 1),
        row(2, 2, "https://a.example/1", 2),  # same URL, another feed: 2 sources
        row(3, 2, "https://b.example/2", 3),  # newer, 1 source
        row(4, 3, "https://c.example/3", 4),  # newest, 1 source
        row(5, 3, "https://b.example/2", 5),  # b: 2 sources, newer than a
        row(6, 1, None, 6, title="No link"),
    ]
    topics = [DigestTopic("peace-talks", "Peace talks")]
    built = build_digest(
        rows, topics, title="Daily digest", since=START, until=END, zone="UTC", max_per_topic=3
    )
    [section] = built.sections
    assert [e.links[0] if e.links else e.title for e in section.entries] == [
        "https://b.example/2",
        "https://a.example/1",
        "No link",
    ]
    assert section.total == 4 and built.stories == 4
    assert section.entries[0].source_count == 2
    assert section.entries[0].summary == "First sentence here."


def test_a_story_cluster_counts_as_one_story_with_all_its_links() -> None:
    rows = [
        row(1, 1, "https://a.example/1", 1, story_id="7"),
        row(2, 2, "https://b.example/other-url", 2, story_id="7"),
    ]
    built = build_digest(
        rows,
        [DigestTopic("peace-talks", "Peace talks")],
        title="D",
        since=START,
        until=END,
        zone="UTC",
        max_per_topic=5,
    )
    [story] = built.sections[0].entries
    assert story.links == ("https://a.example/1", "https://b.example/other-url")
    assert story.source_count == 2


def test_a_story_first_seen_before_the_period_is_not_repeated() -> None:
    earlier = row(1, 1, "https://a.example/1", 0, matched_at=START.replace(hour=1))
    later = row(2, 2, "https://a.example/1", 30)
    built = build_digest(
        [earlier, later],
        [DigestTopic("peace-talks", "P")],
        title="D",
        since=START,
        until=END,
        zone="UTC",
        max_per_topic=5,
    )
    assert built.stories == 0


def test_a_digest_line_is_the_whole_first_sentence_abbreviations_and_all() -> None:
    summary = "Gen. Naiev met the delegation in Istanbul at 4.5 km from the port. Talks resume."
    assert one_line_summary(summary, "Talks in Istanbul") == summary.split(" Talks resume")[0]
