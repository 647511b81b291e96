"""Benchmark (not a test): alert fan-out through the outbox at the platforms' real rate limits.

    .venv/bin/python bench/deliver.py             # 1,000 Telegram chats, 200 Slack channels × 3
    .venv/bin/python bench/deliver.py --quick     # 60 chats, 20 channels × 3: a few seconds

What runs, in this process: the real ``Deliverer`` draining a SQLite outbox (a temporary file)
through the real ``TelegramChannel`` (python-telegram-bot) and ``SlackChannel`` (slack_sdk),
against the fakes in ``tests/fakes`` on local ports, which enforce the published limits and
answer 429 (Retry-After) past them: Telegram 30 messages/s per bot and 1/s per chat (bursts of 3),
Slack chat.postMessage 1/s per channel (bursts of 3). Time runs at the real speed.

- Telegram: one story to N subscribed chats (queued as the pipeline queues it): messages/s from
  the first claim to the last sent (target ≥ 28/s, the limit being 30/s), and the 429s the fake
  answered; "unhandled" counts alerts that did not end up sent (target 0).
- Slack: M channels × 3 alerts each (three stories): the outbox sends a chat's alerts one at a
  time, in order, so this measures per-channel pacing.
- Baseline, same run: raw ``send_alert`` calls through a channel of its own (all chats at once,
  each chat's alerts in order), no outbox, no store.
- ``--replicas N --redis URL``: N deliverers (N channels, one bot token) drain one outbox
  together, each send paced through Redis (``bot/delivery/redis_pacing.py``); the same run
  without Redis is the baseline: each replica then keeps the bot's 30/s on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, however the venv installed it

from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot.chat.base import Channel  # noqa: E402
from bot.chat.slack import SlackChannel  # noqa: E402
from bot.chat.telegram import TelegramChannel  # noqa: E402
from bot.clock import utcnow  # noqa: E402
from bot.delivery.outbox import Deliverer  # noqa: E402
from bot.delivery.redis_pacing import RedisPacing  # noqa: E402
from bot.delivery.redis_pacing import connect as connect_redis  # noqa: E402
from bot.model import Alert, ChatRef, Feed, Item, Platform  # noqa: E402
from bot.store import alerts as outbox  # noqa: E402
from bot.store import chats as chat_store  # noqa: E402
from bot.store import feeds as feed_store  # noqa: E402
from bot.store.db import create_engine, migrate  # noqa: E402
from bot.store.items import insert_new_items  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

TARGET_TELEGRAM_PER_S = 28.0
ALERTS_PER_SLACK_CHANNEL = 3
ARTICLE = "https://news.example/2026/03/mariupol-evacuation"


def alert_for(chat: ChatRef, story: int = 0) -> Alert:
    return Alert(
        chat=chat,
        topic_id="mariupol-evacuation",
        topic_name="Mariupol evacuation",
        title=f"Evacuation corridor opens in Mariupol (update {story})",
        summary="Buses left the city at dawn. About 300 people were on board.",
        links=(f"{ARTICLE}/{story}",),
        published=datetime(2026, 3, 1, 12, 5, tzinfo=UTC),
        why=("Mariupol", "evacuation"),
        source_titles=("Ukrinform",),
    )


async def queue_stories(engine: AsyncEngine, chats: Sequence[ChatRef], stories: int) -> None:
    """``stories`` stories, each routed to every chat, written to the outbox as ingest does."""
    now = utcnow()
    feed_url = "https://news.example/rss"
    async with engine.begin() as conn:
        feed = await feed_store.add_feed(conn, Feed(feed_url), now=now)
        items = [
            Item(feed_url=feed_url, key=f"story-{n}", title=f"t{n}", url=f"{ARTICLE}/{n}")
            for n in range(stories)
        ]
        stored = await insert_new_items(conn, feed.id, items, now=now)
        chat_pks = [await chat_store.ensure_chat(conn, chat, now=now) for chat in chats]
        for story, entry in enumerate(stored):
            new = [
                outbox.NewAlert(chat_pk, entry.id, entry.item.key, alert_for(chat, story))
                for chat_pk, chat in zip(chat_pks, chats, strict=True)
            ]
            await outbox.enqueue_alerts(conn, new, now=now)


async def through_outbox(
    folder: Path, channels: Sequence[Channel], chats: Sequence[ChatRef], stories: int
) -> tuple[float, dict[str, int]]:
    """Seconds for one deliverer per channel (replicas, when several) to send every queued
    alert from one outbox, and the outbox's final counts by status."""
    name = f"{channels[0].platform}-{len(channels)}-{time.time()}.db"
    engine = create_engine(f"sqlite+aiosqlite:///{folder / name}")
    await migrate(engine)
    await queue_stories(engine, chats, stories)
    deliverers = [Deliverer(engine, {channel.platform: channel}) for channel in channels]
    expected = len(chats) * stories
    stop = asyncio.Event()
    started = time.perf_counter()
    tasks = [asyncio.create_task(deliverer.run(stop, idle=0.05)) for deliverer in deliverers]
    deadline = started + 30 + expected / 10
    while sum(d.sent for d in deliverers) < expected and time.perf_counter() < deadline:  # noqa: ASYNC110 (a counter)
        await asyncio.sleep(0.01)
    seconds = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*tasks)
    async with engine.connect() as conn:
        counts = await outbox.count_by_status(conn)
    await engine.dispose()
    return seconds, counts


