"""A private PostgreSQL database per test: replicas only share work on PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import POSTGRES_URL

LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1/test"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the local server; the test is skipped when none answers."""
    asyncpg = pytest.importorskip("asyncpg")
    server = POSTGRES_URL or LOCAL_POSTGRES
    dsn = server.replace("postgresql+asyncpg://", "postgresql://")
    name = f"ww_scale_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(dsn, timeout=3)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"no PostgreSQL to test against: {error}")
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
