"""Alerts reach Telegram chats: the real python-telegram-bot against a strict local Bot API.

Time runs ten times faster than on Telegram: the fake's flood limits and the channel's pacing
are both scaled by ten, so a 500-chat fan-out takes seconds, and the ratios stay the real ones.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import BadRequest, InvalidToken
from telegram.ext import ExtBot

from bot.chat.telegram import (
    CALLBACK_DATA_MAX_BYTES,
    SendLimits,
    TelegramChannel,
    alert_callback_data,
    parse_alert_callback,
)
from bot.clock import utcnow
from bot.delivery.outbox import Deliverer
from bot.delivery.render_telegram import render_alert_html, render_alert_plain
from bot.errors import DeliveryError
from bot.model import Alert, ChatRef, Feed, Item, Platform
from bot.store import alerts as outbox
from bot.store import chats as chat_store
from bot.store import feeds as feed_store
from bot.store.items import insert_new_items
from tests.fakes.telegram import FakeTelegram, Limit, Limits, parse_html

SPEED = 10


def scaled_limits(speed: float) -> SendLimits:
    """The channel's default limits with time running ``speed`` times faster."""
    return SendLimits(
        overall_per_second=30 * speed,
        group_messages=20,
        group_period=60 / speed,
        chat_interval=1 / speed,
    )


FAST = scaled_limits(SPEED)
# Twice as fast, not ten times: at 60 msg/s the limiters, not this machine's CPU (fake server,
# PTB and SQLite in one process), set the pace, so the figures say something about pacing.
FAN_OUT_SPEED = 2
ARTICLE = "https://news.example/2026/03/mariupol-evacuation"
PRIVATE, GROUP = 42, -1001234567890


def alert_for(chat_id: int | str, title: str = "Evacuation corridor opens in Mariupol") -> Alert:
    return Alert(
        chat=ChatRef(Platform.TELEGRAM, str(chat_id)),
        topic_id="mariupol-evacuation",
        topic_name="Mariupol evacuation",
        title=title,
        summary="Buses left the city at dawn. About 300 people were on board.",
        links=(ARTICLE,),
        published=datetime(2026, 3, 1, 12, 5, tzinfo=UTC),
        why=("Mariupol", "evacuation"),
        source_titles=("Ukrinform",),
    )


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with FakeTelegram(limits=Limits().scaled(SPEED)) as server:
        server.add_chat(PRIVATE, first_name="Olena")
        server.add_chat(GROUP, "supergroup", title="Newsroom")
        yield server


@pytest.fixture
async def make_channel(telegram: FakeTelegram) -> AsyncIterator[Callable[..., TelegramChannel]]:
    channels: list[TelegramChannel] = []

    def make(**options: object) -> TelegramChannel:
        settings: dict[str, object] = {"limits": FAST, "timeout": 2.0, **options}
        token = str(settings.pop("token", telegram.token))
        channel = TelegramChannel(token, telegram.base_url, **settings)  # type: ignore[arg-type]
        channels.append(channel)
        return channel

    yield make
    for channel in channels:
        await channel.aclose()


@pytest.fixture
def channel(make_channel: Callable[..., TelegramChannel]) -> TelegramChannel:
    return make_channel()


async def test_an_alert_arrives_as_html_with_buttons_and_an_article_preview(
    telegram: FakeTelegram, channel: TelegramChannel
) -> None:
    alert = alert_for(PRIVATE)
    message_id = await channel.send_alert(alert)

    [message] = telegram.messages(PRIVATE)
    assert message_id == str(message.message_id)
    assert message.parse_mode == "HTML"
    assert message.text == parse_html(render_alert_html(alert)).text
    assert message.text.startswith("Evacuation corridor opens in Mariupol\nBuses left")
    assert {"type": "text_link", "url": ARTICLE}.items() <= message.entities[0].items()
    assert [(b["text"], b["callback_data"]) for b in message.buttons] == [
        ("Mute topic", "mute:mariupol-evacuation"),
        ("Unsubscribe", "unsub:mariupol-evacuation"),
    ]
    assert message.link_preview_options == {
        "url": ARTICLE,
        "prefer_small_media": True,
        "show_above_text": False,
    }


