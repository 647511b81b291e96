"""PostgreSQL advisory locks: how instances sharing one database agree who does what.

Two locks, each a fixed 64-bit key (advisory locks are per database, so bots on other databases
of the same server never collide):

- ``STARTUP_LOCK``: held while an instance migrates the schema and syncs topics and feeds from its
  configuration, so replicas started together on a fresh database take turns instead of racing
  on ``CREATE TABLE`` and the feeds' unique URLs.
- ``LEADER_LOCK``: held by the leader for as long as it leads (``bot/leader.py``).

On SQLite there is one instance, so ``startup_turn`` does nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["LEADER_LOCK", "STARTUP_LOCK", "startup_turn"]

STARTUP_LOCK = 0x5757_5354_4152_5455  # "WWSTARTU"
LEADER_LOCK = 0x5757_4C45_4144_4552  # "WWLEADER"


@contextlib.asynccontextmanager
async def startup_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    """Wait until no other instance is starting up, and keep them waiting until this one is done."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": STARTUP_LOCK})
        await conn.commit()
        try:
            yield
        finally:
            # A session lock outlives a returned connection: unlock, or close it if that fails.
            try:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": STARTUP_LOCK})
                await conn.commit()
            except Exception:
                await conn.invalidate()
                raise
