"""Who is asking, on Telegram: the command core's ``Caller`` for a message or a button press.

The rules, in the order they are checked:

- A private chat is the user's own: ``ChatKind.PRIVATE``.
- A group or supergroup is ``ChatKind.GROUP``; whether the sender administers it is asked of
  Telegram (``getChatMember``: creator or administrator) only when a command needs to know. An
  anonymous administrator writes as the group itself (``sender_chat`` is the chat): that is an
  administrator. Someone writing as another chat (their channel, a linked channel) is not.
- A post in a channel is ``ChatKind.CHANNEL``: only a channel's administrators can post there.
- A button press is judged like a message from the user who pressed it, in the alert's chat.
- Operators are the ``chat.operators`` entries ``telegram:<user id>``.
- A channel can be managed from a private chat by naming it last, ``/subscribe TOPIC @channel``
  (or its numeric id, ``-100…``): the command then runs for the channel, but only when both the
  user and the bot administer it (``getChatMember`` for each). Otherwise the user is told why.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from telegram import Bot, CallbackQuery, Chat, ChatFullInfo, ChatMember, Message, User
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.model import ChatRef, Platform
from handlers.permissions import Caller, ChatKind

__all__ = ["CHANNEL_COMMANDS", "TelegramCallers", "split_channel_target", "telegram_chat"]

log = logging.getLogger(__name__)

# Commands a user may aim at a channel from their private chat.
CHANNEL_COMMANDS = frozenset(
    {"subscribe", "unsubscribe", "mute", "unmute", "list", "pause", "resume"}
)
ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
# @username (5–32 characters) or a channel's numeric id, which always starts with -100.
_CHANNEL_TARGET = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}|-100[0-9]{1,16}")


def telegram_chat(chat_id: int) -> ChatRef:
    return ChatRef(Platform.TELEGRAM, str(chat_id))


def split_channel_target(rest: str) -> tuple[str, str | None]:
    """``"peace-talks @news"`` → ``("peace-talks", "@news")``; no target → ``(rest, None)``."""
    words = rest.split()
    if words and _CHANNEL_TARGET.fullmatch(words[-1]):
        return " ".join(words[:-1]), words[-1]
    return rest, None


@dataclass(frozen=True, slots=True)
class ChannelRefusal:
    """Why a command cannot run for the channel the user named; said to the user as is."""

    text: str


class TelegramCallers:
    """Builds callers; ``bot`` answers the ``getChat`` and ``getChatMember`` questions."""

    def __init__(self, bot: Bot, operators: Iterable[str] = ()) -> None:
        self._bot = bot
        self._operators = frozenset(operators)

    def for_message(self, message: Message) -> Caller:
        chat = message.chat
        user = message.from_user
        user_id = str(user.id) if user is not None else ""
        if chat.type == ChatType.PRIVATE:
            return self._caller(chat, user_id, ChatKind.PRIVATE, _yes)
        if chat.type == ChatType.CHANNEL:
            return self._caller(chat, user_id, ChatKind.CHANNEL, _yes)
        sender_chat = message.sender_chat
        if sender_chat is not None:
            # Anonymous administrators post as the group; anyone else posting as a chat is not
            # a member we can ask about.
            return self._caller(
                chat, user_id, ChatKind.GROUP, _yes if sender_chat.id == chat.id else _no
            )
        if user is None:
            return self._caller(chat, user_id, ChatKind.GROUP, _no)
        return self._caller(chat, user_id, ChatKind.GROUP, self._admin_check(chat.id, user.id))

    def for_button(self, query: CallbackQuery) -> Caller | None:
        """The presser in the chat of the alert; None when Telegram did not say which chat."""
        if query.message is None:
            return None
        chat = query.message.chat
        user_id = query.from_user.id
        if chat.type == ChatType.PRIVATE:
            return self._caller(chat, str(user_id), ChatKind.PRIVATE, _yes)
        kind = ChatKind.CHANNEL if chat.type == ChatType.CHANNEL else ChatKind.GROUP
        return self._caller(chat, str(user_id), kind, self._admin_check(chat.id, user_id))

    async def for_channel(self, user: User, target: str) -> Caller | ChannelRefusal:
        """The user acting for the channel ``target`` (``@name`` or ``-100…``), if allowed."""
        chat_id: int | str = int(target) if target.lstrip("-").isdigit() else target
        try:
            channel = await self._bot.get_chat(chat_id)
        except (BadRequest, Forbidden):
            return ChannelRefusal(
                f"I cannot see {target}. Add me to the channel as an administrator, then try again."
            )
        except TelegramError as error:
            log.warning("cannot look up Telegram channel %s: %s", target, error.message)
            return ChannelRefusal(
                "Telegram did not answer in time; nothing was changed. Try again."
            )
        if channel.type != ChatType.CHANNEL:
            return ChannelRefusal(
                f"{target} is not a channel. Send the command in that chat instead."
            )
        name = channel.title or target
        try:
            user_member = await self._bot.get_chat_member(channel.id, user.id)
            bot_member = await self._bot.get_chat_member(channel.id, self._bot.id)
        except TelegramError as error:
            log.warning("cannot check the administrators of %s: %s", target, error.message)
            return ChannelRefusal(
                f"I cannot check who administers {name}. Make me an administrator there first."
            )
        if user_member.status not in ADMIN_STATUSES:
            return ChannelRefusal(f"Only administrators of {name} can change its alerts.")
        if not _can_post(bot_member):
            return ChannelRefusal(
                f"Make me an administrator of {name} who can post messages, then try again."
            )
        return self._caller(channel, str(user.id), ChatKind.CHANNEL, _yes)

    def _caller(
        self,
        chat: Chat | ChatFullInfo,
        user_id: str,
        kind: ChatKind,
        is_admin: Callable[[], Awaitable[bool]],
    ) -> Caller:
        return Caller(
            chat=telegram_chat(chat.id),
            user_id=user_id,
            kind=kind,
            chat_title=chat.effective_name,
            is_admin=is_admin,
            is_operator=bool(user_id) and f"telegram:{user_id}" in self._operators,
        )

    def _admin_check(self, chat_id: int, user_id: int) -> Callable[[], Awaitable[bool]]:
        bot = self._bot

        async def is_chat_admin() -> bool:
            try:
                member = await bot.get_chat_member(chat_id, user_id)
            except TelegramError as error:
                log.warning(
                    "cannot tell whether %s administers Telegram chat %s: %s",
                    user_id,
                    chat_id,
                    error.message,
                )
                return False
            return member.status in ADMIN_STATUSES

        return is_chat_admin


def _can_post(member: ChatMember) -> bool:
    if member.status == ChatMemberStatus.OWNER:
        return True
    if member.status != ChatMemberStatus.ADMINISTRATOR:
        return False
    return getattr(member, "can_post_messages", None) is not False


async def _yes() -> bool:
    return True


async def _no() -> bool:
    return False
