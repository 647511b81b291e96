"""A strict local Telegram Bot API server, for tests that run the real python-telegram-bot.

A real HTTP server on 127.0.0.1 (random port), in a background thread with its own event loop,
so it serves async tests, sync tests and a bot running in a subprocess alike::

    with FakeTelegram() as telegram:
        telegram.add_chat(42)                                  # a private chat
        telegram.add_chat(-100123, "supergroup", title="Newsroom")
        bot = ExtBot(telegram.token, base_url=telegram.base_url)
        ...
        assert telegram.messages(42)[0].text == "…"

It speaks the wire protocol: ``GET``/``POST /bot<TOKEN>/<method>`` with a query string, a JSON
body or a form; answers ``{"ok": true, "result": …}`` or ``{"ok": false, "error_code": N,
"description": "…", "parameters": {…}}`` with Telegram's own wording. What it checks, in order:

1. the token (401 Unauthorized) and the method (404 Not Found; method names are case-insensitive);
2. injected delays and faults (``set_delay``, ``fail_next``, ``drop_next``, ``set_flakiness``);
3. the chat: unknown (400 chat not found), migrated (400 with ``migrate_to_chat_id``), or gone
   (403: blocked by the user, bot kicked);
4. the content: HTML parsed the way Telegram's tdlib parses it (``parse_html``), the text length
   after parsing in UTF-16 code units, the inline keyboard;
5. flood limits, token buckets per chat, per group and for the whole bot (``Limits``, Telegram's
   published numbers by default; ``Limits().scaled(10)`` runs ten times faster, ``Limits(None,
   None, None)`` turns them off): 429 "Too Many Requests: retry after N" with
   ``parameters.retry_after``. ``throttled`` counts every 429 answered, ``throttled_by`` by cause.

Where real Telegram is lenient, ``strict=True`` (the default) is not, because leniency there hides
a bug here: Telegram takes a bare ``&`` as text and silently ignores entities past the 100th;
strict mode answers 400 for both. ``strict=False`` behaves like Telegram.

Accepted messages are recorded per chat (``messages``); every call is logged (``calls``).
Updates are queued with ``enqueue_message`` (``sender_chat`` for an anonymous group admin),
``enqueue_channel_post``, ``enqueue_callback_query``, ``enqueue_my_chat_member``,
``migrate_chat`` or ``enqueue_update``, and handed out the way the bot asked for them:

- ``getUpdates`` long polling with offsets. While a webhook is set it answers 409, as Telegram
  does; ``set_rival_poller(True)`` plays a second bot instance polling the same token: every
  getUpdates is answered 409 Conflict and updates go to the rival (``rival_updates``).
- a webhook (``setWebhook``): each update is POSTed in order to the URL with the
  ``X-Telegram-Bot-Api-Secret-Token`` header, and again every 0.2 s until answered 2xx
  (``webhook_deliveries`` records each try). Telegram wants an https URL; the fake also takes
  http on a loopback host, so tests can receive.
To try a bot by hand: ``python -m tests.fakes.telegram --chat 42`` prints the base URL and token.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import random
import re
import socket
import string
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "FakeChat",
    "FakeTelegram",
    "Limit",
    "Limits",
    "MarkupError",
    "ParsedText",
    "SentMessage",
    "parse_html",
    "utf16_length",
]

DEFAULT_TOKEN = "123456789:AAFakeTelegramTokenForTests_0123456789"
MAX_TEXT_UTF16 = 4096
MAX_ENTITIES = 100
MAX_CALLBACK_DATA_BYTES = 64
CHAT_TYPES = ("private", "group", "supergroup", "channel")
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_RETRY_SECONDS = 0.2
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# Who a message written as a chat comes from, as Telegram fills in ``from``.
GROUP_ANONYMOUS_BOT = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
CHANNEL_BOT = {"id": 136817688, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}
TERMINATED_BY_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
WEBHOOK_IS_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
FLAKY_KINDS = ("500", "502", "drop", "429", "timeout", "drop-after")
BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def utf16_length(text: str) -> int:
    """Telegram measures text in UTF-16 code units: an emoji outside the BMP counts 2."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


# ─── HTML, as tdlib parses it (td/telegram/MessageEntity.cpp, parse_html) ───────────────────────

SUPPORTED_TAGS = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACE = " \t\r\n\v\0"
_NAME_TOKEN = set(string.ascii_letters + string.digits + ".-")


