"""The Slack binding: ``/wirewatch`` commands, alert buttons and the App Home, over slack_bolt.

Contract, in the order a request goes:

1. Transport. With ``SLACK_APP_TOKEN`` (``xapp-…``) the bot connects out over Socket Mode and
   exposes nothing. Otherwise Slack POSTs commands, button clicks and events to
   ``/slack/events`` on the bot's HTTP server; a request is read only when it carries a valid
   ``SLACK_SIGNING_SECRET`` signature over a timestamp at most five minutes off. Anything else —
   forged, stale, unsigned, a timestamp that is not a number, a body over 1 MiB — is refused
   (401, 413) before anything parses it, so nothing changes. bolt then verifies it again.
2. Acknowledge first: a command or a click is acked at once with an empty body, well inside
   Slack's 3 seconds; the work runs after and answers through the request's ``response_url``.
3. Translate in. ``/wirewatch subscribe peace-talks`` is ``subscribe peace-talks`` for the command
   core (``/wirewatch`` alone is ``help``). The ``Caller``: a DM is the user's private chat; in a
   channel anyone may change its alerts, unless ``slack.admins_only`` is set, then only workspace
   admins and owners (``users.info``, asked only when a command changes something);
   ``chat.operators`` entries ``slack:<user id>`` are operators. A "Mute topic" or "Unsubscribe"
   button on an alert runs ``mute TOPIC`` / ``unsubscribe TOPIC`` for the channel of that message,
   as the user who clicked.
4. Translate out (``handlers/slack_reply.py``): errors, usage and what only the caller asked to
   read (help, topics, list, feeds, status) are ephemeral; a change the whole channel should
   know of (subscribed, muted, paused…) is posted ``in_channel``. Button answers are ephemeral.
5. App Home (``handlers/slack_home.py``): republished each time a user opens the Home tab.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.clock import utcnow
from bot.delivery.render_slack import MUTE_ACTION_ID, UNSUBSCRIBE_ACTION_ID
from bot.errors import ConfigError
from bot.model import ChatRef, Platform
from bot.settings import SlackSettings
from bot.topics import TopicRegistry
from bot.web import read_body
from handlers.commands import CommandCore, Reply
from handlers.permissions import Caller, ChatKind
from handlers.slack_home import SlackHome
from handlers.slack_reply import ResponseType, render_reply

__all__ = ["EVENTS_PATH", "SLASH_COMMAND", "SlackBinding"]

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
SLASH_COMMAND = "/wirewatch"
MAX_BODY_BYTES = 1024 * 1024
STOP_GRACE_SECONDS = 3.0
# What changes a chat: its confirmation is news for the whole channel. Everything else a user
# asked to read for themselves.
CHANGING_COMMANDS = frozenset(
    {
        "subscribe",
        "unsubscribe",
        "mute",
        "unmute",
        "track",
        "untrack",
        "addfeed",
        "removefeed",
        "pause",
        "resume",
    }
)
BUTTON_COMMANDS = {MUTE_ACTION_ID: "mute", UNSUBSCRIBE_ACTION_ID: "unsubscribe"}
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class _TokenInClientFilter(logging.Filter):
    """Drops bolt's "`token` will be unused" warning: bolt reads SLACK_BOT_TOKEN from the
    environment and warns that the client we hand it wins; the client holds that same token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_bolt_log = log.getChild("bolt")
_bolt_log.addFilter(_TokenInClientFilter())