async def test_an_alert_without_a_web_link_has_no_preview(
    telegram: FakeTelegram, channel: TelegramChannel
) -> None:
    await channel.send_alert(replace(alert_for(PRIVATE), links=("javascript:alert(1)",)))
    assert telegram.messages(PRIVATE)[0].link_preview_options == {"is_disabled": True}


@pytest.mark.parametrize(
    ("chat_type", "chat_id", "reason"),
    [
        ("private", 7, "bot was blocked by the user"),
        ("group", -7, "bot was kicked from the group chat"),
        ("supergroup", -1007, "bot was kicked from the supergroup chat"),
        ("channel", -1008, "bot is not a member of the channel chat"),
    ],
)
async def test_a_chat_that_removed_the_bot_fails_for_good(
    telegram: FakeTelegram, channel: TelegramChannel, chat_type: str, chat_id: int, reason: str
) -> None:
    telegram.add_chat(chat_id, chat_type)
    telegram.block_bot(chat_id)
    with pytest.raises(DeliveryError) as refused:
        await channel.send_alert(alert_for(chat_id))
    assert refused.value.permanent and refused.value.chat_gone
    assert str(refused.value) == f"Telegram refused delivery: {reason}"


async def test_a_chat_that_blocked_the_bot_stops_getting_alerts_until_it_returns(
    telegram: FakeTelegram, channel: TelegramChannel, engine: AsyncEngine
) -> None:
    telegram.block_bot(PRIVATE)
    await queue_alerts(engine, [alert_for(PRIVATE), alert_for(GROUP)])
    async with engine.begin() as conn:
        for chat in (PRIVATE, GROUP):
            chat_pk = await chat_store.ensure_chat(
                conn, ChatRef(Platform.TELEGRAM, str(chat)), now=utcnow()
            )
            await chat_store.subscribe(conn, chat_pk, "peace-talks", now=utcnow())

    await deliver_everything(Deliverer(engine, {Platform.TELEGRAM: channel}), engine, 2)

    async with engine.connect() as conn:
        still_subscribed = await chat_store.subscribers_by_topic(conn, ["peace-talks"])
        kept = await chat_store.list_subscriptions(
            conn, (await chat_store.get_chat(conn, ChatRef(Platform.TELEGRAM, str(PRIVATE)))).id
        )
    assert [s.chat.chat_id for s in still_subscribed["peace-talks"]] == [str(GROUP)]
    assert [row.topic_id for row in kept] == ["peace-talks"]


async def test_an_unknown_chat_fails_for_good(channel: TelegramChannel) -> None:
    with pytest.raises(DeliveryError, match="chat not found") as refused:
        await channel.send_alert(alert_for(999))
    assert refused.value.permanent


async def test_flood_control_asks_the_outbox_to_come_back_later(
    telegram: FakeTelegram, channel: TelegramChannel, caplog: pytest.LogCaptureFixture
) -> None:
    telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    with pytest.raises(DeliveryError) as flood:
        await channel.send_alert(alert_for(PRIVATE))
    assert (flood.value.retry_after, flood.value.permanent) == (3.0, False)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # handled, not an error


async def test_a_rate_limited_alert_is_delivered_once_after_retry_after(
    telegram: FakeTelegram, channel: TelegramChannel, engine: AsyncEngine
) -> None:
    await queue_alerts(engine, [alert_for(PRIVATE)])
    telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)

    await deliver_everything(Deliverer(engine, {Platform.TELEGRAM: channel}), engine, 1)

    refused, accepted = telegram.calls("sendMessage")
    assert (refused.status, accepted.status) == (429, 200)
    assert accepted.at - refused.at >= 1.0
    assert len(telegram.messages(PRIVATE)) == 1


async def test_html_telegram_refuses_is_resent_once_as_plain_text(
    telegram: FakeTelegram, channel: TelegramChannel
) -> None:
    telegram.fail_next(
        "sendMessage", 400, 'Bad Request: can\'t parse entities: Unsupported start tag "x" at 0'
    )
    alert = alert_for(PRIVATE)
    await channel.send_alert(alert)

    [message] = telegram.messages(PRIVATE)
    assert (message.parse_mode, message.text) == (None, render_alert_plain(alert))
    assert len(message.buttons) == 2
    assert [call.status for call in telegram.calls("sendMessage")] == [400, 200]


