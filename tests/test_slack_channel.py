"""SlackChannel against the local fake Slack, through the real slack_sdk client: no mocks."""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat.slack import AUTH_RETRY_SECONDS, SlackChannel
from bot.delivery.outbox import Deliverer
from bot.errors import DeliveryError
from bot.model import Alert, ChatRef, Feed, Item, Platform
from bot.store import alerts as outbox
from bot.store import chats as chat_store
from bot.store import feeds as feed_store
from bot.store.items import insert_new_items
from tests.fakes.slack import DROP_CONNECTION, FakeSlack, PostedMessage

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FAST = 50.0  # messages/s per channel for tests that are not about pacing


def alert(channel_id: str = "C1", title: str = "Talks resume in Istanbul") -> Alert:
    return Alert(
        chat=ChatRef(Platform.SLACK, channel_id),
        topic_id="peace-talks",
        topic_name="Peace talks",
        title=title,
        summary="Delegations met on Monday.",
        links=("https://news.example/story",),
        published=NOW,
        why=("talks",),
        source_titles=("Kyiv Independent",),
    )


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(rate=FAST, burst=5) as server:
        server.add_channel("C1", "news")
        yield server


@pytest.fixture
async def channel(slack: FakeSlack) -> AsyncIterator[SlackChannel]:
    channel = SlackChannel(slack.token, slack.api_url, per_channel_rate=FAST)
    yield channel
    await channel.aclose()


def headline(message: PostedMessage) -> str:
    """The title as the fallback text carries it: "Topic: title" on the first line."""
    return (message.text or "").splitlines()[0].partition(": ")[2]


async def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def refusal(channel: SlackChannel, to: str = "C1") -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await channel.send_alert(alert(to))
    return caught.value


# --- delivery ------------------------------------------------------------------------------


async def test_an_alert_arrives_as_blocks_slack_accepts(
    slack: FakeSlack, channel: SlackChannel
) -> None:
    ts = await channel.send_alert(alert())

    [message] = slack.messages("C1")
    assert ts == message.ts
    assert message.text is not None and message.text.startswith("Peace talks: Talks resume")
    assert message.blocks is not None
    assert [block["type"] for block in message.blocks] == [
        "section",
        "section",
        "context",
        "actions",
    ]
    assert message.params["unfurl_links"] is False
    assert not channel.auth_failed


async def test_the_bot_joins_a_public_channel_it_is_not_in(
    slack: FakeSlack, channel: SlackChannel
) -> None:
    slack.add_channel("C2", member=False)

    await channel.send_alert(alert("C2"))

    assert len(slack.messages("C2")) == 1
    assert slack.channels["C2"].member
    assert slack.count("conversations.join") == 1


async def test_a_private_channel_needs_an_invite(slack: FakeSlack, channel: SlackChannel) -> None:
    slack.add_channel("G1", private=True, member=False)

    error = await refusal(channel, "G1")

    assert error.permanent
    assert "invite the bot to the channel with /invite @Wirewatch" in str(error)
    assert slack.count("conversations.join", error="method_not_supported_for_channel_type") == 1
    assert slack.messages("G1") == []


@pytest.mark.parametrize(
    ("prepare", "to", "reason"),
    [
        pytest.param(lambda s: None, "C404", "does not exist", id="channel_not_found"),
        pytest.param(
            lambda s: s.add_channel("C9", archived=True), "C9", "is archived", id="is_archived"
        ),
        pytest.param(
            lambda s: s.add_dm("D1", "U1", deactivated=True),
            "D1",
            "deactivated",
            id="account_inactive",
        ),
        pytest.param(
            lambda s: s.fail_next("chat.postMessage", "invalid_blocks"),
            "C1",
            "malformed (invalid_blocks)",
            id="invalid_blocks",
        ),
        pytest.param(
            lambda s: s.fail_next("chat.postMessage", "restricted_action"),
            "C1",
            "restricted",
            id="restricted_action",
        ),
    ],
)
async def test_a_channel_that_cannot_take_alerts_fails_for_good(
    slack: FakeSlack, channel: SlackChannel, prepare: Any, to: str, reason: str
) -> None:
    prepare(slack)

    error = await refusal(channel, to)

    assert error.permanent and error.retry_after is None
    assert reason in str(error)
    assert not channel.auth_failed


