"""The story tracker: several instances and restarts give one event one story id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.model import Feed, Item
from bot.store import feeds as feed_store
from bot.store.items import insert_items
from bot.store.tables import items
from bot.stories.tracker import StoryTracker

NOW = datetime.now(UTC).replace(microsecond=0)


def report(feed: str, key: str, title: str, summary: str, minutes: int) -> Item:
    return Item(
        feed_url=feed,
        key=key,
        title=title,
        summary=summary,
        url=f"{feed}{key}",
        published=NOW - timedelta(minutes=minutes),
    )


CONVOY_EN = report(
    "https://wire.example/",
    "en-1",
    "Buses evacuate civilians from Mariupol to Zaporizhzhia",
    "A convoy of 45 buses left Mariupol on Friday. The Red Cross mediates the evacuation.",
    10,
)
CONVOY_UK = report(
    "https://ukr.example/",
    "uk-1",
    "Автобуси евакуювали цивільних з Маріуполя до Запоріжжя",
    "Колона з 45 автобусів виїхала з Маріуполя в п'ятницю. Червоний Хрест є посередником"
    " евакуації.",
    5,
)
GRAIN = report(
    "https://wire.example/",
    "en-2",
    "Grain ship leaves Odesa port under the corridor deal",
    "The bulk carrier left Odesa with 30,000 tonnes of corn for Istanbul.",
    4,
)


async def ingest(engine: AsyncEngine, tracker: StoryTracker, item: Item) -> str:
    """What ingest does for one matched item: cluster it, store it with its story."""
    async with engine.begin() as conn:
        feed = await feed_store.add_feed(conn, Feed(item.feed_url), now=NOW)
        await tracker.sync(conn, now=NOW)
        story = tracker.assign(feed.id, item)
        (stored,) = await insert_items(conn, feed.id, [item], now=NOW, story_ids={item.key: story})
        tracker.stored([stored.id], now=NOW)
    return story


async def test_another_instance_puts_a_later_report_in_the_same_story(
    engine: AsyncEngine,
) -> None:
    first, second = StoryTracker(), StoryTracker()
    english = await ingest(engine, first, GRAIN)
    assert await ingest(engine, second, CONVOY_EN) != english  # a different event
    convoy = await ingest(engine, first, CONVOY_UK)  # first never clustered CONVOY_EN itself

    assert convoy == await story_of(engine, CONVOY_EN)


async def test_a_restarted_instance_continues_the_stories_of_the_window(
    engine: AsyncEngine,
) -> None:
    before = await ingest(engine, StoryTracker(), CONVOY_EN)
    after = await ingest(engine, StoryTracker(), CONVOY_UK)

    assert after == before


async def test_stories_older_than_the_window_are_not_continued(engine: AsyncEngine) -> None:
    await ingest(engine, StoryTracker(), CONVOY_EN)
    short = StoryTracker(window=timedelta(minutes=1))
    async with engine.connect() as conn:
        assert await short.load(conn, now=NOW + timedelta(hours=1)) == 0


async def story_of(engine: AsyncEngine, item: Item) -> str | None:
    async with engine.connect() as conn:
        return await conn.scalar(select(items.c.story_id).where(items.c.key == item.key))