class SlackBinding:
    """Receives Slack's commands, clicks and Home events and runs them through the command core."""

    def __init__(
        self,
        settings: SlackSettings,
        commands: CommandCore,
        *,
        engine: AsyncEngine,
        topics: TopicRegistry,
        operators: Iterable[str] = (),
    ) -> None:
        if settings.bot_token is None:
            raise ConfigError("SLACK_BOT_TOKEN is not set")
        self._app_token = _app_token(settings)
        secret = settings.signing_secret.get_secret_value() if settings.signing_secret else ""
        if self._app_token is None and not secret.strip():
            raise ConfigError(
                "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET (to receive Slack's"
                " requests over HTTP) nor SLACK_APP_TOKEN (Socket Mode) is: set one of them"
            )
        self._commands = commands
        self._topics = topics
        self._home = SlackHome(engine, topics)
        self._admins_only = settings.admins_only
        self._operators = frozenset(operators)
        self._verifier = SignatureVerifier(secret) if secret.strip() else None
        client = AsyncWebClient(
            token=settings.bot_token.get_secret_value(),
            base_url=settings.api_base_url or AsyncWebClient.BASE_URL,
        )
        # Listeners run after ack() while the HTTP answer goes back (process_before_response
        # off): Slack gets its acknowledgement at once, however slow the work is.
        self.app = AsyncApp(
            name="wirewatch",
            logger=_bolt_log,
            client=client,
            signing_secret=secret,
            process_before_response=False,
        )
        self.app.command(SLASH_COMMAND)(self._on_command)
        for action_id in BUTTON_COMMANDS:
            self.app.action(action_id)(self._on_button)
        self.app.event("app_home_opened")(self._on_home_opened)
        self._socket: AsyncSocketModeHandler | None = None
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._closed = False

    @property
    def transport(self) -> Literal["socket", "http"]:
        return "socket" if self._app_token is not None else "http"

    @property
    def routes(self) -> Sequence[BaseRoute]:
        if self.transport == "socket":
            return []
        return [Route(EVENTS_PATH, self._receive, methods=["POST"])]

    async def start(self) -> None:
        self._closed = False
        if self._app_token is None:
            log.info("Slack: receiving commands and events at POST %s", EVENTS_PATH)
            return
        self._socket = AsyncSocketModeHandler(self.app, self._app_token)
        await self._socket.connect_async()
        log.info("Slack: connected over Socket Mode")

    async def stop(self) -> None:
        self._closed = True
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        pending = {task for task in self._in_flight if not task.done()}
        if pending:
            _, late = await asyncio.wait(pending, timeout=STOP_GRACE_SECONDS)
            for task in late:
                task.cancel()
            if late:
                log.warning("stopped %d Slack commands still running", len(late))

    # --- HTTP --------------------------------------------------------------------------------

    async def _receive(self, request: Request) -> Response:
        """Hand a signed request to bolt; refuse everything else before it is parsed."""
        if self._closed:
            return JSONResponse({"error": "stopping"}, status_code=503)
        body = await read_body(request, MAX_BODY_BYTES)
        if body is None:
            return JSONResponse({"error": "request too large"}, status_code=413)
        if not self._signed(body, request.headers):
            return JSONResponse({"error": "invalid request"}, status_code=401)
        try:
            bolt_request = to_async_bolt_request(request, body)
        except (ValueError, TypeError, AttributeError):  # signed, yet not a Slack payload
            return JSONResponse({"error": "malformed request"}, status_code=400)
        return to_starlette_response(await self.app.async_dispatch(bolt_request))

    def _signed(self, body: bytes, headers: Mapping[str, str]) -> bool:
        # slack_sdk's verifier raises on a timestamp that is not an integer (bolt would answer
        # 500) and on a body that is not UTF-8, so both are settled here first.
        timestamp = headers.get("x-slack-request-timestamp", "")
        signature = headers.get("x-slack-signature", "")
        if self._verifier is None or not signature or not _TIMESTAMP.fullmatch(timestamp):
            return False
        try:
            return self._verifier.is_valid(body, timestamp, signature)
        except ValueError:
            return False

    # --- listeners (bolt passes arguments by name) -------------------------------------------

    async def _on_command(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        self._track()
        text = str(command.get("text") or "")
        caller = self._caller(
            str(command.get("user_id") or ""),
            str(command.get("channel_id") or ""),
            command.get("channel_name"),
        )
        reply = await self._commands.handle(caller, text)
        name = text.split(maxsplit=1)[0].lower().lstrip("/") if text.split() else "help"
        visible: ResponseType = "ephemeral"
        if not reply.ephemeral and name in CHANGING_COMMANDS:
            visible = "in_channel"
        await _answer(respond, reply, visible)

    async def _on_button(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        self._track()
        channel = body.get("channel") or {}
        channel_id = channel.get("id") or (body.get("container") or {}).get("channel_id")
        user_id = (body.get("user") or {}).get("id")
        if not channel_id or not user_id:
            await _answer(
                respond, Reply("This button works on alerts in a chat.", True), "ephemeral"
            )
            return
        caller = self._caller(str(user_id), str(channel_id), channel.get("name"))
        topic_id = str(action.get("value") or "")
        topic = self._topics.get(topic_id)
        name = self._topics.handle(topic) if topic is not None else topic_id
        verb = BUTTON_COMMANDS[str(action.get("action_id"))]
        reply = await self._commands.handle(caller, f"{verb} {name}")
        await _answer(respond, reply, "ephemeral")

    async def _on_home_opened(self, event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        self._track()
        view = await self._home.view(event.get("channel"), now=utcnow())
        try:
            await client.views_publish(user_id=str(event["user"]), view=view)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            log.warning("could not publish the Slack Home tab: %s", _reason(error))

    # --- who is asking -----------------------------------------------------------------------

    def _caller(self, user_id: str, channel_id: str, channel_name: Any) -> Caller:
        chat = ChatRef(Platform.SLACK, channel_id)
        operator = f"slack:{user_id}" in self._operators
        if channel_id.startswith("D") or channel_name == "directmessage":
            return Caller(chat, user_id, ChatKind.PRIVATE, is_operator=operator)
        title = f"#{channel_name}" if isinstance(channel_name, str) and channel_name else None
        return Caller(
            chat,
            user_id,
            ChatKind.GROUP,
            chat_title=title,
            is_admin=self._admin_check(user_id),
            is_operator=operator,
        )

    def _admin_check(self, user_id: str) -> Callable[[], Awaitable[bool]]:
        if not self._admins_only:
            return _anyone
        client = self.app.client

        async def is_workspace_admin() -> bool:
            try:
                answer = await client.users_info(user=user_id)
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
                log.warning("cannot tell whether %s is a Slack admin: %s", user_id, _reason(error))
                return False
            user = answer.get("user") or {}
            return bool(user.get("is_admin") or user.get("is_owner"))

        return is_workspace_admin

    def _track(self) -> None:
        """Remember the running listener so ``stop`` can let it finish."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)


async def _anyone() -> bool:
    return True


async def _answer(respond: AsyncRespond, reply: Reply, visible: ResponseType) -> None:
    try:
        result = await respond(**render_reply(reply, visible))
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        log.warning("could not answer a Slack command: %s", _reason(error))
        return
    if result.status_code != 200:
        log.warning("Slack refused a command's answer: HTTP %s %s", result.status_code, result.body)


def _app_token(settings: SlackSettings) -> str | None:
    if settings.app_token is None or not settings.app_token.get_secret_value().strip():
        return None
    token = settings.app_token.get_secret_value().strip()
    if not token.startswith("xapp-"):
        raise ConfigError(
            "SLACK_APP_TOKEN must be an app-level token (xapp-…) with the connections:write"
            " scope, from the app's Basic Information page"
        )
    return token


def _reason(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        data = getattr(error.response, "data", None)
        if isinstance(data, dict) and data.get("error"):
            return str(data["error"])
    return str(error) or type(error).__name__