@pytest.mark.parametrize("how", ["wrong-token", "revoked", "no-token"])
async def test_a_refused_token_keeps_alerts_waiting_and_says_so_once(
    slack: FakeSlack, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    token = {"wrong-token": "xoxb-0000-wrong", "revoked": slack.token, "no-token": ""}[how]
    slack.revoked = how == "revoked"
    channel = SlackChannel(token, slack.api_url, per_channel_rate=FAST)
    caplog.set_level(logging.DEBUG)
    try:
        first = await refusal(channel)
        second = await refusal(channel)
    finally:
        await channel.aclose()

    assert not first.permanent and not second.permanent
    assert first.retry_after == AUTH_RETRY_SECONDS
    assert "SLACK_BOT_TOKEN" in str(first)
    assert channel.auth_failed
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name == "bot.chat.slack"]
    assert len(loud) == 1
    assert slack.token not in caplog.text and slack.token not in str(first)


async def test_the_auth_flag_clears_when_slack_accepts_the_token_again(
    slack: FakeSlack, channel: SlackChannel
) -> None:
    slack.fail_next("chat.postMessage", "token_revoked")

    await refusal(channel)
    flagged = channel.auth_failed
    await channel.send_alert(alert())

    assert flagged and not channel.auth_failed


async def test_check_auth_names_the_workspace(slack: FakeSlack, channel: SlackChannel) -> None:
    identity = await channel.check_auth()

    assert (identity.team, identity.user_id) == ("Wirewatch Test", slack.bot_user_id)


# --- rate limits and transient failures ------------------------------------------------------


async def test_a_rate_limit_answer_becomes_retry_after(
    slack: FakeSlack, channel: SlackChannel
) -> None:
    slack.fail_next("chat.postMessage", 429, retry_after=7)

    error = await refusal(channel)

    assert not error.permanent
    assert error.retry_after == 7
    assert slack.messages("C1") == []


async def test_after_a_429_the_channel_waits_before_its_next_message(
    slack: FakeSlack, channel: SlackChannel
) -> None:
    slack.add_channel("C2")
    slack.fail_next("chat.postMessage", 429, retry_after=1, channel="C1")
    await refusal(channel)

    started = time.monotonic()
    await channel.send_alert(alert("C2"))
    other = time.monotonic() - started
    await channel.send_alert(alert("C1"))
    same = time.monotonic() - started

    assert other < 0.5
    assert same >= 0.9


async def test_sends_to_one_channel_are_paced_and_others_go_ahead(slack: FakeSlack) -> None:
    slack.rate, slack.burst = 10.0, 2  # a third message within 0.1 s would be refused
    slack.add_channel("C2")
    channel = SlackChannel(slack.token, slack.api_url, per_channel_rate=10.0)
    try:
        started = time.monotonic()
        await asyncio.gather(*(channel.send_alert(alert("C1", f"n{n}")) for n in range(4)))
        paced = time.monotonic() - started
        started = time.monotonic()
        await channel.send_alert(alert("C2"))
        other = time.monotonic() - started
    finally:
        await channel.aclose()

    assert [headline(message) for message in slack.messages("C1")] == [
        "n0",
        "n1",
        "n2",
        "n3",
    ]
    assert paced >= 0.29
    assert other < 0.09
    assert slack.throttled == 0


async def test_an_unpaced_sender_is_throttled_by_the_fake(slack: FakeSlack) -> None:
    slack.rate, slack.burst = 1.0, 1
    channel = SlackChannel(slack.token, slack.api_url, per_channel_rate=1000.0)
    try:
        await channel.send_alert(alert())
        error = await refusal(channel)
    finally:
        await channel.aclose()

    assert error.retry_after is not None and error.retry_after >= 1
    assert slack.throttled == 1


@pytest.mark.parametrize(
    "failure",
    [500, 502, 503, "internal_error", "fatal_error", "service_unavailable", "request_timeout"],
)
async def test_a_slack_outage_is_transient(
    slack: FakeSlack, channel: SlackChannel, failure: str | int
) -> None:
    slack.fail_next("chat.postMessage", failure)

    error = await refusal(channel)

    assert not error.permanent and error.retry_after is None
    assert "Slack is unavailable" in str(error)


async def test_one_dropped_connection_is_retried_by_the_client(
    slack: FakeSlack, channel: SlackChannel
) -> None:
    slack.fail_next("chat.postMessage", DROP_CONNECTION)

    await channel.send_alert(alert())

    assert len(slack.messages("C1")) == 1


async def test_a_connection_that_keeps_dropping_is_transient(
    slack: FakeSlack, channel: SlackChannel
) -> None:
    slack.fail_next("chat.postMessage", DROP_CONNECTION, times=2)

    error = await refusal(channel)

    assert not error.permanent
    assert "unreachable" in str(error)


