"""Run a digest: claim its period and queue its messages in one transaction, exactly once.

For one schedule at time ``now``:

1. The due periods are those ending after the schedule's last claimed period (or its creation)
   and at least ``SETTLE`` before ``now`` (``due_periods``), so that every match stamped before
   a period's end has been committed when it is read.
2. Periods that ended more than ``digest.grace`` ago are skipped with a log line; when nothing
   newer is due, the latest of them is recorded as ``skipped`` so the skip is logged once.
3. Otherwise the newest due period is sent, covering every fresh missed period too (one late
   digest after downtime, not one per missed hour), marked late when it goes out more than
   ``LATE_AFTER`` after its time. Its content starts where the chat's previous digest ended.
4. In **one transaction**: the stories are collected and ranked, the digest is split into
   messages for the chat's platform, the (schedule, period start) run is claimed under a unique
   constraint — if it was claimed before, nothing is queued — and every message is queued in the
   outbox with the story key ``digest:<schedule id>:<period start ISO>:<part n>``. A crash before
   the commit leaves no claim and no message (the period is due again on restart); after it, the
   claim stops a resend and the outbox delivers what was queued.

An empty digest queues nothing (unless ``digest.send_empty``), and a paused chat gets nothing;
both still claim their period.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import utcnow
from bot.digest.content import STORY_LOOKBACK, DigestTopic, build_digest
from bot.digest.schedule import Period, Schedule, ScheduleError, due_periods, parse_schedule
from bot.model import Alert, ChatRef, Digest, Topic
from bot.settings import DigestSettings
from bot.store import digests as store
from bot.store.alerts import NewAlert, enqueue_alerts

__all__ = ["LATE_AFTER", "SETTLE", "DigestRunner", "RunResult", "digest_story_key"]

log = logging.getLogger(__name__)

# A period is run this long after it ends: an ingest that stamped its matches just before the
# end (its "now") and commits a little later is then in, not lost between two digests. As long as
# SQLite may wait for its write lock (busy_timeout), so no transaction outlasts it.
SETTLE = timedelta(seconds=30)
LATE_AFTER = timedelta(minutes=2)  # after its time (plus SETTLE), a digest says "sent late"
MAX_CATCH_UP = timedelta(days=31)  # older periods are long past any grace
ON_DEMAND_WINDOW = timedelta(days=1)  # "digest now" without an earlier digest
ON_DEMAND_MAX = timedelta(days=7)
STORY_CACHE_SIZE = 512  # (topic, window) entries: chats sharing a topic and a period share rows

Messages = Callable[[ChatRef, Digest], list[Alert]]


@dataclass(frozen=True, slots=True)
class RunResult:
    """What became of one digest: ``sent``, ``empty``, ``skipped`` or ``claimed before``."""

    chat: ChatRef
    status: str
    period: Period
    schedule_id: int | None = None
    stories: int = 0
    messages: int = 0
    late: bool = False


def digest_story_key(schedule_id: int | None, period_start: datetime, part: int) -> str:
    owner = "now" if schedule_id is None else str(schedule_id)
    return f"digest:{owner}:{period_start.isoformat()}:{part}"


class DigestRunner:
    def __init__(
        self,
        engine: AsyncEngine,
        topics: Mapping[str, Topic],
        settings: DigestSettings,
        messages: Messages,
        *,
        clock: Callable[[], datetime] = utcnow,
        on_queued: Callable[[], None] = lambda: None,
        concurrency: int | None = None,
    ) -> None:
        self._engine = engine
        self._topics = topics
        self._settings = settings
        self._messages = messages
        self._clock = clock
        self._on_queued = on_queued
        if concurrency is None:  # SQLite has one writer: parallel digests only wait on its lock
            concurrency = 1 if engine.dialect.name == "sqlite" else 4
        self._slots = asyncio.Semaphore(concurrency)  # many schedules share the same minute
        self._stories: OrderedDict[tuple[str, datetime, datetime], list[store.StoryRow]]
        self._stories = OrderedDict()

    async def run_due(self, schedule_id: int) -> RunResult | None:
        """Send what is due for one schedule (the APScheduler job)."""
        async with self._engine.connect() as conn:
            row = await store.get_schedule(conn, schedule_id=schedule_id)
        return await self._run(row, None, self._clock()) if row is not None else None

    async def catch_up(self) -> list[RunResult]:
        """Send what is due for every schedule: at start, and now and then as a safety net."""
        now = self._clock()
        async with self._engine.connect() as conn:
            rows = await store.list_schedules(conn)
            last_ends = await store.last_run_ends(conn)
        results = await asyncio.gather(
            # A schedule that never ran is due from its creation.
            *(self._run(row, last_ends.get(row.id, row.created_at), now) for row in rows)
        )
        return [result for result in results if result is not None]

    async def send_now(self, chat_pk: int, chat: ChatRef, zone: str) -> RunResult:
        """Send the chat's digest since its previous one, at once ("digest now")."""
        now = self._clock()
        until = now - SETTLE
        async with self._slots, self._engine.begin() as conn:
            previous = await store.last_chat_digest_end(conn, chat_pk, not_after=until)
            since = min(max(previous or until - ON_DEMAND_WINDOW, until - ON_DEMAND_MAX), until)
            run = store.NewRun(chat_pk, None, since, until)
            result = await self._deliver(conn, chat, zone, "Digest", run, since, now)
        return self._queued(result)

    async def _run(
        self, row: store.ScheduleRow, known_end: datetime | None, now: datetime
    ) -> RunResult | None:
        """Run what is due. ``known_end``, a recent read of the last claimed period's end, lets
        most schedules be passed over without touching the store; what looks due is read again
        in the transaction that sends it, since another run may have claimed it meanwhile."""
        try:
            schedule = parse_schedule(row.rule, row.timezone)
        except ScheduleError as error:  # stored rules are canonical; this is a bug
            log.error("digest schedule %s of %s is unreadable: %s", row.id, row.chat, error)
            return None
        if known_end is not None and not self._due(schedule, row, known_end, now):
            return None
        async with self._slots, self._engine.begin() as conn:
            periods = self._due(schedule, row, await store.last_run_end(conn, row.id), now)
            if not periods:
                return None
            result = await self._run_periods(conn, row, schedule, periods, now)
        return self._queued(result)

    def _due(
        self, schedule: Schedule, row: store.ScheduleRow, last_end: datetime | None, now: datetime
    ) -> list[Period]:
        since = max(last_end or row.created_at, now - MAX_CATCH_UP)
        return due_periods(schedule, since, now - SETTLE)

    async def _run_periods(
        self,
        conn: AsyncConnection,
        row: store.ScheduleRow,
        schedule: Schedule,
        periods: list[Period],
        now: datetime,
    ) -> RunResult:
        grace = timedelta(seconds=self._settings.grace)
        fresh = [period for period in periods if now - period.end <= grace]
        missed = len(periods) - len(fresh)
        if missed:
            log.warning(
                "digest %s for %s: skipping %d period(s) missed by more than %s (last due %s)",
                row.id,
                row.chat,
                missed,
                grace,
                periods[missed - 1].end.isoformat(),
            )
        target = fresh[-1] if fresh else periods[-1]
        late = now - target.end > SETTLE + LATE_AFTER
        run = store.NewRun(row.chat_pk, row.id, target.start, target.end, late)
        if not fresh or not row.receiving:  # all stale, or the chat is paused: claim, send nothing
            claimed = await store.claim_run(conn, run, status="skipped", now=now)
            status = "skipped" if claimed is not None else "claimed before"
            return RunResult(row.chat, status, Period(run.period_start, run.period_end), row.id)
        return await self._deliver(
            conn, row.chat, row.timezone, schedule.title, run, fresh[0].start, now
        )

    async def _deliver(
        self,
        conn: AsyncConnection,
        chat: ChatRef,
        zone: str,
        title: str,
        run: store.NewRun,
        content_from: datetime,
        now: datetime,
    ) -> RunResult:
        """Collect, split, claim, queue — in the caller's transaction."""
        period = Period(run.period_start, run.period_end)
        on_demand = run.schedule_id is None
        previous = await store.last_chat_digest_end(conn, run.chat_pk, not_after=run.period_end)
        since = max(content_from, previous) if previous else content_from
        digest = await self._collect(conn, run, title, zone, since)
        empty = not digest.stories and (on_demand or not self._settings.send_empty)
        if empty and on_demand:  # nothing to show: no trace, the reply says so
            return RunResult(chat, "empty", period, late=run.late)
        messages = [] if empty else self._messages(chat, digest)
        status = "empty" if empty else "sent"
        claimed = await store.claim_run(
            conn, run, status=status, now=now, stories=digest.stories, messages=len(messages)
        )
        if claimed is None:  # another run (an instance, the sweep) has dealt with this period
            return RunResult(chat, "claimed before", period, run.schedule_id, late=run.late)
        await enqueue_alerts(conn, _outbox_rows(run, messages), now=now)
        return RunResult(
            chat, status, period, run.schedule_id, digest.stories, len(messages), run.late
        )

    def _queued(self, result: RunResult) -> RunResult:
        """After the commit: wake the deliverer when messages were queued."""
        if result.messages:
            self._on_queued()
        return result

    async def _collect(
        self, conn: AsyncConnection, run: store.NewRun, title: str, zone: str, since: datetime
    ) -> Digest:
        topic_ids = await store.digest_topic_ids(conn, run.chat_pk, now=run.period_end)
        topics = sorted(
            (DigestTopic(topic_id, self._topic_name(topic_id)) for topic_id in topic_ids),
            key=lambda topic: topic.name.lower(),
        )
        rows = await self._story_rows(conn, topic_ids, since - STORY_LOOKBACK, run.period_end)
        return build_digest(
            rows,
            topics,
            title=title,
            since=since,
            until=run.period_end,
            zone=zone,
            max_per_topic=self._settings.max_stories_per_topic,
            late=run.late,
        )

    async def _story_rows(
        self, conn: AsyncConnection, topic_ids: Sequence[str], since: datetime, until: datetime
    ) -> list[store.StoryRow]:
        """The matches of [since, until) per topic, cached: a past window never changes, since a
        match is recorded at the time it is made."""
        missing = [topic for topic in topic_ids if (topic, since, until) not in self._stories]
        if missing:
            fetched = await store.story_rows(conn, missing, since=since, until=until)
            for topic in missing:
                self._stories[(topic, since, until)] = [r for r in fetched if r.topic_id == topic]
        rows = []
        for topic in topic_ids:
            self._stories.move_to_end((topic, since, until))
            rows += self._stories[(topic, since, until)]
        while len(self._stories) > STORY_CACHE_SIZE:
            self._stories.popitem(last=False)
        return rows

    def _topic_name(self, topic_id: str) -> str:
        topic = self._topics.get(topic_id)
        return topic.name if topic is not None else topic_id


def _outbox_rows(run: store.NewRun, messages: list[Alert]) -> list[NewAlert]:
    """One outbox row per message; the story key makes each part of a period go out once."""
    return [
        NewAlert(run.chat_pk, None, digest_story_key(run.schedule_id, run.period_start, n), alert)
        for n, alert in enumerate(messages, 1)
    ]
