"""The whole bot on Telegram: updates in through getUpdates or the webhook, answers and alerts out.

The real ``App`` runs with TELEGRAM_BOT_TOKEN and TELEGRAM_API_BASE_URL pointing at the strict
local fake Bot API (tests/fakes/telegram.py) and reads one feed from a local FeedServer. Users
act the way Telegram reports them: a message with a ``/command`` entity, a channel post, a tap
on an alert's button, the bot's own membership changing, a group upgraded to a supergroup. What
is asserted is what the chat shows: the messages the fake recorded, and the chat's rows.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import App
from bot.errors import ConfigError
from bot.model import ChatRef, Delivery, Platform
from bot.settings import load_settings
from bot.store import chats as chat_store
from handlers.commands import COMMANDS
from handlers.telegram import TelegramBinding
from tests.conftest import table_count
from tests.fakes.telegram import FakeTelegram, Limits, SentMessage
from tests.feeds import EVACUATION, TALKS, WEATHER, Entry, rss
from tests.feedserver import FeedServer

USER, OTHER_USER = 42, 43  # private chats share their user's id
GROUP = -1001234567890
MEMBER, ADMIN = 1000, 1001  # in GROUP: the fake's default sender, and an administrator
CHANNEL = -1009876543210
CHANNEL_NAME = "@wirewatch_news"
SECRET = "s3cret-Token_for-the-webhook"
WEBHOOK_PATH = "/telegram/webhook"
FEED = "/wire.xml"
SECOND_CONVOY = Entry(
    "wire-9",
    "Second bus convoy leaves Mariupol with 300 civilians",
    "https://wire.example/mariupol-second-convoy",
    "The evacuation continued on Saturday.",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def eventually(condition: Callable[[], Any], timeout: float = 8.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


@dataclass
class RunningBot:
    app: App
    telegram: FakeTelegram
    feeds: FeedServer

    @property
    def binding(self) -> TelegramBinding:
        return next(b for b in self.app.bindings if isinstance(b, TelegramBinding))

    @property
    def bot_id(self) -> int:
        return int(self.telegram.token.split(":", 1)[0])  # a token starts with its bot id

    async def command(self, chat_id: int, text: str, **sender: Any) -> SentMessage:
        """Send ``text`` in the chat and return the bot's one answer."""
        answered = len(self.telegram.messages(chat_id))
        if sender.pop("channel_post", False):
            self.telegram.enqueue_channel_post(chat_id, text)
        else:
            self.telegram.enqueue_message(chat_id, text, **sender)
        new: list[SentMessage] = await eventually(
            lambda: self.telegram.messages(chat_id)[answered:]
        )
        return new[0]

    async def subscriptions(self, chat_id: int) -> dict[str, chat_store.SubscriptionRow]:
        async with self.app.engine.connect() as conn:
            chat = await chat_store.get_chat(conn, ChatRef(Platform.TELEGRAM, str(chat_id)))
            rows = await chat_store.list_subscriptions(conn, chat.id) if chat else []
        return {row.topic_id: row for row in rows}

    async def chat(self, chat_id: int) -> chat_store.ChatRow | None:
        async with self.app.engine.connect() as conn:
            return await chat_store.get_chat(conn, ChatRef(Platform.TELEGRAM, str(chat_id)))

    async def publish(self, *entries: Any) -> None:
        """Put a new version of the feed up and wait until the bot has stored its new items;
        their alerts are routed in the same transaction."""
        before = await table_count(self.app.engine, "items")
        self.feeds.set(FEED, rss(*entries))
        await eventually_async(lambda: _stored_items(self, before + 1))


StartBot = Callable[..., Awaitable[RunningBot]]


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    # Telegram's limits, ten times faster, but none per chat: a test types faster than people.
    with FakeTelegram(limits=Limits(per_chat=None).scaled(10)) as server:
        server.add_chat(USER, first_name="Olena")
        server.add_chat(OTHER_USER, first_name="Taras")
        server.add_chat(GROUP, "supergroup", title="Newsroom <desk>")
        server.add_chat(CHANNEL, "channel", title="Wirewatch News", username=CHANNEL_NAME[1:])
        server.set_member(GROUP, ADMIN, "administrator")
        yield server