async def test_under_a_flaky_slack_each_alert_lands_once_or_fails_transiently(
    slack: FakeSlack, channel: SlackChannel
) -> None:
    channel_ids = [f"C{n:03d}" for n in range(40)]
    for channel_id in channel_ids:
        slack.add_channel(channel_id)
    slack.failure_ratio(0.4, kinds=(500, 502, DROP_CONNECTION), seed=7)

    outcomes = await asyncio.gather(
        *(channel.send_alert(alert(channel_id)) for channel_id in channel_ids),
        return_exceptions=True,
    )

    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert all(isinstance(o, DeliveryError) and not o.permanent for o in failed)
    assert 0 < len(failed) < len(channel_ids)
    delivered = {cid: len(slack.messages(cid)) for cid in channel_ids}
    assert sum(delivered.values()) == len(channel_ids) - len(failed)
    assert set(delivered.values()) <= {0, 1}


async def test_an_unreachable_slack_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = SlackChannel("xoxb-1-2-3", f"http://127.0.0.1:{port}/api/")
    try:
        error = await refusal(channel)
    finally:
        await channel.aclose()

    assert not error.permanent and "unreachable" in str(error)


async def test_a_slow_slack_times_out_as_transient(slack: FakeSlack) -> None:
    slack.delay("chat.postMessage", 1.0)
    channel = SlackChannel(slack.token, slack.api_url, timeout=0.2)
    try:
        error = await refusal(channel)
    finally:
        await channel.aclose()

    assert not error.permanent and "unreachable" in str(error)


# --- fan-out through the real outbox ----------------------------------------------------------

CHANNELS = 200
ROUNDS = 3  # stories every channel gets
HOT_ROUNDS = 8  # stories the few busy channels get: the outbox hands them over back to back
RATE = 5.0  # Slack's 1 msg/s per channel, five times faster; the fake allows bursts of 2


async def queue_stories(engine: AsyncEngine, plan: dict[str, int]) -> int:
    """Queue ``plan[channel]`` stories per channel, story by story, as routing would."""
    items = [
        Item(feed_url="https://news.example/rss", key=f"story-{n}", title=f"story {n}")
        for n in range(max(plan.values()))
    ]
    async with engine.begin() as conn:
        feed = await feed_store.add_feed(conn, Feed("https://news.example/rss"), now=NOW)
        stored = await insert_new_items(conn, feed.id, items, now=NOW)
        chat_pks = {
            channel_id: await chat_store.ensure_chat(
                conn, ChatRef(Platform.SLACK, channel_id), now=NOW, kind="channel"
            )
            for channel_id in plan
        }
        new = [
            outbox.NewAlert(
                chat_pks[channel_id], entry.id, entry.item.key, alert(channel_id, entry.item.title)
            )
            for number, entry in enumerate(stored)
            for channel_id, stories in plan.items()
            if number < stories
        ]
        return await outbox.enqueue_alerts(conn, new, now=NOW)


async def test_stories_fan_out_to_200_channels_once_in_order_within_the_rate(
    engine: AsyncEngine,
) -> None:
    channel_ids = [f"C{n:04d}" for n in range(CHANNELS)]
    hot, hiccups = channel_ids[:3], channel_ids[100:103]
    plan = {channel_id: HOT_ROUNDS if channel_id in hot else ROUNDS for channel_id in channel_ids}
    total = await queue_stories(engine, plan)
    with FakeSlack(rate=RATE, burst=2) as slack:
        for channel_id in channel_ids:
            slack.add_channel(channel_id)
        for channel_id in hiccups:  # Slack's own 429s: the outbox retries after Retry-After
            slack.fail_next("chat.postMessage", 429, retry_after=1, channel=channel_id)
        channel = SlackChannel(slack.token, slack.api_url, per_channel_rate=RATE)
        deliverer = Deliverer(engine, {Platform.SLACK: channel})
        stop = asyncio.Event()
        started = time.monotonic()
        running = asyncio.create_task(deliverer.run(stop, idle=0.05))
        try:
            await wait_until(lambda: deliverer.sent >= total, timeout=20)
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            await running
            await channel.aclose()

    async with engine.connect() as conn:
        assert await outbox.count_by_status(conn) == {"sent": total}
    for channel_id, stories in plan.items():
        titles = [headline(message) for message in slack.messages(channel_id)]
        assert titles == [f"story {n}" for n in range(stories)], channel_id
    assert slack.throttled == len(hiccups)  # pacing earned no 429 of its own
    gaps = _gaps_between_posts(slack, hot)
    assert min(gaps) >= 0.5 / RATE  # arrival jitter, within the fake's burst
    print(
        f"\nfan-out: {total} messages to {CHANNELS} channels in {elapsed:.2f}s"
        f" ({total / elapsed:.0f} msg/s); 429s: {slack.throttled}, all injected;"
        f" busiest channels' tightest gap {min(gaps) * 1000:.0f} ms (pace {1000 / RATE:.0f} ms)"
    )


