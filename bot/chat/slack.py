"""The Slack channel: alerts posted as Block Kit messages through slack_sdk's AsyncWebClient.

Contract, in the order a send goes:

1. Pace: sends to one Slack channel start at least ``1 / per_channel_rate`` seconds apart (Slack
   allows about one message a second per channel), in the order they asked; other channels do
   not wait. A 429 pushes that channel's next slot back by its ``Retry-After``.
2. Post: ``chat.postMessage`` with the fallback text and blocks of ``render_alert_blocks``,
   without link or media unfurls; the message's ``ts`` is returned as its id.
3. ``not_in_channel``: join the channel once and post again. A channel the bot cannot join by
   itself (private, or no ``channels:join`` scope) fails for good, with the fix for the user.
4. Every refusal becomes a ``DeliveryError`` the outbox acts on:

   - 429 → ``retry_after`` = Retry-After. Not retried here: the outbox reschedules the alert
     durably, keeps the chat's order, and holds no lease while it waits.
   - HTTP 5xx, Slack's ``fatal_error`` / ``internal_error`` / ``service_unavailable`` /
     ``request_timeout``, timeouts and connection errors → transient (the outbox backs off).
     slack_sdk's default handler retries a dropped connection once first.
   - ``invalid_auth`` / ``not_authed`` / ``token_revoked`` / ``token_expired`` → retried every
     few minutes (``AUTH_RETRY_SECONDS``), so alerts wait for a fixed token instead of being
     lost; the first one logs an error and sets ``auth_failed`` (cleared by the next success).
   - Everything else (``channel_not_found``, ``is_archived``, ``account_inactive``,
     ``invalid_blocks``…) → permanent, with a reason a person can act on.

The token goes to the client and nowhere else: no message or log line here contains it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.render_slack import render_alert_blocks
from bot.errors import DeliveryError
from bot.model import Alert, Platform

__all__ = ["ChannelPacer", "SlackChannel", "SlackIdentity"]

log = logging.getLogger(__name__)

AUTH_RETRY_SECONDS = 300.0
CHAT_GONE_ERRORS = frozenset({"channel_not_found", "is_archived", "account_inactive"})
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired"})
TRANSIENT_ERRORS = frozenset(
    {"fatal_error", "internal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
# conversations.join answers that mean "a person has to invite the bot".
CANNOT_JOIN_ERRORS = frozenset(
    {"method_not_supported_for_channel_type", "missing_scope", "channel_not_found"}
)
BUG_ERRORS = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text"})
DEFAULT_RETRY_AFTER = 1.0


@dataclass(frozen=True, slots=True)
class SlackIdentity:
    """Who the token belongs to, as ``auth.test`` tells."""

    team: str
    team_id: str
    user: str
    user_id: str


class SlackChannel:
    """Delivers alerts to Slack channels; build one per bot token in the composition root.

    ``base_url`` is slack_sdk's (ending in ``/api/``): SLACK_API_BASE_URL, or None for Slack.
    """

    platform = Platform.SLACK

    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        *,
        per_channel_rate: float = 1.0,
        timeout: float = 30.0,
        bot_name: str = "Wirewatch",
    ) -> None:
        if per_channel_rate <= 0:
            raise ValueError("per_channel_rate must be positive (messages a second per channel)")
        self._client = AsyncWebClient(token=token, base_url=base_url or AsyncWebClient.BASE_URL)
        self._timeout = timeout
        self._pacer = ChannelPacer(1.0 / per_channel_rate)
        self._bot_name = bot_name
        self._session: aiohttp.ClientSession | None = None
        self.auth_failed = False
        """True after Slack refused the token, until a call succeeds again (for /status)."""

    async def send_alert(self, alert: Alert) -> str | None:
        text, blocks = render_alert_blocks(alert)
        channel_id = alert.chat.chat_id
        try:
            try:
                return await self._post(channel_id, text, blocks)
            except SlackApiError as error:
                if _error_code(error) != "not_in_channel":
                    raise
            await self._join(channel_id)
            return await self._post(channel_id, text, blocks)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            raise self._delivery_error(channel_id, error) from error

    async def edit_alert(self, alert: Alert, message_id: str) -> None:
        text, blocks = render_alert_blocks(alert)
        channel_id = alert.chat.chat_id
        await self._pacer.wait(channel_id)
        try:
            await self._web().chat_update(
                channel=channel_id, ts=message_id, text=text, blocks=blocks
            )
        except SlackApiError as error:
            if _status(error) == 429:
                self._pacer.hold(channel_id, _retry_after(error))
            raise self._delivery_error(channel_id, error) from error
        except (aiohttp.ClientError, TimeoutError) as error:
            raise self._delivery_error(channel_id, error) from error
        self._auth_succeeded()

    async def check_auth(self) -> SlackIdentity:
        """Ask Slack whose token this is (``auth.test``); raises ``DeliveryError`` when refused."""
        try:
            answer = await self._web().auth_test()
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            raise self._delivery_error(None, error) from error
        self._auth_succeeded()
        return SlackIdentity(
            str(answer.get("team", "")),
            str(answer.get("team_id", "")),
            str(answer.get("user", "")),
            str(answer.get("user_id", "")),
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- calls -------------------------------------------------------------------------------

    async def _post(self, channel_id: str, text: str, blocks: list[dict[str, Any]]) -> str:
        await self._pacer.wait(channel_id)
        try:
            answer = await self._web().chat_postMessage(
                channel=channel_id,
                text=text,
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:
            if _status(error) == 429:
                self._pacer.hold(channel_id, _retry_after(error))
            raise
        self._auth_succeeded()
        return str(answer["ts"])

    async def _join(self, channel_id: str) -> None:
        try:
            await self._web().conversations_join(channel=channel_id)
        except SlackApiError as error:
            code = _error_code(error)
            if code not in CANNOT_JOIN_ERRORS:
                raise
            raise DeliveryError(
                f"{self._bot_name} is not in Slack channel {channel_id} and cannot join it by"
                f" itself ({code}): invite the bot to the channel with /invite @{self._bot_name}",
                permanent=True,
            ) from error
        log.info("joined Slack channel %s to deliver an alert", channel_id)

    def _web(self) -> AsyncWebClient:
        """The client, with one pooled session opened on first use (inside the event loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout)
            )
            self._client.session = self._session
        return self._client

    # --- errors ------------------------------------------------------------------------------

    def _delivery_error(self, channel_id: str | None, error: Exception) -> DeliveryError:
        if not isinstance(error, SlackApiError):
            reason = str(error) or type(error).__name__
            return DeliveryError(f"Slack is unreachable: {reason}")
        status, code = _status(error), _error_code(error)
        if status == 429 or code == "ratelimited":
            return DeliveryError(
                "Slack rate limit: retrying later", retry_after=_retry_after(error)
            )
        if (status is not None and status >= 500) or code in TRANSIENT_ERRORS:
            return DeliveryError(f"Slack is unavailable ({code or f'HTTP {status}'})")
        if code in AUTH_ERRORS:
            self._auth_refused(code)
            return DeliveryError(
                f"Slack refused the bot token ({code}): set a valid SLACK_BOT_TOKEN",
                retry_after=AUTH_RETRY_SECONDS,
            )
        gone = code in CHAT_GONE_ERRORS
        return DeliveryError(self._refusal(channel_id, code, error), permanent=True, chat_gone=gone)

    def _refusal(self, channel_id: str | None, code: str, error: SlackApiError) -> str:
        where = f"Slack channel {channel_id}"
        reasons = {
            "channel_not_found": (
                f"{where} does not exist, or it is private and {self._bot_name} is not in it:"
                f" invite the bot to the channel with /invite @{self._bot_name}"
            ),
            "is_archived": f"{where} is archived",
            "account_inactive": f"the Slack account behind {where} is deactivated",
            "not_in_channel": (
                f"{self._bot_name} is not a member of {where}: invite the bot to the channel"
                f" with /invite @{self._bot_name}"
            ),
            "restricted_action": f"posting in {where} is restricted",
        }
        if code in reasons:
            return reasons[code]
        if code == "missing_scope":
            needed = _answer(error).get("needed", "?")
            log.error("the Slack app lacks the %s scope: reinstall it with that scope", needed)
            return f"the Slack app lacks the {needed} scope"
        if code in BUG_ERRORS:
            details = _answer(error).get("errors", [])
            log.error("Slack refused an alert for %s (%s): %s", channel_id, code, details)
            return f"Slack refused the message as malformed ({code})"
        return f"Slack refused the message ({code or f'HTTP {_status(error)}'})"

    def _auth_refused(self, code: str) -> None:
        if not self.auth_failed:
            log.error(
                "Slack refused the bot token (%s): nothing reaches Slack until SLACK_BOT_TOKEN"
                " is replaced with a valid bot token",
                code,
            )
        self.auth_failed = True

    def _auth_succeeded(self) -> None:
        if self.auth_failed:
            log.warning("Slack accepts the bot token again")
        self.auth_failed = False


