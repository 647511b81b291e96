"""APScheduler wiring for digests and quiet hours. The store is the truth; jobs are derived.

- **One job per digest schedule**, ``digest:<schedule id>``, made from the store at start and
  again whenever a chat changes its schedule or time zone (``schedule_changed``, called by the
  command core). Nothing is pickled: a restart rebuilds the jobs from the same rows.
- Each job's trigger is ``ScheduleTrigger``, which asks ``next_run`` (``bot/digest/schedule``)
  and so follows its DST rules; it fires ``SETTLE`` (30 s) after each run's instant.
  APScheduler's own CronTrigger is not used: in a fall-back hour it fires a repeated wall-clock
  time twice, and a time skipped by spring-forward it fires a gap's length late (02:30 New York
  → 03:30 EDT) instead of when the gap ends (03:00 EDT).
- A job runs the runner for its schedule; the runner works out which periods are due from the
  store, so a job that fires late, twice, or not at all (the machine slept) changes nothing but
  timing: ``catch_up`` — at start, then every ``sweep_seconds`` — sends whatever is due.
- Every ``release_seconds`` held alerts whose quiet hours ended become pending again.
- Every job run (and every ``sync``, whoever calls it) is tracked with the task it runs in:
  APScheduler's shutdown cancels the coroutine jobs it is running, which would cut a digest or a
  release of held alerts off mid-transaction, so the app calls ``wait_idle`` before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.base import BaseTrigger
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import utcnow
from bot.digest.runner import SETTLE, DigestRunner, RunResult
from bot.digest.schedule import Schedule, ScheduleError, next_run, parse_schedule
from bot.model import ChatRef
from bot.store import digests as store
from bot.store.quiet import release_held_alerts

__all__ = ["JOB_PREFIX", "DigestScheduler", "RunningJobs", "ScheduleTrigger"]

log = logging.getLogger(__name__)

JOB_PREFIX = "digest:"
SWEEP_JOB = "digest-sweep"
RELEASE_JOB = "quiet-release"


class ScheduleTrigger(BaseTrigger):
    """Fires at the runs of a digest ``Schedule`` — the instants ``next_run`` gives — each
    ``delay`` later (the runner's ``SETTLE``)."""

    __slots__ = ("delay", "schedule")

    def __init__(self, schedule: Schedule, delay: timedelta = SETTLE) -> None:
        self.schedule = schedule
        self.delay = delay

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        if previous_fire_time is not None:
            after = previous_fire_time - self.delay
        else:
            after = now - self.delay - timedelta(microseconds=1)
        return next_run(self.schedule, after) + self.delay

    def __str__(self) -> str:
        return f"digest[{self.schedule.rule}, {self.schedule.zone}]"


class RunningJobs:
    """The job calls under way, each with the asyncio task it runs in."""

    def __init__(self) -> None:
        self._calls: dict[asyncio.Future[None], asyncio.Task[Any]] = {}

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Wrap one call of a job, so that ``wait_idle`` can wait for it to end."""
        task = asyncio.current_task()
        assert task is not None  # a coroutine always runs in a task
        done = asyncio.get_running_loop().create_future()
        self._calls[done] = task
        try:
            yield
        finally:
            del self._calls[done]
            done.set_result(None)

    async def wait_idle(self, timeout: float) -> bool:
        """Let the calls under way finish; cancel what is left after ``timeout`` seconds.

        True when every call finished by itself. A cancelled call rolls its transaction back.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        me = asyncio.current_task()
        while calls := {done: task for done, task in self._calls.items() if task is not me}:
            _, late = await asyncio.wait(calls, timeout=max(0.0, deadline - loop.time()))
            if late and loop.time() >= deadline:
                for done in late:
                    calls[done].cancel()
                await asyncio.wait(late, timeout=timeout)
                return False
        return True


class DigestScheduler:
    def __init__(
        self,
        scheduler: BaseScheduler,
        engine: AsyncEngine,
        runner: DigestRunner,
        *,
        clock: Callable[[], datetime] = utcnow,
        sweep_seconds: float = 300.0,
        release_seconds: float = 15.0,
    ) -> None:
        self._scheduler = scheduler
        self._engine = engine
        self._runner = runner
        self._clock = clock
        self._sweep_seconds = sweep_seconds
        self._release_seconds = release_seconds
        self._jobs = RunningJobs()

    async def start(self) -> None:
        """Register the jobs; the first sweep runs at once and catches up on missed digests."""
        self._scheduler.add_job(
            self.catch_up,
            "interval",
            seconds=self._sweep_seconds,
            id=SWEEP_JOB,
            next_run_time=self._clock(),
            **_ONCE,
        )
        self._scheduler.add_job(
            self.release_held, "interval", seconds=self._release_seconds, id=RELEASE_JOB, **_ONCE
        )
        await self.sync()

    def stop(self) -> None:
        """Remove the jobs; runs under way go on (``wait_idle`` waits for them)."""
        for job in self._scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) or job.id in (SWEEP_JOB, RELEASE_JOB):
                job.remove()

    async def wait_idle(self, timeout: float) -> bool:
        """Let job runs under way finish, up to ``timeout`` seconds; then cancel them.

        Called before the scheduler shuts down and the engine is disposed. False when a run had
        to be cancelled (what it had not committed is done again by the next start's catch-up).
        """
        finished = await self._jobs.wait_idle(timeout)
        if not finished:
            log.warning("digest jobs did not finish within %.0f s and were cancelled", timeout)
        return finished

    async def sync(self) -> None:
        """Make the digest jobs match the store's schedules."""
        async with self._jobs.running():
            await self._sync()

    async def _sync(self) -> None:
        async with self._engine.connect() as conn:
            rows = await store.list_schedules(conn)
        wanted = {f"{JOB_PREFIX}{row.id}": row for row in rows}
        for job in self._scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                job.remove()
        for job_id, row in wanted.items():
            if self._scheduler.get_job(job_id) is not None:
                continue  # a schedule row never changes, so its job is still right
            try:
                schedule = parse_schedule(row.rule, row.timezone)
            except ScheduleError as error:
                log.error("digest schedule %s of %s is unreadable: %s", row.id, row.chat, error)
                continue
            self._scheduler.add_job(
                self.run_due,
                ScheduleTrigger(schedule),
                args=[row.id],
                id=job_id,
                name=f"digest for {row.chat}",
                **_ONCE,
            )

    async def schedule_changed(self) -> None:
        """The command core's hook: a chat set, changed or removed its digest schedule."""
        await self.sync()

    async def send_now(self, chat_pk: int, chat: ChatRef, zone: str) -> RunResult:
        return await self._runner.send_now(chat_pk, chat, zone)

    async def run_due(self, schedule_id: int) -> RunResult | None:
        """One digest schedule's job: send what is due for it."""
        async with self._jobs.running():
            return await self._runner.run_due(schedule_id)

    async def catch_up(self) -> list[RunResult]:
        async with self._jobs.running():
            results = await self._runner.catch_up()
        late = [result for result in results if result.late and result.status == "sent"]
        if late:
            log.info("sent %d late digest(s) after downtime", len(late))
        return results

    async def release_held(self) -> int:
        async with self._jobs.running(), self._engine.begin() as conn:
            return await release_held_alerts(conn, now=self._clock())


# Run whenever due, however late (the runner knows what is stale), once at a time, never piled up.
_ONCE = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1, "replace_existing": True}
