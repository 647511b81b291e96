"""The digest hooks of an instance that may not lead: only the leader schedules digests.

The command core calls ``schedule_changed`` on whichever instance took the command (a Slack
command or a Telegram webhook may reach any of them). A follower leaves it to the leader, which
re-reads the schedules every ``SYNC_SECONDS``; ``digest now`` runs wherever it was asked, since
each digest period is claimed in the store and goes out once whoever sends it.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.digest.runner import RunResult
from bot.digest.scheduler import DigestScheduler
from bot.model import ChatRef

__all__ = ["SYNC_SECONDS", "LeaderDigestHooks"]

SYNC_SECONDS = 30.0


class LeaderDigestHooks:
    def __init__(self, digests: DigestScheduler, leading: Callable[[], bool]) -> None:
        self._digests = digests
        self._leading = leading

    async def schedule_changed(self) -> None:
        if self._leading():
            await self._digests.sync()

    async def send_now(self, chat_pk: int, chat: ChatRef, zone: str) -> RunResult:
        return await self._digests.send_now(chat_pk, chat, zone)
