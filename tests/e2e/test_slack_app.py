"""The whole bot on Slack: signed requests in, ``response_url`` answers and Block Kit alerts out.

The real ``App`` runs with SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_API_BASE_URL pointing
at the local fake Slack (tests/fakes/slack.py) and serves ``/slack/events`` on a free port.
Every request is signed the way Slack signs it: ``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``
with the signing secret (slack_sdk's ``SignatureVerifier``). Answers arrive where Slack would
see them: the fake's ``response_url``, ``chat.postMessage`` and ``views.publish``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.app import App
from bot.errors import ConfigError, DeliveryError
from bot.model import Alert, ChatRef, Item, Platform
from bot.settings import load_settings
from bot.store import chats as chat_store
from handlers.commands import Reply
from handlers.slack import SlackBinding
from handlers.slack_home import HOME_BLOCK_LIMIT, HomeData, HomeSubscription, render_home
from handlers.slack_reply import render_reply
from tests.conftest import table_count
from tests.fakes.slack import FakeSlack, check_blocks
from tests.feeds import TALKS, WEATHER, rss
from tests.feedserver import FeedServer

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FORM = "application/x-www-form-urlencoded"
APP_ID = "A0WIREWATCH"


def sign(body: str, timestamp: str, secret: str = SECRET) -> str:
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    return signature


def signed_headers(body: str, *, age: float = 0.0, secret: str = SECRET) -> dict[str, str]:
    timestamp = str(int(time.time() - age))
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(body, timestamp, secret),
    }


def command_body(
    text: str, *, slack: FakeSlack, channel: str, user: str, hook: str, channel_name: str
) -> str:
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": FakeSlack.team_id,
            "team_domain": "wirewatch-test",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": user.lower(),
            "command": "/wirewatch",
            "text": text,
            "api_app_id": APP_ID,
            "response_url": slack.response_url(hook),
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    )


def click_body(action_id: str, value: str, *, slack: FakeSlack, channel: str, user: str) -> str:
    payload = {
        "type": "block_actions",
        "team": {"id": FakeSlack.team_id, "domain": "wirewatch-test"},
        "user": {"id": user, "username": user.lower(), "team_id": FakeSlack.team_id},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": "1.000001", "channel_id": channel},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "channel": {"id": channel, "name": "news"},
        "message": {"type": "message", "ts": "1.000001", "text": "Peace talks: …"},
        "response_url": slack.response_url("click"),
        "actions": [
            {
                "action_id": action_id,
                "block_id": "alert-actions",
                "type": "button",
                "value": value,
                "text": {"type": "plain_text", "text": "Mute topic"},
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def home_opened_body(user: str, dm_channel: str) -> str:
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": FakeSlack.team_id,
            "api_app_id": APP_ID,
            "type": "event_callback",
            "event_id": "Ev0HOME0001",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": FakeSlack.team_id, "user_id": FakeSlack.bot_user_id, "is_bot": True}
            ],
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": dm_channel,
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            },
        }
    )


async def eventually(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


def texts(message: dict[str, Any]) -> str:
    """Every mrkdwn text of an answer's blocks, one after the other."""
    return "\n".join(block["text"]["text"] for block in message["blocks"] if "text" in block)


