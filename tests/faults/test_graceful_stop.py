"""Stopping the bot while a scheduled job is half-way through its transaction.

The job that releases alerts held by quiet hours is caught waiting for SQLite's write lock (held
by another writer, as a backup or an operator's sqlite3 shell would) when the bot is told to stop.
Stop lets it finish its write once the lock is free, then shuts the scheduler and the store down,
within its grace; the alert is sent (or queued to be), not left held until the next start.
"""

from __future__ import annotations

import asyncio
import io
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_SUBMITTED, JobEvent

from bot.app import SHUTDOWN_GRACE_SECONDS, App, AppOptions
from bot.chat.console import CONSOLE_CHAT
from bot.digest.scheduler import RELEASE_JOB
from bot.model import Item
from bot.settings import load_settings
from bot.store import chats as chat_store
from bot.store import feeds as feed_store
from bot.store import quiet as quiet_store
from tests.feeds import TALKS, WEATHER, rss
from tests.feedserver import FeedServer

FEED = "/wire.xml"
LOCK_SECONDS = 1.0


@pytest.fixture
async def app(tmp_path: Path, feed_server: FeedServer) -> AsyncIterator[App]:
    feed_server.set(FEED, rss(WEATHER))
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'wirewatch.db'}",
        feeds_file=None,
        feeds=[{"url": feed_server.url(FEED)}],
        fetch={"allow_private_networks": True},
        http={"enabled": False},
        console={"enabled": "always"},
    )
    app = App(settings, AppOptions(console_stream=io.StringIO()))
    await app.start()
    yield app
    if app.running:
        await app.stop()


async def alert_held_by_quiet_hours_that_just_ended(app: App, feed_url: str) -> None:
    """A story that came in two hours ago, in quiet hours that ended an hour ago."""
    came_in = datetime.now(UTC) - timedelta(hours=2)
    minute = came_in.hour * 60 + came_in.minute
    item = Item(feed_url, TALKS.title, TALKS.description, url=TALKS.link, published=came_in)
    async with app.engine.begin() as conn:
        chat = await chat_store.get_chat(conn, CONSOLE_CHAT)
        assert chat is not None
        await quiet_store.set_quiet(conn, chat.id, ((minute - 60) % 1440, (minute + 60) % 1440))
        feed = await feed_store.get_feed(conn, feed_url)
        assert feed is not None
        await app.ingestor.ingest(conn, feed.id, [item], now=came_in, first_fetch=False)


def alert_statuses(database: Path) -> list[str]:
    with sqlite3.connect(database) as conn:
        return [status for (status,) in conn.execute("SELECT status FROM alerts")]


async def start_release_job(app: App) -> None:
    """Run the quiet-hours release job now, and return once it is under way."""
    submitted = asyncio.Event()

    def on_submitted(event: JobEvent) -> None:
        if event.job_id == RELEASE_JOB:
            submitted.set()

    app.scheduler.add_listener(on_submitted, EVENT_JOB_SUBMITTED)
    app.scheduler.modify_job(RELEASE_JOB, next_run_time=datetime.now(UTC))
    await asyncio.wait_for(submitted.wait(), 5)
    await asyncio.sleep(0.3)  # into its UPDATE, waiting for the lock


async def test_stop_lets_a_running_job_finish_its_write(
    app: App, feed_server: FeedServer, tmp_path: Path
) -> None:
    database = tmp_path / "wirewatch.db"
    await alert_held_by_quiet_hours_that_just_ended(app, feed_server.url(FEED))
    assert alert_statuses(database) == ["held"]

    # Taken off the event loop: waiting for the lock there would stall the bot's own commits.
    holder = sqlite3.connect(database, timeout=30, isolation_level=None, check_same_thread=False)
    await asyncio.to_thread(holder.execute, "BEGIN IMMEDIATE")
    try:
        await start_release_job(app)
        began = time.monotonic()
        stopping = asyncio.create_task(app.stop())
        await asyncio.sleep(LOCK_SECONDS)
        assert not stopping.done()  # waiting for the job, not leaving it behind
    finally:
        holder.execute("COMMIT")
        holder.close()
    await asyncio.wait_for(stopping, SHUTDOWN_GRACE_SECONDS * 3)
    took = time.monotonic() - began

    assert alert_statuses(database) in (["sent"], ["pending"])  # released: sent now or at start
    assert took < SHUTDOWN_GRACE_SECONDS + 1.5
