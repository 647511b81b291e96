"""Engine creation and schema migrations.

SQLite (aiosqlite) is the embedded default; PostgreSQL (asyncpg) is selected by the URL. SQLite runs
in WAL mode with a busy timeout so the poller and the deliverer can write concurrently.
Migrations are Alembic's, shipped inside the package so an installed bot can upgrade itself.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.errors import ConfigError
from bot.store.sqlite_driver import one_hop_dbapi

__all__ = ["create_engine", "migrate"]

MIGRATIONS = Path(__file__).with_name("migrations")


def create_engine(url: str) -> AsyncEngine:
    """Build the async engine; creates the SQLite file's folder when needed.

    A folder that cannot be made is a ``ConfigError`` naming it, not a traceback.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            folder = Path(database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                reason = (
                    f"{folder} is not a folder (part of that path is a file)"
                    if isinstance(error, FileExistsError | NotADirectoryError)
                    else f"cannot create {folder}: {error.strerror or error}"
                )
                raise ConfigError(f"cannot open the database at {database}: {reason}") from None
            if "uri" not in parsed.query:
                _open_sqlite_file(database)
        kwargs["connect_args"] = {"timeout": 30}
        if parsed.get_driver_name() == "aiosqlite":
            kwargs["module"] = one_hop_dbapi()
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _open_sqlite_file(database: str) -> None:
    """Open (or create) the file once, synchronously, to name a path that cannot be a database.

    Found here rather than on the first async connect, whose failure leaves aiosqlite's worker
    thread to report to an event loop that may be closed by then (a stray traceback at exit).
    """
    try:
        sqlite3.connect(database).close()
    except sqlite3.Error as error:
        raise ConfigError(f"cannot open the database at {database}: {error}") from None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision (idempotent).

    This is the bot's first use of the database, so a store it cannot open or write (a read-only
    or full disk, a server that refuses) becomes one ``ConfigError`` a person can act on.
    """

    def upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    try:
        async with engine.begin() as connection:
            await connection.run_sync(upgrade)
    except (OperationalError, InterfaceError, OSError) as error:  # not a migration's own bug
        raise ConfigError(
            f"cannot open the database at {_where(engine)}: {_reason(error)}"
        ) from None


def _where(engine: AsyncEngine) -> str:
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string()  # the password hidden


def _reason(error: Exception) -> str:
    """The driver's own words, first line only (SQLAlchemy appends the SQL and a link)."""
    original = getattr(error, "orig", None) or error
    text = str(original).strip()
    return text.splitlines()[0] if text else type(original).__name__
