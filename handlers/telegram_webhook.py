"""Telegram's webhook: updates POSTed to the bot's own HTTP server.

A request goes like this:

1. The secret. Telegram sends the ``secret_token`` given to ``setWebhook`` in the
   ``X-Telegram-Bot-Api-Secret-Token`` header. Missing or wrong (compared in constant time) →
   403, and nothing is read further. Anyone can find the URL; only Telegram knows the secret.
2. The body: at most 1 MiB (413 beyond), a JSON object with an integer ``update_id`` (400
   otherwise).
3. Once only. Telegram delivers an update again when our answer did not reach it in time; the
   last ``RECENT_UPDATES`` update ids are remembered, and a repeat is answered 200 and dropped.
4. The update is handed on (the binding queues it for its ``Application``) and answered 200 at
   once; the work runs after, so Telegram never waits on a command. While the binding is stopped
   the answer is 503, and Telegram delivers the update again later.
"""

from __future__ import annotations

import hmac
import json
import re
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.errors import ConfigError
from bot.web import read_body

__all__ = [
    "MAX_BODY_BYTES",
    "SECRET_HEADER",
    "RecentUpdateIds",
    "WebhookReceiver",
    "webhook_path",
]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1024 * 1024
RECENT_UPDATES = 4096
# What Telegram accepts as a secret_token: 1–256 characters A-Z, a-z, 0-9, _ and -.
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def webhook_path(url: str, secret: str | None) -> str:
    """The path to serve for ``telegram.webhook_url``; ConfigError when the settings won't do."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"telegram.webhook_url must be an https:// URL Telegram can reach, not {url!r}"
        )
    if parts.path in ("", "/"):
        raise ConfigError(
            "telegram.webhook_url needs a path of its own, e.g. https://bot.example.com/telegram"
        )
    if not secret or not _SECRET.fullmatch(secret):
        raise ConfigError(
            "telegram.webhook_secret (WIREWATCH_TELEGRAM__WEBHOOK_SECRET) must be set with "
            "telegram.webhook_url: 1 to 256 characters among A-Z, a-z, 0-9, _ and -"
        )
    return parts.path


class RecentUpdateIds:
    """The last ``size`` update ids seen, so an update delivered twice is acted on once."""

    def __init__(self, size: int = RECENT_UPDATES) -> None:
        self._order: deque[int] = deque()
        self._seen: set[int] = set()
        self._size = size

    def __contains__(self, update_id: object) -> bool:
        return update_id in self._seen

    def add(self, update_id: int) -> None:
        if update_id in self._seen:
            return
        self._order.append(update_id)
        self._seen.add(update_id)
        if len(self._order) > self._size:
            self._seen.discard(self._order.popleft())


class WebhookReceiver:
    """The Starlette route for the webhook; ``deliver`` takes each new update's JSON."""

    def __init__(
        self,
        path: str,
        secret: str,
        deliver: Callable[[dict[str, Any]], Awaitable[None]],
        *,
        accepting: Callable[[], bool],
    ) -> None:
        self._path = path
        self._secret = secret.encode()
        self._deliver = deliver
        self._accepting = accepting
        self._recent = RecentUpdateIds()

    @property
    def route(self) -> Route:
        return Route(self._path, self._receive, methods=["POST"])

    async def _receive(self, request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret):
            return Response(status_code=403)
        if not self._accepting():
            return Response(status_code=503)
        body = await read_body(request, MAX_BODY_BYTES)
        if body is None:
            return Response(status_code=413)
        update = _parse_update(body)
        if update is None:
            return Response(status_code=400)
        update_id = update["update_id"]
        if update_id in self._recent:
            return Response()
        self._recent.add(update_id)  # before handing on: a repeat arriving meanwhile is dropped
        await self._deliver(update)
        return Response()


def _parse_update(body: bytes) -> dict[str, Any] | None:
    try:
        update = json.loads(body)
    except ValueError:
        return None
    if not isinstance(update, dict):
        return None
    update_id = update.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return None
    return update