async def test_a_plain_resend_refused_too_fails_for_good(
    telegram: FakeTelegram, channel: TelegramChannel
) -> None:
    telegram.fail_next("sendMessage", 400, "Bad Request: can't parse entities: x")
    telegram.fail_next("sendMessage", 400, "Bad Request: message is too long")
    with pytest.raises(DeliveryError, match="Message is too long") as refused:
        await channel.send_alert(alert_for(PRIVATE))
    assert refused.value.permanent
    assert len(telegram.calls("sendMessage")) == 2


@pytest.mark.parametrize("failure", ["500", "502", "drop", "timeout", "401"])
async def test_server_and_network_failures_are_retried_later(
    telegram: FakeTelegram, make_channel: Callable[..., TelegramChannel], failure: str
) -> None:
    channel = make_channel(timeout=0.3)
    await channel.initialize()
    if failure == "500":
        telegram.fail_next("sendMessage", 500, "Internal Server Error")
    elif failure == "502":
        telegram.fail_next("sendMessage", 502, "Bad Gateway")
    elif failure == "drop":
        telegram.drop_next("sendMessage")
    elif failure == "401":
        telegram.fail_next("sendMessage", 401, "Unauthorized")
    else:
        telegram.set_delay(1.0, "sendMessage")
    with pytest.raises(DeliveryError) as failed:
        await channel.send_alert(alert_for(PRIVATE))
    assert (failed.value.permanent, failed.value.retry_after) == (False, None)


async def test_a_group_upgraded_to_a_supergroup_still_gets_its_alert(
    telegram: FakeTelegram, channel: TelegramChannel
) -> None:
    telegram.add_chat(-555, "group", title="Volunteers")
    telegram.migrate_chat(-555, -100555)
    await channel.send_alert(alert_for(-555))
    assert len(telegram.messages(-100555)) == 1


@pytest.mark.parametrize(
    "topic_id",
    ["mariupol-evacuation", "t" * 58, "t" * 59, "евакуація-маріуполь-" * 4],
)
async def test_button_data_fits_64_bytes_and_names_the_topic(
    telegram: FakeTelegram, channel: TelegramChannel, topic_id: str
) -> None:
    await channel.send_alert(replace(alert_for(PRIVATE), topic_id=topic_id))
    for button, action in zip(
        telegram.messages(PRIVATE)[0].buttons, ("mute", "unsub"), strict=True
    ):
        data = button["callback_data"]
        assert len(data.encode()) <= CALLBACK_DATA_MAX_BYTES
        assert parse_alert_callback(data, ["other", topic_id]) == (action, topic_id)
    assert alert_callback_data("unsub", "t" * 58) == "unsub:" + "t" * 58


async def test_alerts_to_one_chat_are_spaced_and_never_throttled(
    telegram: FakeTelegram, channel: TelegramChannel
) -> None:
    telegram.limits = replace(telegram.limits, per_chat=Limit(1, 0.1, burst=1))
    for n in range(5):
        await channel.send_alert(alert_for(PRIVATE, f"Story {n}"))
    arrivals = [call.at for call in telegram.calls("sendMessage")]
    assert telegram.throttled == 0
    assert min(b - a for a, b in itertools.pairwise(arrivals)) >= 0.1


async def test_a_busy_group_is_held_to_its_per_minute_limit(
    telegram: FakeTelegram, make_channel: Callable[..., TelegramChannel]
) -> None:
    # 5 messages per second per group here stands for Telegram's 20 per minute; one message of
    # slack because the fake counts arrivals to the millisecond, which Telegram does not.
    telegram.limits = Limits(per_chat=None, per_group=Limit(5, 1.0, burst=6), overall=None)
    channel = make_channel(limits=SendLimits(group_messages=5, group_period=1.0, chat_interval=0))
    started = time.monotonic()
    await asyncio.gather(*(channel.send_alert(alert_for(GROUP, f"Story {n}")) for n in range(8)))
    assert time.monotonic() - started >= 0.5  # 5 at once, then one per 0.2 s
    assert (len(telegram.messages(GROUP)), telegram.throttled) == (8, 0)


