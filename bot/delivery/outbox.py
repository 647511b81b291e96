"""Deliver: drain the outbox through the chat channels, retrying what may heal.

The outbox hands out only a chat's oldest unsent alert, so a chat sees its alerts in order and
one at a time; different chats are served side by side. An edit (a story gained sources) updates
the message already sent instead of sending one. A platform's ``retry_after`` is
honoured; other transient errors back off exponentially; permanent refusals and exhausted
retries are marked ``failed`` with the reason, never dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat.base import Channel
from bot.clock import utcnow
from bot.errors import DeliveryError
from bot.metrics import Metrics
from bot.model import Platform
from bot.store import alerts as outbox
from bot.store.chats import set_chat_flags

__all__ = ["Deliverer"]

log = logging.getLogger(__name__)


class Deliverer:
    def __init__(
        self,
        engine: AsyncEngine,
        channels: Mapping[Platform, Channel],
        *,
        clock: Callable[[], datetime] = utcnow,
        batch: int = 100,
        lease: timedelta = timedelta(seconds=120),
        max_attempts: int = 10,
        backoff: timedelta = timedelta(seconds=5),
        metrics: Metrics | None = None,
    ) -> None:
        """``backoff``: the wait after a first transient failure, doubled after each next one."""
        self._engine = engine
        self._channels = dict(channels)
        self._clock = clock
        self._batch = batch
        self._lease = lease
        self._max_attempts = max_attempts
        self._backoff = backoff.total_seconds()
        self._metrics = metrics
        self._wake = asyncio.Event()
        self.sent = 0

    def wake(self) -> None:
        """New alerts were queued: deliver now rather than at the next idle tick."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, *, idle: float = 1.0) -> None:
        while not stop.is_set():
            try:
                delivered = await self.drain_once()
            except Exception:
                log.exception("outbox drain failed; retrying")
                delivered = 0
            if delivered:
                continue
            self._wake.clear()
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def drain_once(self) -> int:
        """Claim and send one batch of due alerts; returns how many were attempted."""
        if not self._channels:
            return 0
        async with self._engine.begin() as conn:
            entries = await outbox.claim_due_alerts(
                conn,
                platforms=list(self._channels),
                now=self._clock(),
                limit=self._batch,
                lease=self._lease,
            )
        await asyncio.gather(*(self._send(entry) for entry in entries))
        return len(entries)

    async def _send(self, entry: outbox.OutboxEntry) -> None:
        if entry.edit_of is not None:
            await self._edit(entry)
            return
        channel = self._channels[entry.alert.chat.platform]
        sent, message_id = await self._attempt(entry, channel.send_alert(entry.alert))
        if not sent:
            return
        async with self._engine.begin() as conn:
            await outbox.mark_sent(conn, entry.id, now=self._clock(), message_id=message_id)
        self.sent += 1
        self._count(entry, "sent")

    async def _edit(self, entry: outbox.OutboxEntry) -> None:
        """Update a sent alert in place (more sources joined its story)."""
        if entry.target_message_id is None:
            async with self._engine.begin() as conn:
                await outbox.mark_failed(
                    conn, entry.id, error="the alert was never delivered: nothing to update"
                )
            return
        channel = self._channels[entry.alert.chat.platform]
        edit = channel.edit_alert(entry.alert, entry.target_message_id)
        edited, _ = await self._attempt(entry, edit)
        if not edited:
            return
        async with self._engine.begin() as conn:
            await outbox.mark_edited(conn, entry.id, now=self._clock())
        self._count(entry, "edited")

    async def _attempt(
        self, entry: outbox.OutboxEntry, call: Awaitable[str | None]
    ) -> tuple[bool, str | None]:
        """Run one platform call; a refusal is recorded (retry or failure) and gives False."""
        try:
            return True, await call
        except DeliveryError as error:
            await self._record_failure(entry, error)
        except Exception as error:  # an adapter bug must not stop delivery to other chats
            log.exception("delivering alert %s to %s failed", entry.id, entry.alert.chat)
            await self._record_failure(entry, DeliveryError(f"unexpected error: {error}"))
        return False, None

    async def _record_failure(self, entry: outbox.OutboxEntry, error: DeliveryError) -> None:
        attempts = entry.attempts + 1
        async with self._engine.begin() as conn:
            if error.chat_gone:
                log.warning(
                    "%s is gone (%s): its subscriptions stop until it comes back",
                    entry.alert.chat,
                    error,
                )
                await set_chat_flags(conn, entry.chat_pk, active=False)
            if error.permanent or attempts >= self._max_attempts:
                log.warning("alert %s to %s failed for good: %s", entry.id, entry.alert.chat, error)
                await outbox.mark_failed(conn, entry.id, error=str(error))
                self._count(entry, "failed")
                return
            delay = error.retry_after or min(self._backoff * 2**entry.attempts, 3600)
            await outbox.mark_retry(
                conn,
                entry.id,
                error=str(error),
                next_attempt_at=self._clock() + timedelta(seconds=delay),
                count_attempt=error.retry_after is None,
            )
        self._count(entry, "retried")

    def _count(self, entry: outbox.OutboxEntry, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.alerts.labels(str(entry.alert.chat.platform), outcome).inc()
