"""The SQLite driver: each statement is one trip to aiosqlite's thread, and behaves as before.

The bot's engine for a ``sqlite+aiosqlite`` URL runs a statement — cursor, execute, fetch,
close — in a single call on the database thread (``bot/store/sqlite_driver.py``). These tests
use that engine through SQLAlchemy, as the store does: results, row counts, executemany,
RETURNING, errors and rollbacks must read exactly as with the stock adapter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import create_engine, migrate
from bot.store.tables import chats

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/driver.db")
    await migrate(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every function sent to an aiosqlite thread, in order."""
    sent: list[str] = []
    original = aiosqlite.Connection._execute

    def counting(self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any) -> Awaitable[Any]:
        sent.append(getattr(fn, "__name__", repr(fn)))
        return original(self, fn, *args)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    return sent


def chat_row(chat_id: str) -> dict[str, Any]:
    return {"platform": "telegram", "chat_id": chat_id, "created_at": NOW}


async def test_a_query_is_one_trip_to_the_database_thread(
    sqlite_engine: AsyncEngine, trips: list[str]
) -> None:
    async with sqlite_engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the pool's first checkout may do more
        trips.clear()
        rows = (await conn.execute(text("SELECT 1 AS one, 'a' AS letter"))).all()
        assert len(trips) == 1
        trips.clear()
        await conn.execute(insert(chats), [chat_row("1"), chat_row("2"), chat_row("3")])
        assert len(trips) == 1  # executemany too
    assert [tuple(row) for row in rows] == [(1, "a")]


async def test_results_rowcounts_and_returning_read_as_sqlalchemy_gives_them(
    sqlite_engine: AsyncEngine,
) -> None:
    async with sqlite_engine.begin() as conn:
        many = await conn.execute(insert(chats), [chat_row("1"), chat_row("2"), chat_row("3")])
        assert many.rowcount == 3
        one = await conn.execute(insert(chats).values(**chat_row("4")))
        assert one.inserted_primary_key is not None and one.inserted_primary_key[0] == 4
        returned = await conn.execute(
            insert(chats).returning(chats.c.id, chats.c.chat_id), [chat_row("5"), chat_row("6")]
        )
        assert sorted((row.id, row.chat_id) for row in returned) == [(5, "5"), (6, "6")]
        updated = await conn.execute(
            chats.update().where(chats.c.chat_id.in_(["1", "2"])).values(paused=True)
        )
        assert updated.rowcount == 2
        by_key = await conn.execute(
            select(chats.c.chat_id).where(chats.c.id.in_(bindparam("ids", expanding=True))),
            {"ids": [1, 3, 5]},
        )
        assert by_key.scalars().all() == ["1", "3", "5"]
        assert (await conn.execute(select(chats.c.id).where(chats.c.id == 99))).first() is None


async def test_a_failed_statement_raises_the_usual_error_and_its_transaction_rolls_back(
    sqlite_engine: AsyncEngine,
) -> None:
    with pytest.raises(IntegrityError, match="UNIQUE"):
        async with sqlite_engine.begin() as conn:
            await conn.execute(insert(chats).values(**chat_row("7")))
            await conn.execute(insert(chats).values(**chat_row("7")))
    with pytest.raises(OperationalError, match="no such table"):
        async with sqlite_engine.connect() as conn:
            await conn.execute(text("SELECT * FROM no_such_table"))
    async with sqlite_engine.connect() as conn:  # the connection is usable again
        count = (await conn.execute(text("SELECT count(*) FROM chats"))).scalar_one()
    assert count == 0  # the first insert was rolled back with its transaction