class MarkupError(ValueError):
    """Telegram's 400 for markup it cannot parse; ``description`` is its exact answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.description = f"Bad Request: can't parse entities: {reason}"


@dataclass(frozen=True, slots=True)
class ParsedText:
    """The text a reader sees, and its entities with UTF-16 offsets, as the Bot API returns them."""

    text: str
    entities: tuple[dict[str, Any], ...]


@dataclass(slots=True)
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 units of text before the tag
    text_index: int  # characters of text before the tag
    expandable: bool = False


class _HtmlParser:
    """One pass over the source, byte for byte the way tdlib's do_parse_html walks it."""

    def __init__(self, source: str, strict: bool) -> None:
        self.source = source
        self.strict = strict
        self.pos = 0
        self.out: list[str] = []
        self.units = 0
        self.open: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def at(self, pos: int) -> str:
        return self.source[pos] if pos < len(self.source) else "\0"

    def byte_offset(self, pos: int) -> int:
        return len(self.source[:pos].encode("utf-8", "surrogatepass"))

    def parse(self) -> ParsedText:
        while self.pos < len(self.source):
            char = self.source[self.pos]
            if char == "&" and self._entity(self.out):
                continue
            if char != "<":
                self._emit(char)
                self.pos += 1
            elif self.at(self.pos + 1) == "/":
                self._end_tag()
            else:
                self._start_tag()
        if self.open:
            raise MarkupError(
                f'Can\'t find end tag corresponding to start tag "{self.open[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.out), tuple(self.entities))

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.units += utf16_length(text)

    def _entity(self, sink: list[str]) -> bool:
        """Decode ``&…;`` at ``pos`` into ``sink``; False: a bare ``&`` (text, unless strict)."""
        start = self.pos
        end = start + 1
        code: int | None = None
        if self.at(end) == "#":
            end += 1
            hexadecimal = self.at(end) == "x"
            end += hexadecimal
            digits = string.hexdigits if hexadecimal else string.digits
            while self.at(end) in digits:
                end += 1
            number = self.source[start + 2 + hexadecimal : end]
            value = int(number, 16 if hexadecimal else 10) if number else 0
            code = value if 0 < value < 0x10FFFF and end - start < 10 else None
        else:
            while self.at(end) in string.ascii_letters:
                end += 1
            named = _NAMED_ENTITIES.get(self.source[start + 1 : end])
            code = ord(named) if named else None
        closed = self.at(end) == ";"
        if code is None or (self.strict and not closed):
            if self.strict:
                raise MarkupError(
                    f"Character '&' must be escaped as \"&amp;\" at byte offset "
                    f"{self.byte_offset(start)}"
                )
            return False
        if 0xD800 <= code <= 0xDFFF:
            raise MarkupError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        self.pos = end + closed
        if sink is self.out:
            self._emit(chr(code))
        else:
            sink.append(chr(code))
        return True

    def _start_tag(self) -> None:
        begin = self.pos
        self.pos += 1
        while self.at(self.pos) not in _SPACE and self.at(self.pos) != ">":
            self.pos += 1
        if self.pos >= len(self.source):
            raise MarkupError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        name = self.source[begin + 1 : self.pos].lower()
        if name not in SUPPORTED_TAGS:
            raise MarkupError(
                f'Unsupported start tag "{name}" at byte offset {self.byte_offset(begin)}'
            )
        tag = _OpenTag(name, "", self.units, len(self.out))  # out holds one character each
        while self.at(self.pos) != ">":
            self._attribute(tag, begin)
        if name == "span" and tag.argument != "spoiler":
            raise MarkupError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(begin)}'
            )
        self.pos += 1
        self.open.append(tag)

    def _attribute(self, tag: _OpenTag, begin: int) -> None:
        where = f'the tag "{tag.name}" at byte offset {self.byte_offset(begin)}'
        while self.pos < len(self.source) and self.at(self.pos) in _SPACE:
            self.pos += 1
        if self.at(self.pos) == ">":
            return
        name_start = self.pos
        while self.at(self.pos) not in _SPACE and self.at(self.pos) not in "=>":
            self.pos += 1
        attribute = self.source[name_start : self.pos]
        if not attribute:
            raise MarkupError(f"Empty attribute name in {where}")
        while self.pos < len(self.source) and self.at(self.pos) in _SPACE:
            self.pos += 1
        if self.at(self.pos) != "=":
            if tag.name == "blockquote" and attribute == "expandable":
                tag.expandable = True
                return
            raise MarkupError(f"Expected equal sign in declaration of an attribute of {where}")
        self.pos += 1
        while self.pos < len(self.source) and self.at(self.pos) in _SPACE:
            self.pos += 1
        if self.pos >= len(self.source):
            raise MarkupError(f"Unclosed start tag {where.removeprefix('the tag ')}")
        value = self._attribute_value()
        if self.pos >= len(self.source):
            raise MarkupError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        if tag.name == "a" and attribute == "href":
            tag.argument = value
        elif tag.name == "code" and attribute == "class" and value.startswith("language-"):
            tag.argument = value.removeprefix("language-")
        elif tag.name == "span" and attribute == "class" and value.startswith("tg-"):
            tag.argument = value.removeprefix("tg-")

    def _attribute_value(self) -> str:
        quote = self.at(self.pos)
        if quote not in "'\"":
            start = self.pos
            while self.at(self.pos) in _NAME_TOKEN:
                self.pos += 1
            if self.at(self.pos) not in _SPACE and self.at(self.pos) != ">":
                raise MarkupError(
                    f"Unexpected end of name token at byte offset {self.byte_offset(start)}"
                )
            return self.source[start : self.pos].lower()
        self.pos += 1
        value: list[str] = []
        while self.pos < len(self.source) and self.at(self.pos) != quote:
            if self.at(self.pos) == "&" and self._entity(value):
                continue
            value.append(self.at(self.pos))
            self.pos += 1
        if self.at(self.pos) == quote:
            self.pos += 1
        return "".join(value)

    def _end_tag(self) -> None:
        begin = self.pos
        if not self.open:
            raise MarkupError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        self.pos += 2
        while self.at(self.pos) not in _SPACE and self.at(self.pos) != ">":
            self.pos += 1
        end_name = self.source[begin + 2 : self.pos]
        while self.pos < len(self.source) and self.at(self.pos) in _SPACE:
            self.pos += 1
        if self.at(self.pos) != ">":
            raise MarkupError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        self.pos += 1
        tag = self.open.pop()
        if end_name and end_name != tag.name:
            raise MarkupError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{tag.name}>", found "</{end_name}>"'
            )
        if self.units > tag.offset:
            self._close(tag)

    def _close(self, tag: _OpenTag) -> None:
        entity: dict[str, Any] = {
            "type": SUPPORTED_TAGS[tag.name],
            "offset": tag.offset,
            "length": self.units - tag.offset,
        }
        if tag.name == "a":
            url = tag.argument or "".join(self.out)[tag.text_index :]
            if not _linkable(url):
                return  # tdlib drops a link it cannot use and keeps the text
            entity["url"] = url
        elif tag.name == "blockquote" and tag.expandable:
            entity["type"] = "expandable_blockquote"
        # <pre><code class="language-x">…</code></pre>, either way round, is one pre with a language
        last = self.entities[-1] if self.entities else {}
        same_span = (last.get("offset"), last.get("length")) == (entity["offset"], entity["length"])
        if same_span and tag.name == "pre" and last["type"] == "code" and last.get("_language"):
            self.entities[-1] = {**entity, "language": last["_language"]}
        elif same_span and tag.name == "code" and last["type"] == "pre" and tag.argument:
            last["language"] = tag.argument
        else:
            if tag.name == "code" and tag.argument:
                entity["_language"] = tag.argument  # only kept if a <pre> closes around it
            self.entities.append(entity)


