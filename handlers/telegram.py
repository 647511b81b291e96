"""The Telegram binding: commands, alert buttons and membership changes, over python-telegram-bot.

Contract, in the order an update goes:

1. Transport. Long polling by default: PTB's ``Updater`` calls getUpdates (after deleting any
   webhook). With ``telegram.webhook_url`` set, setWebhook registers it with
   ``telegram.webhook_secret`` and Telegram POSTs updates to that URL's path on the bot's own HTTP
   server (``handlers/telegram_webhook.py``: secret checked, each update acted on once).
   The binding's ``Application`` has a bot of its own for receiving (getMe, getUpdates,
   setWebhook, setMyCommands); every answer (sendMessage, answerCallbackQuery, getChatMember)
   goes through the channel's bot, so replies and alerts share one connection pool and one
   rate limiter.
2. A second instance polling the same token makes Telegram answer getUpdates with 409 Conflict:
   one error line, ``polling_conflict`` True, polling carries on (``handlers/telegram_polling.py``).
   Alerts keep flowing meanwhile: delivery does not poll.
3. Commands, the handler list built at start from ``COMMANDS`` and ``/start``: ``/name args`` or
   ``/name@ThisBot args``, in a message or a channel post → ``CommandCore.handle(caller,
   "name args")`` → the reply, HTML-escaped, with its preview, without link previews
   (``handlers/telegram_reply.py``). Who the caller is and whom they may act for:
   ``handlers/telegram_caller.py``. An unknown command is answered in a private chat, or when
   addressed to this bot by name; in a group it may be another bot's.
4. Alert buttons (``mute:<topic>``, ``unsub:<topic>``) → ``mute TOPIC`` / ``unsubscribe TOPIC``
   as the user who pressed, always answered with answerCallbackQuery (a pop-up for a refusal).
5. Membership: the bot added to a group → a short welcome; removed, or blocked in a private
   chat → the chat is inactive (subscriptions kept, no alerts); back → active again. A group
   upgraded to a supergroup → the chat's row, and all that hangs on it, moves to the new id
   (``handlers/telegram_membership.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import html
import logging
import warnings
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import BaseRoute
from telegram import LinkPreviewOptions, Message, ReplyParameters, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.chat.telegram import TelegramChannel, parse_alert_callback
from bot.errors import ConfigError, DeliveryError
from bot.settings import TelegramSettings
from bot.topics import TopicRegistry
from handlers.commands import COMMANDS, CommandCore, Reply
from handlers.permissions import Caller, ChatKind
from handlers.telegram_caller import (
    CHANNEL_COMMANDS,
    ChannelRefusal,
    TelegramCallers,
    split_channel_target,
    telegram_chat,
)
from handlers.telegram_membership import ChatMembership, is_present
from handlers.telegram_polling import PollingWatch
from handlers.telegram_reply import COMMAND_NAME, WELCOME, command_menu, render_reply, shorten
from handlers.telegram_webhook import WebhookReceiver, webhook_path

__all__ = ["ALLOWED_UPDATES", "TelegramBinding"]

log = logging.getLogger(__name__)

TELEGRAM_API = "https://api.telegram.org/bot"
ALLOWED_UPDATES = ("message", "channel_post", "callback_query", "my_chat_member")
POLL_TIMEOUT = timedelta(seconds=10)  # long-poll length; stop() cancels a poll at once
STOP_GRACE_SECONDS = 3.0
MAX_REPLY_WAIT_SECONDS = 5.0  # flood control longer than this drops a reply instead of waiting
CALLBACK_ANSWER_LIMIT = 200
BUTTON_COMMANDS = {"mute": "mute", "unsub": "unsubscribe"}
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class TelegramBinding:
    """Receives Telegram updates and answers them through the command core."""

    def __init__(
        self,
        settings: TelegramSettings,
        commands: CommandCore,
        *,
        channel: TelegramChannel,
        engine: AsyncEngine,
        topics: TopicRegistry,
        operators: Iterable[str] = (),
        conflict_quiet_seconds: float = 60.0,
    ) -> None:
        if settings.bot_token is None:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
        self._token = settings.bot_token.get_secret_value()
        self._commands = commands
        self._channel = channel
        self._sender = channel.bot
        self._topics = topics
        self._callers = TelegramCallers(channel.bot, operators)
        self._membership = ChatMembership(engine, topics)
        self.polling = PollingWatch(self._scrub, quiet_seconds=conflict_quiet_seconds)
        self._webhook_url = settings.webhook_url or None
        self._webhook: WebhookReceiver | None = None
        self._secret: str | None = None
        if self._webhook_url:
            secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
            path = webhook_path(self._webhook_url, secret)
            self._secret = secret
            self._webhook = WebhookReceiver(
                path, secret, self._queue_update, accepting=lambda: self._accepting
            )
        self._accepting = False
        self._started = False
        self._handlers_added = False
        self.application: Application[Any, Any, Any, Any, Any, Any] = self._build_application(
            settings.api_base_url or TELEGRAM_API
        )

    def _build_application(self, base_url: str) -> Application[Any, Any, Any, Any, Any, Any]:
        builder = (
            ApplicationBuilder()
            .token(self._token)
            .base_url(base_url)
            .request(HTTPXRequest(connection_pool_size=4))
            .job_queue(None)
        )
        if self._webhook is not None:
            return builder.updater(None).build()
        polling = self.polling.request(connection_pool_size=1, read_timeout=10.0)
        return builder.get_updates_request(polling).build()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return [self._webhook.route] if self._webhook is not None else []

    @property
    def polling_conflict(self) -> bool:
        """True while another instance seems to poll this bot token (for a status report)."""
        return self.polling.conflict

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self._channel.initialize()  # the token, checked once with a readable error
        app = self.application
        try:
            await app.initialize()
        except InvalidToken:
            raise DeliveryError(
                "Telegram refused the bot token: check TELEGRAM_BOT_TOKEN"
            ) from None
        except TelegramError as error:
            raise DeliveryError(f"cannot reach Telegram: {self._scrub(error.message)}") from None
        self._started = True
        try:
            await self._begin_receiving()
        except BaseException:
            await self.stop()
            raise

    async def _begin_receiving(self) -> None:
        app = self.application
        self._add_handlers()
        await self._set_commands()
        if self._webhook_url is not None:
            await self._set_webhook(self._webhook_url)
        await app.start()
        if app.updater is not None:
            await app.updater.start_polling(
                timeout=POLL_TIMEOUT,
                allowed_updates=list(ALLOWED_UPDATES),
                error_callback=self.polling.on_error,
                bootstrap_retries=3,
            )
            log.info("Telegram: receiving updates for @%s by long polling", app.bot.username)
        else:
            self._accepting = True
            log.info("Telegram: receiving updates for @%s by webhook", app.bot.username)

    async def stop(self) -> None:
        self._accepting = False
        if not self._started:
            return
        self._started = False
        app = self.application
        try:
            if app.updater is not None and app.updater.running:
                await asyncio.wait_for(app.updater.stop(), STOP_GRACE_SECONDS)
            if app.running:
                await asyncio.wait_for(app.stop(), STOP_GRACE_SECONDS)
        except TimeoutError:
            log.warning("Telegram: updates still being handled were abandoned at shutdown")
        try:
            await app.shutdown()
        except RuntimeError as error:  # still running after a timed-out stop
            log.warning("Telegram: could not shut down cleanly: %s", error)

    def _add_handlers(self) -> None:
        """The handler list, from the command table as it is now (other modules may add to it)."""
        if self._handlers_added:
            return
        self._handlers_added = True
        names = ["start", *(name for name in COMMANDS if COMMAND_NAME.fullmatch(name))]
        posted = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
        self.application.add_handlers(
            [
                CommandHandler(names, self._on_command, filters=posted),
                MessageHandler(filters.COMMAND & posted, self._on_other_command),
                MessageHandler(filters.StatusUpdate.MIGRATE, self._on_migration),
                CallbackQueryHandler(self._on_button),
                ChatMemberHandler(self._on_membership, ChatMemberHandler.MY_CHAT_MEMBER),
            ]
        )
        self.application.add_error_handler(self._on_error)

    async def _set_commands(self) -> None:
        try:
            await self.application.bot.set_my_commands(command_menu(COMMANDS))
        except TelegramError as error:  # the menu is a convenience: the commands work without
            log.warning("Telegram: could not set the command menu: %s", self._scrub(error.message))

    async def _set_webhook(self, url: str) -> None:
        try:
            await self.application.bot.set_webhook(
                url, secret_token=self._secret, allowed_updates=list(ALLOWED_UPDATES)
            )
        except TelegramError as error:
            raise ConfigError(
                f"Telegram refused the webhook {url}: {self._scrub(error.message)}"
            ) from None

    async def _queue_update(self, data: dict[str, Any]) -> None:
        """A webhook update, handed to the Application like the Updater hands polled ones."""
        try:
            update = Update.de_json(data, self.application.bot)
        except (TypeError, ValueError, KeyError) as error:  # Telegram's, yet not understood
            log.warning("Telegram: update %s could not be read: %s", data.get("update_id"), error)
            return
        await self.application.update_queue.put(update)

    # --- handlers: small (update, context) functions -----------------------------------------

    async def _on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text or not message.entities:
            return
        name, _, rest = _command_parts(message)
        reply = await self._run(self._callers.for_message(message), name, rest, message)
        await self._send_reply(message, reply)

    async def _on_other_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text or not message.entities:
            return
        name, addressee, rest = _command_parts(message)
        if addressee:
            if addressee.lower() != (self.application.bot.username or "").lower():
                return  # another bot's command
        elif message.chat.type != ChatType.PRIVATE:
            return
        reply = await self._commands.handle(self._callers.for_message(message), f"{name} {rest}")
        await self._send_reply(message, reply)

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        try:
            text, refused = await self._press(query.data or "", self._callers.for_button(query))
        except Exception:
            log.exception("Telegram button %r failed", query.data)
            text, refused = "Something went wrong on our side; nothing was changed.", True
        try:
            await self._sender.answer_callback_query(
                query.id, text=shorten(text, CALLBACK_ANSWER_LIMIT), show_alert=refused
            )
        except TelegramError as error:
            log.warning("Telegram: could not answer a button press: %s", error.message)

    async def _on_membership(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        if change is None:
            return
        present = is_present(change.new_chat_member)
        if is_present(change.old_chat_member) == present:
            return  # promoted, restricted…: still there
        await self._membership.set_present(telegram_chat(change.chat.id), present)
        if present and change.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
            await self._send(change.chat.id, html.escape(WELCOME, quote=False))

    async def _on_migration(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        if message.migrate_to_chat_id:
            old, new = message.chat.id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id:
            old, new = message.migrate_from_chat_id, message.chat.id
        else:
            return
        await self._membership.migrate(telegram_chat(old), telegram_chat(new))

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("Telegram update %s failed", update_id, exc_info=context.error)

    # --- the steps behind the handlers -------------------------------------------------------

    async def _run(self, caller: Caller, name: str, rest: str, message: Message) -> Reply:
        """Run a command; from a private chat, a trailing ``@channel`` aims it at that channel."""
        if caller.kind is ChatKind.PRIVATE and name in CHANNEL_COMMANDS and message.from_user:
            rest, target = split_channel_target(rest)
            if target is not None:
                acting = await self._callers.for_channel(message.from_user, target)
                if isinstance(acting, ChannelRefusal):
                    return Reply(acting.text, ephemeral=True)
                reply = await self._commands.handle(acting, f"{name} {rest}")
                return dataclasses.replace(reply, text=f"{acting.chat_title}: {reply.text}")
        return await self._commands.handle(caller, f"{name} {rest}")

    async def _press(self, data: str, caller: Caller | None) -> tuple[str, bool]:
        """An alert button → (what to tell the presser, whether it is a refusal)."""
        parsed = parse_alert_callback(data, self._topics.keys())
        if parsed is None or caller is None:
            return "This button no longer works.", True
        action, topic_id = parsed
        topic = self._topics.get(topic_id)
        if topic is None:
            return "That topic no longer exists.", True
        reply = await self._commands.handle(
            caller, f"{BUTTON_COMMANDS[action]} {self._topics.handle(topic)}"
        )
        return reply.text, reply.ephemeral

    async def _send_reply(self, message: Message, reply: Reply) -> None:
        in_group = message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)
        for index, text in enumerate(render_reply(reply)):
            quoted = message.message_id if in_group and index == 0 else None
            if not await self._send(message.chat.id, text, reply_to=quoted):
                return

    async def _send(self, chat_id: int, text: str, *, reply_to: int | None = None) -> bool:
        """Send one HTML message; False (logged) when Telegram would not take it."""
        quote = ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None
        for attempt in (1, 2):
            try:
                await self._sender.send_message(
                    chat_id,
                    text,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                    reply_parameters=quote,
                )
                return True
            except RetryAfter as error:
                wait = _retry_seconds(error)
                if attempt == 2 or wait > MAX_REPLY_WAIT_SECONDS:
                    log.warning("Telegram flood control: a reply to %s is dropped", chat_id)
                    return False
                await asyncio.sleep(wait)
            except Forbidden as error:
                log.info("Telegram: cannot answer in %s: %s", chat_id, error.message)
                return False
            except TelegramError as error:
                log.warning("Telegram: could not answer in %s: %s", chat_id, error.message)
                return False
        return False

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "[redacted]")


def _command_parts(message: Message) -> tuple[str, str, str]:
    """``/Subscribe@WirewatchBot peace-talks`` → ("subscribe", "WirewatchBot", "peace-talks")."""
    text = message.text or ""
    length = message.entities[0].length
    name, _, addressee = text[1:length].partition("@")
    return name.lower(), addressee, text[length:].strip()


def _retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # an int today, a timedelta in PTB 23
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
