"""The Telegram channel: alerts sent through the Bot API with python-telegram-bot.

One ``send_alert`` goes like this:

1. ``render_alert_html`` → ``sendMessage`` with ``parse_mode=HTML``, a small preview of the article
   under the text, and two buttons, "Mute topic" (``mute:<topic>``) and "Unsubscribe"
   (``unsub:<topic>``); ``alert_callback_data`` keeps those within Telegram's 64 bytes.
2. Pacing, before the request: one message per chat per second (``ChatPacer``, here), then PTB's
   ``AIORateLimiter``: 30 messages per second for the bot, at most 5 of them at once, and 20 per
   minute per group or channel (a negative chat id). The small burst matters: a limiter counts a
   message when it lets it go, Telegram when it arrives, and network jitter bunches arrivals; sent
   evenly, they stay within Telegram's own burst allowance.
3. Telegram's answer becomes what the outbox needs:

   ======================================  ==============================================
   answer                                  outcome
   ======================================  ==============================================
   ok                                      the message id
   400 can't parse entities                resent once as plain text (``render_alert_plain``)
   400 group upgraded to a supergroup      resent once to the new chat id
   403 blocked / kicked, 400 chat not      ``DeliveryError(permanent=True)``
   found, any other 400
   429 Too Many Requests                   ``DeliveryError(retry_after=N)``, chat paused N s
   timeout, network error, 5xx, 401/404    ``DeliveryError`` (transient: backoff and retry)
   ======================================  ==============================================

Flood control is not retried in-process. A 429 raises ``DeliveryError(retry_after=…)``: the
outbox reschedules the alert durably, keeps the chat's later alerts behind it, and other chats
keep flowing; PTB's own retry (``max_retries``) is off because it halts every chat for the wait.

The bot token is part of every request URL: httpx logs request URLs (INFO) and PTB logs its API
URL (DEBUG). While a channel is open, filters on those loggers replace the token in every record
at any level, and every error text the channel produces is scrubbed too, so nothing depends on
the app's logging set-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import warnings
from collections.abc import AsyncIterator, Coroutine, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.delivery.render_telegram import article_url, render_alert_html, render_alert_plain
from bot.errors import DeliveryError
from bot.model import Alert, AlertKind, ChatRef, Platform

_T = TypeVar("_T")

__all__ = [
    "CALLBACK_DATA_MAX_BYTES",
    "ChatPacer",
    "SendLimits",
    "TelegramChannel",
    "alert_callback_data",
    "parse_alert_callback",
    "telegram_chat_id",
]

log = logging.getLogger(__name__)

CALLBACK_DATA_MAX_BYTES = 64
MUTE, UNSUBSCRIBE = "mute", "unsub"
REDACTED = "[redacted]"


@dataclass(frozen=True, slots=True)
class SendLimits:
    """How fast the channel sends: Telegram's published limits, with the defaults PTB uses."""

    overall_per_second: float = 30.0
    overall_burst: int = 5  # sent back to back at most (see the module docstring)
    group_messages: float = 20.0
    group_period: float = 60.0  # seconds: group_messages per group_period per group
    chat_interval: float = 1.0  # seconds between two messages to one chat


