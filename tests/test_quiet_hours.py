"""Quiet hours: a chat's instant alerts wait until morning, unless the topic is urgent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.digest.scheduler import DigestScheduler
from bot.ingest import Ingestor
from bot.model import ChatRef, Delivery, Feed, Item, Match, Platform, Topic
from bot.store import alerts as outbox
from bot.store import chats as chat_store
from bot.store import digests as digest_store
from bot.store import feeds as feed_store
from bot.store import quiet as quiet_store
from bot.store.tables import alerts

FEED = "https://wire.example/rss"
TOPICS = {
    "peace-talks": Topic("peace-talks", "Peace talks", "talks"),
    "shelling": Topic("shelling", "Shelling", "shelling"),
}
KYIV_NIGHT = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)  # 23:30 in Kyiv
KYIV_MORNING = datetime(2026, 3, 3, 5, 0, tzinfo=UTC)  # 07:00 in Kyiv
CHAT = ChatRef(Platform.TELEGRAM, "42")
LEASE = timedelta(minutes=2)


class KeywordMatcher:
    def match(self, item: Item) -> list[Match]:
        return [Match(t.id) for t in TOPICS.values() if t.name.lower() in item.title.lower()]


async def setup(engine: AsyncEngine, *, urgent: str | None = None) -> tuple[int, int]:
    async with engine.begin() as conn:
        chat_pk = await chat_store.ensure_chat(conn, CHAT, now=KYIV_NIGHT)
        await digest_store.set_timezone(conn, chat_pk, "Europe/Kyiv")
        await quiet_store.set_quiet(conn, chat_pk, (22 * 60, 7 * 60))
        for topic in TOPICS:
            await chat_store.subscribe(conn, chat_pk, topic, now=KYIV_NIGHT, delivery=Delivery.BOTH)
        if urgent:
            await quiet_store.set_urgent(conn, chat_pk, urgent, True)
        feed = await feed_store.add_feed(conn, Feed(FEED), now=KYIV_NIGHT)
    return chat_pk, feed.id


async def ingest(engine: AsyncEngine, feed_id: int, title: str, at: datetime) -> None:
    ingestor = Ingestor(
        KeywordMatcher(),
        TOPICS,
        lambda item, match: item.title,
        first_fetch_max_age=timedelta(days=1),
        max_item_age=timedelta(days=1),
    )
    item = Item(
        FEED, title, title, url=f"https://wire.example/{title.replace(' ', '-')}", published=at
    )
    async with engine.begin() as conn:
        await ingestor.ingest(conn, feed_id, [item], now=at, first_fetch=False)


async def claimable(engine: AsyncEngine, now: datetime) -> list[str]:
    async with engine.begin() as conn:
        entries = await outbox.claim_due_alerts(
            conn, platforms=[Platform.TELEGRAM], now=now, limit=10, lease=LEASE
        )
        for entry in entries:
            await outbox.mark_sent(conn, entry.id, now=now, message_id="1")
    return [entry.alert.title for entry in entries]


async def test_an_alert_at_night_waits_until_the_quiet_hours_end(engine: AsyncEngine) -> None:
    _, feed_id = await setup(engine)
    await ingest(engine, feed_id, "Peace talks resume", KYIV_NIGHT)

    async with engine.connect() as conn:
        row = (await conn.execute(select(alerts.c.status, alerts.c.next_attempt_at))).one()
    assert (row.status, row.next_attempt_at) == ("held", KYIV_MORNING)
    assert await claimable(engine, KYIV_NIGHT + timedelta(hours=1)) == []

    scheduler = DigestScheduler(None, engine, None, clock=lambda: KYIV_MORNING)  # type: ignore[arg-type]
    assert await scheduler.release_held() == 1
    assert await claimable(engine, KYIV_MORNING) == ["Peace talks resume"]


async def test_an_urgent_topic_comes_through_and_is_not_stuck_behind_held_alerts(
    engine: AsyncEngine,
) -> None:
    _, feed_id = await setup(engine, urgent="shelling")
    await ingest(engine, feed_id, "Peace talks resume", KYIV_NIGHT)
    await ingest(engine, feed_id, "Shelling in Kharkiv", KYIV_NIGHT + timedelta(minutes=5))

    assert await claimable(engine, KYIV_NIGHT + timedelta(minutes=6)) == ["Shelling in Kharkiv"]


async def test_alerts_outside_quiet_hours_go_at_once(engine: AsyncEngine) -> None:
    _, feed_id = await setup(engine)
    afternoon = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    await ingest(engine, feed_id, "Peace talks resume", afternoon)
    assert await claimable(engine, afternoon) == ["Peace talks resume"]


async def test_quiet_off_releases_what_was_waiting(engine: AsyncEngine) -> None:
    chat_pk, feed_id = await setup(engine)
    await ingest(engine, feed_id, "Peace talks resume", KYIV_NIGHT)
    later = KYIV_NIGHT + timedelta(minutes=10)
    async with engine.begin() as conn:
        await quiet_store.set_quiet(conn, chat_pk, None)
        assert await quiet_store.release_held_alerts(conn, now=later, chat_pk=chat_pk) == 1
    assert await claimable(engine, later) == ["Peace talks resume"]
