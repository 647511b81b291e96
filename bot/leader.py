"""Leader election: exactly one instance runs what must run once (Telegram long polling, digests).

Every instance polls feeds and delivers alerts; the store's leases and unique constraints keep
that safe. Telegram long polling cannot be shared (Telegram answers a second poller 409
Conflict), and one digest scheduler is enough, so those run on the leader only.

On PostgreSQL the leader is the instance holding the session-level advisory lock ``LEADER_LOCK``
on a connection of its own, kept open for as long as it leads:

1. Every ``retry_seconds`` a follower tries ``pg_try_advisory_lock`` on its connection.
2. The leader checks that connection every ``retry_seconds``. When a check fails or takes longer
   than ``retry_seconds`` the lock must be taken as lost: the leader stops its leader-only
   services at once and goes back to being a follower.
3. PostgreSQL releases the lock when the leader's session ends: at once when its process dies
   (the socket closes), within about 25 s when its machine or network goes silent
   (``DEAD_PEER_SETTINGS``), and a follower takes over at its next try: well within a minute.

``on_elected`` starts the leader-only services, ``on_deposed`` stops them. On SQLite there is
only one instance, and it leads from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.advisory import LEADER_LOCK

__all__ = ["Leadership"]

log = logging.getLogger(__name__)

# How soon the server gives up on the leader's connection when its machine or network goes
# silent: after 10 + 5 × 3 s of unanswered keepalives, or 25 s of an unacknowledged answer.
DEAD_PEER_SETTINGS = {
    "tcp_keepalives_idle": "10",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "25000",  # milliseconds
}

Hook = Callable[[], Awaitable[None]]


class Leadership:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        on_elected: Hook,
        on_deposed: Hook,
        registry: CollectorRegistry | None = None,
        retry_seconds: float = 5.0,
        active: Callable[[], bool] = lambda: True,
    ) -> None:
        """``active``: False while the app is stopping, when a follower must not take over."""
        self._engine = engine
        self._active = active
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self._retry_seconds = retry_seconds
        self._conn: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self.is_leader = False
        self._gauge = Gauge(
            "wirewatch_leader",
            "1 while this instance leads (runs Telegram long polling and the digest scheduler).",
            registry=registry,
        )

    @property
    def shared(self) -> bool:
        """Whether other instances may share the store (PostgreSQL), so leadership is contested."""
        return self._engine.dialect.name == "postgresql"

    async def start(self, stop: asyncio.Event) -> None:
        """Try once now (a failing ``on_elected`` raises here, as at any start), then keep trying.

        The background loop ends, releasing the lock, when ``stop`` is set.
        """
        if not self.shared:
            await self._lead()
            return
        if await self._acquire():
            try:
                await self._lead()
            except BaseException:
                self.is_leader = False
                self._gauge.set(0)
                await self._close()
                raise
        self._task = asyncio.create_task(self._run(stop), name="leader election")

    async def _run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._retry_seconds)
                if stop.is_set():
                    break
                if self.is_leader:
                    await self._check()
                elif self._active() and await self._acquire():
                    await self._lead_or_step_down()
        finally:
            self.is_leader = False  # the services are stopped by whoever set ``stop``
            self._gauge.set(0)
            await self._close()

    async def _acquire(self) -> bool:
        try:
            async with asyncio.timeout(self._retry_seconds):
                if self._conn is None:
                    self._conn = await self._connect()
                result = await self._conn.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK}
                )
                return bool(result.scalar_one())
        except Exception as error:
            log.warning("leader election: cannot reach the database (%s); retrying", error)
            await self._close()
            return False

    async def _connect(self) -> AsyncConnection:
        conn = await self._engine.connect()
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for name, value in DEAD_PEER_SETTINGS.items():
            await conn.execute(text(f"SET {name} = {value}"))
        return conn

    async def _lead(self) -> None:
        self.is_leader = True
        self._gauge.set(1)
        log.info("this instance leads: it runs Telegram long polling and the digest scheduler")
        await self._on_elected()

    async def _lead_or_step_down(self) -> None:
        try:
            await self._lead()
        except Exception:
            log.exception("leader-only services failed to start; stepping down")
            await self._step_down()

    async def _check(self) -> None:
        assert self._conn is not None
        try:
            async with asyncio.timeout(self._retry_seconds):
                await self._conn.execute(text("SELECT 1"))
        except Exception as error:
            log.warning("lost the database connection that holds leadership (%s)", error)
            await self._step_down()

    async def _step_down(self) -> None:
        """Stop the leader-only services, then let the lock go (by closing its session)."""
        self.is_leader = False
        self._gauge.set(0)
        try:
            await self._on_deposed()
        except Exception:
            log.exception("stopping the leader-only services failed")
        await self._close()
        log.info("this instance no longer leads")

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            await conn.invalidate()  # closes the session, which releases the lock
        with contextlib.suppress(Exception):
            await conn.close()
