"""The bot SIGKILLed at random moments while delivering, and started again: nothing is lost.

``wirewatch run`` runs in a subprocess against the local fake Telegram (served from this test
process) and a SQLite file, with 500 alerts for 100 chats queued beforehand. It is killed three
times mid-delivery, then left to finish. Every chat gets every alert, in order. An alert the
platform took but the bot had not yet marked sent when it died is sent again after restart: at
most one duplicate per chat per kill, right behind the original — the outbox's documented price
for never losing one.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.clock import utcnow
from bot.store import chats as chat_store
from bot.store.db import create_engine, migrate
from tests.fakes.telegram import FakeTelegram, Limits
from tests.faults.outbox import queue_alerts, round_robin, story_numbers, telegram_chats

ROOT = Path(__file__).resolve().parents[2]
CHATS, PER_CHAT, KILLS = 100, 5, 3
CHAT_IDS = [5000 + n for n in range(CHATS)]
LEASE = 3.0  # seconds; an alert in flight when the bot died is resent once its lease runs out

pytestmark = pytest.mark.slow


async def prepare_store(database_url: str) -> None:
    """The schema, the chats subscribed, and their alerts queued, before the bot first starts."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            for chat in telegram_chats(CHAT_IDS):
                chat_pk = await chat_store.ensure_chat(conn, chat, now=utcnow())
                await chat_store.subscribe(conn, chat_pk, "mariupol-evacuation", now=utcnow())
        assert await queue_alerts(engine, round_robin(telegram_chats(CHAT_IDS), CHATS * PER_CHAT))
    finally:
        await engine.dispose()


def start_bot(telegram: FakeTelegram, database_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=telegram.token,
        TELEGRAM_API_BASE_URL=telegram.base_url,
        WIREWATCH_HTTP__ENABLED="false",
        WIREWATCH_FEEDS_FILE="",
        WIREWATCH_DELIVERY__LEASE=str(LEASE),
    )
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=log.parent,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def received(telegram: FakeTelegram) -> dict[int, list[int]]:
    return {
        chat_id: story_numbers(m.text for m in telegram.messages(chat_id)) for chat_id in CHAT_IDS
    }


def new_duplicates(before: dict[int, list[int]], after: dict[int, list[int]]) -> Counter[int]:
    """Per chat, the stories received again after a kill that had been received before it."""
    repeats: Counter[int] = Counter()
    for chat_id, numbers in after.items():
        seen = set(before[chat_id])
        repeats[chat_id] = sum(1 for number in numbers[len(before[chat_id]) :] if number in seen)
    return repeats


def delivered_more_than(telegram: FakeTelegram, count: int) -> Callable[[], bool]:
    return lambda: len(telegram.all_messages()) > count


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.05)


async def test_killed_three_times_mid_delivery_nothing_is_lost(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path}/wirewatch.db"
    await prepare_store(database_url)
    total = CHATS * PER_CHAT
    chance = random.Random(20261126)
    log = tmp_path / "bot.log"
    at_kills: list[dict[int, list[int]]] = []  # what each chat had received when the bot died
    with FakeTelegram(limits=Limits(None, None, None)) as telegram:
        for chat_id in CHAT_IDS:
            telegram.add_chat(chat_id)
        for _ in range(KILLS):
            sent_before = len(telegram.all_messages())
            started = time.monotonic()
            bot = start_bot(telegram, database_url, log)
            try:
                await wait_until(delivered_more_than(telegram, sent_before), 60, "delivery resumed")
                # past the last kill's leases, so its resends land before this kill
                await asyncio.sleep(max(0.0, started + LEASE + 1 - time.monotonic()))
                await asyncio.sleep(chance.uniform(0.2, 2.5))
                assert len(telegram.all_messages()) < total, "delivery finished before the kill"
            finally:
                bot.send_signal(signal.SIGKILL)
                bot.wait(10)
            await asyncio.sleep(0.3)  # requests the bot had on the wire are answered or dropped
            at_kills.append(received(telegram))

        bot = start_bot(telegram, database_url, log)
        try:
            await wait_until(
                lambda: all(set(n) == set(range(PER_CHAT)) for n in received(telegram).values()),
                120,
                "every chat got every story",
            )
            await asyncio.sleep(LEASE + 1)  # nothing more is coming
        finally:
            bot.send_signal(signal.SIGTERM)
            assert bot.wait(20) == 0, log.read_text()[-3000:]
        final = received(telegram)

    for chat_id, numbers in final.items():
        deduplicated = [n for i, n in enumerate(numbers) if i == 0 or numbers[i - 1] != n]
        assert deduplicated == list(range(PER_CHAT)), (chat_id, numbers)  # in order, none lost
    duplicates_per_kill = []
    for kill, at_kill in enumerate(at_kills):
        after = at_kills[kill + 1] if kill + 1 < len(at_kills) else final
        per_chat = new_duplicates(at_kill, after)
        assert max(per_chat.values()) <= 1, f"kill {kill + 1}: {per_chat.most_common(3)}"
        duplicates_per_kill.append(sum(per_chat.values()))
    extra = sum(len(numbers) for numbers in final.values()) - total
    print(f"\nduplicates per kill: {duplicates_per_kill}; messages beyond {total}: {extra}")
    assert extra == sum(duplicates_per_kill)
