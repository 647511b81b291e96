"""The App Home tab: what a user gets in their DM with Wirewatch, and what the channels get.

Contract, in order:

1. Read when the user opens the Home tab, straight from the store, so the tab is never stale.
2. "Your direct messages": the subscriptions of the user's DM with the bot (the channel of the
   ``app_home_opened`` event), with delivery mode and any mute; a line when alerts are paused.
3. "Channels": every Slack channel that receives alerts (active, not paused, at least one
   subscription), each as a channel mention ``<#C…>`` so Slack names it for the reader — a
   private channel's name only for its members — followed by its topics.
4. Slack's limits hold: at most 100 blocks (past that a last line counts the channels left out)
   and 3000 characters a section. Every name is mrkdwn-escaped; a channel id that is not one
   is shown as text, never as a mention.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery.render_slack import escape_mrkdwn, shorten_escaped
from bot.model import ChatRef, Platform
from bot.store import chats as chat_store
from bot.topics import TopicRegistry
from handlers.slack_reply import section

__all__ = ["HOME_BLOCK_LIMIT", "HomeSubscription", "SlackHome", "render_home"]

HOME_BLOCK_LIMIT = 100  # Slack: blocks in a Home tab view
SECTION_LIMIT = 3000
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{1,30}")
INTRO = (
    "Short alerts with source links when news on your topics breaks.\n"
    "Type `/wirewatch help` anywhere. `/wirewatch subscribe TOPIC` in a channel sends that"
    " channel alerts; in your DM with Wirewatch, only you get them."
)
NO_DM_SUBSCRIPTIONS = (
    "None yet. Send `/wirewatch topics` and `/wirewatch subscribe TOPIC` in the Messages tab."
)
NO_CHANNELS = "No channel gets alerts yet. Invite Wirewatch to one and subscribe it to a topic."

Block = dict[str, Any]


@dataclass(frozen=True, slots=True)
class HomeSubscription:
    name: str
    handle: str
    delivery: str
    muted_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class HomeData:
    direct: list[HomeSubscription]
    direct_paused: bool
    channels: dict[str, list[HomeSubscription]]  # channel id → its subscriptions
    now: datetime


class SlackHome:
    """Builds a user's Home view from the store."""

    def __init__(self, engine: AsyncEngine, topics: TopicRegistry) -> None:
        self._engine = engine
        self._topics = topics

    async def view(self, dm_channel_id: str | None, *, now: datetime) -> dict[str, Any]:
        return render_home(await self._load(dm_channel_id, now))

    async def _load(self, dm_channel_id: str | None, now: datetime) -> HomeData:
        direct: list[HomeSubscription] = []
        paused = False
        async with self._engine.connect() as conn:
            dm = None
            if dm_channel_id:
                dm = await chat_store.get_chat(conn, ChatRef(Platform.SLACK, dm_channel_id))
            if dm is not None:
                paused = dm.paused
                for row in await chat_store.list_subscriptions(conn, dm.id):
                    direct.append(self._subscription(row.topic_id, row.delivery, row.muted_until))
            by_topic = await chat_store.subscribers_by_topic(conn, list(self._topics))
        channels: dict[str, list[HomeSubscription]] = defaultdict(list)
        for topic_id, subscribers in by_topic.items():
            for subscriber in subscribers:
                chat = subscriber.chat
                if chat.platform is Platform.SLACK and not _is_direct_message(chat.chat_id):
                    channels[chat.chat_id].append(
                        self._subscription(topic_id, subscriber.delivery, None)
                    )
        for subscriptions in channels.values():
            subscriptions.sort(key=lambda subscription: subscription.name.lower())
        return HomeData(direct, paused, dict(sorted(channels.items())), now)

    def _subscription(
        self, topic_id: str, delivery: str, muted_until: datetime | None
    ) -> HomeSubscription:
        topic = self._topics.get(topic_id)
        if topic is None:
            return HomeSubscription(topic_id, topic_id, str(delivery), muted_until)
        return HomeSubscription(topic.name, self._topics.handle(topic), str(delivery), muted_until)


def render_home(data: HomeData) -> dict[str, Any]:
    blocks: list[Block] = [
        _header("Wirewatch"),
        section(INTRO),
        {"type": "divider"},
        _header("Your direct messages"),
        section(_direct_text(data)),
        _header("Channels"),
    ]
    if not data.channels:
        blocks.append(section(NO_CHANNELS))
        return {"type": "home", "blocks": blocks}
    room = HOME_BLOCK_LIMIT - len(blocks)
    shown = list(data.channels.items())
    if len(shown) > room:
        shown = shown[: room - 1]
    for channel_id, subscriptions in shown:
        lines = [_channel_mention(channel_id)]
        lines += [_subscription_line(subscription, data.now) for subscription in subscriptions]
        blocks.append(section(_joined(lines)))
    left_out = len(data.channels) - len(shown)
    if left_out:
        text = f"…and {left_out} more channels. Send `/wirewatch list` in a channel to see its."
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    return {"type": "home", "blocks": blocks}


def _direct_text(data: HomeData) -> str:
    if not data.direct:
        return NO_DM_SUBSCRIPTIONS
    lines = [_subscription_line(subscription, data.now) for subscription in data.direct]
    if data.direct_paused:
        lines.append("Alerts are paused: send `/wirewatch resume` to get them again.")
    return _joined(lines)


def _subscription_line(subscription: HomeSubscription, now: datetime) -> str:
    name = shorten_escaped(subscription.name, 200)
    handle = shorten_escaped(subscription.handle, 100)
    details = escape_mrkdwn(subscription.delivery)
    if subscription.muted_until is not None and subscription.muted_until > now:
        details += f", muted until {subscription.muted_until:%Y-%m-%d %H:%M} UTC"
    return f"• {name} (`{handle}`) — {details}"


def _channel_mention(channel_id: str) -> str:
    if CHANNEL_ID.fullmatch(channel_id):
        return f"<#{channel_id}>"
    return escape_mrkdwn(channel_id)


def _is_direct_message(channel_id: str) -> bool:
    return channel_id.startswith("D")


def _joined(lines: list[str]) -> str:
    """Lines (already escaped) joined, the last ones replaced by "…" past the section limit."""
    kept: list[str] = []
    used = 0
    for line in lines:
        size = len(line.encode("utf-16-le")) // 2 + 1
        if used + size > SECTION_LIMIT - 2:
            kept.append("…")
            break
        kept.append(line)
        used += size
    return "\n".join(kept)


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}