@dataclass
class RunningBot:
    app: App
    slack: FakeSlack
    http: httpx.AsyncClient

    @property
    def events_url(self) -> str:
        assert self.app.web is not None
        return f"http://127.0.0.1:{self.app.web.port}/slack/events"

    async def post(
        self, body: str, headers: dict[str, str] | None = None, content_type: str = FORM
    ) -> httpx.Response:
        """POST to /slack/events, signed unless ``headers`` say otherwise."""
        sent = signed_headers(body) if headers is None else headers
        return await self.http.post(
            self.events_url, content=body.encode(), headers={"Content-Type": content_type, **sent}
        )

    async def command(
        self,
        text: str,
        *,
        channel: str = "C1",
        user: str = "U1",
        hook: str = "command",
        channel_name: str = "news",
    ) -> dict[str, Any]:
        """Run ``/wirewatch TEXT`` like Slack does and return the answer posted to response_url."""
        answered = len(self.slack.responses(hook))
        body = command_body(
            text, slack=self.slack, channel=channel, user=user, hook=hook, channel_name=channel_name
        )
        response = await self.post(body)
        assert response.status_code == 200, response.text
        answers = await eventually(lambda: self.slack.responses(hook)[answered:])
        assert len(answers) == 1
        return dict(answers[0])

    async def subscriptions(self, chat_id: str) -> dict[str, chat_store.SubscriptionRow]:
        async with self.app.engine.connect() as conn:
            chat = await chat_store.get_chat(conn, ChatRef(Platform.SLACK, chat_id))
            if chat is None:
                return {}
            rows = await chat_store.list_subscriptions(conn, chat.id)
        return {row.topic_id: row for row in rows}


StartBot = Callable[..., Awaitable[RunningBot]]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(rate=20, burst=5) as server:
        server.add_channel("C1", "news")
        server.add_channel("C2", "desk")
        server.add_user("U1", "olena")
        server.add_user("U2", "taras")
        server.add_user("U3", "iryna", is_admin=True)
        server.add_dm("D1", "U1")
        server.add_dm("D2", "U2")
        yield server