class ChannelPacer:
    """Spaces calls per key at least ``interval`` seconds apart, in the order they asked.

    A call reserves the key's next free slot and sleeps until it, so concurrent callers of one
    key queue up while other keys go ahead. ``hold`` pushes a key's next slot back.
    """

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._next_slot: dict[str, float] = {}

    async def wait(self, key: str) -> None:
        now = self._clock()
        slot = max(now, self._next_slot.get(key, now))
        self._next_slot[key] = slot + self._interval
        if len(self._next_slot) > 10_000:
            self._forget_past(now)
        if slot > now:
            await asyncio.sleep(slot - now)

    def hold(self, key: str, seconds: float) -> None:
        now = self._clock()
        self._next_slot[key] = max(self._next_slot.get(key, now), now + seconds)

    def _forget_past(self, now: float) -> None:
        for key in [key for key, slot in self._next_slot.items() if slot <= now]:
            del self._next_slot[key]


def _answer(error: SlackApiError) -> dict[str, Any]:
    data = getattr(error.response, "data", None)
    return data if isinstance(data, dict) else {}


def _error_code(error: SlackApiError) -> str:
    return str(_answer(error).get("error") or "")


def _status(error: SlackApiError) -> int | None:
    response = error.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return int(status) if status is not None else None


def _retry_after(error: SlackApiError) -> float:
    headers = getattr(error.response, "headers", None) or {}
    try:
        return max(0.0, float(headers.get("Retry-After", DEFAULT_RETRY_AFTER)))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