class TelegramChannel:
    """Sends alerts to Telegram chats; ``ChatRef.chat_id`` is the numeric id or ``@channel``."""

    platform = Platform.TELEGRAM

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        *,
        limits: SendLimits | None = None,
        timeout: float = 10.0,
        connection_pool_size: int = 64,
    ) -> None:
        """``base_url`` is ``TELEGRAM_API_BASE_URL`` (PTB appends the token); None: Telegram's."""
        limits = limits or SendLimits()
        self._token = token
        self._log_filters = _install_log_filters(token)  # first: PTB logs the URL when built
        self._request = HTTPXRequest(
            connection_pool_size=connection_pool_size,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
            pool_timeout=timeout,
        )
        self._bot = ExtBot(
            token,
            base_url=base_url or "https://api.telegram.org/bot",
            request=self._request,
            get_updates_request=self._request,
            rate_limiter=AIORateLimiter(
                overall_max_rate=limits.overall_burst,
                overall_time_period=limits.overall_burst / limits.overall_per_second,
                group_max_rate=limits.group_messages,
                group_time_period=limits.group_period,
                max_retries=0,
            ),
        )
        self._pacer = ChatPacer(limits.chat_interval)
        self._ready = False
        self._ready_lock = asyncio.Lock()

    @property
    def bot(self) -> ExtBot[int]:
        """The PTB bot, to share its connection pool and rate limits with the command handlers."""
        return self._bot

    async def initialize(self) -> None:
        """Check the token with ``getMe``; done on the first send when not called before."""
        if self._ready:
            return
        async with self._ready_lock:
            if self._ready:
                return
            try:
                await self._bot.initialize()
            except InvalidToken:
                raise DeliveryError(
                    "Telegram refused the bot token: check TELEGRAM_BOT_TOKEN"
                ) from None
            except TelegramError as error:
                raise DeliveryError(
                    f"cannot reach Telegram: {self._scrub(error.message)}"
                ) from None
            self._ready = True

    async def send_alert(self, alert: Alert) -> str | None:
        await self.initialize()
        try:
            message = await self._deliver(telegram_chat_id(alert.chat), alert)
        except TelegramError as error:
            raise self._delivery_error(error, alert.chat) from None
        return str(message.message_id)

    async def edit_alert(self, alert: Alert, message_id: str) -> None:
        await self.initialize()
        chat_id, message = telegram_chat_id(alert.chat), int(message_id)
        try:
            try:
                await self._edit(chat_id, message, render_alert_html(alert), alert, html=True)
            except BadRequest as error:
                if "can't parse entities" not in error.message.lower():
                    raise
                await self._edit(chat_id, message, render_alert_plain(alert), alert, html=False)
        except BadRequest as error:
            if "message is not modified" in error.message.lower():
                return  # it already says this
            raise self._delivery_error(error, alert.chat) from None
        except TelegramError as error:
            raise self._delivery_error(error, alert.chat) from None

    async def aclose(self) -> None:
        try:
            await self._bot.shutdown()
            await self._request.shutdown()  # also when the bot was never initialized
        finally:
            _remove_log_filters(self._log_filters)

    async def _deliver(self, chat_id: int | str, alert: Alert, *, moved: bool = False) -> Message:
        try:
            return await self._post(chat_id, render_alert_html(alert), alert, html=True)
        except BadRequest as error:
            if "can't parse entities" not in error.message.lower():
                raise
            log.warning(
                "Telegram refused the HTML of an alert to %s (%s); resending it as plain text",
                alert.chat,
                self._scrub(error.message),
            )
            return await self._post(chat_id, render_alert_plain(alert), alert, html=False)
        except ChatMigrated as migration:
            if moved:
                raise
            log.warning(
                "Telegram group %s is now supergroup %s; sending there",
                alert.chat,
                migration.new_chat_id,
            )
            return await self._deliver(migration.new_chat_id, alert, moved=True)

    async def _post(self, chat_id: int | str, text: str, alert: Alert, *, html: bool) -> Message:
        return await self._paced(
            chat_id,
            self._bot.send_message(
                chat_id=chat_id,
                text=text,
                parse_mode=ParseMode.HTML if html else None,
                link_preview_options=_link_preview(alert),
                reply_markup=_alert_buttons(alert.topic_id) if _has_buttons(alert) else None,
            ),
        )

    async def _edit(
        self, chat_id: int | str, message_id: int, text: str, alert: Alert, *, html: bool
    ) -> None:
        await self._paced(
            chat_id,
            self._bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=message_id,
                parse_mode=ParseMode.HTML if html else None,
                link_preview_options=_link_preview(alert),
                reply_markup=_alert_buttons(alert.topic_id) if _has_buttons(alert) else None,
            ),
        )

    async def _paced(self, chat_id: int | str, call: Coroutine[Any, Any, _T]) -> _T:
        """Run ``call`` in the chat's turn; a flood-control answer pauses the chat."""
        try:
            async with self._pacer.turn(str(chat_id)):
                try:
                    return await call
                except RetryAfter as error:
                    self._pacer.pause(str(chat_id), _retry_after_seconds(error))
                    raise
        finally:
            call.close()  # not awaited when the turn was cancelled: no "never awaited" warning

    def _delivery_error(self, error: TelegramError, chat: ChatRef) -> DeliveryError:
        # PTB appends an unparsable body (a proxy's HTML error page) to the reason: not for people.
        reason = self._scrub(error.message).split(". Parsing the server response")[0]
        reason = reason.removeprefix("Forbidden: ")[:300]
        if isinstance(error, RetryAfter):
            seconds = _retry_after_seconds(error)
            log.info("Telegram flood control for %s: retry after %g s", chat, seconds)
            return DeliveryError(
                f"Telegram flood control: retry after {seconds:g} s", retry_after=seconds
            )
        if isinstance(error, Forbidden):
            return DeliveryError(f"Telegram refused delivery: {reason}", chat_gone=True)
        if isinstance(error, ChatMigrated):
            return DeliveryError(
                f"Telegram group moved to supergroup {error.new_chat_id}", permanent=True
            )
        if isinstance(error, BadRequest):
            if "chat not found" in reason.lower():
                return DeliveryError(
                    "Telegram chat not found: it was deleted, or the bot was never in it",
                    chat_gone=True,
                )
            return DeliveryError(f"Telegram rejected the message: {reason}", permanent=True)
        if isinstance(error, InvalidToken):
            return DeliveryError("Telegram refused the bot token: check TELEGRAM_BOT_TOKEN")
        if isinstance(error, TimedOut):
            return DeliveryError("Telegram did not answer in time (the message may have arrived)")
        if isinstance(error, NetworkError):
            return DeliveryError(f"network error talking to Telegram: {reason}")
        return DeliveryError(f"Telegram error: {reason}")

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, REDACTED)