@pytest.fixture
async def start_bot(
    slack: FakeSlack, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[StartBot]:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_API_BASE_URL", slack.api_url)
    running: list[RunningBot] = []

    async def start(**overrides: Any) -> RunningBot:
        settings = load_settings(
            **{
                "database_url": database_url,
                "feeds_file": None,
                "http": {"host": "127.0.0.1", "port": 0},  # the OS picks a free port
                "console": {"enabled": "never"},
                **overrides,
            }
        )
        app = App(settings)
        await app.start()
        bot = RunningBot(app, slack, httpx.AsyncClient(timeout=10))
        running.append(bot)
        return bot

    yield start
    for bot in running:
        await bot.http.aclose()
        await bot.app.stop()


# --- commands ------------------------------------------------------------------------------


async def test_signed_subscribe_command_subscribes_the_channel_and_tells_it(
    start_bot: StartBot, slack: FakeSlack
) -> None:
    bot = await start_bot()

    answer = await bot.command("subscribe peace-talks")

    assert "peace-talks" in await bot.subscriptions("C1")
    assert answer["response_type"] == "in_channel"
    assert answer["replace_original"] is False
    assert texts(answer).startswith("Subscribed to Peace talks (instant).")
    assert check_blocks(answer["blocks"]) == []
    async with bot.app.engine.connect() as conn:
        chat = await chat_store.get_chat(conn, ChatRef(Platform.SLACK, "C1"))
    assert chat is not None and chat.kind == "group" and chat.title == "#news"


async def test_status_says_loudly_when_slack_refuses_the_token(
    start_bot: StartBot, slack: FakeSlack
) -> None:
    bot = await start_bot()
    healthy = await bot.command("status")
    slack.fail_next("chat.postMessage", "invalid_auth")
    alert = Alert(ChatRef(Platform.SLACK, "C1"), "peace-talks", "Peace talks", "t", "", (), None)
    with pytest.raises(DeliveryError):
        await bot.app.channels[Platform.SLACK].send_alert(alert)
    broken = await bot.command("status")

    assert "Health: all checks pass" in texts(healthy)
    assert "Health: PROBLEM with platform:slack" in texts(broken)


async def test_wirewatch_alone_shows_help_to_the_caller_only(start_bot: StartBot) -> None:
    bot = await start_bot()

    answer = await bot.command("")

    assert answer["response_type"] == "ephemeral"
    assert "subscribe TOPIC [instant|digest|both]" in texts(answer)
    assert "unsubscribe TOPIC" in texts(answer)


async def test_mistakes_are_answered_privately_and_echo_no_markup(start_bot: StartBot) -> None:
    bot = await start_bot()

    unknown = await bot.command("subscribe <!channel> ")
    usage = await bot.command("mute")

    assert unknown["response_type"] == "ephemeral"
    assert "No topic called '&lt;!channel&gt;'" in texts(unknown)
    assert "<!channel>" not in json.dumps(unknown)
    assert all(block["text"]["verbatim"] for block in unknown["blocks"])
    assert usage["response_type"] == "ephemeral"
    assert texts(usage) == "Usage: mute TOPIC [HOURS]"
    assert await bot.subscriptions("C1") == {}


async def test_a_direct_message_is_the_users_own_chat(start_bot: StartBot) -> None:
    bot = await start_bot(slack={"admins_only": True})

    await bot.command(
        "subscribe mariupol-evacuation", channel="D2", user="U2", channel_name="directmessage"
    )

    assert "mariupol-evacuation" in await bot.subscriptions("D2")
    async with bot.app.engine.connect() as conn:
        chat = await chat_store.get_chat(conn, ChatRef(Platform.SLACK, "D2"))
    assert chat is not None and chat.kind == "private"


async def test_non_admin_cannot_change_channel_subscriptions_when_admins_only(
    start_bot: StartBot, slack: FakeSlack
) -> None:
    bot = await start_bot(slack={"admins_only": True})

    refused = await bot.command("subscribe peace-talks", user="U2")
    listed = await bot.command("list", user="U2")
    allowed = await bot.command("subscribe peace-talks", user="U3")

    assert refused["response_type"] == "ephemeral"
    assert texts(refused) == "Only this chat's administrators can change its alerts."
    assert listed["response_type"] == "ephemeral"  # reading stays open to every member
    assert allowed["response_type"] == "in_channel"
    assert list(await bot.subscriptions("C1")) == ["peace-talks"]
    asked = [call.params["user"] for call in slack.calls if call.method == "users.info"]
    assert asked == ["U2", "U3"]  # only when a command changes something


async def test_operator_may_change_a_channel_without_being_admin(start_bot: StartBot) -> None:
    bot = await start_bot(slack={"admins_only": True}, chat={"operators": ["slack:U2"]})

    answer = await bot.command("subscribe peace-talks", user="U2")

    assert answer["response_type"] == "in_channel"
    assert "peace-talks" in await bot.subscriptions("C1")


async def test_slow_work_is_acknowledged_at_once_and_answered_later(
    start_bot: StartBot, slack: FakeSlack
) -> None:
    bot = await start_bot(slack={"admins_only": True})
    await bot.command("help")  # the first request also runs bolt's one auth.test
    slack.delay("users.info", 2.0)
    body = command_body(
        "subscribe peace-talks",
        slack=slack,
        channel="C1",
        user="U3",
        hook="slow",
        channel_name="news",
    )

    started = time.monotonic()
    response = await bot.post(body)
    acked_after = time.monotonic() - started

    assert response.status_code == 200 and acked_after < 1.0
    assert slack.responses("slow") == []
    answers = await eventually(lambda: slack.responses("slow"), timeout=6)
    assert texts(answers[0]).startswith("Subscribed to Peace talks")


# --- request signing -----------------------------------------------------------------------


def _forged(body: str) -> dict[str, str]:
    return signed_headers(body, secret="not-the-signing-secret")


def _stale(body: str) -> dict[str, str]:
    return signed_headers(body, age=6 * 60)


def _from_the_future(body: str) -> dict[str, str]:
    return signed_headers(body, age=-6 * 60)


def _unsigned(body: str) -> dict[str, str]:
    return {}


def _timestamp_not_a_number(body: str) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": sign(body, "soon")}


def _signature_of_another_body(body: str) -> dict[str, str]:
    return signed_headers(body.replace("peace-talks", "mariupol-evacuation"))


@pytest.mark.parametrize(
    "headers",
    [
        _forged,
        _stale,
        _from_the_future,
        _unsigned,
        _timestamp_not_a_number,
        _signature_of_another_body,
    ],
)
async def test_a_request_not_signed_by_slack_is_refused_and_changes_nothing(
    start_bot: StartBot, slack: FakeSlack, headers: Callable[[str], dict[str, str]]
) -> None:
    bot = await start_bot()
    body = command_body(
        "subscribe peace-talks", slack=slack, channel="C1", user="U1", hook="x", channel_name="news"
    )

    response = await bot.post(body, headers(body))

    assert response.status_code == 401
    await asyncio.sleep(0.3)
    assert slack.responses("x") == []
    assert await table_count(bot.app.engine, "chats") == 0
    assert await table_count(bot.app.engine, "subscriptions") == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("[1, 2]", "application/json", 400),
        ('{"type": ', "application/json", 400),
        ("x" * (1024 * 1024 + 1), FORM, 413),
    ],
    ids=["json-array", "broken-json", "over-1-MiB"],
)
async def test_a_signed_request_that_is_not_a_slack_payload_is_refused_cleanly(
    start_bot: StartBot, body: str, content_type: str, status: int
) -> None:
    bot = await start_bot()

    response = await bot.post(body, content_type=content_type)

    assert response.status_code == status


