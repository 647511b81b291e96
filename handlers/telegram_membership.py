"""The bot's place in Telegram chats: added, removed, moved.

- Removed from a group or channel, or blocked in a private chat (``my_chat_member`` with status
  left or kicked): the chat's row is marked inactive. Its subscriptions and settings are kept;
  routing skips it, so no alert is queued for a chat that cannot receive it.
- Added back, or unblocked: active again; alerts resume with the next new story. Stories that
  broke meanwhile are not sent late.
- A group upgraded to a supergroup (a ``migrate_to_chat_id`` message in the old group,
  ``migrate_from_chat_id`` in the new one; whichever comes first moves it): the chat's row
  takes the new id, so subscriptions, settings, custom topics and queued alerts follow, and
  the chat's own topics are re-registered under it.

A chat the bot never stored (it joined, nobody subscribed yet) has nothing to change.
"""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import ChatMember, ChatMemberRestricted
from telegram.constants import ChatMemberStatus

from bot.model import ChatRef
from bot.store import chats as chat_store
from bot.topics import TopicRegistry

__all__ = ["ChatMembership", "is_present"]

log = logging.getLogger(__name__)

PRESENT = frozenset(
    {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER}
)


def is_present(member: ChatMember) -> bool:
    """Whether this membership lets the bot post: left and kicked do not."""
    if member.status in PRESENT:
        return True
    return isinstance(member, ChatMemberRestricted) and member.is_member


class ChatMembership:
    def __init__(self, engine: AsyncEngine, topics: TopicRegistry) -> None:
        self._engine = engine
        self._topics = topics

    async def set_present(self, chat: ChatRef, present: bool) -> None:
        async with self._engine.begin() as conn:
            row = await chat_store.get_chat(conn, chat)
            if row is not None and row.active != present:
                await chat_store.set_chat_flags(conn, row.id, active=present)
        if present:
            log.info("Telegram chat %s has the bot (again): alerts go there", chat)
        else:
            log.info("Telegram chat %s removed or blocked the bot: alerts stop there", chat)

    async def migrate(self, old: ChatRef, new: ChatRef) -> None:
        async with self._engine.begin() as conn:
            moved = await chat_store.migrate_chat(conn, old, new)
        if not moved:
            return
        for topic in [topic for topic in self._topics.values() if topic.chat == old]:
            self._topics.remove(topic.id)
            self._topics.add(dataclasses.replace(topic, chat=new))
        log.info("Telegram group %s is now supergroup %s; its subscriptions moved", old, new)
