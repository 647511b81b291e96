"""A story gaining sources: the alert queued or sent for it is updated, never sent twice.

Through the real store and Deliverer to the local fake Slack (chat.postMessage, chat.update).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat.slack import SlackChannel
from bot.delivery.outbox import Deliverer
from bot.model import Alert, ChatRef, Feed, Item, Platform
from bot.store import alerts as outbox
from bot.store import chats as chat_store
from bot.store import feeds as feed_store
from bot.store import story_alerts
from bot.store.items import insert_new_items
from tests.fakes.slack import FakeSlack

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
STORY = "story:1:convoy"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(rate=50.0, burst=5) as server:
        server.add_channel("C1", "news")
        yield server


@pytest.fixture
async def deliverer(engine: AsyncEngine, slack: FakeSlack) -> AsyncIterator[Deliverer]:
    channel = SlackChannel(slack.token, slack.api_url, per_channel_rate=50.0)
    yield Deliverer(engine, {Platform.SLACK: channel}, clock=lambda: NOW + timedelta(hours=1))
    await channel.aclose()


def report(source: str, link: str) -> Alert:
    return Alert(
        chat=ChatRef(Platform.SLACK, "C1"),
        topic_id="mariupol-evacuation",
        topic_name="Mariupol evacuation",
        title="Buses evacuate civilians from Mariupol",
        summary="A convoy of 45 buses left on Friday.",
        links=(link,),
        published=NOW,
        source_titles=(source,),
    )


REUTERS = report("Reuters", "https://reuters.example/convoy")
UKRINFORM = report("Ukrinform", "https://ukrinform.example/convoy")
INTERFAX = report("Interfax", "https://interfax.example/convoy")


@pytest.fixture
async def story_chat(engine: AsyncEngine) -> tuple[int, int]:
    """The Slack channel's chat id and the first report's item id."""
    async with engine.begin() as conn:
        feed = await feed_store.add_feed(conn, Feed("https://news.example/rss"), now=NOW)
        item = Item(feed_url=feed.url, key="convoy", title="Buses evacuate civilians")
        stored = await insert_new_items(conn, feed.id, [item], now=NOW)
        chat_pk = await chat_store.ensure_chat(
            conn, ChatRef(Platform.SLACK, "C1"), now=NOW, kind="channel"
        )
    return chat_pk, stored[0].id


async def route(
    engine: AsyncEngine, story_chat: tuple[int, int], *reports: Alert, at: datetime = NOW
) -> tuple[int, int]:
    """What ingest does with the alerts routed for one story: (queued, updated)."""
    chat_pk, item_id = story_chat
    new = story_alerts.combine_same_story(
        [outbox.NewAlert(chat_pk, item_id, STORY, alert) for alert in reports]
    )
    async with engine.begin() as conn:
        known = await story_alerts.known_stories(conn, new)
        updated = await story_alerts.add_sources(
            conn,
            [(known[e.chat_pk, e.story_key], e) for e in new if (e.chat_pk, e.story_key) in known],
            now=at,
        )
        fresh = [entry for entry in new if (entry.chat_pk, entry.story_key) not in known]
        queued = await outbox.enqueue_alerts(conn, fresh, now=at)
    return queued, updated


async def drain(deliverer: Deliverer) -> None:
    while await deliverer.drain_once():
        pass


def context(slack: FakeSlack) -> str:
    (message,) = slack.messages("C1")
    return str(message.blocks)


async def test_a_sent_alert_is_edited_to_name_the_new_source(
    engine: AsyncEngine, story_chat: tuple[int, int], slack: FakeSlack, deliverer: Deliverer
) -> None:
    assert await route(engine, story_chat, REUTERS) == (1, 0)
    await drain(deliverer)
    assert await route(engine, story_chat, UKRINFORM, at=NOW + timedelta(minutes=5)) == (0, 1)
    await drain(deliverer)

    (message,) = slack.messages("C1")
    assert message.edited
    assert "*Sources:* Reuters, Ukrinform" in context(slack)
    assert [call.method for call in slack.calls].count("chat.postMessage") == 1


async def test_sources_that_join_before_the_send_go_out_in_the_first_message(
    engine: AsyncEngine, story_chat: tuple[int, int], slack: FakeSlack, deliverer: Deliverer
) -> None:
    assert await route(engine, story_chat, REUTERS, INTERFAX) == (1, 0)
    assert await route(engine, story_chat, UKRINFORM) == (0, 1)
    await drain(deliverer)

    (message,) = slack.messages("C1")
    assert not message.edited
    assert "Reuters, Interfax, Ukrinform" in context(slack)


async def test_a_second_report_from_the_same_source_changes_nothing(
    engine: AsyncEngine, story_chat: tuple[int, int], slack: FakeSlack, deliverer: Deliverer
) -> None:
    await route(engine, story_chat, REUTERS)
    await drain(deliverer)
    again = report("Reuters", "https://reuters.example/convoy-update")
    assert await route(engine, story_chat, again, at=NOW + timedelta(minutes=5)) == (0, 0)
    await drain(deliverer)

    assert not slack.messages("C1")[0].edited


async def test_sources_arriving_while_an_edit_waits_make_one_edit(
    engine: AsyncEngine, story_chat: tuple[int, int], slack: FakeSlack, deliverer: Deliverer
) -> None:
    await route(engine, story_chat, REUTERS)
    await drain(deliverer)
    await route(engine, story_chat, UKRINFORM, at=NOW + timedelta(minutes=5))
    await route(engine, story_chat, INTERFAX, at=NOW + timedelta(minutes=6))
    await drain(deliverer)

    assert [call.method for call in slack.calls].count("chat.update") == 1
    assert "Reuters, Ukrinform, Interfax" in context(slack)


async def test_an_edit_of_a_deleted_message_fails_without_a_new_message(
    engine: AsyncEngine, story_chat: tuple[int, int], slack: FakeSlack, deliverer: Deliverer
) -> None:
    await route(engine, story_chat, REUTERS)
    await drain(deliverer)
    slack.delete_messages("C1")
    await route(engine, story_chat, UKRINFORM, at=NOW + timedelta(minutes=5))
    await drain(deliverer)

    async with engine.connect() as conn:
        assert await outbox.count_by_status(conn) == {"sent": 1, "failed": 1}
    assert slack.messages("C1") == []
    assert [call.method for call in slack.calls].count("chat.postMessage") == 1


async def test_an_old_message_is_not_edited(
    engine: AsyncEngine, story_chat: tuple[int, int], slack: FakeSlack, deliverer: Deliverer
) -> None:
    await route(engine, story_chat, REUTERS)
    await drain(deliverer)
    late = NOW + story_alerts.EDIT_WINDOW + timedelta(hours=2)
    assert await route(engine, story_chat, UKRINFORM, at=late) == (0, 1)  # recorded for digests …
    await drain(deliverer)

    assert not slack.messages("C1")[0].edited  # … but the chat is not disturbed