# --- buttons on alerts ---------------------------------------------------------------------


async def test_mute_button_mutes_the_topic_for_that_channel_and_says_so_privately(
    start_bot: StartBot, slack: FakeSlack
) -> None:
    bot = await start_bot()
    await bot.command("subscribe peace-talks")

    clicked = await bot.post(
        click_body("wirewatch_mute", "peace-talks", slack=slack, channel="C1", user="U1")
    )

    assert clicked.status_code == 200
    answer = (await eventually(lambda: slack.responses("click")))[0]
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert texts(answer).startswith("Peace talks muted until ")
    muted_until = (await bot.subscriptions("C1"))["peace-talks"].muted_until
    assert muted_until is not None
    assert muted_until - datetime.now(UTC) > timedelta(hours=23)


async def test_unsubscribe_button_is_refused_to_a_non_admin_when_admins_only(
    start_bot: StartBot, slack: FakeSlack
) -> None:
    bot = await start_bot(slack={"admins_only": True})
    await bot.command("subscribe peace-talks", user="U3")

    await bot.post(
        click_body("wirewatch_unsubscribe", "peace-talks", slack=slack, channel="C1", user="U2")
    )
    refused = (await eventually(lambda: slack.responses("click")))[0]
    await bot.post(
        click_body("wirewatch_unsubscribe", "peace-talks", slack=slack, channel="C1", user="U3")
    )
    done = (await eventually(lambda: slack.responses("click")[1:]))[0]

    assert refused["response_type"] == "ephemeral"
    assert texts(refused) == "Only this chat's administrators can change its alerts."
    assert texts(done) == "Unsubscribed from Peace talks."
    assert await bot.subscriptions("C1") == {}


# --- App Home ------------------------------------------------------------------------------


async def test_home_tab_lists_my_dm_subscriptions_and_the_channels(
    start_bot: StartBot, slack: FakeSlack
) -> None:
    bot = await start_bot()
    await bot.command(
        "subscribe mariupol-evacuation digest", channel="D1", channel_name="directmessage"
    )
    await bot.command("subscribe peace-talks", channel="C1")
    await bot.command("subscribe peace-talks", channel="C2", channel_name="desk")
    await bot.command(
        "subscribe peace-talks", channel="D2", user="U2", channel_name="directmessage"
    )

    response = await bot.post(home_opened_body("U1", "D1"), content_type="application/json")

    assert response.status_code == 200
    view = await eventually(lambda: slack.views.get("U1"))
    sections = [block["text"]["text"] for block in view["blocks"] if block["type"] == "section"]
    assert "• Mariupol evacuation (`mariupol-evacuation`) — digest" in sections
    assert "<#C1>\n• Peace talks (`peace-talks`) — instant" in sections
    assert "<#C2>\n• Peace talks (`peace-talks`) — instant" in sections
    assert not any("D2" in text for text in sections)  # another user's DM is theirs alone


