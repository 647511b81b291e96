"""Digest jobs follow the store; digests reach Telegram and Slack in order, within their limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat.base import Channel
from bot.chat.slack import SlackChannel
from bot.chat.telegram import TelegramChannel
from bot.delivery.digest_messages import digest_messages
from bot.delivery.outbox import Deliverer
from bot.digest.runner import SETTLE, DigestRunner
from bot.digest.schedule import next_run, parse_schedule
from bot.digest.scheduler import DigestScheduler
from bot.model import ChatRef, Delivery, Feed, Item, Match, Platform, Topic
from bot.settings import DigestSettings
from bot.store import chats as chat_store
from bot.store import digests as digest_store
from bot.store import feeds as feed_store
from bot.store.items import insert_new_items
from bot.store.matches import record_matches
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import FakeTelegram

TOPICS = {"peace-talks": Topic("peace-talks", "Peace talks", "talks")}
SET_UP = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
async def scheduler() -> AsyncIterator[AsyncIOScheduler]:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.start(paused=True)  # jobs get their next run times; nothing fires during the test
    yield scheduler
    scheduler.shutdown(wait=False)


async def add_chat(engine: AsyncEngine, chat: ChatRef, rule: str, zone: str = "UTC") -> int:
    async with engine.begin() as conn:
        chat_pk = await chat_store.ensure_chat(conn, chat, now=SET_UP)
        await chat_store.subscribe(conn, chat_pk, "peace-talks", now=SET_UP, delivery=Delivery.BOTH)
        await digest_store.set_timezone(conn, chat_pk, zone)
        await digest_store.set_schedule(conn, chat_pk, rule, zone, now=SET_UP)
    return chat_pk


async def test_digest_jobs_are_derived_from_the_store_and_follow_its_changes(
    engine: AsyncEngine, scheduler: AsyncIOScheduler
) -> None:
    chat_pk = await add_chat(engine, ChatRef(Platform.TELEGRAM, "42"), "daily 08:00", "Europe/Kyiv")
    runner = DigestRunner(engine, TOPICS, DigestSettings(), digest_messages)
    digests = DigestScheduler(scheduler, engine, runner)

    await digests.start()

    jobs = {job.id: job for job in scheduler.get_jobs()}
    [digest_job] = [job for job_id, job in jobs.items() if job_id.startswith("digest:")]
    assert {"digest-sweep", "quiet-release"} <= set(jobs)
    wanted = next_run(parse_schedule("daily 08:00", "Europe/Kyiv"), datetime.now(UTC) - SETTLE)
    assert digest_job.next_run_time == wanted + SETTLE
    assert digest_job.misfire_grace_time is None and digest_job.coalesce

    async with engine.begin() as conn:  # the chat moves to a 45-minute zone
        await digest_store.set_schedule(conn, chat_pk, "every 6h", "Asia/Kathmandu", now=SET_UP)
    await digests.schedule_changed()
    [moved] = [job for job in scheduler.get_jobs() if job.id.startswith("digest:")]
    assert moved.id != digest_job.id
    assert moved.next_run_time.astimezone(UTC).minute == 15  # :00 in Kathmandu is :15 UTC

    async with engine.begin() as conn:
        await digest_store.remove_schedule(conn, chat_pk)
    await digests.schedule_changed()
    assert not [job for job in scheduler.get_jobs() if job.id.startswith("digest:")]
    digests.stop()
    assert scheduler.get_jobs() == []


async def queue_digests(engine: AsyncEngine, chats: list[ChatRef], stories: int) -> None:
    for chat in chats:
        await add_chat(engine, chat, "daily 08:00")
    async with engine.begin() as conn:
        feed = await feed_store.add_feed(conn, Feed("https://wire.example/rss"), now=SET_UP)
        for n in range(stories):
            at = SET_UP + timedelta(minutes=5 * n)
            title = f"Peace talks, day {n}: " + "delegations met again and agreed on little " * 6
            item = Item(feed.url, f"k{n}", title, summary=title * 2, url=f"https://w.example/{n}")
            [stored] = await insert_new_items(conn, feed.id, [item], now=at)
            await record_matches(conn, [(stored.id, Match("peace-talks"))], now=at)
    settings = DigestSettings(max_stories_per_topic=50)
    runner = DigestRunner(engine, TOPICS, settings, digest_messages, clock=lambda: DUE + SETTLE)
    assert len(await runner.catch_up()) == len(chats)


async def deliver(engine: AsyncEngine, platform: Platform, channel: Channel) -> int:
    deliverer = Deliverer(engine, {platform: channel}, clock=lambda: DUE + SETTLE)
    while await deliverer.drain_once():
        pass
    await channel.aclose()
    return deliverer.sent


async def test_telegram_gets_every_part_in_order_within_its_flood_limits(
    engine: AsyncEngine,
) -> None:
    chats = [ChatRef(Platform.TELEGRAM, str(1000 + n)) for n in range(20)]
    await queue_digests(engine, chats, stories=40)  # 40 long stories: several messages each
    with FakeTelegram() as telegram:  # Telegram's limits: 30/s overall, 1/s per chat (burst 3)
        for chat in chats:
            telegram.add_chat(int(chat.chat_id))
        sent = await deliver(
            engine, Platform.TELEGRAM, TelegramChannel(telegram.token, telegram.base_url)
        )
        first_chat = telegram.messages(1000)
        assert telegram.throttled == 0
    parts = len(first_chat)
    assert parts > 1 and sent == parts * len(chats)
    titles = [message.text.splitlines()[0] for message in first_chat]
    assert titles == [f"Daily digest ({n}/{parts})" for n in range(1, parts + 1)]


async def test_slack_gets_every_part_in_order_within_its_pace(engine: AsyncEngine) -> None:
    await queue_digests(engine, [ChatRef(Platform.SLACK, "C1")], stories=60)
    with FakeSlack() as slack:  # the strict fake refuses blocks Slack would refuse
        slack.add_channel("C1")
        sent = await deliver(engine, Platform.SLACK, SlackChannel(slack.token, slack.api_url))
        posted = slack.messages("C1")
        assert slack.throttled == 0
    assert sent == len(posted) == 2  # 60 stories: 64 blocks, two messages
    headers = [message.blocks[0]["text"]["text"] for message in posted if message.blocks]
    assert headers == ["Daily digest (1/2)", "Daily digest (2/2)"]
