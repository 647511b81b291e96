"""Poll: fetch the feeds that are due, hand their items to ingest, decide when to look again.

Each feed carries ``next_check_at``. A feed that just published is polled sooner (down to
``min_interval``), a quiet one at its normal interval; the server's own hints (``<ttl>``,
Cache-Control max-age, Retry-After) push the next check later, errors back off exponentially, and
all of it stays within ``max_interval``. A feed that keeps failing is never dropped silently: its
error count and last error are on the feed for users and operators to see.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import utcnow
from bot.errors import FeedError
from bot.feeds.fetch import FetchResult
from bot.feeds.parse import ParsedFeed
from bot.ingest import Ingestor
from bot.metrics import Metrics
from bot.model import Alert
from bot.settings import PollSettings
from bot.store import alerts as outbox
from bot.store import feeds as feed_store
from bot.store.feeds import FeedRow

__all__ = ["PollOutcome", "Poller", "next_delay"]

log = logging.getLogger(__name__)

PERMANENT_FAILURES_BEFORE_RETIRING = 3
FAILURES_BEFORE_NOTICE = 3
NOTICE_AUDIENCE_WINDOW = timedelta(days=30)

Fetch = Callable[..., Awaitable[FetchResult]]
Parse = Callable[[bytes, str, str | None], Awaitable[ParsedFeed]]


@dataclass(frozen=True, slots=True)
class PollOutcome:
    feed_url: str
    status: str  # "ok", "not-modified" or "error"
    new_items: int = 0
    alerts: int = 0
    error: str | None = None


def next_delay(
    settings: PollSettings,
    *,
    feed_interval: int | None,
    had_new_items: bool = False,
    server_hint: float | None = None,
    error_count: int = 0,
) -> float:
    """Seconds until the next check of a feed."""
    base = min(
        max(feed_interval or settings.interval, settings.min_interval), settings.max_interval
    )
    if error_count:
        delay = float(base * 2 ** min(error_count - 1, 16))
    elif had_new_items:
        delay = max(float(settings.min_interval), base / 2)
    else:
        delay = float(base)
    if server_hint:
        delay = max(delay, server_hint)
    return min(delay, float(settings.max_interval))


class Poller:
    def __init__(
        self,
        engine: AsyncEngine,
        fetch: Fetch,
        parse: Parse,
        ingestor: Ingestor,
        settings: PollSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
        on_alerts: Callable[[], None] = lambda: None,
        lease: timedelta = timedelta(minutes=5),
        metrics: Metrics | None = None,
    ) -> None:
        self._engine = engine
        self._fetch = fetch
        self._parse = parse
        self._ingestor = ingestor
        self._settings = settings
        self._clock = clock
        self._on_alerts = on_alerts
        self._lease = lease
        self._metrics = metrics
        self._in_flight: set[asyncio.Task[PollOutcome]] = set()
        self._ticking: set[asyncio.Task[Any]] = set()  # ticks claiming feeds right now
        self._backlog = False  # the last tick found more due feeds than free slots
        self._closing = False

    async def tick(self) -> None:
        """Start polls for due feeds, up to the concurrency limit, without waiting for them.

        Called every second by the scheduler, and again whenever a poll frees a slot while feeds
        are waiting, so a backlog drains at the speed of the polls, not of the clock.
        """
        free = self._settings.concurrency - len(self._in_flight)
        if free <= 0 or self._closing:
            return
        ticking = asyncio.current_task()
        assert ticking is not None  # a coroutine always runs in a task
        self._ticking.add(ticking)
        try:
            async with self._engine.begin() as conn:
                due = await feed_store.claim_due_feeds(
                    conn, now=self._clock(), limit=free, lease=self._lease
                )
        finally:
            self._ticking.discard(ticking)
        self._backlog = len(due) == free
        for row in due:
            task = asyncio.create_task(self.poll_feed(row), name=f"poll {row.url}")
            self._in_flight.add(task)
            task.add_done_callback(self._polled)

    def _polled(self, task: asyncio.Task[PollOutcome]) -> None:
        self._in_flight.discard(task)
        if self._backlog and not self._ticking and not self._closing:
            self._backlog = False  # the refill tick finds out again
            refill = asyncio.get_running_loop().create_task(self.tick(), name="poll refill")
            self._ticking.add(refill)  # tracked until it has claimed, like any tick
            refill.add_done_callback(self._ticking.discard)

    async def wait_idle(self, timeout: float) -> None:
        """Let polls in flight finish; cancel what is left after ``timeout`` seconds.

        A tick under way (the scheduler does not wait for it when it shuts down) is waited for
        too, with the polls it starts: left to the closing event loop, it would be cut off
        mid-query, and SQLAlchemy's aiosqlite connection then never finishes closing.
        A cancelled poll has committed nothing, so its feed is simply polled again later.
        """
        self._closing = True  # no refill ticks while draining
        try:
            await self._drain(timeout)
        finally:
            self._closing = False

    async def _drain(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while busy := (self._in_flight | self._ticking) - {asyncio.current_task()}:
            _, pending = await asyncio.wait(busy, timeout=max(0.0, deadline - loop.time()))
            if pending and loop.time() >= deadline:
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending)
                return

    async def poll_due(self) -> list[PollOutcome]:
        """Poll every due feed (bounded concurrency); returns what each poll did."""
        async with self._engine.begin() as conn:
            due = await feed_store.claim_due_feeds(
                conn, now=self._clock(), limit=self._settings.concurrency * 5, lease=self._lease
            )
        if not due:
            return []
        limit = asyncio.Semaphore(self._settings.concurrency)

        async def bounded(row: FeedRow) -> PollOutcome:
            async with limit:
                return await self.poll_feed(row)

        return list(await asyncio.gather(*(bounded(row) for row in due)))

    async def poll_feed(self, feed: FeedRow) -> PollOutcome:
        started = time.monotonic()
        try:
            outcome = await self._poll(feed)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug on one feed must not stop polling the others
            log.exception("polling %s failed unexpectedly", feed.url)
            outcome = PollOutcome(feed.url, "error", error="internal error while polling")
        if self._metrics is not None:
            self._metrics.feed_polls.labels(outcome.status).inc()
            self._metrics.fetch_seconds.observe(time.monotonic() - started)
            self._metrics.items_new.inc(outcome.new_items)
        return outcome

    async def _poll(self, feed: FeedRow) -> PollOutcome:
        try:
            result = await self._fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
            if result.not_modified:
                parsed = None
            else:
                parsed = await self._parse(result.content, result.final_url, result.content_type)
        except FeedError as error:
            return await self._record_error(feed, error)
        now = self._clock()
        if parsed is None:
            async with self._engine.begin() as conn:
                await feed_store.record_success(conn, feed.id, **self._success(feed, result, None))
            return PollOutcome(feed.url, "not-modified")
        async with self._engine.begin() as conn:
            outcome = await self._ingestor.ingest(
                conn, feed.id, parsed.items, now=now, first_fetch=feed.never_fetched
            )
            state = self._success(feed, result, parsed, had_new=bool(outcome.new_items))
            await feed_store.record_success(conn, feed.id, **state)
        if outcome.alerts:
            self._on_alerts()
        log.info(
            "polled %s: %d items, %d new, %d alerts",
            feed.url,
            len(parsed.items),
            outcome.new_items,
            outcome.alerts,
        )
        return PollOutcome(feed.url, "ok", new_items=outcome.new_items, alerts=outcome.alerts)

    def _success(
        self,
        feed: FeedRow,
        result: FetchResult,
        parsed: ParsedFeed | None,
        *,
        had_new: bool = False,
    ) -> dict[str, Any]:
        """The fetch state to store after a successful poll, with the next check time."""
        now = self._clock()
        ttl = parsed.ttl if parsed else None
        hint = max(filter(None, [ttl, result.max_age]), default=None)
        delay = next_delay(
            self._settings, feed_interval=feed.interval, had_new_items=had_new, server_hint=hint
        )
        return {
            "now": now,
            "next_check_at": now + timedelta(seconds=delay),
            "status": result.status,
            "etag": result.etag,
            "last_modified": result.last_modified,
            "title": parsed.title if parsed else None,
            "had_new_items": had_new,
            "warning": parsed.warning if parsed else _confirmed_warning(feed),
        }

    async def _notify_failure(
        self, conn: AsyncConnection, feed: FeedRow, message: str, errors: int, now: datetime
    ) -> bool:
        """Tell the chats that depend on a failing feed, once per failure streak."""
        if not await feed_store.claim_failure_notice(conn, feed.id):
            return False
        audience = await feed_store.dependent_chats(
            conn, feed.id, since=now - NOTICE_AUDIENCE_WINDOW
        )
        name = feed.title or feed.url
        notices = [
            outbox.NewAlert(
                chat_pk,
                None,
                f"notice:feed-failing:{feed.id}:{now:%Y%m%dT%H%M%S}",
                Alert(
                    chat=chat,
                    topic_id="",
                    topic_name="Source problem",
                    title=f"A source is failing: {name}",
                    summary=(
                        f"{message} — {errors} polls in a row. Stories from this source are "
                        "delayed until it recovers; the bot keeps trying."
                    ),
                    links=(feed.url,),
                    published=now,
                ),
            )
            for chat_pk, chat in audience
        ]
        return await outbox.enqueue_alerts(conn, notices, now=now) > 0

    async def _record_error(self, feed: FeedRow, error: FeedError) -> PollOutcome:
        now = self._clock()
        errors = feed.error_count + 1
        delay = next_delay(
            self._settings,
            feed_interval=feed.interval,
            server_hint=error.retry_after,
            error_count=errors,
        )
        retire = error.permanent and errors >= PERMANENT_FAILURES_BEFORE_RETIRING
        message = _failure_message(error, errors, retire=retire)
        async with self._engine.begin() as conn:
            await feed_store.record_failure(
                conn,
                feed.id,
                now=now,
                next_check_at=now + timedelta(seconds=delay),
                error=message,
                disable=retire,
            )
            noticed = errors >= FAILURES_BEFORE_NOTICE and await self._notify_failure(
                conn, feed, message, errors, now
            )
        if noticed:
            self._on_alerts()
        log.warning("feed %s failed: %s", feed.url, message)
        return PollOutcome(feed.url, "error", error=message)


def _confirmed_warning(feed: FeedRow) -> str | None:
    """A 304 confirms the content last parsed, and with it that parse's warning, if any.

    After a success ``last_error`` holds the warning; after a failure it holds the error, which
    the 304 does not confirm.
    """
    return feed.last_error if not feed.error_count else None


def _failure_message(error: FeedError, errors: int, *, retire: bool) -> str:
    """The feed's ``last_error``: "HTTP 410 Gone (3 times): feed retired" once it is retired.

    A permanent error says how close the feed is to retiring; fetch's own ": feed retired" (a
    410 read on its own, as ``wirewatch check-feed`` shows it) is dropped, since until the
    third time the feed is still polled.
    """
    if not error.permanent:
        return str(error)
    reason = str(error).removesuffix(": feed retired")
    if retire:
        return f"{reason} ({errors} times): feed retired"
    return f"{reason} ({errors} of {PERMANENT_FAILURES_BEFORE_RETIRING} before the feed is retired)"