def _linkable(url: str) -> bool:
    """tdlib keeps http(s), tg and ton links (no scheme means http) and drops the rest."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return False
    return bool(url) and scheme in ("", "http", "https", "tg", "ton")


def parse_html(source: str, *, strict: bool = True) -> ParsedText:
    """Parse Telegram HTML like the Bot API does, or raise ``MarkupError`` with its wording.

    ``strict`` also refuses a bare ``&`` (or an entity without ``;``) and more than 100 entities,
    which Telegram lets through (as text, and ignored, respectively).
    """
    parsed = _HtmlParser(source, strict).parse()
    entities = tuple({k: v for k, v in e.items() if not k.startswith("_")} for e in parsed.entities)
    if len(entities) > MAX_ENTITIES:
        if strict:
            raise MarkupError(f"Too many entities: {len(entities)} (at most {MAX_ENTITIES})")
        entities = entities[:MAX_ENTITIES]
    return ParsedText(parsed.text, entities)


# ─── Flood limits ────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True, slots=True)
class Limit:
    """``count`` messages per ``period`` seconds, bursts up to ``burst`` (default ``count``)."""

    count: float
    period: float
    burst: float | None = None

    @property
    def capacity(self) -> float:
        return self.burst if self.burst is not None else self.count


@dataclass(frozen=True, slots=True)
class Limits:
    """Telegram's published limits; ``None`` turns one off. ``scaled(10)`` runs time 10× faster."""

    per_chat: Limit | None = Limit(1, 1.0, burst=3)
    per_group: Limit | None = Limit(20, 60.0)
    overall: Limit | None = Limit(30, 1.0)

    def scaled(self, factor: float) -> Limits:
        def faster(limit: Limit | None) -> Limit | None:
            return replace(limit, period=limit.period / factor) if limit else None

        return Limits(faster(self.per_chat), faster(self.per_group), faster(self.overall))


class _Bucket:
    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.tokens = limit.capacity
        self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until one message may pass (0: now)."""
        rate = self.limit.count / self.limit.period
        self.tokens = min(self.limit.capacity, self.tokens + (now - self.updated) * rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / rate

    def take(self) -> None:
        self.tokens -= 1


# ─── Recorded state ──────────────────────────────────────────────────────────────────────────────


@dataclass(slots=True)
class FakeChat:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    gone: str | None = None  # the 403 description once the bot was blocked or removed
    migrated_to: int | None = None
    next_message_id: int = 1

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.first_name or f"User {self.id}"
        else:
            data["title"] = self.title or f"Chat {self.id}"
        if self.username:
            data["username"] = self.username
        return data


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent, as the chat shows it (``text`` after entity parsing)."""

    chat_id: int
    message_id: int
    text: str
    entities: tuple[dict[str, Any], ...]
    source: str  # the ``text`` parameter as sent
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    link_preview_options: dict[str, Any] | None
    disable_web_page_preview: bool | None
    date: int
    edits: int = 0

    @property
    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass(frozen=True, slots=True)
class ApiCall:
    method: str
    params: dict[str, Any]
    status: int
    description: str | None
    at: float  # time.monotonic() when the request arrived


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        description: str,
        parameters: dict[str, Any] | None = None,
        *,
        scope: str = "injected",  # for a 429: which flood limit answered it
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters
        self.scope = scope


class _Drop(Exception):
    """Close the connection without an answer."""


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


# ─── The server ──────────────────────────────────────────────────────────────────────────────────