def test_home_tab_stays_within_slacks_100_blocks_with_many_channels() -> None:
    many = {
        f"C{index:04d}": [HomeSubscription("Peace <talks> & more", "peace-talks", "instant")]
        for index in range(150)
    }
    data = HomeData([], False, many, datetime.now(UTC))

    view = render_home(data)

    assert len(view["blocks"]) == HOME_BLOCK_LIMIT
    assert check_blocks(view["blocks"], limit=HOME_BLOCK_LIMIT) == []
    assert "Peace &lt;talks&gt; &amp; more" in json.dumps(view)
    assert "more channels" in view["blocks"][-1]["elements"][0]["text"]


def test_a_long_reply_is_split_into_sections_slack_accepts() -> None:
    lines = [
        f"• Feed number {index} — ok\n  https://feeds.example/{index}.xml" for index in range(400)
    ]

    message = render_reply(Reply("\n".join(lines)), "ephemeral")

    assert check_blocks(message["blocks"]) == []
    assert 1 < len(message["blocks"]) <= 50


# --- the full loop: feed → match → outbox → chat.postMessage --------------------------------


async def test_subscribed_channel_gets_a_block_kit_alert_when_the_feed_publishes(
    start_bot: StartBot, slack: FakeSlack, feed_server: FeedServer
) -> None:
    feed_server.set("/wire.xml", rss(WEATHER))
    bot = await start_bot(
        feeds=[{"url": feed_server.url("/wire.xml"), "title": "Test Wire"}],
        fetch={"allow_private_networks": True},
        poll={"interval": 1, "min_interval": 1, "max_interval": 2},
    )
    await bot.command("subscribe peace-talks")

    feed_server.set("/wire.xml", rss(WEATHER, TALKS))
    posted = await eventually(lambda: slack.messages("C1"), timeout=20)

    assert len(posted) == 1
    alert = posted[0]
    assert alert.blocks is not None and check_blocks(alert.blocks) == []
    assert alert.blocks[0]["text"]["text"] == f"*<{TALKS.link}|{TALKS.title}>*"
    buttons = alert.blocks[-1]["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("wirewatch_mute", "peace-talks"),
        ("wirewatch_unsubscribe", "peace-talks"),
    ]
    assert slack.messages("C2") == []

    # A channel that subscribes now sees the story as a preview, linked.
    answer = await bot.command("subscribe peace-talks", channel="C2", channel_name="desk")
    assert f"• <{TALKS.link}|{TALKS.title}> — Test Wire" in texts(answer)


# --- transport and configuration -----------------------------------------------------------


def test_socket_mode_is_chosen_when_an_app_token_is_set(
    slack: FakeSlack, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A0WIREWATCH-1-0123456789abcdef")
    monkeypatch.setenv("SLACK_API_BASE_URL", slack.api_url)

    app = App(load_settings(database_url=database_url, feeds_file=None))

    [binding] = app.bindings
    assert isinstance(binding, SlackBinding)
    assert binding.transport == "socket"
    assert binding.routes == []
    assert Platform.SLACK in app.channels and Platform.CONSOLE not in app.channels


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_APP_TOKEN": "xoxb-a-bot-token-by-mistake"}, "SLACK_APP_TOKEN"),
    ],
    ids=["no-secret-no-app-token", "app-token-of-the-wrong-kind"],
)
def test_a_slack_bot_that_cannot_receive_stops_start_up_naming_the_setting(
    database_url: str, monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], named: str
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1234-5678-wirewatch-test")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ConfigError, match=named):
        App(load_settings(database_url=database_url, feeds_file=None))


def _item(title: str, url: str | None) -> Item:
    return Item("https://wire.example/feed", title, title, url=url, source_title="Wire")


def test_preview_links_only_web_addresses() -> None:
    preview = (
        _item("Talks | resume <soon>", "https://wire.example/a|b"),
        _item("Sneaky", "javascript:alert(1)"),
    )

    message = render_reply(Reply("Subscribed.", preview=preview), "in_channel")

    listed = message["blocks"][-1]["text"]["text"]
    assert listed.splitlines() == [
        "• <https://wire.example/a%7Cb|Talks | resume &lt;soon&gt;> — Wire",
        "• Sneaky — Wire",
    ]
