"""Who may change what.

- A private chat belongs to its user: they change everything in it.
- In a group or channel only its administrators change subscriptions and settings; reading
  (topics, list, feeds, status) is open to every member.
- Feeds are shared by every chat, so adding or removing one is for operators, and for chat
  administrators only where ``chat.allow_user_feeds`` is on.

The platform binding says who is an administrator (Telegram getChatMember, Slack users.info) through
``Caller.is_admin``, asked only when a command needs it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.model import ChatRef

__all__ = ["Caller", "ChatKind", "may_change_chat", "may_manage_feeds"]


class ChatKind(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    CHANNEL = "channel"


async def _never() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class Caller:
    """Who sent a command, from where."""

    chat: ChatRef
    user_id: str
    kind: ChatKind = ChatKind.PRIVATE
    chat_title: str | None = None
    is_admin: Callable[[], Awaitable[bool]] = _never
    is_operator: bool = False


async def may_change_chat(caller: Caller) -> bool:
    if caller.kind is ChatKind.PRIVATE or caller.is_operator:
        return True
    return await caller.is_admin()


async def may_manage_feeds(caller: Caller, *, allow_user_feeds: bool) -> bool:
    if caller.is_operator:
        return True
    return allow_user_feeds and await may_change_chat(caller)
