"""Replicas share Telegram's flood limits through Redis: 30 messages a second for the bot in all,
and each chat's gap, whichever replica sends (``bot/delivery/redis_pacing.py``).

Against the local Redis (127.0.0.1:6379; skipped when it does not answer) and, for the bot-wide
limit, the strict fake Bot API with the real python-telegram-bot: two channels stand for two
replicas sharing one bot token.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.app import App, AppOptions
from bot.chat.telegram import TelegramChannel
from bot.delivery import redis_pacing
from bot.delivery.redis_pacing import RedisPacing, connect
from bot.errors import DeliveryError
from bot.model import Alert, ChatRef, Platform
from bot.settings import load_settings
from tests.fakes.telegram import FakeTelegram, Limit, Limits

REDIS_URL = "redis://127.0.0.1:6379/0"
CHATS = 120  # sent by two replicas at once: four seconds' worth at 30 a second
# Telegram's overall limit with a small burst, so that a bot going faster is refused at once.
LIMITS = Limits(per_chat=Limit(1, 1.0, burst=3), per_group=None, overall=Limit(30, 1.0, burst=5))


def alert_for(chat_id: int | str) -> Alert:
    return Alert(
        chat=ChatRef(Platform.TELEGRAM, str(chat_id)),
        topic_id="mariupol-evacuation",
        topic_name="Mariupol evacuation",
        title="Evacuation corridor opens in Mariupol",
        summary="Buses left the city at dawn.",
        links=("https://news.example/mariupol",),
        published=datetime(2026, 3, 1, 12, 5, tzinfo=UTC),
    )


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = connect(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError):
        await client.aclose()
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    """Keys of this test alone, so runs never share slots."""
    return f"wirewatch-test:{uuid.uuid4().hex}:"


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(limits=LIMITS) as server:
        for chat in range(1, CHATS + 1):
            server.add_chat(chat, first_name=f"Reader {chat}")
        yield server


async def send_from_two_replicas(
    telegram: FakeTelegram, wrap: object | None
) -> list[str | BaseException | None]:
    """Each replica sends half the chats their alert, all at once, as two deliverers would."""
    replicas = [TelegramChannel(telegram.token, telegram.base_url) for _ in range(2)]
    senders = [RedisPacing(r, **wrap) if isinstance(wrap, dict) else r for r in replicas]
    try:
        return await asyncio.gather(
            *(senders[chat % 2].send_alert(alert_for(chat)) for chat in range(1, CHATS + 1)),
            return_exceptions=True,
        )
    finally:
        for replica in replicas:
            await replica.aclose()


async def test_two_replicas_together_keep_the_bots_30_messages_a_second(
    telegram: FakeTelegram, redis: Redis, prefix: str
) -> None:
    started = time.monotonic()
    results = await send_from_two_replicas(telegram, {"redis": redis, "prefix": prefix})
    elapsed = time.monotonic() - started

    assert all(isinstance(result, str) for result in results), results
    assert telegram.throttled == 0  # not one 429
    assert sum(len(telegram.messages(chat)) for chat in range(1, CHATS + 1)) == CHATS
    assert elapsed >= (CHATS - 1) / 30 * 0.95  # the pace is the bot's, not each replica's


async def test_without_a_shared_pacer_two_replicas_run_into_the_bots_limit(
    telegram: FakeTelegram,
) -> None:
    """What the pacer is for: each replica alone keeps 30 a second, together they send 60."""
    results = await send_from_two_replicas(telegram, None)

    refused = [r for r in results if isinstance(r, DeliveryError) and r.retry_after]
    assert telegram.throttled > 0
    assert len(refused) == telegram.throttled


class Recorder:
    """A channel that notes when each send reaches it."""

    platform = Platform.TELEGRAM

    def __init__(self, sent: list[tuple[float, str]]) -> None:
        self._sent = sent

    async def send_alert(self, alert: Alert) -> str:
        self._sent.append((time.monotonic(), alert.chat.chat_id))
        return str(len(self._sent))

    async def edit_alert(self, alert: Alert, message_id: str) -> None:
        self._sent.append((time.monotonic(), alert.chat.chat_id))

    async def aclose(self) -> None:
        pass


async def test_a_chat_hears_from_the_bot_once_a_second_a_group_every_3_seconds(
    redis: Redis, prefix: str
) -> None:
    sent: list[tuple[float, str]] = []
    replicas = [RedisPacing(Recorder(sent), redis, prefix=prefix) for _ in range(2)]
    private, group = "42", "-1001234567890"
    sends = [replicas[0].send_alert(alert_for(private)), replicas[1].send_alert(alert_for(private))]
    sends += [replicas[1].send_alert(alert_for(private))]
    sends += [replicas[0].send_alert(alert_for(group)), replicas[1].send_alert(alert_for(group))]
    await asyncio.gather(*sends)

    def gaps(chat: str) -> list[float]:
        times = sorted(at for at, chat_id in sent if chat_id == chat)
        return [later - earlier for earlier, later in itertools.pairwise(times)]

    assert len(gaps(private)) == 2 and min(gaps(private)) >= 0.95
    assert len(gaps(group)) == 1 and gaps(group)[0] >= 2.95


async def test_with_redis_down_alerts_still_go_and_the_log_says_why_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sent: list[tuple[float, str]] = []
    down = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.5)
    pacing = RedisPacing(Recorder(sent), down)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.delivery.redis_pacing"):
            ids = [await pacing.send_alert(alert_for(chat)) for chat in (1, 2, 3)]
    finally:
        await down.aclose()

    assert ids == ["1", "2", "3"]  # delivered, paced by this replica alone
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Redis cannot pace sends across replicas" in warnings[0]


async def test_a_redis_that_never_answers_holds_a_send_back_only_briefly(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # takes the connection, never answers

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setattr(redis_pacing, "ANSWER_WAIT", 0.3)
    hung = connect(f"redis://127.0.0.1:{port}/0")
    sent: list[tuple[float, str]] = []
    started = time.monotonic()
    try:
        with caplog.at_level(logging.WARNING, logger="bot.delivery.redis_pacing"):
            message_id = await RedisPacing(Recorder(sent), hung).send_alert(alert_for(7))
    finally:
        await hung.aclose()
        server.close()

    assert message_id == "1"
    assert time.monotonic() - started < 3
    assert "Redis cannot pace sends across replicas" in caplog.text


async def test_the_app_paces_through_redis_when_it_is_configured(
    database_url: str, redis: Redis
) -> None:
    settings = load_settings(
        database_url=database_url,
        redis_url=REDIS_URL,
        feeds_file=None,
        http={"enabled": False},
        console={"enabled": "always"},
    )
    app = App(settings, AppOptions(console_stream=io.StringIO(), start_scheduler=False))
    try:
        channels = app.deliverer._channels
        ready = await app.readiness()
    finally:
        assert app.redis is not None
        await app.redis.aclose()
        await app.engine.dispose()

    assert all(isinstance(channel, RedisPacing) for channel in channels.values())
    assert ready["redis"] is True
