"""Long polling's health: is another instance polling this bot token?

Telegram hands updates to one getUpdates at a time. A second bot instance on the same token makes
the two end each other's polls with 409 Conflict ("terminated by other getUpdates request"). PTB's
``Updater`` keeps retrying (backing off up to 30 s), so the bot never stops over it, but it gets
only some of the updates and the other instance the rest.

``PollingWatch`` turns that into one error line per episode and a flag, ``conflict``, that a
status report can show. It hears the 409s through the Updater's ``error_callback`` and every
poll's HTTP status through the getUpdates connection (``PollingWatch.request``). An episode ends
at the first good poll after ``quiet_seconds`` without a 409: while two instances keep polling,
good polls and conflicts alternate, and one line says it all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from telegram.error import Conflict, TelegramError
from telegram.request import BaseRequest, HTTPXRequest, RequestData

__all__ = ["PollingWatch"]

log = logging.getLogger(__name__)


class PollingWatch:
    def __init__(self, scrub: Callable[[str], str], *, quiet_seconds: float = 60.0) -> None:
        self.conflict = False
        self.quiet_seconds = quiet_seconds
        self._scrub = scrub
        self._last_conflict = 0.0  # time.monotonic()

    def request(self, **options: Any) -> HTTPXRequest:
        """The connection for getUpdates, reporting each poll's HTTP status here."""
        return _ObservedRequest(self.on_status, **options)

    def on_error(self, error: TelegramError) -> None:
        """The Updater's ``error_callback``: must not raise, must not be a coroutine."""
        if not isinstance(error, Conflict):
            log.warning("Telegram: getUpdates failed (%s); retrying", self._scrub(error.message))
            return
        self._last_conflict = time.monotonic()
        if not self.conflict:
            self.conflict = True
            log.error(
                "Telegram: another instance is polling this bot token (%s); this one keeps "
                "retrying and misses the updates the other one takes",
                self._scrub(error.message),
            )

    def on_status(self, status: int) -> None:
        quiet = time.monotonic() - self._last_conflict >= self.quiet_seconds
        if status == 200 and self.conflict and quiet:
            self.conflict = False
            log.info("Telegram: polling normally again; no other instance seen on this token")


class _ObservedRequest(HTTPXRequest):
    def __init__(self, on_status: Callable[[int], None], **options: Any) -> None:
        super().__init__(**options)
        self._on_status = on_status

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        status, payload = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        self._on_status(status)
        return status, payload