async def raw_sends(channel: Channel, chats: Sequence[ChatRef], stories: int) -> tuple[float, int]:
    """Seconds for every chat's alerts sent straight through the channel; and how many failed."""
    failed = 0

    async def send_all(chat: ChatRef) -> None:
        nonlocal failed
        for story in range(stories):
            try:
                await channel.send_alert(alert_for(chat, story))
            except Exception:
                failed += 1

    started = time.perf_counter()
    await asyncio.gather(*(send_all(chat) for chat in chats))
    return time.perf_counter() - started, failed


async def with_channel(
    make: Callable[[], Channel], use: Callable[[Channel], Awaitable[tuple[float, object]]]
) -> tuple[float, object]:
    channel = make()
    try:
        return await use(channel)
    finally:
        await channel.aclose()


async def bench_telegram(count: int, folder: Path) -> None:
    with FakeTelegram() as telegram:  # the real limits: 30/s per bot, 1/s per chat
        ids = [10_000 + n for n in range(count)]
        for chat_id in ids:
            telegram.add_chat(chat_id)
        chats = [ChatRef(Platform.TELEGRAM, str(chat_id)) for chat_id in ids]

        def make() -> Channel:
            return TelegramChannel(telegram.token, telegram.base_url)

        seconds, counts = await with_channel(make, lambda c: through_outbox(folder, [c], chats, 1))
        ours_429 = telegram.throttled
        await asyncio.sleep(1.5)  # the fake's buckets refill before the baseline
        base_seconds, base_failed = await with_channel(make, lambda c: raw_sends(c, chats, 1))
        base_429 = telegram.throttled - ours_429
    assert isinstance(counts, dict)
    sent = counts.get("sent", 0)
    rate = sent / seconds
    print(
        f"telegram: {sent:,} of {count:,} alerts delivered through the outbox in {seconds:.1f} s "
        f"= {rate:.1f} msg/s (target ≥ {TARGET_TELEGRAM_PER_S:g}/s): "
        f"{_verdict(rate >= TARGET_TELEGRAM_PER_S)}"
    )
    unhandled = count - sent
    print(
        f"telegram 429s: {ours_429} answered by the fake, {unhandled} alerts not delivered "
        f"(target 0 unhandled): {_verdict(unhandled == 0)}; outbox {counts}"
    )
    print(
        f"baseline: raw send_alert to {count:,} chats at once, no outbox: {base_seconds:.1f} s = "
        f"{(count - base_failed) / base_seconds:.1f} msg/s, {base_429} 429s, {base_failed} failed"
    )


