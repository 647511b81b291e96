"""A strict local Slack Web API on 127.0.0.1, for tests that run the real slack_sdk client.

Works from sync and async tests and from a bot run in a subprocess (the server has its own
thread)::

    with FakeSlack() as slack:
        slack.add_channel("C1", name="news")
        client = AsyncWebClient(token=slack.token, base_url=slack.api_url)
        ...
        assert [message.text for message in slack.messages("C1")] == ["hello"]

Wire protocol as Slack speaks it: ``POST`` (or ``GET``) ``/api/<method>`` with a query string, a
form body or a JSON body; the token as ``Authorization: Bearer xoxb-…`` (or a ``token`` form
field; a JSON body needs the header, as on Slack). Answers are HTTP 200 with ``{"ok": true, …}``
or ``{"ok": false, "error": "…"}``, and HTTP 429 with ``Retry-After`` for rate limits.

A call is answered in this order: injected faults (``fail_next``, ``failure_ratio``, ``delay``),
auth, arguments, the channel's state, the message's content, then the per-channel rate of
``chat.postMessage`` (``rate`` messages a second, ``burst`` in a row). Only a message that would
be posted spends from the rate. The blocks checked are the ones Wirewatch sends (section, header,
context, actions, divider, image; buttons and images); anything else is ``invalid_blocks``, so
a new kind of block needs the fake taught first. Lengths are counted in UTF-16 units, the stricter
reading of Slack's "characters".

Every accepted message is recorded per channel (``messages``), every call with its answer
(``calls``); ``throttled`` counts every 429 given, injected or earned.

``response_url(name)`` is a URL to put in a signed slash command or button payload: what the bot
POSTs there (JSON, as bolt's ``respond()`` sends it) is checked like a message and kept in
``responses(name)``. A post is answered ``200 ok``, or ``400`` with the error as plain text
(``no_text``, ``invalid_blocks``, ``invalid_payload``), as Slack's webhooks answer.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import random
import socket
import sys
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

__all__ = [
    "DROP_AFTER_POSTING",
    "DROP_CONNECTION",
    "TIME_OUT",
    "ApiCall",
    "FakeChannel",
    "FakeSlack",
    "FakeUser",
    "PostedMessage",
    "check_blocks",
]

DROP_CONNECTION = "<drop connection>"  # a fault: read the request, close without answering
TIME_OUT = "<time out>"  # a fault: answer nothing for ``stall_seconds``, then close
DROP_AFTER_POSTING = "<drop after posting>"  # a fault: carry the call out, close without answering

MESSAGE_TEXT_LIMIT = 40_000
MESSAGE_BLOCKS_LIMIT = 50
HOME_VIEW_BLOCKS_LIMIT = 100

Params = dict[str, Any]


@dataclass(slots=True)
class FakeChannel:
    """A conversation. ``im_user`` makes it a DM with that user; ``member``: the bot is in it."""

    id: str
    name: str
    private: bool = False
    archived: bool = False
    member: bool = True
    im_user: str | None = None

    def info(self) -> Params:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.private and self.im_user is None,
            "is_group": self.private,
            "is_im": self.im_user is not None,
            "is_private": self.private or self.im_user is not None,
            "is_archived": self.archived,
            "is_member": self.member,
            **({"user": self.im_user} if self.im_user else {}),
        }


@dataclass(slots=True)
class FakeUser:
    id: str
    name: str
    is_admin: bool = False
    is_owner: bool = False
    deleted: bool = False
    tz: str = "Europe/Kyiv"

    def info(self) -> Params:
        return {
            "id": self.id,
            "name": self.name,
            "deleted": self.deleted,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_bot": False,
            "tz": self.tz,
        }


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """A message as it stands in a channel (after any ``chat.update``)."""

    channel: str
    ts: str
    text: str | None
    blocks: list[Params] | None
    thread_ts: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    edited: bool = False
    ephemeral_user: str | None = None


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One call as the server answered it; ``params`` never holds the token."""

    method: str
    params: Mapping[str, Any]
    status: int
    error: str | None
    at: float


@dataclass(slots=True)
class _Fault:
    failure: str | int
    retry_after: float | None
    channel: str | None


class _Answer(Exception):
    """Raised inside a method to stop and answer at once."""

    def __init__(self, status: int, body: Params, headers: dict[str, str] | None = None) -> None:
        super().__init__(body.get("error"))
        self.status, self.body, self.headers = status, body, headers or {}


