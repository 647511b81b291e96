"""Flood limits shared by every replica through Redis: the bot's overall rate and each chat's gap.

Telegram lets a bot send about 30 messages a second in all, whichever replica sends them; each
replica's own limiter (``AIORateLimiter``) sees only its own share, so three replicas could send
90. With ``redis_url`` set, every send first reserves a slot: one Lua script, run atomically by
the Redis server on the server's clock, takes the latest of now, the bot's next free slot and
the chat's next free slot, and moves both on by their intervals (GCRA-style virtual scheduling:
nothing to refill, no race between replicas, no clock skew between hosts). The sender then
sleeps until its slot. A reservation a crashed replica never used only costs one interval.

Intervals: Telegram 1/30 s for the bot, then ``chat_interval`` per chat (1 s, 3 s in a group or
channel); Slack has no bot-wide limit here, 1 s per channel. Should Redis fail, the send goes
ahead paced by the replica alone — a 429 that might follow is honoured through the outbox — and
the failure is logged once a minute, so delivery never stops for the pacer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from bot.chat.base import Channel
from bot.delivery.paced import PacedChannel
from bot.delivery.shared_pacing import chat_interval
from bot.model import ChatRef, Platform

__all__ = ["BOT_INTERVAL", "RedisPacing", "connect", "paced_through_redis"]

log = logging.getLogger(__name__)

# Seconds between two messages of one bot, across all its chats.
BOT_INTERVAL = {Platform.TELEGRAM: 1 / 30}
KEY_PREFIX = "wirewatch:pace:"
WARN_EVERY = 60.0  # seconds between two warnings that Redis cannot be reached
CONNECTIONS = 32  # a send waits for a free one (up to CONNECTION_WAIT s) rather than failing
CONNECTION_WAIT = 5.0
ANSWER_WAIT = 2.0  # seconds for Redis to connect or answer before a send goes ahead without it

# KEYS: the slots to take (bot, chat); ARGV: each key's interval in microseconds, in KEYS order.
# Returns how many microseconds the caller must wait for its slot.
_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local slot = now
for _, key in ipairs(KEYS) do
  local free = tonumber(redis.call('GET', key) or '0')
  if free > slot then slot = free end
end
for index, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[index])
  local expire_ms = math.floor((slot - now + interval) / 1000) + 1000
  redis.call('SET', key, string.format('%.0f', slot + interval), 'PX', expire_ms)
end
return slot - now
"""


class RedisPacing(PacedChannel):
    """A channel that first waits for its slot under the limits all replicas share."""

    def __init__(self, channel: Channel, redis: Redis, *, prefix: str = KEY_PREFIX) -> None:
        super().__init__(channel)
        self._reserve = redis.register_script(_RESERVE)
        self._prefix = prefix
        self._warned_at = -WARN_EVERY

    async def _wait_turn(self, chat: ChatRef) -> None:
        keys: list[str] = []
        intervals: list[int] = []
        for key, seconds in self._limits(chat):
            if seconds > 0:
                keys.append(key)
                intervals.append(round(seconds * 1_000_000))
        if not keys:
            return
        try:
            wait = int(await self._reserve(keys=keys, args=intervals))
        except (RedisError, OSError) as error:
            self._warn(error)
            return
        if wait > 0:
            await asyncio.sleep(wait / 1_000_000)

    def _limits(self, chat: ChatRef) -> list[tuple[str, float]]:
        platform = str(chat.platform)
        return [
            (f"{self._prefix}{platform}", BOT_INTERVAL.get(chat.platform, 0.0)),
            (f"{self._prefix}{platform}:{chat.chat_id}", chat_interval(chat)),
        ]

    def _warn(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            log.warning(
                "Redis cannot pace sends across replicas (%s); this replica paces alone",
                str(error) or type(error).__name__,
            )


def connect(url: str) -> Redis:
    """A client for ``url`` whose callers queue for a connection (a fan-out to thousands of chats
    would otherwise run out of them), and give up on a Redis that does not answer."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=CONNECTIONS,
        timeout=CONNECTION_WAIT,
        socket_connect_timeout=ANSWER_WAIT,
        socket_timeout=ANSWER_WAIT,
    )
    return Redis.from_pool(pool)


def paced_through_redis(
    channels: Mapping[Platform, Channel], redis: Redis
) -> dict[Platform, Channel]:
    """The channels for the deliverer, each send paced through Redis for every replica."""
    return {platform: RedisPacing(channel, redis) for platform, channel in channels.items()}