async def bench_slack(count: int, folder: Path) -> None:
    with FakeSlack(rate=1.0, burst=3) as slack:
        for number in range(count):
            slack.add_channel(f"C{number:07d}")
        chats = [ChatRef(Platform.SLACK, f"C{number:07d}") for number in range(count)]

        def make() -> Channel:
            return SlackChannel(slack.token, slack.api_url)

        stories = ALERTS_PER_SLACK_CHANNEL
        seconds, counts = await with_channel(
            make, lambda c: through_outbox(folder, [c], chats, stories)
        )
        ours_429 = slack.throttled
        await asyncio.sleep(3.5)  # the fake's buckets refill before the baseline
        base_seconds, base_failed = await with_channel(make, lambda c: raw_sends(c, chats, stories))
        base_429 = slack.throttled - ours_429
    assert isinstance(counts, dict)
    total = count * stories
    sent = counts.get("sent", 0)
    floor = (stories - 1) / 1.0  # the channel's pacing: 1/s per channel
    print(
        f"slack: {sent:,} of {total:,} alerts ({count} channels × {stories}) delivered through "
        f"the outbox in {seconds:.1f} s = {sent / seconds:.1f} msg/s (pacing floor "
        f"{floor:.0f} s); 429s: {ours_429}; not delivered: {total - sent} (target 0): "
        f"{_verdict(total == sent)}"
    )
    print(
        f"baseline: raw send_alert, all channels at once, each in order, no outbox: "
        f"{base_seconds:.1f} s = {(total - base_failed) / base_seconds:.1f} msg/s, "
        f"{base_429} 429s, {base_failed} failed"
    )


async def bench_replicas(count: int, replicas: int, redis_url: str, folder: Path) -> None:
    """One story to ``count`` chats, drained by ``replicas`` deliverers sharing one outbox."""
    for shared in (True, False):
        with FakeTelegram() as telegram:
            ids = [20_000 + n for n in range(count)]
            for chat_id in ids:
                telegram.add_chat(chat_id)
            chats = [ChatRef(Platform.TELEGRAM, str(chat_id)) for chat_id in ids]
            redis = connect_redis(redis_url) if shared else None
            prefix = f"wirewatch-bench:{time.time()}:"  # slots of this run alone
            channels: list[Channel] = [
                TelegramChannel(telegram.token, telegram.base_url) for _ in range(replicas)
            ]
            paced: list[Channel] = (
                [RedisPacing(channel, redis, prefix=prefix) for channel in channels]
                if redis is not None
                else channels
            )
            try:
                seconds, counts = await through_outbox(folder, paced, chats, 1)
            finally:
                for channel in channels:
                    await channel.aclose()
                if redis is not None:
                    await redis.aclose()
            sent = counts.get("sent", 0)
            label = "paced through Redis" if shared else "baseline, each paced alone"
            print(
                f"{replicas} replicas, {label}: {sent:,} of {count:,} alerts in {seconds:.1f} s "
                f"= {sent / seconds:.1f} msg/s in all; 429s answered by the fake: "
                f"{telegram.throttled}"
            )


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


async def run(options: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-") as folder:
        if options.replicas > 1:
            await bench_replicas(options.chats, options.replicas, options.redis, Path(folder))
            return
        await bench_telegram(options.chats, Path(folder))
        await bench_slack(options.channels, Path(folder))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, help="Telegram chats (default 1,000; --quick 60)")
    parser.add_argument("--channels", type=int, help="Slack channels (default 200; --quick 20)")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--replicas", type=int, default=1, help="deliverers sharing one bot")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="with --replicas")
    options = parser.parse_args(argv)
    if options.chats is None:
        options.chats = 60 if options.quick else 1_000
    if options.channels is None:
        options.channels = 20 if options.quick else 200
    logging.basicConfig(level=logging.ERROR)
    print(
        f"deliver bench: {options.chats:,} Telegram chats, {options.channels:,} Slack channels × "
        f"{ALERTS_PER_SLACK_CHANNEL}, real rate limits, SQLite outbox"
        + (" (--quick: a smoke run)" if options.quick else "")
    )
    asyncio.run(run(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