def _error(code: str, **extra: Any) -> _Answer:
    return _Answer(200, {"ok": False, "error": code, **extra})


class FakeSlack:
    """One workspace with one bot token; configure channels and users, then point a client here."""

    team_id = "T0WIREWATCH"
    bot_user_id = "U0WIREBOT"
    bot_id = "B0WIREBOT"

    def __init__(
        self,
        token: str = "xoxb-1234-5678-wirewatch-test",
        *,
        rate: float = 1.0,
        burst: int = 3,
        retry_after: float | None = None,
    ) -> None:
        self.token = token
        self.rate = rate  # chat.postMessage per channel per second …
        self.burst = burst  # … with up to this many in a row
        self.retry_after = retry_after  # Retry-After to send; None: when the next one would pass
        self.revoked = False
        self.stall_seconds = 5.0  # how long a TIME_OUT fault keeps the client waiting
        self.channels: dict[str, FakeChannel] = {}
        self.users: dict[str, FakeUser] = {}
        self.views: dict[str, Params] = {}
        self._messages: dict[str, list[PostedMessage]] = defaultdict(list)
        self._ephemeral: list[PostedMessage] = []
        self._responses: dict[str, list[Params]] = defaultdict(list)
        self._calls: list[ApiCall] = []
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at)
        self._faults: dict[str, deque[_Fault]] = defaultdict(deque)
        self._delays: dict[str, float] = {}
        self._failure_ratio = 0.0
        self._failure_kinds: tuple[str | int, ...] = ()
        self._failure_methods: frozenset[str] = frozenset()
        self._random = random.Random(0)
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        handler = type("FakeSlackHandler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        """What slack_sdk takes as ``base_url`` (and the bot as SLACK_API_BASE_URL)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def environment(self) -> dict[str, str]:
        """Settings for a bot run in a subprocess."""
        return {"SLACK_BOT_TOKEN": self.token, "SLACK_API_BASE_URL": self.api_url}

    # --- the workspace -----------------------------------------------------------------------

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        private: bool = False,
        archived: bool = False,
        member: bool = True,
    ) -> FakeChannel:
        channel = FakeChannel(channel_id, name or channel_id.lower(), private, archived, member)
        with self._lock:
            self.channels[channel_id] = channel
        return channel

    def add_dm(self, channel_id: str, user_id: str, *, deactivated: bool = False) -> FakeChannel:
        """A DM with a user (added when unknown); ``deactivated`` marks the user deactivated."""
        user = self.users.get(user_id) or self.add_user(user_id)
        user.deleted = deactivated
        channel = FakeChannel(channel_id, user.name, im_user=user_id)
        with self._lock:
            self.channels[channel_id] = channel
        return channel

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        is_admin: bool = False,
        is_owner: bool = False,
        deleted: bool = False,
    ) -> FakeUser:
        user = FakeUser(user_id, name or user_id.lower(), is_admin, is_owner, deleted)
        with self._lock:
            self.users[user_id] = user
        return user

    # --- faults ------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        failure: str | int,
        *,
        retry_after: float | None = None,
        times: int = 1,
        channel: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``channel``, if given) with a failure.

        ``failure``: a Slack error code (HTTP 200, ``ok: false``), an HTTP status (429 carries
        ``Retry-After``: ``retry_after`` or 1; 5xx carry an HTML page, as a load balancer sends),
        ``DROP_CONNECTION`` or ``TIME_OUT``: the call is not carried out. ``DROP_AFTER_POSTING``
        carries it out and loses the answer, as when a connection breaks after Slack posted.
        """
        with self._lock:
            for _ in range(times):
                self._faults[method].append(_Fault(failure, retry_after, channel))

    def failure_ratio(
        self,
        ratio: float,
        *,
        kinds: Iterable[str | int] = (500, 502, DROP_CONNECTION),
        methods: Iterable[str] = ("chat.postMessage",),
        seed: int = 0,
    ) -> None:
        """Fail this share of calls of ``methods`` at random (seeded), with one of ``kinds``."""
        with self._lock:
            self._failure_ratio = ratio
            self._failure_kinds = tuple(kinds)
            self._failure_methods = frozenset(methods)
            self._random = random.Random(seed)

    def delay(self, method: str, seconds: float) -> None:
        """Wait ``seconds`` before answering each call of ``method``."""
        with self._lock:
            self._delays[method] = seconds

    # --- observation -------------------------------------------------------------------------

    def delete_messages(self, channel: str) -> None:
        """Someone deleted every message in the channel."""
        with self._lock:
            self._messages.pop(channel, None)

    def messages(self, channel: str) -> list[PostedMessage]:
        with self._lock:
            return list(self._messages.get(channel, ()))

    @property
    def all_messages(self) -> dict[str, list[PostedMessage]]:
        with self._lock:
            return {channel: list(posted) for channel, posted in self._messages.items()}

    @property
    def ephemeral_messages(self) -> list[PostedMessage]:
        with self._lock:
            return list(self._ephemeral)

    @property
    def calls(self) -> list[ApiCall]:
        with self._lock:
            return list(self._calls)

    def count(
        self,
        method: str | None = None,
        *,
        status: int | None = None,
        error: str | None = None,
        channel: str | None = None,
    ) -> int:
        return sum(
            1
            for call in self.calls
            if (method is None or call.method == method)
            and (status is None or call.status == status)
            and (error is None or call.error == error)
            and (channel is None or call.params.get("channel") == channel)
        )

    def response_url(self, name: str = "command") -> str:
        """A ``response_url`` for one command or click; its posts are ``responses(name)``."""
        return f"http://127.0.0.1:{self.port}/hooks/{name}"

    def responses(self, name: str = "command") -> list[Params]:
        """What was posted to ``response_url(name)`` and accepted, oldest first."""
        with self._lock:
            return list(self._responses.get(name, ()))

    @property
    def throttled(self) -> int:
        """How many 429 answers were given, injected or earned."""
        return self.count(status=429)

    # --- answering (runs in the server's threads) --------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        path = urlsplit(handler.path)
        if path.path.startswith("/hooks/"):
            self._handle_response_url(handler, path.path.removeprefix("/hooks/"))
            return
        method = path.path.removeprefix("/api/")
        params, body_is_json, bad_body = _read_params(handler, path.query)
        params_seen = {key: value for key, value in params.items() if key != "token"}
        fault = self._take_fault(method, params.get("channel"))
        if self._delays.get(method):
            self._stopping.wait(self._delays[method])
        if fault is not None and fault.failure in (DROP_CONNECTION, TIME_OUT):
            if fault.failure == TIME_OUT:
                self._stopping.wait(self.stall_seconds)
            self._record(method, params_seen, 0, str(fault.failure))
            handler.drop()
            return
        drop_answer = fault is not None and fault.failure == DROP_AFTER_POSTING
        if drop_answer:
            fault = None
        try:
            if not path.path.startswith("/api/") or not method:
                raise _Answer(404, {"ok": False, "error": "unknown_method"})
            if fault is not None:
                raise _fault_answer(fault)
            self._check_token(handler, params, body_is_json)
            if bad_body:
                raise _error(bad_body)
            action = self._methods().get(method)
            if action is None:
                raise _error("unknown_method")
            with self._lock:
                answer = _Answer(200, {"ok": True, **action(params)})
        except _Answer as raised:
            answer = raised
        if drop_answer:  # carried out, but the caller never hears so
            self._record(method, params_seen, 0, DROP_AFTER_POSTING)
            handler.drop()
            return
        self._record(method, params_seen, answer.status, answer.body.get("error"))
        handler.answer(answer)

    def _handle_response_url(self, handler: _Handler, name: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        content_type = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body: Any = None
        try:
            if content_type != "application/json":
                raise _error("invalid_payload")
            try:
                body = json.loads(raw)
            except ValueError:
                raise _error("invalid_payload") from None
            if not isinstance(body, dict):
                raise _error("invalid_payload")
            if body.get("response_type") not in (None, "ephemeral", "in_channel"):
                raise _error("invalid_payload")
            _message_content(body)
        except _Answer as refused:
            error = str(refused.body.get("error"))
            self._record("response_url", {"hook": name}, 400, error)
            handler.answer_text(400, error)
            return
        with self._lock:
            self._responses[name].append(body)
        self._record("response_url", {"hook": name, **body}, 200, None)
        handler.answer_text(200, "ok")

    def _record(self, method: str, params: Params, status: int, error: str | None) -> None:
        with self._lock:
            self._calls.append(ApiCall(method, params, status, error, time.monotonic()))

    def _take_fault(self, method: str, channel: Any) -> _Fault | None:
        with self._lock:
            queue = self._faults.get(method)
            for fault in list(queue or ()):
                if fault.channel is None or fault.channel == channel:
                    assert queue is not None
                    queue.remove(fault)
                    return fault
            if method in self._failure_methods and self._random.random() < self._failure_ratio:
                return _Fault(self._random.choice(self._failure_kinds), None, None)
        return None

    def _check_token(self, handler: _Handler, params: Params, body_is_json: bool) -> None:
        header = handler.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else None
        if token is None and not body_is_json:
            token = params.get("token")
        if not token:
            raise _error("not_authed")
        if token != self.token:
            raise _error("invalid_auth")
        if self.revoked:
            raise _error("token_revoked")

    def _methods(self) -> dict[str, Callable[[Params], Params]]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "conversations.join": self._join,
            "conversations.info": self._conversation_info,
            "users.info": self._user_info,
            "views.publish": self._publish_view,
        }

    # --- methods (called with the lock held) -------------------------------------------------

    def _auth_test(self, params: Params) -> Params:
        return {
            "url": "https://wirewatch-test.slack.com/",
            "team": "Wirewatch Test",
            "user": "wirewatch",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
        }

    def _post_message(self, params: Params) -> Params:
        channel = self._postable_channel(params)
        text, blocks = _message_content(params)
        self._spend_rate(channel.id)
        message = PostedMessage(
            channel.id, self._next_ts(), text, blocks, _str_or_none(params.get("thread_ts")), params
        )
        self._messages[channel.id].append(message)
        return {"channel": channel.id, "ts": message.ts, "message": _message_json(message)}

    def _post_ephemeral(self, params: Params) -> Params:
        channel = self._postable_channel(params)
        user = self.users.get(str(params.get("user") or ""))
        if user is None:
            raise _error("user_not_found")
        if user.deleted:
            raise _error("user_not_in_channel")
        text, blocks = _message_content(params)
        ts = self._next_ts()
        self._ephemeral.append(
            PostedMessage(channel.id, ts, text, blocks, params=params, ephemeral_user=user.id)
        )
        return {"message_ts": ts}

    def _update(self, params: Params) -> Params:
        channel = self._known_channel(params)
        posted = self._messages.get(channel.id, [])
        index = next((i for i, m in enumerate(posted) if m.ts == params.get("ts")), None)
        if index is None:
            raise _error("message_not_found")
        text, blocks = _message_content(params)
        posted[index] = replace(posted[index], text=text, blocks=blocks, edited=True)
        return {"channel": channel.id, "ts": posted[index].ts, "text": text or ""}

    def _join(self, params: Params) -> Params:
        channel = self.channels.get(str(params.get("channel") or ""))
        if channel is None:
            raise _error("channel_not_found")
        if channel.archived:
            raise _error("is_archived")
        if channel.private or channel.im_user is not None:
            raise _error("method_not_supported_for_channel_type")
        already = channel.member
        channel.member = True
        extra = {"warning": "already_in_channel"} if already else {}
        return {"channel": channel.info(), **extra}

    def _conversation_info(self, params: Params) -> Params:
        return {"channel": self._known_channel(params).info()}

    def _user_info(self, params: Params) -> Params:
        user = self.users.get(str(params.get("user") or ""))
        if user is None:
            raise _error("user_not_found")
        return {"user": user.info()}

    def _publish_view(self, params: Params) -> Params:
        user_id = str(params.get("user_id") or "")
        if user_id not in self.users:
            raise _error("user_not_found")
        view = _json_field(params.get("view"), "invalid_arguments")
        if not isinstance(view, dict) or view.get("type") != "home":
            raise _error("invalid_arguments", response_metadata={"messages": ["view type"]})
        errors = _block_errors(view.get("blocks"), HOME_VIEW_BLOCKS_LIMIT, "/view/blocks")
        if errors:
            raise _error("invalid_arguments", response_metadata={"messages": errors})
        self.views[user_id] = view
        return {"view": {"id": f"V{len(self.views):08d}", "type": "home", **view}}

    # --- shared checks -----------------------------------------------------------------------

    def _known_channel(self, params: Params) -> FakeChannel:
        channel = self.channels.get(str(params.get("channel") or ""))
        # Reading a private channel the bot is not in: Slack will not admit that it exists.
        if channel is None or (channel.private and not channel.member):
            raise _error("channel_not_found")
        return channel

    def _postable_channel(self, params: Params) -> FakeChannel:
        channel = self.channels.get(str(params.get("channel") or ""))
        if channel is None:
            raise _error("channel_not_found")
        if channel.archived:
            raise _error("is_archived")
        if channel.im_user is not None:
            user = self.users.get(channel.im_user)
            if user is not None and user.deleted:
                raise _error("account_inactive")
        elif not channel.member:
            raise _error("not_in_channel")
        return channel

    def _spend_rate(self, channel: str) -> None:
        now = time.monotonic()
        tokens, at = self._buckets.get(channel, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[channel] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
            retry_after = self.retry_after if self.retry_after is not None else wait
            raise _Answer(
                429,
                {"ok": False, "error": "ratelimited"},
                {"Retry-After": str(max(1, math.ceil(retry_after)))},
            )
        self._buckets[channel] = (tokens - 1.0, now)

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"


# --- request parsing -----------------------------------------------------------------------


def _read_params(handler: _Handler, query: str) -> tuple[Params, bool, str | None]:
    """Query and body merged; whether the body was JSON; the error code for a bad body."""
    params: Params = dict(parse_qsl(query, keep_blank_values=True))
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length) if length else b""
    content_type = (handler.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if not raw:
        return params, False, None
    if content_type == "application/json":
        try:
            body = json.loads(raw)
        except ValueError:
            return params, True, "invalid_json"
        if not isinstance(body, dict):
            return params, True, "invalid_json"
        return params | body, True, None
    if content_type == "application/x-www-form-urlencoded":
        return params | dict(parse_qsl(raw.decode(), keep_blank_values=True)), False, None
    return params, False, "invalid_form_data"


def _fault_answer(fault: _Fault) -> _Answer:
    if isinstance(fault.failure, str):
        return _error(fault.failure)
    if fault.failure == 429:
        retry_after = str(math.ceil(fault.retry_after if fault.retry_after is not None else 1))
        return _Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": retry_after})
    return _Answer(fault.failure, {}, {"Content-Type": "text/html"})


def _json_field(value: Any, error: str) -> Any:
    """A structured argument: JSON in a JSON body, a JSON string in a form or query."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise _error(error) from None