@pytest.fixture
async def start_bot(
    telegram: FakeTelegram,
    feed_server: FeedServer,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[StartBot]:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", telegram.token)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram.base_url)
    feed_server.set(FEED, rss(WEATHER))
    running: list[RunningBot] = []

    async def start(*, feed: bool = False, **overrides: Any) -> RunningBot:
        """The bot, reading the test feed when ``feed`` (a stop during the first feed poll
        waits for the parser to start, so tests that need no feed read none)."""
        settings = load_settings(
            **{
                "database_url": database_url,
                "feeds_file": None,
                "feeds": [{"url": feed_server.url(FEED)}] if feed else [],
                "poll": {"interval": 1, "min_interval": 1},
                "fetch": {"allow_private_networks": True, "total_timeout": 2},
                "http": {"host": "127.0.0.1", "port": free_port()},
                "console": {"enabled": "never"},
                **overrides,
            }
        )
        bot = RunningBot(App(settings), telegram, feed_server)
        running.append(bot)  # stopped at the end even when it fails to start
        await bot.app.start()
        return bot

    yield start
    for bot in running:
        await bot.app.stop()


def shows_alert(params: dict[str, Any]) -> bool:
    """answerCallbackQuery's show_alert, sent as JSON or as a form field."""
    return str(params.get("show_alert", False)).lower() == "true"


def webhook_settings(port: int, secret: str = SECRET) -> dict[str, Any]:
    return {
        "http": {"host": "127.0.0.1", "port": port},
        "telegram": {
            "webhook_url": f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
            "webhook_secret": secret,
        },
    }


# --- commands ------------------------------------------------------------------------------

# A user's first session in a private chat: each command and the start of its answer.
PRIVATE_SESSION = [
    ("/start", "Wirewatch sends short alerts"),
    ("/help", "Wirewatch sends short alerts"),
    ("/topics", "Topics (subscribe TOPIC):"),
    ("/subscribe peace-talks", "Subscribed to Peace talks (instant)."),
    ("/list", "This chat's subscriptions:\n• peace-talks (instant)"),
    ("/mute peace-talks 2", "Peace talks muted until"),
    ("/unmute peace-talks", "Peace talks is no longer muted."),
    ("/urgent peace-talks", "Peace talks is urgent"),
    ("/track kharkiv kharkiv AND shelling", "Tracking kharkiv: kharkiv AND shelling."),
    ("/untrack kharkiv", "Stopped tracking kharkiv."),
    ("/timezone Europe/Kyiv", "Time zone set to Europe/Kyiv"),
    ("/digest daily 08:00", "Digest"),
    ("/quiet 22:00-07:00", "Quiet hours 22:00"),
    ("/pause", "Alerts paused for this chat."),
    ("/resume", "Alerts resumed."),
    ("/feeds", "No feeds are configured."),
    ("/addfeed {extra}", "Added Extra Wire."),
    ("/removefeed {extra}", "Removed Extra Wire."),
    ("/status", "Feeds: 0 (0 failing)"),
    ("/unsubscribe peace-talks", "Unsubscribed from Peace talks."),
]

USAGE_MISTAKES = [
    ("/subscribe", "Usage: subscribe TOPIC [instant|digest|both]"),
    ("/subscribe peace-talks hourly", "'hourly' is not a delivery mode"),
    ("/unsubscribe", "Usage: unsubscribe TOPIC"),
    ("/mute", "Usage: mute TOPIC [HOURS]"),
    ("/unmute", "Usage: unmute TOPIC"),
    ("/track kharkiv", "Usage: track NAME QUERY"),
    ("/untrack", "Usage: untrack NAME"),
    ("/addfeed", "Usage: addfeed URL"),
    ("/removefeed", "Usage: removefeed URL"),
    ("/digest sometimes", "Usage: digest"),
    ("/urgent peace-talks now", "Usage: urgent"),
    ("/quiet soon", "Write quiet HH:MM-HH:MM"),
    ("/timezone Atlantis", "'Atlantis' is not a time zone."),
    ("/frobnicate", "Unknown command 'frobnicate'."),
]


async def test_every_command_answers_in_a_private_chat(
    start_bot: StartBot, telegram: FakeTelegram, feed_server: FeedServer
) -> None:
    feed_server.set("/extra.xml", rss(TALKS, title="Extra Wire"))
    bot = await start_bot(chat={"operators": [f"telegram:{USER}"]})
    extra = feed_server.url("/extra.xml")

    for text, expected in PRIVATE_SESSION:
        answer = await bot.command(USER, text.format(extra=extra))
        assert answer.text.startswith(expected), (text, answer.text)
        assert answer.parse_mode == "HTML"
        assert answer.link_preview_options == {"is_disabled": True}

    menu = {entry["command"]: entry["description"] for entry in telegram.commands()}
    assert list(menu) == list(COMMANDS)
    assert menu["subscribe"] == "TOPIC [instant|digest|both] — get alerts for a topic in this chat"


async def test_mistakes_are_answered_with_what_to_type(start_bot: StartBot) -> None:
    bot = await start_bot()

    for text, expected in USAGE_MISTAKES:
        answer = await bot.command(USER, text)
        assert answer.text.startswith(expected), (text, answer.text)

    assert await bot.subscriptions(USER) == {}


async def test_a_misspelt_topic_gets_a_did_you_mean(start_bot: StartBot) -> None:
    bot = await start_bot()

    answer = await bot.command(USER, "/subscribe peace-talk")

    assert answer.text == "No topic called 'peace-talk'. Did you mean peace-talks?"


async def test_echoed_input_is_escaped_and_never_markup(start_bot: StartBot) -> None:
    bot = await start_bot()

    answer = await bot.command(USER, "/subscribe <b>x</b>&amp;")

    assert answer.text.startswith("No topic called '<b>x</b>&amp;'.")
    assert answer.entities == ()
    assert "&lt;b&gt;" in answer.source


async def test_subscribing_shows_recent_stories_it_would_have_caught(
    start_bot: StartBot, feed_server: FeedServer
) -> None:
    feed_server.set(FEED, rss(TALKS, WEATHER, title="Wire & Co"))
    bot = await start_bot(feed=True)
    await eventually_async(lambda: _stored_items(bot, 2))

    answer = await bot.command(USER, "/subscribe peace-talks")

    lines = answer.text.splitlines()
    assert lines[0].startswith("Subscribed to Peace talks (instant). Recent stories")
    assert lines[1].startswith(f"• {TALKS.title} — Wire & Co, 20")
    links = [entity for entity in answer.entities if entity["type"] == "text_link"]
    assert [link["url"] for link in links] == ["https://wire.example/talks"]
    assert answer.link_preview_options == {"is_disabled": True}


async def test_commands_for_this_bot_by_name_work_and_other_bots_commands_are_left_alone(
    start_bot: StartBot, telegram: FakeTelegram
) -> None:
    bot = await start_bot()
    name = telegram.bot_user["username"]

    telegram.enqueue_message(GROUP, "/subscribe@some_other_bot peace-talks", from_user=ADMIN)
    telegram.enqueue_message(GROUP, "/weather", from_user=ADMIN)  # another bot's, perhaps
    answer = await bot.command(GROUP, f"/Subscribe@{name} peace-talks", from_user=ADMIN)

    assert answer.text.startswith("Subscribed to Peace talks")
    assert len(telegram.messages(GROUP)) == 1
    assert (await bot.command(GROUP, f"/weather@{name}")).text.startswith("Unknown command")


# --- who may change what -------------------------------------------------------------------


async def test_a_private_chat_belongs_to_its_user(start_bot: StartBot) -> None:
    bot = await start_bot()

    await bot.command(OTHER_USER, "/subscribe mariupol-evacuation")

    assert set(await bot.subscriptions(OTHER_USER)) == {"mariupol-evacuation"}
    chat = await bot.chat(OTHER_USER)
    assert chat is not None and chat.kind == "private" and chat.title == "Taras"


async def test_non_admin_cannot_change_group_subscriptions(start_bot: StartBot) -> None:
    bot = await start_bot()

    refused = await bot.command(GROUP, "/subscribe peace-talks", from_user=MEMBER)
    listed = await bot.command(GROUP, "/list", from_user=MEMBER)

    assert refused.text == "Only this chat's administrators can change its alerts."
    assert listed.text.startswith("This chat has no subscriptions")
    assert await bot.subscriptions(GROUP) == {}


async def test_group_admin_changes_group_subscriptions(start_bot: StartBot) -> None:
    bot = await start_bot()

    answer = await bot.command(GROUP, "/subscribe peace-talks", from_user=ADMIN)

    assert answer.text.startswith("Subscribed to Peace talks")
    assert set(await bot.subscriptions(GROUP)) == {"peace-talks"}
    chat = await bot.chat(GROUP)
    assert chat is not None and chat.kind == "group" and chat.title == "Newsroom <desk>"


async def test_anonymous_admin_posting_as_the_group_is_an_admin(start_bot: StartBot) -> None:
    bot = await start_bot()

    answer = await bot.command(GROUP, "/subscribe peace-talks", sender_chat=GROUP)
    as_channel = await bot.command(GROUP, "/unsubscribe peace-talks", sender_chat=CHANNEL)

    assert answer.text.startswith("Subscribed to Peace talks")
    assert as_channel.text == "Only this chat's administrators can change its alerts."
    assert set(await bot.subscriptions(GROUP)) == {"peace-talks"}


async def test_a_channel_post_acts_for_the_channel(start_bot: StartBot) -> None:
    bot = await start_bot()

    answer = await bot.command(CHANNEL, "/subscribe peace-talks", channel_post=True)

    assert answer.text.startswith("Subscribed to Peace talks")
    chat = await bot.chat(CHANNEL)
    assert chat is not None and chat.kind == "channel"


async def test_channel_subscription_from_a_private_chat_needs_user_and_bot_as_admins(
    start_bot: StartBot, telegram: FakeTelegram
) -> None:
    bot = await start_bot()

    user_not_admin = await bot.command(USER, f"/subscribe peace-talks {CHANNEL_NAME}")
    telegram.set_member(CHANNEL, USER, "administrator")
    bot_not_admin = await bot.command(USER, f"/subscribe peace-talks {CHANNEL_NAME}")
    telegram.set_member(CHANNEL, bot.bot_id, "administrator")
    by_name = await bot.command(USER, f"/subscribe peace-talks {CHANNEL_NAME}")
    by_id = await bot.command(USER, f"/subscribe mariupol-evacuation digest {CHANNEL}")
    unknown = await bot.command(USER, "/subscribe peace-talks @no_such_channel")

    assert user_not_admin.text == "Only administrators of Wirewatch News can change its alerts."
    assert bot_not_admin.text.startswith("Make me an administrator of Wirewatch News")
    assert by_name.text.startswith("Wirewatch News: Subscribed to Peace talks (instant).")
    assert by_id.text.startswith("Wirewatch News: Subscribed to Mariupol evacuation (digest).")
    assert unknown.text.startswith("I cannot see @no_such_channel.")
    assert set(await bot.subscriptions(CHANNEL)) == {"peace-talks", "mariupol-evacuation"}
    assert await bot.subscriptions(USER) == {}
    assert telegram.messages(CHANNEL) == []  # the channel's readers saw none of this


# --- alert buttons -------------------------------------------------------------------------


async def test_alert_buttons_act_for_the_presser_and_are_always_answered(
    start_bot: StartBot, telegram: FakeTelegram
) -> None:
    bot = await start_bot()
    await bot.command(USER, "/subscribe peace-talks")
    await bot.command(GROUP, "/subscribe peace-talks", from_user=ADMIN)

    muted = telegram.enqueue_callback_query(USER, 1, "mute:peace-talks")
    refused = telegram.enqueue_callback_query(GROUP, 1, "unsub:peace-talks", from_user=MEMBER)
    allowed = telegram.enqueue_callback_query(GROUP, 1, "unsub:peace-talks", from_user=ADMIN)
    stale = telegram.enqueue_callback_query(USER, 1, "unsub:no-such-topic")
    foreign = telegram.enqueue_callback_query(USER, 1, "vote:42")
    queries = (muted, refused, allowed, stale, foreign)
    await eventually(lambda: all(map(telegram.callback_answered, queries)))

    answers = {
        call.params["callback_query_id"]: call.params
        for call in telegram.calls("answerCallbackQuery")
    }
    assert answers[muted]["text"].startswith("Peace talks muted until")
    assert not shows_alert(answers[muted])
    assert answers[refused]["text"] == "Only this chat's administrators can change its alerts."
    assert shows_alert(answers[refused])
    assert answers[allowed]["text"] == "Unsubscribed from Peace talks."
    assert not shows_alert(answers[allowed])
    assert answers[stale]["text"] == "That topic no longer exists."
    assert shows_alert(answers[stale])
    assert answers[foreign]["text"] == "This button no longer works."
    assert shows_alert(answers[foreign])
    assert (await bot.subscriptions(USER))["peace-talks"].muted_until is not None
    assert await bot.subscriptions(GROUP) == {}


# --- alerts, membership, migration ---------------------------------------------------------


async def test_subscriber_gets_one_alert_per_story_with_buttons(
    start_bot: StartBot, telegram: FakeTelegram, feed_server: FeedServer
) -> None:
    bot = await start_bot(feed=True)
    await bot.command(USER, "/subscribe mariupol-evacuation")
    await eventually(lambda: feed_server.hits(FEED) >= 1)
    replies = len(telegram.messages(USER))

    await bot.publish(EVACUATION, WEATHER)
    alert = (await eventually(lambda: telegram.messages(USER)[replies:]))[0]
    seen = feed_server.hits(FEED, status=304)  # polled again: nothing new
    await eventually(lambda: feed_server.hits(FEED, status=304) > seen)

    assert telegram.messages(USER)[replies:] == [alert]
    assert alert.parse_mode == "HTML"
    assert alert.text.startswith(EVACUATION.title)
    assert [button["callback_data"] for button in alert.buttons] == [
        "mute:mariupol-evacuation",
        "unsub:mariupol-evacuation",
    ]


async def test_a_group_that_removes_the_bot_gets_no_alerts_until_it_is_back(
    start_bot: StartBot, telegram: FakeTelegram
) -> None:
    bot = await start_bot(feed=True)

    telegram.enqueue_my_chat_member(GROUP, "member", old_status="left", from_user=ADMIN)
    welcome = (await eventually(lambda: telegram.messages(GROUP)))[0]
    await bot.command(GROUP, "/subscribe mariupol-evacuation", from_user=ADMIN)
    telegram.block_bot(GROUP, notify=True)
    await eventually_async(lambda: _inactive(bot, GROUP))
    await bot.publish(EVACUATION, WEATHER)
    removed_sent = len(telegram.messages(GROUP))

    telegram.unblock_bot(GROUP)
    telegram.enqueue_my_chat_member(GROUP, "member", old_status="kicked", from_user=ADMIN)
    await eventually_async(lambda: _active(bot, GROUP))
    bot.feeds.set(FEED, rss(SECOND_CONVOY, EVACUATION, WEATHER))
    await eventually(lambda: len(telegram.messages(GROUP)) >= 4)

    assert welcome.text.startswith("Hello! I am Wirewatch")
    assert "/subscribe TOPIC" in welcome.text
    assert set(await bot.subscriptions(GROUP)) == {"mariupol-evacuation"}  # kept throughout
    assert removed_sent == 2  # the welcome and the subscription's answer: no alert
    texts = [message.text.split("\n")[0] for message in telegram.messages(GROUP)[2:]]
    assert texts == [welcome.text.split("\n")[0], SECOND_CONVOY.title]  # added back: welcome


async def test_a_group_upgraded_to_a_supergroup_keeps_its_subscriptions(
    start_bot: StartBot, telegram: FakeTelegram
) -> None:
    old, new = -555, -1000000000555
    telegram.add_chat(old, "group", title="Village council")
    telegram.set_member(old, ADMIN, "creator")
    bot = await start_bot(feed=True)
    await bot.command(old, "/subscribe mariupol-evacuation", from_user=ADMIN)
    await bot.command(old, "/track council council AND meeting", from_user=ADMIN)

    telegram.migrate_chat(old, new)
    await eventually_async(lambda: _has_subscriptions(bot, new))
    listed = await bot.command(new, "/list")
    await bot.publish(EVACUATION, WEATHER)

    assert await bot.chat(old) is None
    topics = set(await bot.subscriptions(new))
    assert "mariupol-evacuation" in topics and len(topics) == 2  # and the group's own topic
    assert "• council (instant)" in listed.text
    await eventually(lambda: telegram.messages(new)[-1].text.startswith(EVACUATION.title))


async def test_a_supergroup_already_known_takes_over_the_old_groups_subscriptions(
    engine: AsyncEngine,
) -> None:
    old, new = ChatRef(Platform.TELEGRAM, "-555"), ChatRef(Platform.TELEGRAM, "-1000000000555")
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        old_pk = await chat_store.ensure_chat(conn, old, now=now, kind="group")
        new_pk = await chat_store.ensure_chat(conn, new, now=now, kind="group")
        for topic_id in ("peace-talks", "mariupol-evacuation"):
            await chat_store.subscribe(conn, old_pk, topic_id, now=now)
        await chat_store.subscribe(conn, new_pk, "peace-talks", now=now, delivery=Delivery.DIGEST)

        moved = await chat_store.migrate_chat(conn, old, new)
        again = await chat_store.migrate_chat(conn, old, new)

        assert (moved, again) == (True, False)
        assert await chat_store.get_chat(conn, old) is None
        rows = {
            row.topic_id: row.delivery for row in await chat_store.list_subscriptions(conn, new_pk)
        }
    assert rows == {"peace-talks": Delivery.DIGEST, "mariupol-evacuation": Delivery.INSTANT}


# --- transport -----------------------------------------------------------------------------


async def test_webhook_mode_acts_once_on_each_update_telegram_posts(
    start_bot: StartBot, telegram: FakeTelegram
) -> None:
    port = free_port()
    bot = await start_bot(**webhook_settings(port))
    assert telegram.webhook == (f"http://127.0.0.1:{port}{WEBHOOK_PATH}", SECRET)

    answer = await bot.command(USER, "/subscribe peace-talks")
    update = telegram.message_update(USER, "/unsubscribe peace-talks")
    async with httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        first = await client.post(url, json=update, headers=headers)
        again = await client.post(url, json=update, headers=headers)  # Telegram retrying
    await eventually(lambda: len(telegram.messages(USER)) >= 2)
    await bot.command(USER, "/list")  # updates are handled in order: the repeat had its turn

    assert answer.text.startswith("Subscribed to Peace talks")
    assert (first.status_code, again.status_code) == (200, 200)
    texts = [message.text for message in telegram.messages(USER)]
    assert texts[1:] == ["Unsubscribed from Peace talks.", texts[2]]
    assert texts[2].startswith("This chat has no subscriptions")
    assert not telegram.calls("getUpdates")


async def test_webhook_refuses_updates_without_the_secret(
    start_bot: StartBot, telegram: FakeTelegram
) -> None:
    port = free_port()
    bot = await start_bot(**webhook_settings(port))
    update = telegram.message_update(USER, "/subscribe peace-talks")
    statuses: dict[str | None, int] = {}

    async with httpx.AsyncClient() as client:
        for secret in (None, "", "wrong-secret", SECRET + "x", SECRET[:-1]):
            headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
            response = await client.post(
                f"http://127.0.0.1:{port}{WEBHOOK_PATH}", json=update, headers=headers
            )
            statuses[secret] = response.status_code
    await bot.command(USER, "/list")

    assert set(statuses.values()) == {403}, statuses
    assert [m.text for m in telegram.messages(USER)] == [
        "This chat has no subscriptions. See topics, then subscribe TOPIC."
    ]


async def test_webhook_without_a_secret_is_refused_at_start(
    telegram: FakeTelegram, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", telegram.token)
    settings = load_settings(
        database_url=database_url,
        telegram={"webhook_url": "https://bot.example.com/telegram"},
    )

    with pytest.raises(ConfigError, match=r"telegram\.webhook_secret"):
        App(settings)


async def test_a_webhook_telegram_refuses_stops_the_start_with_its_reason(
    start_bot: StartBot,
) -> None:
    settings = webhook_settings(free_port())
    settings["telegram"]["webhook_url"] = "http://bot.example.com/telegram"

    with pytest.raises(ConfigError, match=r"(?i)https url must be provided"):
        await start_bot(**settings)


async def test_another_instance_polling_is_reported_once_and_the_bot_carries_on(
    start_bot: StartBot, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await start_bot()
    await bot.command(USER, "/subscribe peace-talks")
    bot.binding.polling.quiet_seconds = 0.0
    caplog.set_level(logging.INFO, logger="handlers")

    telegram.set_rival_poller(True)
    await eventually(lambda: len([c for c in telegram.calls("getUpdates") if c.status == 409]) >= 2)
    during = bot.binding.polling_conflict
    telegram.enqueue_message(USER, "/list")  # the other instance gets this one
    telegram.set_rival_poller(False)
    after = await bot.command(USER, "/unsubscribe peace-talks")

    conflicts = [r for r in caplog.records if "another instance is polling" in r.getMessage()]
    assert during is True
    assert not bot.binding.polling_conflict  # polled again, and got the command
    assert [r.levelname for r in conflicts] == ["ERROR"]
    assert bot.app.running
    assert after.text == "Unsubscribed from Peace talks."
    assert [m.text.split(" ")[0] for m in telegram.messages(USER)] == ["Subscribed", "Unsubscribed"]
    assert len(telegram.rival_updates) == 1


# --- helpers -------------------------------------------------------------------------------


async def eventually_async(check: Callable[[], Awaitable[bool]], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def _inactive(bot: RunningBot, chat_id: int) -> bool:
    chat = await bot.chat(chat_id)
    return chat is not None and not chat.active


async def _active(bot: RunningBot, chat_id: int) -> bool:
    chat = await bot.chat(chat_id)
    return chat is not None and chat.active


async def _stored_items(bot: RunningBot, count: int) -> bool:
    return await table_count(bot.app.engine, "items") >= count


async def _has_subscriptions(bot: RunningBot, chat_id: int) -> bool:
    return bool(await bot.subscriptions(chat_id))
