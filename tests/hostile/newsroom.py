"""A newsroom under attack: the real ``App`` polling hostile feeds beside a good one.

``newsroom(...)`` starts the bot as ``wirewatch run`` would (store migrated, scheduler ticking,
console channel writing alerts into a ``StringIO``), subscribed to one probe topic ("kestrel"), and
offers what a person would look at: the alerts printed, a feed's stored row, the ``/feeds`` reply
an operator gets, and the output of ``wirewatch check-feed`` run with the same settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import App, AppOptions
from bot.commands import check_feed
from bot.model import ChatRef, Platform
from bot.settings import Settings, load_settings
from bot.store import feeds as feed_store
from bot.store.feeds import FeedRow
from bot.store.tables import feeds, items
from handlers.permissions import Caller
from tests.feeds import Entry, rss

__all__ = [
    "GOOD_STORY",
    "OPERATOR",
    "PROBE_TOPIC",
    "CheckFeed",
    "Newsroom",
    "clean_environment",
    "good_feed",
    "later_than",
    "newsroom",
    "newsroom_settings",
]

SEPARATOR = "─" * 72
_APSCHEDULER_JOB = "run_coroutine_job"  # the coroutine APScheduler's asyncio executor runs jobs in
PROBE_TOPIC = {"id": "kestrel-watch", "name": "Kestrel watch", "query": "kestrel"}
OPERATOR = Caller(ChatRef(Platform.TELEGRAM, "1"), user_id="1", is_operator=True)
GOOD_STORY = Entry(
    "good-1",
    "Kestrel nests on the Kyiv TV tower",
    "https://good.example/kestrel",
    "A pair of kestrels has nested on the TV tower for the third spring running.",
)
_PLATFORM_ENV = (
    "DATABASE_URL",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_BASE_URL",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_BASE_URL",
)


def good_feed() -> str:
    """The well-behaved neighbour: one fresh story on the probe topic."""
    return rss(GOOD_STORY, title="Good Wire")


@contextlib.contextmanager
def clean_environment() -> Iterator[None]:
    """What tests/conftest.py does per test, for module-scoped bots: no developer settings."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("WIREWATCH_") or name in _PLATFORM_ENV:
                patch.delenv(name)
        yield


@dataclass(frozen=True, slots=True)
class CheckFeed:
    """``wirewatch check-feed URL`` as a person sees it."""

    status: int
    out: str
    err: str


@dataclass(slots=True)
class Newsroom:
    app: App
    settings: Settings
    stream: io.StringIO

    def alerts(self) -> list[str]:
        """The alerts printed so far, one block each."""
        blocks = self.stream.getvalue().split(SEPARATOR)
        return [block.strip() for block in blocks if block.strip()]

    async def feed(self, url: str) -> FeedRow:
        async with self.app.engine.connect() as conn:
            row = await feed_store.get_feed(conn, url)
        assert row is not None, f"{url} is not stored"
        return row

    async def enabled(self, url: str) -> bool:
        async with self.app.engine.connect() as conn:
            value = await conn.scalar(select(feeds.c.enabled).where(feeds.c.url == url))
        return bool(value)

    async def stored_titles(self, url: str) -> list[str]:
        async with self.app.engine.connect() as conn:
            rows = await conn.execute(
                select(items.c.title)
                .join(feeds, feeds.c.id == items.c.feed_id)
                .where(feeds.c.url == url)
                .order_by(items.c.id)
            )
            return [row.title for row in rows]

    async def wait_for_feed(
        self, url: str, condition: Callable[[FeedRow], bool], timeout: float = 45.0
    ) -> FeedRow:
        """Poll the store until the feed's row satisfies ``condition``; fail after ``timeout``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            row = await self.feed(url)
            if condition(row):
                return row
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{url} never got there; last state: {row}")
            await asyncio.sleep(0.1)

    async def failure(self, url: str, timeout: float = 45.0) -> str:
        """The error recorded for a feed that is expected to fail."""
        row = await self.wait_for_feed(url, lambda row: row.error_count > 0, timeout)
        assert row.last_error is not None
        return row.last_error

    async def wait_for_alert(self, text: str, timeout: float = 45.0) -> str:
        deadline = asyncio.get_running_loop().time() + timeout
        while not (found := [alert for alert in self.alerts() if text in alert]):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no alert with {text!r}; printed: {self.alerts()}")
            await asyncio.sleep(0.1)
        return found[0]

    async def feeds_reply(self) -> str:
        """What an operator reads after sending /feeds."""
        return (await self.app.commands.handle(OPERATOR, "feeds")).text

    async def check_feed(self, url: str) -> CheckFeed:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = await check_feed(self.settings, url)
        return CheckFeed(status, out.getvalue(), err.getvalue())


def newsroom_settings(
    database_url: str, feed_urls: list[str | dict[str, Any]], **sections: Any
) -> Settings:
    """Settings for a fast-polling bot on 127.0.0.1, subscribed to the probe topic only.

    A feed is its URL, or a ``[[feeds]]`` table such as ``{"url": …, "interval": 60}``.
    """
    fetch = {"allow_private_networks": True, "total_timeout": 5, "read_timeout": 3}
    return load_settings(
        database_url=database_url,
        feeds_file=None,
        feeds=[{"url": feed} if isinstance(feed, str) else feed for feed in feed_urls],
        topics=[PROBE_TOPIC],
        poll={"interval": 1, "min_interval": 1, **sections.pop("poll", {})},
        fetch=fetch | sections.pop("fetch", {}),
        http={"enabled": False},
        console={"enabled": "always", "topics": [PROBE_TOPIC["id"]]},
        **sections,
    )


@contextlib.asynccontextmanager
async def newsroom(
    settings: Settings, options: AppOptions | None = None
) -> AsyncIterator[Newsroom]:
    stream = io.StringIO()
    base = options or AppOptions()
    app = App(
        settings,
        AppOptions(
            console_stream=stream,
            trusted_origins=base.trusted_origins,
            start_scheduler=base.start_scheduler,
        ),
    )
    await app.start()
    try:
        yield Newsroom(app, settings, stream)
    finally:
        if app.running:
            await _let_scheduled_jobs_finish(app)
            await app.stop()


async def _let_scheduled_jobs_finish(app: App) -> None:
    """Pause the scheduler and wait for the jobs it has already started.

    ``App.stop`` shuts APScheduler down without waiting for coroutine jobs under way (a digest
    release, a poll tick). One cut off mid-query when the event loop closes leaves SQLAlchemy's
    aiosqlite connection closing forever, and the loop never closes: seen after the 10,000-item
    feed kept the database busy. Until the app waits for them itself, the harness does.
    """
    if app.scheduler.running:
        app.scheduler.pause()
    current = asyncio.current_task()
    jobs = {
        task
        for task in asyncio.all_tasks()
        if task is not current and getattr(task.get_coro(), "__qualname__", "") == _APSCHEDULER_JOB
    }
    if jobs:
        await asyncio.wait(jobs, timeout=30)


def later_than(row: FeedRow, seconds: float) -> bool:
    """True when the feed's next check is at least ``seconds`` after its last one."""
    assert row.last_checked_at is not None
    return row.next_check_at - row.last_checked_at >= timedelta(seconds=seconds)
