"""Shared fixtures: a migrated store on SQLite (or PostgreSQL), and a local feed server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import create_engine, migrate
from tests.feedserver import FeedServer
from tests.postgres import fresh_database

# Set to a postgresql+asyncpg:// URL to run the store tests on PostgreSQL (.ci/run does).
POSTGRES_URL = os.environ.get("WIREWATCH_TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's own Wirewatch or platform settings."""
    for name in list(os.environ):
        if name.startswith("WIREWATCH_") or name in {
            "DATABASE_URL",
            "TELEGRAM_BOT_TOKEN",
            "TELEGRAM_API_BASE_URL",
            "SLACK_BOT_TOKEN",
            "SLACK_SIGNING_SECRET",
            "SLACK_APP_TOKEN",
            "SLACK_API_BASE_URL",
        }:
            monkeypatch.delenv(name)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, or a private schema on PostgreSQL."""
    if not POSTGRES_URL:
        yield f"sqlite+aiosqlite:///{tmp_path}/wirewatch.db"
        return
    yield from fresh_database(POSTGRES_URL, "ww_test", skip_if_absent=False)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:

    with FeedServer() as server:
        yield server


@pytest.fixture
def other_server() -> Iterator[FeedServer]:
    """A second local server: another origin, for redirects and trust boundaries."""
    with FeedServer() as server:
        yield server


async def table_count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())
