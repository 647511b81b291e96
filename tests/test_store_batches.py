"""Big polls are written in multi-row chunks; a user still sees each item once, in feed order.

On SQLite and (with WIREWATCH_TEST_DATABASE_URL) on PostgreSQL; the concurrent case needs
PostgreSQL, where two instances really write at the same time.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.model import Alert, ChatRef, Feed, Item, Platform
from bot.store import alerts as outbox
from bot.store import chats as chat_store
from bot.store import feeds as feed_store
from bot.store.items import CHUNK_ROWS, StoredItem, insert_new_items
from bot.store.tables import alerts, items
from tests.conftest import POSTGRES_URL, table_count

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FEED = "https://news.example/rss"


def feed_items(numbers: list[int]) -> list[Item]:
    return [
        Item(
            feed_url=FEED,
            key=f"guid-{n}",
            title=f"Report {n}",
            url=f"https://news.example/{n}",
            published=NOW,
        )
        for n in numbers
    ]


async def add_feed(engine: AsyncEngine) -> int:
    async with engine.begin() as conn:
        return (await feed_store.add_feed(conn, Feed(FEED), now=NOW)).id


async def insert(engine: AsyncEngine, feed_id: int, batch: list[Item]) -> list[StoredItem]:
    async with engine.begin() as conn:
        return await insert_new_items(conn, feed_id, batch, now=NOW)


async def stored_keys_by_id(engine: AsyncEngine) -> dict[int, str]:
    async with engine.connect() as conn:
        return {row.id: row.key for row in await conn.execute(select(items.c.id, items.c.key))}


def keys(stored: list[StoredItem]) -> list[str]:
    return [entry.item.key for entry in stored]


async def test_a_feed_of_2000_new_items_is_stored_once_in_feed_order(engine: AsyncEngine) -> None:
    feed_id = await add_feed(engine)
    batch = feed_items(list(range(2000, 0, -1)))  # newest first, as feeds list them

    stored = await insert(engine, feed_id, batch)
    again = await insert(engine, feed_id, batch)

    assert keys(stored) == [item.key for item in batch]
    assert await stored_keys_by_id(engine) == {entry.id: entry.item.key for entry in stored}
    assert again == []


async def test_duplicates_inside_one_batch_are_new_once(engine: AsyncEngine) -> None:
    feed_id = await add_feed(engine)
    numbers = list(range(1200))
    batch = feed_items(numbers)
    # The same guid again in a later chunk, and another guid for an article already listed.
    batch.insert(CHUNK_ROWS + 10, feed_items([3])[0])
    batch.insert(2 * CHUNK_ROWS + 5, Item(FEED, "guid-other", "Report 7", url=batch[7].url))

    stored = await insert(engine, feed_id, batch)

    assert keys(stored) == [f"guid-{n}" for n in numbers]
    assert await table_count(engine, "items") == len(numbers)


async def test_a_batch_where_some_items_are_known_returns_only_the_rest(
    engine: AsyncEngine,
) -> None:
    feed_id = await add_feed(engine)
    known = [n for n in range(1500) if n % 7 == 0]
    await insert(engine, feed_id, feed_items(known))
    # Known by URL only: republished under a new guid.
    renamed = Item(FEED, "guid-renamed", "Report 14", url="https://news.example/14")

    stored = await insert(engine, feed_id, [renamed, *feed_items(list(range(1500)))])

    assert keys(stored) == [f"guid-{n}" for n in range(1500) if n % 7]
    by_id = await stored_keys_by_id(engine)
    assert all(by_id[entry.id] == entry.item.key for entry in stored)
    assert len(by_id) == 1500


@pytest.mark.skipif(not POSTGRES_URL, reason="two writers at once need PostgreSQL")
async def test_two_instances_storing_overlapping_polls_see_each_item_new_once(
    engine: AsyncEngine,
) -> None:
    feed_id = await add_feed(engine)
    first_poll = feed_items(list(range(0, 1500)))
    second_poll = feed_items(list(range(500, 2000)))
    first_inserted = asyncio.Event()

    async def first_instance() -> list[StoredItem]:
        async with engine.begin() as conn:
            stored = await insert_new_items(conn, feed_id, first_poll, now=NOW)
            first_inserted.set()
            await asyncio.sleep(0.5)  # the second instance now waits on the rows held here
            return stored

    async def second_instance() -> list[StoredItem]:
        await first_inserted.wait()
        async with engine.begin() as conn:
            return await insert_new_items(conn, feed_id, second_poll, now=NOW)

    first, second = await asyncio.gather(first_instance(), second_instance())

    assert keys(first) == [item.key for item in first_poll]
    assert keys(second) == [f"guid-{n}" for n in range(1500, 2000)]
    assert await table_count(engine, "items") == 2000


def story_alert(chat_pk: int, chat: ChatRef, item_id: int, story: str) -> outbox.NewAlert:
    link = f"https://x.example/{story}"
    alert = Alert(chat, "peace-talks", "Peace talks", story, "", (link,), NOW)
    return outbox.NewAlert(chat_pk, item_id, f"url:{link}", alert)


async def test_a_chat_gets_a_long_run_of_alerts_once_each_in_queue_order(
    engine: AsyncEngine,
) -> None:
    feed_id = await add_feed(engine)
    [stored] = await insert(engine, feed_id, feed_items([1]))
    chat = ChatRef(Platform.TELEGRAM, "42")
    async with engine.begin() as conn:
        chat_pk = await chat_store.ensure_chat(conn, chat, now=NOW)
        queued = [story_alert(chat_pk, chat, stored.id, f"story-{n}") for n in range(1200)]
        first_count = await outbox.enqueue_alerts(conn, queued[:700], now=NOW)
        # Queued again (another feed carried the same stories), plus a story twice in one batch.
        repeat = [*queued, queued[1100]]
        second_count = await outbox.enqueue_alerts(conn, repeat, now=NOW)
        rows = (await conn.execute(select(alerts.c.story_key).order_by(alerts.c.id))).all()

    assert (first_count, second_count) == (700, 500)
    assert [row.story_key for row in rows] == [new.story_key for new in queued]
