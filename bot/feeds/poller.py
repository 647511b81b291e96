"""Poll: fetch the feeds that are due, hand their items to ingest, decide when to look again.

Each feed carries ``next_check_at``. A feed that just published is polled sooner (down to
``min_interval``), a quiet one at its normal interval; the server's own hints (``<ttl>``,
Cache-Control max-age, Retry-After) push the next check later, errors back off exponentially, and
all of it stays within ``max_interval``. A feed that keeps failing is never dropped silently: its
error count and last error are on the feed for users and operators to see.

Only failures that will not heal by waiting retire a feed (``bot/feeds/retirement.py``);
transient ones back off, up to ``max_interval``.

Results are written in this order: an answer with a body is ingested and recorded in one
transaction; a 304 only moves the feed's clock, so it waits in a small buffer written in one
statement every ``RECORD_BATCH`` answers or ``RECORD_DELAY`` seconds, and always before the next
claim. A buffered answer lost in a crash only means the feed is polled again once its lease runs
out.
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
from bot.feeds.fetch import FetchResult, HTTPStatusError
from bot.feeds.fulltext import FullText
from bot.feeds.parse import ParsedFeed
from bot.feeds.retirement import failure_message, repeats, retirement_for
from bot.ingest import Ingestor
from bot.metrics import Metrics
from bot.model import Alert
from bot.settings import PollSettings
from bot.store import alerts as outbox
from bot.store import feeds as feed_store
from bot.store.feeds import FeedRow, NotModified

__all__ = ["PollOutcome", "Poller", "next_delay"]

log = logging.getLogger(__name__)

FAILURES_BEFORE_NOTICE = 3
NOTICE_AUDIENCE_WINDOW = timedelta(days=30)
RECORD_BATCH = 100  # 304 answers written in one statement
RECORD_DELAY = 0.25  # seconds a 304 answer may wait for its batch

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
        full_text: FullText | None = None,
    ) -> None:
        """``full_text``: article pages for the new items of feeds with ``fulltext``."""
        self._engine = engine
        self._full_text = full_text
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
        self._unrecorded: list[NotModified] = []  # 304 answers waiting for their batch
        self._record_timer: asyncio.TimerHandle | None = None
        self._recording: asyncio.Task[None] | None = None

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
            due = await self._claim(free)
        finally:
            self._ticking.discard(ticking)
        self._backlog = len(due) == free
        for row in due:
            task = asyncio.create_task(self.poll_feed(row), name=f"poll {row.url}")
            self._in_flight.add(task)
            task.add_done_callback(self._polled)

    async def _claim(self, limit: int) -> list[FeedRow]:
        """Claim due feeds, after committing every answer recorded so far."""
        while self._recording is not None:
            await asyncio.shield(self._recording)
        answers = self._take_unrecorded()
        async with self._engine.begin() as conn:
            await feed_store.record_not_modified(conn, answers)
            return await feed_store.claim_due_feeds(
                conn, now=self._clock(), limit=limit, lease=self._lease
            )

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
            await self.record_answers()
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
        due = await self._claim(self._settings.concurrency * 5)
        if not due:
            return []
        limit = asyncio.Semaphore(self._settings.concurrency)

        async def bounded(row: FeedRow) -> PollOutcome:
            async with limit:
                return await self.poll_feed(row)

        outcomes = list(await asyncio.gather(*(bounded(row) for row in due)))
        await self.record_answers()
        return outcomes

    # --- the 304 buffer -------------------------------------------------------------------------

    async def record_answers(self) -> None:
        """Write the buffered 304 answers now (and wait for a write under way)."""
        self._start_recording()
        if self._recording is not None:
            await asyncio.shield(self._recording)

    def _record_later(self, answer: NotModified) -> None:
        self._unrecorded.append(answer)
        if len(self._unrecorded) >= RECORD_BATCH:
            self._start_recording()
        elif self._record_timer is None:
            loop = asyncio.get_running_loop()
            self._record_timer = loop.call_later(RECORD_DELAY, self._start_recording)

    def _take_unrecorded(self) -> list[NotModified]:
        if self._record_timer is not None:
            self._record_timer.cancel()
            self._record_timer = None
        taken, self._unrecorded = self._unrecorded, []
        return taken

    def _start_recording(self) -> None:
        if self._recording is None and self._unrecorded:
            self._recording = asyncio.get_running_loop().create_task(self._record_batches())

    async def _record_batches(self) -> None:
        try:
            while batch := self._take_unrecorded():
                try:
                    async with self._engine.begin() as conn:
                        await feed_store.record_not_modified(conn, batch)
                except Exception:  # the feeds are polled again when their lease runs out
                    log.exception("recording %d unchanged feeds failed", len(batch))
        finally:
            self._recording = None

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
            self._record_later(self._not_modified(feed, result))
            return PollOutcome(feed.url, "not-modified")
        items = parsed.items
        if feed.fulltext and self._full_text is not None:  # pages fetched outside a transaction
            items = await self._full_text.enrich_new(feed.id, items)
        async with self._engine.begin() as conn:
            outcome = await self._ingestor.ingest(
                conn, feed.id, items, now=now, first_fetch=feed.never_fetched
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

    def _not_modified(self, feed: FeedRow, result: FetchResult) -> NotModified:
        """A 304's record: the validators that earned it, and the next check time."""
        state = self._success(feed, result, None)
        return NotModified(
            feed_id=feed.id,
            checked_at=state["now"],
            next_check_at=state["next_check_at"],
            status=result.status,
            etag=result.etag,
            last_modified=result.last_modified,
            warning=state["warning"],
        )

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
        retirement = retirement_for(error)
        reason = str(error).removesuffix(": feed retired")
        new_streak = retirement is not None and not repeats(feed, reason)
        errors = 1 if new_streak else feed.error_count + 1
        delay = next_delay(
            self._settings,
            feed_interval=feed.interval,
            server_hint=error.retry_after,
            error_count=errors,
        )
        last_success = feed.last_success_at or feed.created_at
        retire = retirement is not None and retirement.reached(
            errors, last_success=last_success, now=now
        )
        message = failure_message(reason, errors, retirement, retire=retire)
        async with self._engine.begin() as conn:
            await feed_store.record_failure(
                conn,
                feed.id,
                now=now,
                next_check_at=now + timedelta(seconds=delay),
                error=message,
                status=error.status if isinstance(error, HTTPStatusError) else None,
                disable=retire,
                new_streak=new_streak,
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
