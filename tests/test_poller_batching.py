"""Polling many feeds: each due feed is polled once, and 304 answers are written in batches.

The real ``Poller`` and ``Fetcher`` against a local ``FeedServer``; the clock is the test's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.feeds.fetch import Fetcher, FetchLimits
from bot.feeds.parse import ParsedFeed, parse_feed
from bot.feeds.poller import Poller
from bot.ingest import Ingestor
from bot.model import Feed, Item, Match, Topic
from bot.settings import PollSettings
from bot.store import feeds as feed_store
from tests.clock import Clock
from tests.feeds import WEATHER, rss
from tests.feedserver import FeedServer

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FEEDS = 40
LEASE = timedelta(minutes=10)  # longer than the poll interval, to tell them apart


class NoTopics:
    """A matcher with no topics: these tests are about polling, not alerts."""

    def match(self, item: Item) -> list[Match]:
        return []


@pytest.fixture
async def poller(
    engine: AsyncEngine, feed_server: FeedServer
) -> AsyncIterator[tuple[Poller, Clock]]:
    for n in range(FEEDS):
        feed_server.set(f"/feed-{n}.xml", rss(WEATHER, title=f"Wire {n}"))
    async with engine.begin() as conn:
        for n in range(FEEDS):
            await feed_store.add_feed(conn, Feed(feed_server.url(f"/feed-{n}.xml")), now=START)
    topics: dict[str, Topic] = {}
    ingestor = Ingestor(
        NoTopics(),
        topics,
        lambda item, match: item.title,
        first_fetch_max_age=timedelta(days=1),
        max_item_age=timedelta(days=7),
    )

    async def parse(content: bytes, url: str, content_type: str | None) -> ParsedFeed:
        return parse_feed(content, feed_url=url, content_type=content_type)

    clock = Clock(START)
    async with Fetcher(FetchLimits(allow_private_networks=True, per_host=20)) as fetcher:
        settings = PollSettings(concurrency=5)
        yield (
            Poller(engine, fetcher.fetch, parse, ingestor, settings, clock=clock, lease=LEASE),
            clock,
        )


async def test_overlapping_ticks_never_poll_a_feed_twice(
    poller: tuple[Poller, Clock], feed_server: FeedServer
) -> None:
    polls, _ = poller
    for _ in range(6):  # ticks racing each other, as the scheduler's and the refills do
        await asyncio.gather(*(polls.tick() for _ in range(4)))
        await asyncio.sleep(0.05)
    await polls.wait_idle(10)
    hits = [feed_server.hits(f"/feed-{n}.xml") for n in range(FEEDS)]
    assert hits == [1] * FEEDS


async def test_unchanged_feeds_are_recorded_before_the_next_claim(
    poller: tuple[Poller, Clock], engine: AsyncEngine, feed_server: FeedServer
) -> None:
    polls, clock = poller
    await polls.poll_due()  # the first look: 200 with an ETag
    while await polls.poll_due():
        pass
    clock.now += timedelta(days=1)  # every feed due again: the server answers 304
    async with engine.begin() as conn:
        rows = await feed_store.claim_due_feeds(conn, now=clock.now, limit=FEEDS, lease=LEASE)
    outcomes = await asyncio.gather(*(polls.poll_feed(row) for row in rows))
    assert {outcome.status for outcome in outcomes} == {"not-modified"}

    await polls.tick()  # claims nothing new, but commits the 304s first
    async with engine.connect() as conn:
        stored = await feed_store.list_feeds(conn)
    assert {row.last_checked_at for row in stored} == {clock.now}
    assert {row.last_status for row in stored} == {304}
    interval = timedelta(seconds=PollSettings().interval)
    assert {row.next_check_at for row in stored} == {clock.now + interval}  # not the lease
    assert feed_server.hits("/feed-0.xml", status=304) == 1
