"""The composition root: builds every service from ``Settings``, starts them, stops them.

Nothing else in the bot reads settings or creates clients; each service gets what it needs here.
Start-up order: store (migrated) → topics and feeds synced → channels → poller, deliverer,
scheduler → HTTP. Shutdown runs in reverse and lets in-flight work finish for a few seconds; what
it cannot finish was never committed and is simply fetched again on the next start.

Several instances may share one PostgreSQL store: all of them poll and deliver, and the one that
leads (``bot/leader.py``) also runs Telegram long polling and the digest scheduler, started and
stopped as leadership comes and goes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TextIO

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.chat.base import Channel
from bot.chat.console import CONSOLE_CHAT, ConsoleChannel
from bot.clock import utcnow
from bot.delivery.digest_messages import digest_messages
from bot.delivery.outbox import Deliverer
from bot.delivery.redis_pacing import connect as connect_redis
from bot.delivery.redis_pacing import paced_through_redis
from bot.delivery.shared_pacing import paced_for_replicas
from bot.digest.leading import SYNC_SECONDS, LeaderDigestHooks
from bot.digest.runner import DigestRunner
from bot.digest.scheduler import DigestScheduler
from bot.errors import FeedError, QueryError
from bot.feeds.fetch import Fetcher, FetchLimits
from bot.feeds.fulltext import FullText
from bot.feeds.parsing import FeedParser
from bot.feeds.poller import Poller
from bot.heap import settle
from bot.ingest import Ingestor
from bot.leader import Leadership
from bot.metrics import Metrics
from bot.model import Feed, Item, Platform, Topic
from bot.settings import Settings
from bot.sources import configured_aliases, configured_feeds, configured_topics
from bot.store import alerts as outbox
from bot.store import chats as chat_store
from bot.store import feeds as feed_store
from bot.store.advisory import startup_turn
from bot.store.db import create_engine, migrate
from bot.stories.tracker import StoryTracker
from bot.summarize import summarize
from bot.topics import TopicRegistry
from bot.web import WebServer, build_web_app
from handlers.base import Binding
from handlers.commands import CommandCore

__all__ = ["App", "AppOptions", "fetch_limits", "poll_lease"]

log = logging.getLogger(__name__)

POLL_TICK_SECONDS = 1.0
SHUTDOWN_GRACE_SECONDS = 3.0
STORE_WAIT_SECONDS = 30.0  # SQLite's busy timeout (bot/store/db.py)
FULL_TEXT_BUDGET_SECONDS = 30.0  # article pages of one poll (bot/feeds/fulltext.py)
DIGEST_SYNC_JOB = "digest-sync"  # the leader re-reads schedules changed on other instances


@dataclass(frozen=True, slots=True)
class AppOptions:
    """Knobs for embedding the app (the demo and tests), beyond what Settings holds."""

    console_stream: TextIO | None = None
    trusted_origins: frozenset[str] = frozenset()
    extra_feeds: tuple[Feed, ...] = ()
    start_scheduler: bool = True
    channels: dict[Platform, Channel] = field(default_factory=dict)


class App:
    def __init__(self, settings: Settings, options: AppOptions | None = None) -> None:
        self.settings = settings
        self.options = options or AppOptions()
        self.running = False
        self.metrics = Metrics()
        self.engine: AsyncEngine = create_engine(settings.database_url)
        aliases = configured_aliases(settings)
        self.topics = TopicRegistry(configured_topics(settings, aliases), aliases)
        self.fetcher = Fetcher(fetch_limits(settings, self.options.trusted_origins))
        self.parser = FeedParser(timeout=settings.fetch.parse_timeout)
        self.channels: dict[Platform, Channel] = dict(self.options.channels)
        self.bindings: list[Binding] = []
        self.leader_bindings: list[Binding] = []  # started only while this instance leads
        self.commands = CommandCore(
            self.engine,
            self.topics,
            settings.chat,
            check_feed=self.check_feed,
            health=self.readiness,
        )
        self._build_platforms()  # before the deliverer, which keeps the channels it is given
        self.redis: Redis | None = connect_redis(settings.redis_url) if settings.redis_url else None
        self.deliverer = Deliverer(
            self.engine,
            # flood limits across replicas: through Redis if there is one, else the store's
            paced_through_redis(self.channels, self.redis)
            if self.redis is not None
            else paced_for_replicas(self.channels, self.engine),
            backoff=timedelta(seconds=settings.delivery.backoff),
            lease=timedelta(seconds=settings.delivery.lease),
            metrics=self.metrics,
        )
        self.stories = StoryTracker()
        self.ingestor = Ingestor(
            self.topics,
            self.topics,
            summarize,
            first_fetch_max_age=timedelta(seconds=settings.poll.first_fetch_max_age),
            max_item_age=timedelta(seconds=settings.poll.max_item_age),
            stories=self.stories,
            metrics=self.metrics,
        )
        self.full_text = FullText(self.engine, self.fetcher.fetch, budget=FULL_TEXT_BUDGET_SECONDS)
        self.poller = Poller(
            self.engine,
            self.fetcher.fetch,
            self.parser.parse,
            self.ingestor,
            settings.poll,
            on_alerts=self.deliverer.wake,
            lease=poll_lease(settings),
            metrics=self.metrics,
            full_text=self.full_text,
        )
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        # Digests and quiet hours: jobs derived from the store, re-synced by the commands' hook.
        digest_runner = DigestRunner(
            self.engine,
            self.topics,
            settings.digest,
            digest_messages,
            on_queued=self._digest_queued,
        )
        self.digests = DigestScheduler(self.scheduler, self.engine, digest_runner)
        self.leadership = Leadership(
            self.engine,
            on_elected=self._start_leading,
            on_deposed=self._stop_leading,
            registry=self.metrics.registry,
            active=lambda: self.running,
        )
        self.commands.digests.hooks = LeaderDigestHooks(
            self.digests, lambda: self.leadership.is_leader
        )
        self.web: WebServer | None = None
        self._stop = asyncio.Event()
        self._deliver_task: asyncio.Task[None] | None = None

    def _digest_queued(self) -> None:
        self.metrics.digest_runs.inc()
        self.deliverer.wake()

    def _build_platforms(self) -> None:
        """One channel (outbound) and one binding (inbound) per configured platform."""
        # --- Telegram: alerts through TelegramChannel; commands, buttons, membership through
        # TelegramBinding (long polling, or the webhook route when telegram.webhook_url is set)
        telegram = self.settings.telegram
        if telegram.bot_token is not None:
            from bot.chat.telegram import TelegramChannel
            from handlers.telegram import TelegramBinding

            channel = TelegramChannel(telegram.bot_token.get_secret_value(), telegram.api_base_url)
            self.channels[Platform.TELEGRAM] = channel
            binding = TelegramBinding(
                telegram,
                self.commands,
                channel=channel,
                engine=self.engine,
                topics=self.topics,
                operators=self.settings.chat.operators,
            )
            self.bindings.append(binding)
            if not telegram.webhook_url:  # long polling: one poller per bot token
                self.leader_bindings.append(binding)
        # --- Slack: alerts through SlackChannel; /wirewatch, buttons and Home through SlackBinding
        slack = self.settings.slack
        if slack.bot_token is not None:
            from bot.chat.slack import SlackChannel
            from handlers.slack import SlackBinding

            token = slack.bot_token.get_secret_value()
            self.channels[Platform.SLACK] = SlackChannel(token, slack.api_base_url)
            self.bindings.append(
                SlackBinding(
                    slack,
                    self.commands,
                    engine=self.engine,
                    topics=self.topics,
                    operators=self.settings.chat.operators,
                )
            )
        # --- console: the fallback when no chat platform is configured
        mode = self.settings.console.enabled
        if mode == "always" or (mode == "auto" and not self.channels):
            self.channels[Platform.CONSOLE] = ConsoleChannel(self.options.console_stream)

    async def prepare(self) -> None:
        """Migrate the store and make it agree with the configuration."""
        async with startup_turn(self.engine):  # replicas on a fresh database take turns
            await self._prepare_store()

    async def _prepare_store(self) -> None:
        await migrate(self.engine)
        now = utcnow()
        feeds = [*configured_feeds(self.settings), *self.options.extra_feeds]
        async with self.engine.begin() as conn:
            builtins = [topic for topic in self.topics.values() if topic.chat is None]
            await chat_store.sync_builtin_topics(conn, builtins, now=now)
            for topic in await chat_store.load_custom_topics(conn):
                self._add_custom_topic(topic)
            added = await feed_store.sync_configured_feeds(conn, feeds, now=now)
            if Platform.CONSOLE in self.channels:
                await self._subscribe_console(conn, now)
        log.info("%d topics, %d configured feeds (%d new)", len(self.topics), len(feeds), added)

    async def _build_long_lived_state(self) -> None:
        """Compile the topics and read the open stories now, then keep them out of the garbage
        collector's way (``bot.heap``): both would otherwise be built by the first poll."""
        self.topics.match(Item(feed_url="", key="warm-up", title=""))
        async with self.engine.connect() as conn:
            await self.stories.load(conn, now=utcnow())
        settle()

    def _add_custom_topic(self, topic: Topic) -> None:
        try:
            self.topics.add(topic)
        except QueryError as error:  # stored under an older query language
            log.warning("custom topic %s of %s is skipped: %s", topic.name, topic.chat, error)

    async def check_feed(self, url: str) -> str | None:
        """Fetch and parse a feed someone wants to add; its title, or FeedError saying why not."""
        result = await self.fetcher.fetch(url)
        parsed = await self.parser.parse(result.content, result.final_url, result.content_type)
        if not parsed.items and not parsed.title:
            raise FeedError("the feed is empty")
        return parsed.title

    async def _subscribe_console(self, conn: AsyncConnection, now: datetime) -> None:
        wanted: Iterable[str] = self.settings.console.topics or [
            topic.id for topic in self.topics.values() if topic.chat is None
        ]
        chat_pk = await chat_store.ensure_chat(conn, CONSOLE_CHAT, now=now, title="terminal")
        for topic_id in wanted:
            await chat_store.subscribe(conn, chat_pk, topic_id, now=now)

    async def start(self) -> None:
        await self.prepare()
        await self._build_long_lived_state()
        self._deliver_task = asyncio.create_task(self.deliverer.run(self._stop))
        if self.options.start_scheduler:
            self.scheduler.add_job(
                self.poller.tick,
                "interval",
                seconds=POLL_TICK_SECONDS,
                id="poll",
                max_instances=1,
                coalesce=True,
                next_run_time=utcnow(),
            )
            self.scheduler.add_job(  # cached article pages too old to be used again
                self.full_text.prune, "interval", hours=6, id="prune-articles", coalesce=True
            )
            self.scheduler.start()
        for binding in self.bindings:
            if binding not in self.leader_bindings:
                await binding.start()
        await self.leadership.start(self._stop)  # the leader also polls Telegram, runs digests
        if self.settings.http.enabled:
            routes = [route for binding in self.bindings for route in binding.routes]
            app = build_web_app(self, routes)
            self.web = WebServer(app, host=self.settings.http.host, port=self.settings.http.port)
            await self.web.start()
        self.running = True
        log.info("Wirewatch running: channels %s", ", ".join(map(str, self.channels)) or "none")

    async def stop(self) -> None:
        """Stop cleanly: polls in flight get a short grace, then are abandoned uncommitted."""
        self.running = False
        for binding in self.bindings:
            await binding.stop()
        await self._finish_jobs()
        self._stop.set()
        if self._deliver_task is not None:
            try:
                await asyncio.wait_for(self._deliver_task, SHUTDOWN_GRACE_SECONDS)
            except TimeoutError:
                log.warning("delivery did not finish in time; unsent alerts stay queued")
        if self.web is not None:
            await self.web.stop()
        await self.fetcher.aclose()
        self.parser.close()
        for channel in self.channels.values():
            await channel.aclose()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
        log.info("Wirewatch stopped")

    async def _finish_jobs(self) -> None:
        """Let scheduled jobs under way end within the grace, then shut the scheduler down.

        Its shutdown cancels the coroutine jobs still running, which would cut a digest, a
        release of held alerts or a poll's claim off mid-transaction.
        """
        if self.scheduler.running:
            self.scheduler.pause()  # no new runs while these finish
        self.digests.stop()
        await asyncio.gather(
            self.digests.wait_idle(SHUTDOWN_GRACE_SECONDS),
            self.poller.wait_idle(SHUTDOWN_GRACE_SECONDS),
        )
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def _start_leading(self) -> None:
        if self.options.start_scheduler:  # digest jobs from the store; missed digests caught up
            await self.digests.start()
            self.scheduler.add_job(
                self.digests.sync,
                "interval",
                seconds=SYNC_SECONDS,
                id=DIGEST_SYNC_JOB,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
            )
        for binding in self.leader_bindings:
            await binding.start()

    async def _stop_leading(self) -> None:
        for binding in self.leader_bindings:
            await binding.stop()
        self.digests.stop()
        if self.scheduler.get_job(DIGEST_SYNC_JOB) is not None:
            self.scheduler.remove_job(DIGEST_SYNC_JOB)

    async def readiness(self) -> dict[str, bool]:
        """What /readyz reports: the store answers, polling runs, platforms accept the bot."""
        checks = {
            "database": await self._database_answers(),
            "scheduler": self.scheduler.running or not self.options.start_scheduler,
        }
        if self.redis is not None:
            checks["redis"] = await self._redis_answers(self.redis)
        for platform, channel in self.channels.items():
            checks[f"platform:{platform}"] = not getattr(channel, "auth_failed", False)
        for binding in self.bindings:
            if getattr(binding, "polling_conflict", False):
                checks["telegram:single-poller"] = False
        return checks

    async def _database_answers(self) -> bool:
        try:
            async with asyncio.timeout(2), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    @staticmethod
    async def _redis_answers(redis: Redis) -> bool:
        try:
            async with asyncio.timeout(2):
                await redis.ping()
        except Exception:
            return False
        return True

    async def metrics_text(self) -> bytes:
        async with self.engine.connect() as conn:
            depth, oldest = await outbox.backlog(conn, now=utcnow())
        self.metrics.outbox_depth.set(depth)
        self.metrics.outbox_oldest_seconds.set(oldest)
        return self.metrics.render()

    async def run_until_stopped(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()


def poll_lease(settings: Settings) -> timedelta:
    """How long a claimed feed stays with its poll: the longest a poll can take, then some.

    A poll that dies (the process killed, the database gone mid-poll) is retried when its lease
    runs out, so the lease is what an outage costs a feed: no longer than a fetch, a parse and a
    wait for a busy store (SQLite's busy timeout) can take.
    """
    fetch = settings.fetch
    seconds = fetch.total_timeout + fetch.parse_timeout + FULL_TEXT_BUDGET_SECONDS
    return timedelta(seconds=seconds + STORE_WAIT_SECONDS)


def fetch_limits(settings: Settings, trusted_origins: frozenset[str]) -> FetchLimits:
    fetch = settings.fetch
    return FetchLimits(
        max_bytes=fetch.max_bytes,
        connect_timeout=fetch.connect_timeout,
        read_timeout=fetch.read_timeout,
        total_timeout=fetch.total_timeout,
        max_redirects=fetch.max_redirects,
        per_host=fetch.per_host,
        user_agent=fetch.user_agent,
        allow_private_networks=fetch.allow_private_networks,
        trusted_origins=trusted_origins,
    )
