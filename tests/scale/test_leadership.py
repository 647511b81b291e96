"""Leader election, start-up turns and shared per-chat pacing, in one process on PostgreSQL.

Quick companions to ``test_three_replicas.py``: each replica is a ``Leadership`` (or a paced
channel) on an engine of its own, as separate processes would have.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import App
from bot.clock import utcnow
from bot.delivery.shared_pacing import SharedPacing
from bot.leader import Leadership
from bot.model import Alert, ChatRef, Platform
from bot.settings import load_settings
from bot.store import alerts as outbox
from bot.store import chats as chat_store
from bot.store.advisory import startup_turn
from bot.store.db import create_engine, migrate
from tests.fakes.telegram import FakeTelegram, Limits

RETRY = 0.2  # seconds between a follower's tries
# Ends the sessions holding advisory locks in this database, as the death of their process would.
TERMINATE_OTHER_LOCK_HOLDERS = (
    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
    "WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database() "
    "AND l.pid <> pg_backend_pid()"
)


class Services:
    """Stands for the leader-only services: records when they start and stop."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def start(self) -> None:
        self.events.append("started")

    async def stop(self) -> None:
        self.events.append("stopped")


def replica(engine: AsyncEngine, services: Services) -> Leadership:
    return Leadership(
        engine, on_elected=services.start, on_deposed=services.stop, retry_seconds=RETRY
    )


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "not within the time allowed"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


@pytest.fixture
async def engines(postgres_url: str) -> AsyncIterator[list[AsyncEngine]]:
    made = [create_engine(postgres_url) for _ in range(3)]
    await migrate(made[0])
    yield made
    for engine in made:
        await engine.dispose()


async def test_one_replica_leads_and_another_takes_over_when_its_session_dies(
    engines: list[AsyncEngine],
) -> None:
    services = [Services() for _ in engines]
    leaders = [replica(engine, s) for engine, s in zip(engines, services, strict=True)]
    stop = asyncio.Event()
    for leadership in leaders:
        await leadership.start(stop)
    try:
        assert [leadership.is_leader for leadership in leaders] == [True, False, False]
        await asyncio.sleep(3 * RETRY)
        assert [leadership.is_leader for leadership in leaders] == [True, False, False]

        async with engines[1].connect() as admin:  # the leader's session ends, as when it dies
            await admin.execute(text(TERMINATE_OTHER_LOCK_HOLDERS))
        await eventually(lambda: not leaders[0].is_leader)
        takeover = await eventually(lambda: leaders[1].is_leader or leaders[2].is_leader)
        assert takeover < 2.0
        assert services[0].events == ["started", "stopped"]
        assert sum(leadership.is_leader for leadership in leaders) == 1
    finally:
        stop.set()
        await asyncio.sleep(2 * RETRY)


async def test_a_stopped_leader_hands_over(engines: list[AsyncEngine]) -> None:
    first, second = Services(), Services()
    stop_first, stop_second = asyncio.Event(), asyncio.Event()
    leading = replica(engines[0], first)
    following = replica(engines[1], second)
    await leading.start(stop_first)
    await following.start(stop_second)
    try:
        stop_first.set()  # the app stops its services itself; the lock goes with the session
        await eventually(lambda: following.is_leader)
        assert second.events == ["started"]
    finally:
        stop_second.set()
        await asyncio.sleep(2 * RETRY)


async def test_on_sqlite_the_only_instance_leads(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/wirewatch.db")
    services = Services()
    try:
        leadership = replica(engine, services)
        await leadership.start(asyncio.Event())
        assert leadership.is_leader and services.events == ["started"]
    finally:
        await engine.dispose()


async def test_replicas_starting_together_take_turns(engines: list[AsyncEngine]) -> None:
    inside: list[int] = []
    most = 0

    async def start_up(engine: AsyncEngine) -> None:
        nonlocal most
        async with startup_turn(engine):
            inside.append(1)
            most = max(most, len(inside))
            await asyncio.sleep(0.2)
            inside.pop()

    await asyncio.gather(*(start_up(engine) for engine in engines))
    assert most == 1


def story_alert(chat: ChatRef, title: str) -> Alert:
    return Alert(chat, "t", "T", title, "", (), None)


class RecordingChannel:
    platform = Platform.TELEGRAM

    def __init__(self) -> None:
        self.sent_at: list[float] = []

    async def send_alert(self, alert: Alert) -> str | None:
        self.sent_at.append(time.monotonic())
        return "1"

    async def edit_alert(self, alert: Alert, message_id: str) -> None:
        self.sent_at.append(time.monotonic())

    async def aclose(self) -> None:
        return None


async def test_an_alert_waits_for_the_chat_s_last_one_sent_by_another_replica(
    engines: list[AsyncEngine],
) -> None:
    chat = ChatRef(Platform.TELEGRAM, "4242")
    alert = story_alert(chat, "one")
    async with engines[0].begin() as conn:
        chat_pk = await chat_store.ensure_chat(conn, chat, now=utcnow())
        await outbox.enqueue_alerts(
            conn, [outbox.NewAlert(chat_pk, None, "s1", alert)], now=utcnow()
        )
        entries = await outbox.claim_due_alerts(
            conn, platforms=[Platform.TELEGRAM], now=utcnow(), limit=1, lease=timedelta(seconds=60)
        )
        await outbox.mark_sent(conn, entries[0].id, now=utcnow(), message_id="1")
    marked = time.monotonic()
    channel = RecordingChannel()
    await SharedPacing(channel, engines[1]).send_alert(alert)  # another replica, the next alert
    assert channel.sent_at[0] - marked >= 0.9
    other = ChatRef(Platform.TELEGRAM, "4343")
    started = time.monotonic()
    await SharedPacing(channel, engines[1]).send_alert(story_alert(other, "two"))
    assert channel.sent_at[1] - started < 0.5  # a chat nobody wrote to lately does not wait


async def test_a_replica_that_lost_leadership_answers_telegram_again_once_it_leads_again(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeTelegram(limits=Limits(None, None, None)) as telegram:
        telegram.add_chat(4242)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", telegram.token)
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram.base_url)
        settings = load_settings(
            database_url=postgres_url,
            feeds_file=None,
            http={"enabled": False},
            console={"enabled": "never"},
        )
        app = App(settings)
        await app.start()
        try:
            assert app.leadership.is_leader
            async with app.engine.connect() as admin:
                await admin.execute(text(TERMINATE_OTHER_LOCK_HOLDERS))
            await eventually(lambda: not app.leadership.is_leader)
            # digests are the leader's: their job goes once the leader's services have stopped
            await eventually(lambda: app.scheduler.get_job("digest-sweep") is None)
            await eventually(lambda: app.leadership.is_leader, timeout=15)  # nobody else: again

            telegram.enqueue_message(4242, "/topics")
            await eventually(lambda: bool(telegram.messages(4242)))
            assert app.scheduler.get_job("digest-sweep") is not None
        finally:
            await app.stop()