class ChatPacer:
    """At most one message per ``interval`` seconds to each chat.

    The gap is measured from the end of one request to the start of the next, so Telegram sees
    it whatever the other limiters and the network did in between. A 429 pauses the chat.
    """

    MAX_TRACKED = 10_000

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._next: dict[str, float] = {}

    @contextlib.asynccontextmanager
    async def turn(self, chat: str) -> AsyncIterator[None]:
        now = time.monotonic()
        start = max(now, self._next.get(chat, now))
        self._next[chat] = start + self._interval  # reserved before waiting: concurrent sends queue
        if len(self._next) > self.MAX_TRACKED:
            self._forget_idle(now)
        if start > now:
            await asyncio.sleep(start - now)
        try:
            yield
        finally:
            self._next[chat] = max(self._next.get(chat, 0.0), time.monotonic() + self._interval)

    def pause(self, chat: str, seconds: float) -> None:
        self._next[chat] = max(self._next.get(chat, 0.0), time.monotonic() + seconds)

    def _forget_idle(self, now: float) -> None:
        for chat in [chat for chat, at in self._next.items() if at <= now]:
            del self._next[chat]


def telegram_chat_id(chat: ChatRef) -> int | str:
    """Numeric ids as int (PTB's rate limiter tells groups by the sign), ``@channel`` as is."""
    try:
        return int(chat.chat_id)
    except ValueError:
        return chat.chat_id


def alert_callback_data(action: str, topic_id: str) -> str:
    """``action:topic`` when it fits Telegram's 64 bytes, else ``action#<hash of the topic>``."""
    data = f"{action}:{topic_id}"
    if len(data.encode()) <= CALLBACK_DATA_MAX_BYTES:
        return data
    return f"{action}#{_topic_digest(topic_id)}"


def parse_alert_callback(data: str, known_topic_ids: Iterable[str] = ()) -> tuple[str, str] | None:
    """(action, topic id) from an alert button's data; None when it is not one, or unknown.

    A hashed topic (``action#…``) is looked up among ``known_topic_ids``.
    """
    action, colon, topic_id = data.partition(":")
    if colon and action in (MUTE, UNSUBSCRIBE) and topic_id:
        return action, topic_id
    action, hashed, digest = data.partition("#")
    if hashed and action in (MUTE, UNSUBSCRIBE):
        for candidate in known_topic_ids:
            if _topic_digest(candidate) == digest:
                return action, candidate
    return None


def _topic_digest(topic_id: str) -> str:
    return hashlib.blake2b(topic_id.encode(), digest_size=12).hexdigest()


def _alert_buttons(topic_id: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "Mute topic", callback_data=alert_callback_data(MUTE, topic_id)
                ),
                InlineKeyboardButton(
                    "Unsubscribe", callback_data=alert_callback_data(UNSUBSCRIBE, topic_id)
                ),
            ]
        ]
    )


def _has_buttons(alert: Alert) -> bool:
    """Mute and unsubscribe belong to a topic's alerts, not to digests or notices."""
    return alert.kind == AlertKind.ALERT and bool(alert.topic_id)


def _link_preview(alert: Alert) -> LinkPreviewOptions:
    """A small preview of the article under the text; none when the alert has no web link."""
    article = article_url(alert)
    if article is None:
        return LinkPreviewOptions(is_disabled=True)
    return LinkPreviewOptions(url=article, prefer_small_media=True, show_above_text=False)


def _retry_after_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # an int today, a timedelta in PTB 23
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class _TokenFilter(logging.Filter):
    """Replaces the token in a record's message (httpx logs every request URL)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report
            return True
        if self._token in message:
            record.msg, record.args = message.replace(self._token, REDACTED), None
        return True


class _NoRetryNoise(logging.Filter):
    """With ``max_retries=0`` AIORateLimiter logs every 429 as an error with a traceback; the
    channel reports it (INFO) and the outbox retries it, so that record is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Rate limit hit after maximum of")


# httpx logs each request URL, PTB its API URL; httpcore logs hosts and ports, never the path.
_LOGGED_URL_LOGGERS = ("httpx", "telegram.Bot", "telegram.ext.ExtBot")
_RATE_LIMITER_LOGGER = "telegram.ext.AIORateLimiter"


def _install_log_filters(token: str) -> list[tuple[str, logging.Filter]]:
    installed: list[tuple[str, logging.Filter]] = [
        (name, _TokenFilter(token)) for name in _LOGGED_URL_LOGGERS
    ]
    installed.append((_RATE_LIMITER_LOGGER, _NoRetryNoise()))
    for name, log_filter in installed:
        logging.getLogger(name).addFilter(log_filter)
    return installed


def _remove_log_filters(installed: list[tuple[str, logging.Filter]]) -> None:
    for name, log_filter in installed:
        logging.getLogger(name).removeFilter(log_filter)