def _gaps_between_posts(slack: FakeSlack, channel_ids: list[str]) -> list[float]:
    gaps: list[float] = []
    for channel_id in channel_ids:
        times = [
            call.at
            for call in slack.calls
            if call.method == "chat.postMessage"
            and call.params.get("channel") == channel_id
            and call.status == 200
            and call.error is None
        ]
        gaps.extend(later - earlier for earlier, later in itertools.pairwise(times))
    return gaps


# --- the fake refuses what Slack refuses ------------------------------------------------------


def button(**overrides: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Mute"},
        "action_id": "a",
        "value": "v",
    } | overrides


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"channel": "C1"}, "no_text"),
        ({"channel": "C1", "text": "x" * 40_001}, "msg_too_long"),
        ({"text": "hi"}, "channel_not_found"),
        ({"channel": "C1", "blocks": [section("x")] * 51}, "invalid_blocks"),
        ({"channel": "C1", "blocks": [section("x" * 3001)]}, "invalid_blocks"),
        (
            {
                "channel": "C1",
                "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            },
            "invalid_blocks",
        ),
        ({"channel": "C1", "blocks": [{"type": "carousel"}]}, "invalid_blocks"),
        (
            {
                "channel": "C1",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [button(text={"type": "plain_text", "text": "b" * 76})],
                    }
                ],
            },
            "invalid_blocks",
        ),
        (
            {
                "channel": "C1",
                "blocks": [{"type": "actions", "elements": [button(action_id="a" * 256)]}],
            },
            "invalid_blocks",
        ),
        (
            {
                "channel": "C1",
                "blocks": [{"type": "actions", "elements": [button(value="v" * 2001)]}],
            },
            "invalid_blocks",
        ),
        (
            {
                "channel": "C1",
                "blocks": [
                    {
                        "type": "actions",
                        "elements": [button(action_id=f"a{n}") for n in range(26)],
                    }
                ],
            },
            "invalid_blocks",
        ),
    ],
)
async def test_the_fake_refuses_messages_slack_refuses(
    slack: FakeSlack, arguments: dict[str, Any], error: str
) -> None:
    client = AsyncWebClient(token=slack.token, base_url=slack.api_url)

    with pytest.raises(SlackApiError) as refused:
        await client.api_call("chat.postMessage", json=arguments)

    assert refused.value.response["error"] == error
    assert slack.all_messages == {}


async def test_the_fake_checks_the_token(slack: FakeSlack) -> None:
    answers = {}
    for name, token in [("none", None), ("wrong", "xoxb-wrong"), ("right", slack.token)]:
        client = AsyncWebClient(token=token, base_url=slack.api_url)
        try:
            answers[name] = (await client.auth_test())["ok"]
        except SlackApiError as error:
            answers[name] = error.response["error"]

    assert answers == {"none": "not_authed", "wrong": "invalid_auth", "right": True}


async def test_the_fake_speaks_the_other_methods(slack: FakeSlack) -> None:
    slack.add_user("U1", is_admin=True)
    slack.add_user("U2")
    slack.add_channel("G1", private=True, member=False)
    client = AsyncWebClient(token=slack.token, base_url=slack.api_url)

    posted = await client.api_call(  # a form body, as older clients send
        "chat.postMessage", data={"channel": "C1", "text": "first", "blocks": "[]"}
    )
    await client.chat_update(channel="C1", ts=posted["ts"], text="edited")
    await client.chat_postEphemeral(channel="C1", user="U2", text="only you")
    admin = (await client.users_info(user="U1"))["user"]
    member = (await client.users_info(user="U2"))["user"]
    home = [section(f"row {n}") for n in range(100)]
    await client.views_publish(user_id="U2", view={"type": "home", "blocks": home})
    refusals = {}
    for name, call in {
        "hidden private channel": client.conversations_info(channel="G1"),
        "join private": client.conversations_join(channel="G1"),
        "update unknown ts": client.chat_update(channel="C1", ts="1.000009", text="x"),
        "home too long": client.views_publish(
            user_id="U2", view={"type": "home", "blocks": [*home, section("one more")]}
        ),
        "unknown method": client.api_call("chat.fly"),
    }.items():
        try:
            await call
        except SlackApiError as error:
            refusals[name] = error.response["error"]

    assert [(m.text, m.edited) for m in slack.messages("C1")] == [("edited", True)]
    assert [(m.text, m.ephemeral_user) for m in slack.ephemeral_messages] == [("only you", "U2")]
    assert (admin["is_admin"], member["is_admin"], member["is_owner"]) == (True, False, False)
    assert len(slack.views["U2"]["blocks"]) == 100
    assert refusals == {
        "hidden private channel": "channel_not_found",
        "join private": "method_not_supported_for_channel_type",
        "update unknown ts": "message_not_found",
        "home too long": "invalid_arguments",
        "unknown method": "unknown_method",
    }
