"""Per-chat pacing shared by every instance on one database.

The outbox already hands out only a chat's oldest unsent alert, and a claimed alert is locked
(``FOR UPDATE SKIP LOCKED``) until its sender marks it: across all instances a chat has at most
one alert on the wire. What that does not give is the gap *between* two alerts: the next one may
be claimed by another instance the moment the first is marked sent, and that instance's own pacer
(``ChatPacer`` in ``bot/chat/telegram.py``, ``ChannelPacer`` in ``bot/chat/slack.py``) never saw the
first. So before each send, ``SharedPacing`` reads when the chat's last alert was marked sent —
by whichever instance — and waits out the rest of the platform's per-chat interval. The mark is
written after the send returns, so the gap runs from the end of one request to the start of the
next, as the local pacers measure it. It wraps a channel only when the store is shared
(PostgreSQL); the per-bot limits (Telegram's 30 messages a second) stay per instance, and a
platform's 429 is honoured through the outbox, which all instances share.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat.base import Channel
from bot.clock import utcnow
from bot.delivery.paced import PacedChannel
from bot.model import ChatRef, Platform
from bot.store.tables import alerts, chats

__all__ = ["SharedPacing", "chat_interval", "paced_for_replicas"]

# Seconds between two messages to one chat: Telegram ~1 s a chat, 20 a minute in a group or
# channel (negative ids and @names); Slack about one a second per channel.
TELEGRAM_CHAT, TELEGRAM_GROUP, SLACK_CHANNEL = 1.0, 3.0, 1.0


def chat_interval(chat: ChatRef) -> float:
    if chat.platform is Platform.TELEGRAM:
        is_group = chat.chat_id.startswith(("-", "@"))
        return TELEGRAM_GROUP if is_group else TELEGRAM_CHAT
    if chat.platform is Platform.SLACK:
        return SLACK_CHANNEL
    return 0.0


class SharedPacing(PacedChannel):
    """A channel that first waits until the chat's shared per-chat interval has passed."""

    def __init__(
        self,
        channel: Channel,
        engine: AsyncEngine,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(channel)
        self._engine = engine
        self._clock = clock

    async def _wait_turn(self, chat: ChatRef) -> None:
        interval = chat_interval(chat)
        if interval <= 0:
            return
        last = await self._last_sent(chat)
        if last is None:
            return
        wait = interval - (self._clock() - last).total_seconds()
        if wait > 0:
            await asyncio.sleep(min(wait, interval))

    async def _last_sent(self, chat: ChatRef) -> datetime | None:
        """When the chat's newest sent alert was marked sent (alerts go out in id order)."""
        query = (
            select(alerts.c.sent_at)
            .join(chats, chats.c.id == alerts.c.chat_id)
            .where(
                chats.c.platform == str(chat.platform),
                chats.c.chat_id == chat.chat_id,
                alerts.c.status == "sent",
            )
            .order_by(alerts.c.id.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            sent_at: datetime | None = (await conn.execute(query)).scalar_one_or_none()
        return sent_at


def paced_for_replicas(
    channels: Mapping[Platform, Channel], engine: AsyncEngine
) -> dict[Platform, Channel]:
    """The channels for the deliverer: paced through the store when other instances share it."""
    if engine.dialect.name != "postgresql":
        return dict(channels)
    return {platform: SharedPacing(channel, engine) for platform, channel in channels.items()}
