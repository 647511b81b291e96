"""A private PostgreSQL database for one test, created on the server and dropped after it."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator

import pytest

LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1/test"


def fresh_database(server: str, prefix: str, *, skip_if_absent: bool = True) -> Iterator[str]:
    """Yield the URL of a new database on ``server`` (a ``postgresql+asyncpg://`` URL).

    Skips the test when no server answers, unless ``skip_if_absent`` is off (the store tests
    were told to run on PostgreSQL: then that is a failure). The statements run on a thread of
    their own, so a fixture may call this while an event loop runs.
    """
    import asyncpg  # type: ignore[import-untyped]

    dsn = server.replace("postgresql+asyncpg://", "postgresql://")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"

    def admin(statement: str) -> None:
        async def run() -> None:
            conn = await asyncpg.connect(dsn, timeout=3)
            try:
                await conn.execute(statement)
            finally:
                await conn.close()

        errors: list[BaseException] = []

        def on_thread() -> None:
            try:
                asyncio.run(run())
            except BaseException as error:  # handed to the test's thread
                errors.append(error)

        thread = threading.Thread(target=on_thread)
        thread.start()
        thread.join()
        if errors:
            raise errors[0]

    try:
        admin(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as error:
        if not skip_if_absent:
            raise
        pytest.skip(f"no PostgreSQL to test against: {error}")
    try:
        yield server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