def _message_content(params: Params) -> tuple[str | None, list[Params] | None]:
    text = _str_or_none(params.get("text"))
    blocks = _json_field(params.get("blocks"), "invalid_blocks_format")
    if blocks in (None, "", []):
        blocks = None
    if not text and blocks is None:
        raise _error("no_text")
    if text is not None and len(text) > MESSAGE_TEXT_LIMIT:
        raise _error("msg_too_long")
    if blocks is not None:
        errors = _block_errors(blocks, MESSAGE_BLOCKS_LIMIT, "/blocks")
        if errors:
            raise _error("invalid_blocks", errors=errors)
    return text, blocks


def _message_json(message: PostedMessage) -> Params:
    body: Params = {"type": "message", "user": FakeSlack.bot_user_id, "ts": message.ts}
    body["text"] = message.text or ""
    if message.blocks is not None:
        body["blocks"] = message.blocks
    if message.thread_ts:
        body["thread_ts"] = message.thread_ts
    return body


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


# --- Block Kit: the subset Wirewatch uses, checked as Slack checks it -------------------------


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _Check:
    """Collects Slack-style messages: "what is wrong [json-pointer:/where]"."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, message: str, where: str) -> None:
        self.errors.append(f"{message} [json-pointer:{where}]")

    def keys(self, obj: Params, allowed: set[str], where: str) -> None:
        for key in obj:
            if key not in allowed:
                self.fail(f"unknown property {key!r}", f"{where}/{key}")

    def text(self, obj: Any, where: str, limit: int, *, plain_only: bool = False) -> None:
        kinds = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
        if not isinstance(obj, dict) or obj.get("type") not in kinds:
            self.fail(f"must be a text object of type {' or '.join(sorted(kinds))}", where)
            return
        extra = "emoji" if obj["type"] == "plain_text" else "verbatim"
        self.keys(obj, {"type", "text", extra}, where)
        value = obj.get("text")
        if not isinstance(value, str) or not value:
            self.fail("must be a non-empty string", f"{where}/text")
        elif _units(value) > limit:
            self.fail(f"must be less than {limit + 1} characters", f"{where}/text")

    def string(self, obj: Params, key: str, where: str, limit: int, *, required: bool) -> None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail("is required", f"{where}/{key}")
        elif not isinstance(value, str) or not value:
            self.fail("must be a non-empty string", f"{where}/{key}")
        elif _units(value) > limit:
            self.fail(f"must be less than {limit + 1} characters", f"{where}/{key}")

    def element(self, obj: Any, where: str, *, in_context: bool = False) -> None:
        kind = obj.get("type") if isinstance(obj, dict) else None
        if kind == "button" and not in_context:
            self.keys(obj, {"type", "text", "action_id", "value", "url", "style"}, where)
            self.text(obj.get("text"), f"{where}/text", 75, plain_only=True)
            self.string(obj, "action_id", where, 255, required=False)
            self.string(obj, "value", where, 2000, required=False)
            self.string(obj, "url", where, 3000, required=False)
            if obj.get("style") not in (None, "primary", "danger"):
                self.fail("must be primary or danger", f"{where}/style")
        elif kind == "image":
            self.keys(obj, {"type", "image_url", "alt_text"}, where)
            self.string(obj, "image_url", where, 3000, required=True)
            self.string(obj, "alt_text", where, 2000, required=True)
        elif in_context and kind in ("plain_text", "mrkdwn"):
            self.text(obj, where, 3000)
        else:
            self.fail(f"unsupported element type {kind!r}", where)

    def elements(self, block: Params, where: str, limit: int, *, in_context: bool) -> None:
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            self.fail("must be a non-empty array", f"{where}/elements")
            return
        if len(elements) > limit:
            self.fail(f"must be at most {limit} items", f"{where}/elements")
        action_ids = [e.get("action_id") for e in elements if isinstance(e, dict)]
        named = [action_id for action_id in action_ids if action_id is not None]
        if len(named) != len(set(named)):
            self.fail("action_id values must be unique", f"{where}/elements")
        for index, element in enumerate(elements):
            self.element(element, f"{where}/elements/{index}", in_context=in_context)


def _check_block(check: _Check, block: Any, where: str) -> None:
    kind = block.get("type") if isinstance(block, dict) else None
    if kind == "section":
        check.keys(block, {"type", "block_id", "text", "fields", "accessory"}, where)
        if "text" in block:
            check.text(block["text"], f"{where}/text", 3000)
        fields = block.get("fields")
        if fields is not None:
            if not isinstance(fields, list) or not 0 < len(fields) <= 10:
                check.fail("must be an array of 1 to 10 items", f"{where}/fields")
            else:
                for index, item in enumerate(fields):
                    check.text(item, f"{where}/fields/{index}", 2000)
        if "text" not in block and fields is None:
            check.fail("must have text or fields", where)
        if "accessory" in block:
            check.element(block["accessory"], f"{where}/accessory")
    elif kind == "header":
        check.keys(block, {"type", "block_id", "text"}, where)
        check.text(block.get("text"), f"{where}/text", 150, plain_only=True)
    elif kind == "context":
        check.keys(block, {"type", "block_id", "elements"}, where)
        check.elements(block, where, 10, in_context=True)
    elif kind == "actions":
        check.keys(block, {"type", "block_id", "elements"}, where)
        check.elements(block, where, 25, in_context=False)
    elif kind == "divider":
        check.keys(block, {"type", "block_id"}, where)
    elif kind == "image":
        check.keys(block, {"type", "block_id", "image_url", "alt_text", "title"}, where)
        check.string(block, "image_url", where, 3000, required=True)
        check.string(block, "alt_text", where, 2000, required=True)
    else:
        check.fail(f"unsupported block type {kind!r}", where)


def check_blocks(blocks: Any, *, limit: int = MESSAGE_BLOCKS_LIMIT) -> list[str]:
    """What Slack would say is wrong with message ``blocks`` (empty when it would accept them)."""
    return _block_errors(blocks, limit, "/blocks")


def _block_errors(blocks: Any, limit: int, where: str) -> list[str]:
    check = _Check()
    if not isinstance(blocks, list):
        check.fail("must be an array", where)
        return check.errors
    if len(blocks) > limit:
        check.fail(f"must be at most {limit} items", where)
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        block_where = f"{where}/{index}"
        _check_block(check, block, block_where)
        if isinstance(block, dict) and "block_id" in block:
            check.string(block, "block_id", block_where, 255, required=True)
            if block["block_id"] in block_ids:
                check.fail("block_id must be unique", f"{block_where}/block_id")
            block_ids.add(str(block["block_id"]))
    return check.errors


# --- HTTP ----------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a fan-out opens a hundred connections at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeSlack/1"
    timeout = 10
    fake: FakeSlack

    def do_POST(self) -> None:
        self.fake._handle(self)

    do_GET = do_POST

    def answer(self, answer: _Answer) -> None:
        if answer.status >= 500:
            body = f"<html><body><h1>{answer.status}</h1></body></html>".encode()
        else:
            body = json.dumps(answer.body).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", **answer.headers}
        self.send_response(answer.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer_text(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: object) -> None:
        pass