class FakeTelegram:
    """The fake Bot API. Use as a context manager, or ``start()`` / ``stop()``."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        limits: Limits | None = None,
        strict: bool = True,
        bot_username: str = "wirewatch_test_bot",
        seed: int = 0,
    ) -> None:
        self.token = token
        self._limits = limits if limits is not None else Limits()
        self.strict = strict
        self.bot_user = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Wirewatch",
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.throttled = 0  # 429 answers given
        self.throttled_by: Counter[str] = Counter()  # … by cause: chat, group, overall, injected
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._chats: dict[int, FakeChat] = {}
        self._messages: dict[int, list[SentMessage]] = defaultdict(list)
        self._calls: list[ApiCall] = []
        self._members: dict[tuple[int, int], str] = {}
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._faults: dict[str, list[_ApiError | _Drop]] = defaultdict(list)
        self._delays: dict[str, float] = {}
        self._flaky: tuple[float, tuple[str, ...], frozenset[str] | None] = (0.0, (), None)
        self._stall_seconds = 5.0
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._query_ids = itertools.count(4_000_001)
        self._closing = False
        self._callback_queries: dict[str, bool] = {}  # id → answered
        self._poll_waiters: set[asyncio.Future[None]] = set()
        self._poll_generation = 0
        self._webhook: tuple[str, str | None] | None = None  # (url, secret token)
        self._webhook_error: tuple[int, str] | None = None  # (unix time, what went wrong)
        self._push_wakeup = asyncio.Event()
        self._pusher: asyncio.Task[None] | None = None
        self._client: aiohttp.ClientSession | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status; 0: none)
        self._rival_polling = False
        self.rival_updates: list[dict[str, Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._handlers = {
            name.lower(): getattr(self, f"_api_{name}")
            for name in (
                "getMe",
                "getChat",
                "getChatMember",
                "sendMessage",
                "editMessageText",
                "sendChatAction",
                "answerCallbackQuery",
                "setMyCommands",
                "getMyCommands",
                "deleteMyCommands",
                "setWebhook",
                "deleteWebhook",
                "getWebhookInfo",
                "getUpdates",
            )
        }

    # ─── lifecycle ───────────────────────────────────────────────────────────────────────────

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Self:
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve())
            except BaseException as error:  # surface a failed start in the caller's thread
                failure.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-telegram", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    async def _serve(self) -> None:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._client = aiohttp.ClientSession()
        self._pusher = asyncio.create_task(self._push_updates())

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

    async def _shutdown(self) -> None:
        self._closing = True
        self._wake_pollers()
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def limits(self) -> Limits:
        return self._limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        """New flood limits, from a clean slate (every bucket full)."""
        with self._lock:
            self._limits = limits
            self._buckets.clear()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """What ``TELEGRAM_API_BASE_URL`` should be: the client appends the token."""
        return f"http://127.0.0.1:{self._port}/bot"

    def url(self, method: str) -> str:
        return f"{self.base_url}{self.token}/{method}"

    # ─── arranging chats, users and faults ───────────────────────────────────────────────────

    def add_chat(
        self,
        chat_id: int,
        type: str = "private",
        *,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
    ) -> FakeChat:
        if type not in CHAT_TYPES:
            raise ValueError(f"chat type must be one of {CHAT_TYPES}")
        if (type == "private") != (chat_id > 0):
            raise ValueError("private chats have positive ids, groups and channels negative ones")
        chat = FakeChat(chat_id, type, title, username, first_name)
        with self._lock:
            self._chats[chat_id] = chat
        return chat

    def chat(self, chat_id: int) -> FakeChat:
        with self._lock:
            return self._chats[chat_id]

    def block_bot(self, chat_id: int, *, notify: bool = False) -> None:
        """The user blocked the bot (private chat), or the bot was removed (group, channel).

        ``notify`` also queues the ``my_chat_member`` update Telegram sends then.
        """
        with self._lock:
            chat = self._chats[chat_id]
            chat.gone = {
                "private": "Forbidden: bot was blocked by the user",
                "group": "Forbidden: bot was kicked from the group chat",
                "supergroup": "Forbidden: bot was kicked from the supergroup chat",
                "channel": "Forbidden: bot is not a member of the channel chat",
            }[chat.type]
        if notify:
            self.enqueue_my_chat_member(chat_id, "kicked", old_status="member")

    def unblock_bot(self, chat_id: int) -> None:
        with self._lock:
            self._chats[chat_id].gone = None

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """What ``getChatMember`` answers for this user (default: "member")."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {MEMBER_STATUSES}")
        with self._lock:
            self._members[(chat_id, user_id)] = status

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next ``times`` calls of ``method`` answer this error instead of being served."""
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        with self._lock:
            for _ in range(times):
                self._faults[method.lower()].append(_ApiError(status, description, parameters))

    def drop_next(self, method: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` get their connection closed, no answer."""
        with self._lock:
            self._faults[method.lower()].extend(_Drop() for _ in range(times))

    def set_flakiness(
        self,
        ratio: float,
        *,
        kinds: tuple[str, ...] = ("500", "502", "drop"),
        methods: tuple[str, ...] | None = None,
        stall_seconds: float = 5.0,
    ) -> None:
        """A share of calls (seeded random) fails with one of ``kinds``: "500", "502", "drop",
        "429" (retry after 1 s), "timeout" (no answer for ``stall_seconds``, then dropped).

        The failure happens before the call is served, so a failed message was not sent; the
        kind "drop-after" is the exception: the call is served and then its connection dropped,
        as when a network breaks after Telegram accepted a message.
        """
        if not 0 <= ratio <= 1 or not set(kinds) <= set(FLAKY_KINDS):
            raise ValueError(f"ratio in [0, 1], kinds among {', '.join(FLAKY_KINDS)}")
        self._stall_seconds = stall_seconds
        chosen = frozenset(m.lower() for m in methods) if methods else None
        with self._lock:
            self._flaky = (ratio, kinds, chosen)

    def set_rival_poller(self, active: bool = True) -> None:
        """Another bot instance polls this token (True) or has stopped (False).

        While it polls, every getUpdates is answered 409 Conflict, as when a newer getUpdates from
        elsewhere ends ours, and updates, queued or new, go to the rival (``rival_updates``).
        """
        with self._lock:
            self._rival_polling = active
            if active:
                self.rival_updates.extend(self._updates)
                self._updates.clear()
        self._notify_pollers()

    def set_delay(self, seconds: float, method: str | None = None) -> None:
        """Answer ``method`` (every method when None) this many seconds late."""
        with self._lock:
            self._delays[(method or "*").lower()] = seconds

    # ─── inspecting what happened ────────────────────────────────────────────────────────────

    def messages(self, chat_id: int) -> list[SentMessage]:
        with self._lock:
            return list(self._messages.get(chat_id, ()))

    def all_messages(self) -> list[SentMessage]:
        with self._lock:
            return [m for chat in self._messages.values() for m in chat]

    def calls(self, method: str | None = None) -> list[ApiCall]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method.lower()]

    def commands(self, scope: str = "default", language_code: str = "") -> list[dict[str, str]]:
        with self._lock:
            return list(self._commands.get((scope, language_code), ()))

    def callback_answered(self, query_id: str) -> bool:
        with self._lock:
            return self._callback_queries.get(query_id, False)

    @property
    def webhook(self) -> tuple[str, str | None] | None:
        """(URL, secret token) of the webhook set with setWebhook; None while polling."""
        with self._lock:
            return self._webhook

    # ─── updates for getUpdates ──────────────────────────────────────────────────────────────

    def user(self, user_id: int) -> dict[str, Any]:
        chat = self._chats.get(user_id)
        name = chat.first_name if chat and chat.first_name else f"User {user_id}"
        data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": name}
        if chat and chat.username:
            data["username"] = chat.username
        return data

    def enqueue_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update; ``update_id`` is filled in. Returns the update."""
        with self._lock:
            update = {"update_id": next(self._update_ids), **payload}
            (self.rival_updates if self._rival_polling else self._updates).append(update)
        self._notify_pollers()
        return update

    def enqueue_message(
        self,
        chat_id: int,
        text: str,
        *,
        from_user: int | None = None,
        sender_chat: int | None = None,
    ) -> dict[str, Any]:
        """A user writes ``text``; a leading ``/command`` gets its ``bot_command`` entity.

        ``sender_chat``: written as that chat; the group's own id is an anonymous administrator.
        """
        message = self._text_message(chat_id, text, from_user, sender_chat)
        return self.enqueue_update({"message": message})

    def message_update(
        self,
        chat_id: int,
        text: str,
        *,
        from_user: int | None = None,
        sender_chat: int | None = None,
    ) -> dict[str, Any]:
        """The update ``enqueue_message`` would queue, with a fresh ``update_id``, not queued:
        to deliver to a webhook by hand."""
        message = self._text_message(chat_id, text, from_user, sender_chat)
        with self._lock:
            return {"update_id": next(self._update_ids), "message": message}

    def enqueue_channel_post(self, chat_id: int, text: str) -> dict[str, Any]:
        """An administrator posts ``text`` in a channel (a post has no ``from``)."""
        with self._lock:
            chat = self._chats[chat_id]
            if chat.type != "channel":
                raise ValueError(f"chat {chat_id} is not a channel")
            post: dict[str, Any] = {
                "message_id": chat.next_message_id,
                "sender_chat": chat.to_json(),
                "chat": chat.to_json(),
                "date": int(time.time()),
            }
            chat.next_message_id += 1
        return self.enqueue_update({"channel_post": _with_text(post, text)})

    def _text_message(
        self, chat_id: int, text: str, from_user: int | None, sender_chat: int | None
    ) -> dict[str, Any]:
        with self._lock:
            message = self._incoming_message(chat_id, from_user)
            if sender_chat is not None:
                message["sender_chat"] = self._chats[sender_chat].to_json()
                message["from"] = GROUP_ANONYMOUS_BOT if sender_chat == chat_id else CHANNEL_BOT
        return _with_text(message, text)

    def enqueue_callback_query(
        self, chat_id: int, message_id: int, data: str, *, from_user: int | None = None
    ) -> str:
        """A user taps an inline button of a message the bot sent. Returns the query id."""
        with self._lock:
            sent = next(
                (m for m in self._messages.get(chat_id, ()) if m.message_id == message_id), None
            )
            chat = self._chats[chat_id]
            user_id = from_user if from_user is not None else self._default_user(chat)
            message = self._message_json(chat, sent) if sent else self._unknown_message(chat)
            if not sent:
                message["message_id"] = message_id
            query_id = str(next(self._query_ids))
            self._callback_queries[query_id] = False
            query = {
                "id": query_id,
                "from": self.user(user_id),
                "message": message,
                "chat_instance": str(abs(chat_id) * 31),
                "data": data,
            }
        self.enqueue_update({"callback_query": query})
        return query_id

    def enqueue_my_chat_member(
        self,
        chat_id: int,
        new_status: str,
        *,
        old_status: str = "left",
        from_user: int | None = None,
    ) -> dict[str, Any]:
        """The bot's own membership changed: added to a group, blocked, promoted…"""
        with self._lock:
            chat = self._chats[chat_id]
            user_id = from_user if from_user is not None else self._default_user(chat)
            change = {
                "chat": chat.to_json(),
                "from": self.user(user_id),
                "date": int(time.time()),
                "old_chat_member": _member_json(self.bot_user, old_status),
                "new_chat_member": _member_json(self.bot_user, new_status),
            }
        return self.enqueue_update({"my_chat_member": change})

    def migrate_chat(self, old_id: int, new_id: int) -> FakeChat:
        """A group becomes a supergroup: sends to the old id then answer ``migrate_to_chat_id``.

        Queues the two service messages Telegram sends (``migrate_to_chat_id`` in the old group,
        ``migrate_from_chat_id`` in the new supergroup).
        """
        with self._lock:
            old = self._chats[old_id]
        new = self.add_chat(new_id, "supergroup", title=old.title)
        with self._lock:
            old.migrated_to = new_id
            user = self._default_user(old)
            moved_out = self._incoming_message(old_id, user)
            moved_in = self._incoming_message(new_id, user)
        self.enqueue_update({"message": {**moved_out, "migrate_to_chat_id": new_id}})
        self.enqueue_update({"message": {**moved_in, "migrate_from_chat_id": old_id}})
        return new

    def _default_user(self, chat: FakeChat) -> int:
        return chat.id if chat.type == "private" else 1000

    def _incoming_message(self, chat_id: int, from_user: int | None) -> dict[str, Any]:
        chat = self._chats[chat_id]
        message_id = chat.next_message_id
        chat.next_message_id += 1
        user_id = from_user if from_user is not None else self._default_user(chat)
        return {
            "message_id": message_id,
            "from": self.user(user_id),
            "chat": chat.to_json(),
            "date": int(time.time()),
        }

    def _unknown_message(self, chat: FakeChat) -> dict[str, Any]:
        return {"message_id": 0, "chat": chat.to_json(), "date": 0}

    def _message_json(self, chat: FakeChat, sent: SentMessage) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": sent.message_id,
            "from": self.bot_user,
            "chat": chat.to_json(),
            "date": sent.date,
            "text": sent.text,
        }
        if sent.entities:
            data["entities"] = list(sent.entities)
        if sent.reply_markup and "inline_keyboard" in sent.reply_markup:
            data["reply_markup"] = sent.reply_markup
        if sent.link_preview_options:
            data["link_preview_options"] = sent.link_preview_options
        if sent.edits:
            data["edit_date"] = int(time.time())
        return data

    def _notify_pollers(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake_pollers)

    def _wake_pollers(self) -> None:
        for waiter in list(self._poll_waiters):
            if not waiter.done():
                waiter.set_result(None)
        self._push_wakeup.set()

    async def _push_updates(self) -> None:
        """Deliver queued updates to the webhook, in order, each until it is answered 2xx."""
        while not self._closing:
            self._push_wakeup.clear()
            with self._lock:
                webhook = self._webhook
                update = self._updates[0] if webhook is not None and self._updates else None
            if webhook is None or update is None:
                await self._push_wakeup.wait()
                continue
            url, secret = webhook
            headers = {SECRET_HEADER: secret} if secret else {}
            status, problem = 0, ""
            assert self._client is not None
            try:
                async with self._client.post(
                    url, json=update, headers=headers, timeout=aiohttp.ClientTimeout(total=5)
                ) as response:
                    status = response.status
                    problem = f"Wrong response from the webhook: {status} {response.reason}"
            except (aiohttp.ClientError, TimeoutError) as error:
                problem = f"Connection failed: {type(error).__name__}"
            delivered = 200 <= status < 300
            with self._lock:
                self.webhook_deliveries.append((update["update_id"], status))
                if delivered and self._updates and self._updates[0] is update:
                    self._updates.pop(0)
                if not delivered:
                    self._webhook_error = (int(time.time()), problem)
            if not delivered:
                await asyncio.sleep(WEBHOOK_RETRY_SECONDS)

    # ─── HTTP ────────────────────────────────────────────────────────────────────────────────

    async def _not_found(self, request: web.Request) -> web.Response:
        return _answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        method = request.match_info["method"].lower()
        params: dict[str, Any] = {}
        try:
            params = await _request_params(request)
            if request.match_info["token"] != self.token:
                raise _ApiError(401, "Unauthorized")
            handler = self._handlers.get(method)
            if handler is None:
                raise _ApiError(404, "Not Found")
            await self._delay(method)
            drop_answer = await self._inject_fault(method)
            result = await handler(params)
            if drop_answer:
                raise _Drop()
        except _Drop:
            self._record(method, params, 0, "connection dropped", arrived)
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        except _ApiError as error:
            self._record(method, params, error.status, error.description, arrived)
            if error.status == 429:
                with self._lock:
                    self.throttled += 1
                    self.throttled_by[error.scope] += 1
            if error.status == 502:
                return web.Response(status=502, text=BAD_GATEWAY_PAGE, content_type="text/html")
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.status,
                "description": error.description,
            }
            if error.parameters:
                body["parameters"] = error.parameters
            return _answer(error.status, body)
        self._record(method, params, 200, None, arrived)
        return _answer(200, {"ok": True, "result": result})

    def _record(
        self, method: str, params: dict[str, Any], status: int, description: str | None, at: float
    ) -> None:
        with self._lock:
            self._calls.append(ApiCall(method, params, status, description, at))

    async def _delay(self, method: str) -> None:
        with self._lock:
            seconds = self._delays.get(method, self._delays.get("*", 0.0))
        if seconds:
            await asyncio.sleep(seconds)

    async def _inject_fault(self, method: str) -> bool:
        """Raise the fault due for this call; True: serve it, then drop the answer."""
        with self._lock:
            queued = self._faults.get(method)
            if queued:
                raise queued.pop(0)
            ratio, kinds, methods = self._flaky
            if not ratio or (methods is not None and method not in methods):
                return False
            if self._random.random() >= ratio:
                return False
            kind = self._random.choice(kinds)
        if kind == "drop-after":
            return True
        if kind == "timeout":
            await asyncio.sleep(self._stall_seconds)
            raise _Drop()
        if kind == "429":
            raise _ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        if kind == "drop":
            raise _Drop()
        if kind == "502":
            raise _ApiError(502, "Bad Gateway")
        raise _ApiError(500, "Internal Server Error")

    # ─── chats and flood control ─────────────────────────────────────────────────────────────

    def _find_chat(self, params: dict[str, Any], *, writing: bool = False) -> FakeChat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        with self._lock:
            if isinstance(raw, str) and raw.startswith("@"):
                chat = next((c for c in self._chats.values() if c.username == raw[1:]), None)
            else:
                chat = self._chats.get(_as_int(raw, "chat not found"))
            if chat is None:
                raise _bad("chat not found")
            if chat.migrated_to is not None:
                raise _ApiError(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    {"migrate_to_chat_id": chat.migrated_to},
                )
            if writing and chat.gone:
                raise _ApiError(403, chat.gone)
            return chat

    def _take_flood_token(self, chat: FakeChat) -> None:
        """Spend one message from every bucket that applies, or answer 429."""
        now = time.monotonic()
        with self._lock:
            scopes: list[tuple[str, int, Limit | None]] = [
                ("overall", 0, self._limits.overall),
                ("chat", chat.id, self._limits.per_chat),
            ]
            if chat.type in ("group", "supergroup"):
                scopes.append(("group", chat.id, self._limits.per_group))
            buckets: list[tuple[str, _Bucket]] = []
            for scope, key, limit in scopes:
                if limit is None:
                    continue
                bucket = self._buckets.get((scope, key))
                if bucket is None:
                    bucket = self._buckets[(scope, key)] = _Bucket(limit, now)
                buckets.append((scope, bucket))
            waits = [(bucket.wait(now), scope) for scope, bucket in buckets]
            wait, scope = max(waits, default=(0.0, ""))
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                raise _ApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                    scope=scope,
                )
            for _, bucket in buckets:
                bucket.take()

    # ─── content ─────────────────────────────────────────────────────────────────────────────

    def _parse_text(self, params: dict[str, Any]) -> ParsedText:
        source = params.get("text")
        if not isinstance(source, str) or not source:
            raise _bad("message text is empty")
        mode = params.get("parse_mode")
        if mode is None or mode == "":
            parsed = ParsedText(source, tuple(_json_param(params, "entities") or ()))
        elif str(mode).lower() == "html":
            try:
                parsed = parse_html(source, strict=self.strict)
            except MarkupError as error:
                raise _ApiError(400, error.description) from None
        elif str(mode).lower() in ("markdown", "markdownv2"):
            raise _bad(f"the fake Telegram server does not implement parse_mode {mode}")
        else:
            raise _bad("unsupported parse_mode")
        parsed = _strip(parsed)
        if not parsed.text:
            raise _bad("message text is empty")
        if utf16_length(parsed.text) > MAX_TEXT_UTF16:
            raise _bad("message is too long")
        return parsed

    def _reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = _json_param(params, "reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return markup
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad('field "inline_keyboard" must be an Array of Arrays')
        for button in (button for row in rows for button in row):
            _check_button(button)
        return markup

    # ─── methods ─────────────────────────────────────────────────────────────────────────────

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return self.bot_user

    async def _api_getChat(self, params: dict[str, Any]) -> Any:
        chat = self._find_chat(params)
        return {
            **chat.to_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _api_getChatMember(self, params: dict[str, Any]) -> Any:
        chat = self._find_chat(params)
        user_id = _as_int(params.get("user_id"), "user not found")
        with self._lock:
            status = self._members.get((chat.id, user_id))
            if status is None and user_id == self.bot_user["id"]:
                status = "kicked" if chat.gone else "member"
            user = self.bot_user if user_id == self.bot_user["id"] else self.user(user_id)
        return _member_json(user, status or "member")

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        chat = self._find_chat(params, writing=True)
        parsed = self._parse_text(params)
        markup = self._reply_markup(params)
        preview = _json_param(params, "link_preview_options")
        self._take_flood_token(chat)
        with self._lock:
            sent = SentMessage(
                chat_id=chat.id,
                message_id=chat.next_message_id,
                text=parsed.text,
                entities=parsed.entities,
                source=params["text"],
                parse_mode=params.get("parse_mode") or None,
                reply_markup=markup,
                link_preview_options=preview,
                disable_web_page_preview=_as_bool(params.get("disable_web_page_preview")),
                date=int(time.time()),
            )
            chat.next_message_id += 1
            self._messages[chat.id].append(sent)
            return self._message_json(chat, sent)

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        chat = self._find_chat(params, writing=True)
        message_id = _as_int(params.get("message_id"), "message to edit not found")
        parsed = self._parse_text(params)
        markup = self._reply_markup(params)
        with self._lock:
            sent = next(
                (m for m in self._messages.get(chat.id, ()) if m.message_id == message_id), None
            )
            if sent is None:
                raise _bad("message to edit not found")
            if (sent.text, sent.entities, sent.reply_markup) == (
                parsed.text,
                parsed.entities,
                markup,
            ):
                raise _ApiError(400, NOT_MODIFIED)
        self._take_flood_token(chat)
        with self._lock:
            sent.text, sent.entities, sent.reply_markup = parsed.text, parsed.entities, markup
            sent.source, sent.parse_mode = params["text"], params.get("parse_mode") or None
            sent.edits += 1
            return self._message_json(chat, sent)

    async def _api_sendChatAction(self, params: dict[str, Any]) -> Any:
        self._find_chat(params, writing=True)
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        text = params.get("text") or ""
        if len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        with self._lock:
            if self._callback_queries.get(query_id, True):
                raise _bad("query is too old and response timeout expired or query ID is invalid")
            self._callback_queries[query_id] = True
        return True

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        commands = _json_param(params, "commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be an Array of at most 100 BotCommand")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            if not 1 <= len(name) <= 32 or set(name) - set(string.ascii_lowercase + "0123456789_"):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        with self._lock:
            self._commands[key] = [
                {"command": c["command"], "description": c["description"]} for c in commands
            ]
        return True

    async def _api_getMyCommands(self, params: dict[str, Any]) -> Any:
        with self._lock:
            return list(self._commands.get(self._commands_key(params), ()))

    async def _api_deleteMyCommands(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self._commands.pop(self._commands_key(params), None)
        return True

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = _json_param(params, "scope") or {"type": "default"}
        return str(scope.get("type", "default")), str(params.get("language_code") or "")

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        url = str(params.get("url") or "")
        if not url:
            return await self._api_deleteWebhook(params)
        try:
            parts = urlsplit(url)
        except ValueError:
            raise _bad("bad webhook: Failed to parse the URL") from None
        local_http = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
        if parts.scheme != "https" and not local_http:
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            raise _bad("secret token contains unallowed characters")
        with self._lock:
            if _as_bool(params.get("drop_pending_updates")):
                self._updates.clear()
            self._webhook = (url, str(secret) if secret is not None else None)
            self._webhook_error = None
        self._wake_pollers()  # a waiting getUpdates ends, and the queue starts to flow
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        with self._lock:
            if _as_bool(params.get("drop_pending_updates")):
                self._updates.clear()
            self._webhook = None
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        with self._lock:
            info: dict[str, Any] = {
                "url": self._webhook[0] if self._webhook else "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self._webhook and self._webhook_error:
                info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = _as_int(params.get("offset") or 0, "wrong offset")
        limit = min(max(_as_int(params.get("limit") or 100, "wrong limit"), 1), 100)
        timeout = max(0.0, float(params.get("timeout") or 0))
        self._poll_generation += 1  # a newer getUpdates ends the one still waiting
        generation = self._poll_generation
        self._wake_pollers()
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._webhook is not None:
                    raise _ApiError(409, WEBHOOK_IS_ACTIVE)
                if self._rival_polling:
                    raise _ApiError(409, TERMINATED_BY_OTHER_POLL)
                if offset > 0:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                elif offset < 0:
                    self._updates = self._updates[offset:]
                ready = self._updates[:limit]
            if ready or self._closing:
                return ready
            if generation != self._poll_generation:
                raise _ApiError(409, TERMINATED_BY_OTHER_POLL)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            waiter = asyncio.get_running_loop().create_future()
            self._poll_waiters.add(waiter)
            try:
                await asyncio.wait({waiter}, timeout=remaining)
            finally:
                self._poll_waiters.discard(waiter)


# ─── helpers ─────────────────────────────────────────────────────────────────────────────────────


def _answer(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(body, ensure_ascii=False),
        content_type="application/json",
    )


async def _request_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.method == "GET" or not request.can_read_body:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise _bad("can't parse JSON request body") from None
        if isinstance(body, dict):
            params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def _with_text(message: dict[str, Any], text: str) -> dict[str, Any]:
    """The message with ``text``; a leading ``/command`` gets its ``bot_command`` entity."""
    message["text"] = text
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [
            {"type": "bot_command", "offset": 0, "length": utf16_length(command)}
        ]
    return message


def _json_param(params: dict[str, Any], name: str) -> Any:
    """A structured parameter: typed in a JSON body, a JSON string in a query or form."""
    value = params.get(name)
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise _bad(f"can't parse {name} JSON object") from None


def _as_int(value: Any, error: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(error) from None


def _as_bool(value: Any) -> bool | None:
    if value is None:
        return None
    return value is True or str(value).lower() in ("true", "1")


def _strip(parsed: ParsedText) -> ParsedText:
    """Telegram trims the text; entities move with it and are clipped to what is left."""
    text = parsed.text.strip()
    if text == parsed.text:
        return parsed
    shift = utf16_length(parsed.text[: len(parsed.text) - len(parsed.text.lstrip())])
    size = utf16_length(text)
    entities = []
    for entity in parsed.entities:
        start = max(0, entity["offset"] - shift)
        end = min(size, entity["offset"] - shift + entity["length"])
        if end > start:
            entities.append({**entity, "offset": start, "length": end - start})
    return ParsedText(text, tuple(entities))


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not str(button.get("text", "")).strip():
        raise _bad("can't parse inline keyboard button: Text must be non-empty")
    actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
    if not actions:
        raise _bad(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = str(button["callback_data"]).encode()
        if not 1 <= len(data) <= MAX_CALLBACK_DATA_BYTES:
            raise _bad("BUTTON_DATA_INVALID")
    if "url" in button:
        scheme = urlsplit(str(button["url"])).scheme.lower()
        if scheme not in ("http", "https", "tg"):
            raise _bad("BUTTON_URL_INVALID")


def _member_json(user: dict[str, Any], status: str) -> dict[str, Any]:
    data: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        data["is_anonymous"] = False
    elif status == "administrator":
        data.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
        )
    elif status == "restricted":
        data.update(
            {
                "is_member": True,
                "until_date": 0,
                **dict.fromkeys(
                    (
                        "can_change_info",
                        "can_invite_users",
                        "can_pin_messages",
                        "can_send_messages",
                        "can_send_polls",
                        "can_send_other_messages",
                        "can_add_web_page_previews",
                        "can_manage_topics",
                        "can_send_audios",
                        "can_send_documents",
                        "can_send_photos",
                        "can_send_videos",
                        "can_send_video_notes",
                        "can_send_voice_notes",
                        "can_edit_tag",
                    ),
                    False,
                ),
            }
        )
    elif status == "kicked":
        data["until_date"] = 0
    return data


def main() -> None:
    """Serve a fake Telegram on the command line, for trying the bot by hand."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--chat", type=int, action="append", default=[], help="chat id to add")
    args = parser.parse_args()
    with FakeTelegram(args.token) as telegram:
        for chat_id in args.chat:
            telegram.add_chat(chat_id, "private" if chat_id > 0 else "supergroup")
        print(f"TELEGRAM_API_BASE_URL={telegram.base_url}", flush=True)
        print(f"TELEGRAM_BOT_TOKEN={telegram.token}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
