"""The store's guarantees, on SQLite and (with WIREWATCH_TEST_DATABASE_URL) on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.model import Alert, ChatRef, Delivery, Feed, Item, Platform, Topic
from bot.store import alerts as outbox
from bot.store import chats as chat_store
from bot.store import feeds as feed_store
from bot.store.db import migrate
from bot.store.items import insert_new_items
from bot.store.tables import chats
from tests.conftest import table_count

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FEED = "https://news.example/rss"


def item(key: str, url: str | None = None, title: str = "Evacuation from Mariupol") -> Item:
    return Item(feed_url=FEED, key=key, title=title, url=url, published=NOW)


def alert(chat: ChatRef, title: str = "t") -> Alert:
    return Alert(chat, "peace-talks", "Peace talks", title, "", ("https://x.example/a",), NOW)


async def test_migrations_are_idempotent(engine: AsyncEngine) -> None:
    await migrate(engine)
    assert await table_count(engine, "feeds") == 0


async def test_times_come_back_as_aware_utc(engine: AsyncEngine) -> None:
    kyiv_time = datetime(2026, 3, 1, 14, 0, tzinfo=UTC).astimezone()
    async with engine.begin() as conn:
        await feed_store.add_feed(conn, Feed(FEED), now=kyiv_time)
        row = await feed_store.get_feed(conn, FEED)
    assert row is not None
    assert row.next_check_at == kyiv_time
    assert row.next_check_at.tzinfo is not None


async def test_a_due_feed_is_claimed_once_until_its_lease_runs_out(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await feed_store.add_feed(conn, Feed(FEED), now=NOW)
    lease = timedelta(minutes=5)
    async with engine.begin() as conn:
        first = await feed_store.claim_due_feeds(conn, now=NOW, limit=10, lease=lease)
        second = await feed_store.claim_due_feeds(conn, now=NOW, limit=10, lease=lease)
    async with engine.begin() as conn:
        after_lease = await feed_store.claim_due_feeds(conn, now=NOW + lease, limit=10, lease=lease)
    assert [row.url for row in first] == [FEED]
    assert second == []
    assert [row.url for row in after_lease] == [FEED]


async def test_failures_are_counted_and_success_resets_them(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        row = await feed_store.add_feed(conn, Feed(FEED), now=NOW)
        for _ in range(2):
            await feed_store.record_failure(
                conn, row.id, now=NOW, next_check_at=NOW, error="HTTP 404 Not Found"
            )
        failed = await feed_store.get_feed(conn, FEED)
        await feed_store.record_success(
            conn,
            row.id,
            now=NOW,
            next_check_at=NOW,
            status=200,
            etag='"v1"',
            last_modified=None,
            title="News",
            had_new_items=True,
        )
        healed = await feed_store.get_feed(conn, FEED)
    assert failed is not None and healed is not None
    assert (failed.error_count, failed.last_error) == (2, "HTTP 404 Not Found")
    assert (healed.error_count, healed.last_error, healed.etag) == (0, None, '"v1"')
    assert healed.title == "News"


async def test_configured_feeds_sync_keeps_user_feeds(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await feed_store.add_feed(conn, Feed("https://user.example/rss"), now=NOW, origin="user")
        await feed_store.sync_configured_feeds(conn, [Feed(FEED)], now=NOW)
        await feed_store.sync_configured_feeds(conn, [Feed("https://other.example/")], now=NOW)
        urls = [row.url for row in await feed_store.list_feeds(conn)]
    assert sorted(urls) == ["https://other.example/", "https://user.example/rss"]


@pytest.mark.parametrize(
    ("first", "second", "expected_new"),
    [
        pytest.param(["a", "b"], ["b", "a"], [], id="reordered"),
        pytest.param(["a", "b"], ["b"], [], id="dropped"),
        pytest.param(["a", "b"], ["a", "b", "c"], ["c"], id="one-new"),
        pytest.param(["a"], ["a", "a"], [], id="duplicate-in-feed"),
    ],
)
async def test_an_item_is_new_once(
    engine: AsyncEngine, first: list[str], second: list[str], expected_new: list[str]
) -> None:
    async with engine.begin() as conn:
        row = await feed_store.add_feed(conn, Feed(FEED), now=NOW)
        await insert_new_items(conn, row.id, [item(key) for key in first], now=NOW)
        stored = await insert_new_items(conn, row.id, [item(key) for key in second], now=NOW)
        # Dropped and re-added later: still not new.
        again = await insert_new_items(conn, row.id, [item(key) for key in first], now=NOW)
    assert [entry.item.key for entry in stored] == expected_new
    assert again == []


async def test_same_article_under_another_guid_is_not_new(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        row = await feed_store.add_feed(conn, Feed(FEED), now=NOW)
        await insert_new_items(conn, row.id, [item("guid-1", "https://x.example/a")], now=NOW)
        stored = await insert_new_items(
            conn, row.id, [item("guid-2", "https://x.example/a")], now=NOW
        )
    assert stored == []


async def test_paused_and_inactive_chats_get_nothing(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        ids = {}
        for name in ("active", "paused", "gone"):
            ids[name] = await chat_store.ensure_chat(
                conn, ChatRef(Platform.TELEGRAM, name), now=NOW
            )
            await chat_store.subscribe(conn, ids[name], "peace-talks", now=NOW)
        await conn.execute(update(chats).where(chats.c.id == ids["paused"]).values(paused=True))
        await conn.execute(update(chats).where(chats.c.id == ids["gone"]).values(active=False))
        found = await chat_store.subscribers_by_topic(conn, ["peace-talks"])
    assert [s.chat.chat_id for s in found["peace-talks"]] == ["active"]


async def test_subscribing_twice_changes_the_mode(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        chat_pk = await chat_store.ensure_chat(conn, ChatRef(Platform.SLACK, "C1"), now=NOW)
        assert await chat_store.subscribe(conn, chat_pk, "peace-talks", now=NOW)
        assert not await chat_store.subscribe(
            conn, chat_pk, "peace-talks", now=NOW, delivery=Delivery.DIGEST
        )
        assert await chat_store.list_subscriptions(conn, chat_pk) == [
            chat_store.SubscriptionRow("peace-talks", Delivery.DIGEST, None)
        ]
        assert await chat_store.unsubscribe(conn, chat_pk, "peace-talks")


async def test_builtin_topics_sync(engine: AsyncEngine) -> None:
    topic = Topic("peace-talks", "Peace talks", "talks")
    async with engine.begin() as conn:
        await chat_store.sync_builtin_topics(conn, [topic], now=NOW)
        await chat_store.sync_builtin_topics(conn, [topic], now=NOW)
    assert await table_count(engine, "topics") == 1


async def _queue(engine: AsyncEngine, chat: ChatRef, titles: list[str]) -> int:
    async with engine.begin() as conn:
        feed = await feed_store.add_feed(conn, Feed(FEED), now=NOW)
        chat_pk = await chat_store.ensure_chat(conn, chat, now=NOW)
        stored = await insert_new_items(conn, feed.id, [item(t) for t in titles], now=NOW)
        new = [
            outbox.NewAlert(chat_pk, s.id, f"key:{s.item.key}", alert(chat, s.item.key))
            for s in stored
        ]
        return await outbox.enqueue_alerts(conn, new, now=NOW)


async def test_a_story_is_queued_once_per_chat(engine: AsyncEngine) -> None:
    chat = ChatRef(Platform.TELEGRAM, "42")
    assert await _queue(engine, chat, ["a"]) == 1
    async with engine.begin() as conn:
        chat_pk = await chat_store.ensure_chat(conn, chat, now=NOW)
        again = outbox.NewAlert(chat_pk, 1, "key:a", alert(chat, "a"))
        assert await outbox.enqueue_alerts(conn, [again], now=NOW) == 0
    assert await table_count(engine, "alerts") == 1


async def test_an_alert_claimed_by_a_crashed_sender_is_sent_again(engine: AsyncEngine) -> None:
    chat = ChatRef(Platform.TELEGRAM, "42")
    await _queue(engine, chat, ["a"])
    lease = timedelta(minutes=2)
    platforms = [Platform.TELEGRAM]
    async with engine.begin() as conn:
        claimed = await outbox.claim_due_alerts(
            conn, platforms=platforms, now=NOW, limit=10, lease=lease
        )
        # The sender dies here, before marking it sent.
        while_leased = await outbox.claim_due_alerts(
            conn, platforms=platforms, now=NOW, limit=10, lease=lease
        )
    async with engine.begin() as conn:
        reclaimed = await outbox.claim_due_alerts(
            conn, platforms=platforms, now=NOW + lease, limit=10, lease=lease
        )
        await outbox.mark_sent(conn, reclaimed[0].id, now=NOW, message_id="7")
        done = await outbox.claim_due_alerts(
            conn, platforms=platforms, now=NOW + 10 * lease, limit=10, lease=lease
        )
    assert [entry.alert.title for entry in claimed] == ["a"]
    assert while_leased == []
    assert [entry.id for entry in reclaimed] == [claimed[0].id]
    assert done == []


async def test_deliverers_claiming_at_the_same_time_never_get_the_same_alert(
    engine: AsyncEngine,
) -> None:
    """Two deliverers (two instances, or a bench's replicas) drain one outbox at once."""
    for number in range(40):
        await _queue(engine, ChatRef(Platform.TELEGRAM, str(100 + number)), [f"story {number}"])

    async def claim() -> list[int]:
        async with engine.begin() as conn:
            entries = await outbox.claim_due_alerts(
                conn, platforms=[Platform.TELEGRAM], now=NOW, limit=40, lease=timedelta(minutes=2)
            )
        return [entry.id for entry in entries]

    async def connect() -> None:  # each deliverer has its connection open already
        async with engine.connect() as conn:
            await conn.execute(select(1))
            await asyncio.sleep(0.05)

    await asyncio.gather(*(connect() for _ in range(4)))
    claims = await asyncio.gather(*(claim() for _ in range(4)))

    claimed = [alert_id for ids in claims for alert_id in ids]
    assert len(claimed) == len(set(claimed)) == 40  # each alert once, none left behind


async def test_a_chat_waits_for_its_older_alert_to_be_retried(engine: AsyncEngine) -> None:
    chat = ChatRef(Platform.TELEGRAM, "42")
    other = ChatRef(Platform.TELEGRAM, "43")
    await _queue(engine, chat, ["first", "second"])
    await _queue(engine, other, ["third"])
    platforms = [Platform.TELEGRAM]
    lease = timedelta(minutes=2)
    async with engine.begin() as conn:
        claimed = await outbox.claim_due_alerts(
            conn, platforms=platforms, now=NOW, limit=1, lease=lease
        )
        await outbox.mark_retry(
            conn, claimed[0].id, error="429", next_attempt_at=NOW + timedelta(seconds=30)
        )
        meanwhile = await outbox.claim_due_alerts(
            conn, platforms=platforms, now=NOW, limit=10, lease=lease
        )
    assert claimed[0].alert.title == "first"
    assert [entry.alert.title for entry in meanwhile] == ["third"]
