"""A channel wrapper that waits for a chat's turn before each send or edit.

The platforms' flood limits count across every instance of the bot, so the wait is decided from
something the instances share (``SharedPacing``: the store; ``RedisPacing``: Redis). Everything
else — the bot, its readiness flags, closing — is the wrapped channel's.
"""

from __future__ import annotations

from typing import Any

from bot.chat.base import Channel
from bot.model import Alert, ChatRef

__all__ = ["PacedChannel"]


class PacedChannel:
    """Sends and edits through ``channel`` once ``_wait_turn`` returns for the alert's chat."""

    def __init__(self, channel: Channel) -> None:
        self.platform = channel.platform
        self._channel = channel

    def __getattr__(self, name: str) -> Any:  # auth_failed, bot … of the wrapped channel
        return getattr(self._channel, name)

    async def send_alert(self, alert: Alert) -> str | None:
        await self._wait_turn(alert.chat)
        return await self._channel.send_alert(alert)

    async def edit_alert(self, alert: Alert, message_id: str) -> None:
        await self._wait_turn(alert.chat)
        await self._channel.edit_alert(alert, message_id)

    async def aclose(self) -> None:
        await self._channel.aclose()

    async def _wait_turn(self, chat: ChatRef) -> None:
        raise NotImplementedError