async def test_the_bot_token_never_reaches_the_logs(
    telegram: FakeTelegram,
    make_channel: Callable[..., TelegramChannel],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = make_channel()
    await channel.send_alert(alert_for(PRIVATE))
    telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    errors = []
    for chat_id in (GROUP, 31337):
        with pytest.raises(DeliveryError) as failed:
            await channel.send_alert(alert_for(chat_id))
        errors.append(str(failed.value))
    wrong = make_channel(token="987654321:WrongTokenWrongTokenWrongToken_0000")
    with pytest.raises(DeliveryError, match="refused the bot token") as refused:
        await wrong.send_alert(alert_for(PRIVATE))
    errors.append(str(refused.value))

    requests = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert len(requests) >= 4
    assert all("/bot[redacted]/" in line for line in requests)
    for secret in (telegram.token, "WrongTokenWrongTokenWrongToken_0000"):
        assert secret not in caplog.text
        assert not [e for e in errors if secret in e]


async def test_a_story_fans_out_to_500_chats_once_each(
    telegram: FakeTelegram, make_channel: Callable[..., TelegramChannel], engine: AsyncEngine
) -> None:
    telegram.limits = Limits().scaled(FAN_OUT_SPEED)
    channel = make_channel(limits=scaled_limits(FAN_OUT_SPEED))
    chat_ids = [10_000 + n for n in range(400)] + [-1_001_000_000_000 - n for n in range(100)]
    for chat_id in chat_ids:
        telegram.add_chat(chat_id, "private" if chat_id > 0 else "supergroup")
    await queue_alerts(engine, [alert_for(chat_id) for chat_id in chat_ids])
    deliverer = Deliverer(engine, {Platform.TELEGRAM: channel})

    seconds = await deliver_everything(deliverer, engine, len(chat_ids))

    assert [len(telegram.messages(chat_id)) for chat_id in chat_ids] == [1] * len(chat_ids)
    async with engine.connect() as conn:
        assert await outbox.count_by_status(conn) == {"sent": len(chat_ids)}
    rate = len(chat_ids) / seconds
    print(
        f"\nfan-out: {len(chat_ids)} alerts to {len(chat_ids)} chats in {seconds:.2f} s = "
        f"{rate:.0f} msg/s ({rate / FAN_OUT_SPEED:.1f} msg/s at Telegram's real limits), "
        f"429s answered: {telegram.throttled} {dict(telegram.throttled_by)}, "
        f"sendMessage calls: {len(telegram.calls('sendMessage'))}"
    )
    assert rate <= 30 * FAN_OUT_SPEED * 1.1  # the channel kept under the bot-wide limit


# ─── the fake Bot API, for the command handlers that build on it ────────────────────────────────


async def test_the_fake_serves_long_polling_with_offsets(telegram: FakeTelegram) -> None:
    async with ExtBot(telegram.token, base_url=telegram.base_url) as bot:
        telegram.enqueue_message(GROUP, "/subscribe mariupol-evacuation")
        [first] = await bot.get_updates(timeout=1)
        assert first.message is not None and first.message.text == "/subscribe mariupol-evacuation"
        assert first.message.entities[0].type == "bot_command"
        assert first.message.entities[0].length == len("/subscribe")

        later = asyncio.get_running_loop().call_later(
            0.2, telegram.enqueue_message, PRIVATE, "/topics"
        )
        started = time.monotonic()
        [second] = await bot.get_updates(offset=first.update_id + 1, timeout=5)
        assert 0.15 < time.monotonic() - started < 2  # answered as soon as the update came
        assert second.effective_chat is not None and second.effective_chat.id == PRIVATE
        later.cancel()
        assert await bot.get_updates(offset=second.update_id + 1, timeout=0) == ()


async def test_the_fake_answers_buttons_and_edits_like_telegram(telegram: FakeTelegram) -> None:
    async with ExtBot(telegram.token, base_url=telegram.base_url) as bot:
        sent = await bot.send_message(PRIVATE, "<b>Alert</b>", parse_mode="HTML")
        query_id = telegram.enqueue_callback_query(PRIVATE, sent.message_id, "mute:x")
        [update] = await bot.get_updates()
        assert update.callback_query is not None and update.callback_query.data == "mute:x"
        assert await bot.answer_callback_query(query_id, text="Muted")
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(query_id)

        await bot.edit_message_text("Muted", PRIVATE, sent.message_id)
        assert telegram.messages(PRIVATE)[0].text == "Muted"
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text("Muted", PRIVATE, sent.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("x", PRIVATE, 999)


async def test_the_fake_knows_members_commands_and_chats(telegram: FakeTelegram) -> None:
    telegram.set_member(GROUP, 7, "administrator")
    async with ExtBot(telegram.token, base_url=telegram.base_url) as bot:
        assert (await bot.get_chat_member(GROUP, 7)).status == "administrator"
        assert (await bot.get_chat_member(GROUP, 8)).status == "member"
        assert (await bot.get_chat(GROUP)).title == "Newsroom"
        assert await bot.send_chat_action(GROUP, "typing")
        assert await bot.set_my_commands([("subscribe", "Follow a topic")])
        assert telegram.commands() == [{"command": "subscribe", "description": "Follow a topic"}]
        with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
            await bot.set_my_commands([("Subscribe!", "x")])
        assert await bot.delete_webhook(drop_pending_updates=True)
    with pytest.raises(InvalidToken):
        async with ExtBot("1:" + "x" * 35, base_url=telegram.base_url):
            pass


# ─── helpers ─────────────────────────────────────────────────────────────────────────────────────


async def queue_alerts(engine: AsyncEngine, alerts: list[Alert]) -> None:
    """One story, routed to each alert's chat, written to the outbox as the pipeline does."""
    now = utcnow()
    feed_url = "https://news.example/rss"
    async with engine.begin() as conn:
        feed = await feed_store.add_feed(conn, Feed(feed_url), now=now)
        [stored] = await insert_new_items(
            conn, feed.id, [Item(feed_url=feed_url, key="story-1", title="t", url=ARTICLE)], now=now
        )
        new = [
            outbox.NewAlert(
                await chat_store.ensure_chat(conn, alert.chat, now=now),
                stored.id,
                "story-1",
                alert,
            )
            for alert in alerts
        ]
        assert await outbox.enqueue_alerts(conn, new, now=now) == len(alerts)


async def deliver_everything(
    deliverer: Deliverer, engine: AsyncEngine, expected: int, timeout: float = 20.0
) -> float:
    """Run the deliverer until every alert is sent or failed; returns the seconds it took."""
    stop = asyncio.Event()
    started = time.monotonic()
    task = asyncio.create_task(deliverer.run(stop, idle=0.05))
    try:
        while True:
            async with engine.connect() as conn:
                counts = await outbox.count_by_status(conn)
            if counts.get("sent", 0) + counts.get("failed", 0) >= expected:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise AssertionError(f"not delivered in {timeout} s: {counts}")
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task


# --- edits: a story gained sources --------------------------------------------------------


async def test_an_edit_replaces_the_alert_and_keeps_its_buttons(
    telegram: FakeTelegram, channel: TelegramChannel
) -> None:
    alert = alert_for(PRIVATE)
    message_id = await channel.send_alert(alert)
    assert message_id is not None
    more = replace(alert, source_titles=("Wire", "Ukrinform"))
    await channel.edit_alert(more, message_id)
    await channel.edit_alert(more, message_id)  # unchanged: Telegram says "not modified"

    [message] = telegram.messages(PRIVATE)
    assert message.edits == 1
    assert "Sources: Wire, Ukrinform" in message.text
    assert [b["callback_data"] for b in message.buttons] == [
        "mute:mariupol-evacuation",
        "unsub:mariupol-evacuation",
    ]


async def test_an_edit_of_a_message_that_is_gone_is_refused_for_good(
    channel: TelegramChannel,
) -> None:
    with pytest.raises(DeliveryError) as refused:
        await channel.edit_alert(alert_for(PRIVATE), "999")

    assert refused.value.permanent
    assert "message to edit not found" in str(refused.value).lower()
