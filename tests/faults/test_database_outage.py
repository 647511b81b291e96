"""The database out of reach for a few seconds while the bot polls a feed and delivers.

SQLite: another process holds the write lock for ~5 s (``BEGIN EXCLUSIVE``), as a backup or an
operator's sqlite3 shell would. PostgreSQL: the server vanishes for a few seconds, played by a
TCP proxy this test runs in front of it and cuts (the machine's PostgreSQL is shared; it is never
restarted). Either way the bot keeps running, and the story published during the outage is
alerted exactly once after it: at once after a lock, and after a poll's lease for a poll the
outage cut off (``bot.app.poll_lease``).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from bot.app import App, AppOptions
from bot.settings import load_settings
from tests.conftest import POSTGRES_URL
from tests.feeds import EVACUATION, TALKS, WEATHER, rss
from tests.feedserver import FeedServer
from tests.postgres import LOCAL_POSTGRES, fresh_database

FEED = "/wire.xml"
SEPARATOR = "─" * 72
LOCK_SECONDS = 5.0
OUTAGE_SECONDS = 4.0

StartApp = Callable[[str], Any]


async def wait_for(condition: Callable[[], Any], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def alerts_in(stream: io.StringIO) -> list[str]:
    return [block.strip() for block in stream.getvalue().split(SEPARATOR) if block.strip()]


def alerted(stream: io.StringIO, headline: str) -> int:
    return sum(headline in block for block in alerts_in(stream))


@pytest.fixture
async def start_app(feed_server: FeedServer) -> AsyncIterator[Callable[..., Any]]:
    apps: list[App] = []

    async def start(database_url: str) -> tuple[App, io.StringIO]:
        stream = io.StringIO()
        settings = load_settings(
            database_url=database_url,
            feeds_file=None,
            feeds=[{"url": feed_server.url(FEED)}],
            poll={"interval": 1, "min_interval": 1},
            # a poll lease of 2 + 1 + 30 s (bot.app.poll_lease): what an outage costs a feed
            fetch={
                "allow_private_networks": True,
                "total_timeout": 2,
                "read_timeout": 1,
                "parse_timeout": 1,
            },
            http={"enabled": False},
            console={"enabled": "always"},
            delivery={"backoff": 0.2},
        )
        app = App(settings, AppOptions(console_stream=stream))
        apps.append(app)
        await app.start()
        return app, stream

    yield start
    for app in apps:
        if app.running:
            await app.stop()


async def test_sqlite_locked_by_another_writer_for_seconds_loses_nothing(
    start_app: StartApp, feed_server: FeedServer, tmp_path: Path
) -> None:
    path = tmp_path / "wirewatch.db"
    feed_server.set(FEED, rss(WEATHER))
    app, stream = await start_app(f"sqlite+aiosqlite:///{path}")
    await wait_for(lambda: feed_server.hits(FEED) >= 1)
    await asyncio.sleep(0.5)  # the first poll stored

    hits = feed_server.hits(FEED)
    feed_server.set(FEED, rss(EVACUATION, WEATHER))
    feed_server.delay(FEED, 1.5)  # a slow answer, so the lock can start while it is in flight
    await wait_for(lambda: feed_server._in_flight > 0)
    # Off the event loop: a wait for the lock there would stall the bot's own commits.
    holder = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    await asyncio.to_thread(holder.execute, "BEGIN EXCLUSIVE")
    try:
        await wait_for(lambda: feed_server.hits(FEED) > hits)  # fetched while locked out
        await asyncio.sleep(LOCK_SECONDS)
        assert alerted(stream, EVACUATION.title) == 0  # nothing could be stored yet
        assert app.running
    finally:
        holder.execute("COMMIT")
        holder.close()
    feed_server.delay(FEED, 0)

    await wait_for(lambda: alerted(stream, EVACUATION.title) >= 1)
    hits = feed_server.hits(FEED)
    await wait_for(lambda: feed_server.hits(FEED) >= hits + 2)  # re-polled, still quiet
    assert app.running
    assert alerted(stream, EVACUATION.title) == 1


class CuttableProxy:
    """A TCP proxy to a server; ``cut()`` drops every connection and refuses new ones."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._writers.discard(writer)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A private database on the shared PostgreSQL; skipped when none answers."""
    yield from fresh_database(POSTGRES_URL or LOCAL_POSTGRES, "ww_faults")


@pytest.mark.slow  # a poll cut off by the outage waits out its lease (~33 s here)
async def test_postgres_out_of_reach_for_seconds_the_bot_recovers(
    start_app: StartApp, feed_server: FeedServer, postgres_database: str
) -> None:
    url = make_url(postgres_database)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.open()
    feed_server.set(FEED, rss(WEATHER))
    app, stream = await start_app(
        url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )
    await wait_for(lambda: feed_server.hits(FEED) >= 1)
    await asyncio.sleep(0.5)

    await proxy.cut()
    hits = feed_server.hits(FEED)
    feed_server.set(FEED, rss(EVACUATION, WEATHER))
    await asyncio.sleep(OUTAGE_SECONDS)
    assert app.running
    await proxy.open()  # the same port: the server is back

    await wait_for(lambda: alerted(stream, EVACUATION.title) >= 1, timeout=60)
    feed_server.set(FEED, rss(TALKS, EVACUATION, WEATHER))  # new stories flow again
    await wait_for(lambda: alerted(stream, TALKS.title) >= 1, timeout=30)
    assert feed_server.hits(FEED) > hits
    assert alerted(stream, EVACUATION.title) == 1
    assert app.running
    await proxy.cut()
    await proxy.open()
