"""Which failures retire a feed: the real poller against a real local HTTP server.

A feed is retired only by a failure that waiting will not heal, repeated: 410 Gone three times in
a row, or 404 Not Found thirty times in a row with no success for a week. Server errors, 429 and
timeouts back off, up to ``poll.max_interval``, and never retire a feed. Each poll is the real
``Poller`` with the real ``Fetcher`` and parser on a local ``FeedServer``; only the clock is the
test's, moved to the feed's next check before each poll.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.feeds.fetch import Fetcher, FetchLimits
from bot.feeds.parse import ParsedFeed, parse_feed
from bot.feeds.poller import Poller
from bot.ingest import Ingestor
from bot.match.places import load_places
from bot.match.topics import load_topics
from bot.model import Feed
from bot.settings import PollSettings
from bot.store import feeds as feed_store
from bot.store.feeds import FeedRow
from bot.store.tables import feeds
from bot.summarize import summarize
from bot.topics import TopicRegistry
from tests.feeds import WEATHER, rss
from tests.feedserver import FeedServer

CONFIG = Path(__file__).resolve().parents[1] / "config"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = PollSettings(interval=300, min_interval=60, max_interval=21600)
PATH = "/wire.xml"


class Desk:
    """One feed on the local server, polled by the real poller whenever the test says."""

    poller: Poller

    def __init__(self, engine: AsyncEngine, server: FeedServer) -> None:
        self.engine = engine
        self.server = server
        self.now = START
        self.url = server.url(PATH)

    def clock(self) -> datetime:
        return self.now

    def answer(self, status: int | str) -> None:
        """What the server says next: an HTTP status, "ok" (a feed) or "silent" (a timeout)."""
        self.server.delay(PATH, 0)
        if status == "ok":
            self.server.set(PATH, rss(WEATHER))
        elif status == "silent":
            self.server.set(PATH, rss(WEATHER))
            self.server.delay(PATH, 5)
        else:
            headers = {"Retry-After": "60"} if status == 429 else None
            self.server.set(PATH, "<html>no</html>", status=int(status), headers=headers)

    async def poll(self, status: int | str) -> FeedRow:
        """Move the clock to the feed's next check, poll it answering ``status``, return its row."""
        self.answer(status)
        self.now = max(self.now, (await self.row()).next_check_at)
        await self.poller.poll_due()
        return await self.row()

    async def enabled(self) -> bool:
        async with self.engine.connect() as conn:
            query = select(feeds.c.enabled).where(feeds.c.url == self.url)
            return bool((await conn.execute(query)).scalar_one())

    async def row(self) -> FeedRow:
        async with self.engine.connect() as conn:
            row = await feed_store.get_feed(conn, self.url)
        assert row is not None
        return row


@pytest.fixture
async def desk(engine: AsyncEngine, feed_server: FeedServer) -> AsyncIterator[Desk]:
    aliases = load_places(CONFIG / "places.toml")
    topics = TopicRegistry(load_topics(CONFIG / "topics.toml", aliases), aliases)
    ingestor = Ingestor(
        topics,
        topics,
        summarize,
        first_fetch_max_age=timedelta(days=1),
        max_item_age=timedelta(days=7),
    )

    async def parse(content: bytes, url: str, content_type: str | None) -> ParsedFeed:
        return parse_feed(content, feed_url=url, content_type=content_type)

    limits = FetchLimits(
        allow_private_networks=True, connect_timeout=1, read_timeout=0.3, total_timeout=1
    )
    desk = Desk(engine, feed_server)
    async with Fetcher(limits) as fetcher:
        desk.poller = Poller(engine, fetcher.fetch, parse, ingestor, SETTINGS, clock=desk.clock)
        async with engine.begin() as conn:
            await feed_store.add_feed(conn, Feed(desk.url), now=START)
        yield desk


def gone(times: int) -> str:
    return f"HTTP 410 Gone ({times} of 3 before the feed is retired)"


async def test_a_feed_gone_three_times_in_a_row_is_retired(desk: Desk) -> None:
    records = [(await desk.poll(410)).last_error for _ in range(3)]
    assert records == [gone(1), gone(2), "HTTP 410 Gone (3 times): feed retired"]
    row = await desk.row()
    assert (row.error_count, row.last_status) == (3, 410)
    desk.now += timedelta(days=30)
    hits = desk.server.hits(PATH)
    assert await desk.poller.poll_due() == []  # retired: never polled again
    assert desk.server.hits(PATH) == hits


@pytest.mark.parametrize(
    ("answers", "record"),
    [
        pytest.param([500, 503, "silent", 410, 410], gone(2), id="server-errors-then-gone"),
        pytest.param([410, 429, 410], gone(1), id="a-429-between"),
        pytest.param([410, 410, 404, 410], gone(1), id="a-404-between"),
        pytest.param([410, 410, "ok", 410], gone(1), id="a-success-between"),
        pytest.param([410, 410, "ok", 410, 410], gone(2), id="counted-again-after-a-success"),
    ],
)
async def test_only_410s_in_a_row_count_toward_retiring(
    desk: Desk, answers: list[int | str], record: str
) -> None:
    for answer in answers:
        row = await desk.poll(answer)
    assert row.last_error == record
    assert await desk.enabled()


@pytest.mark.parametrize("status", [500, 502, 503, 429, 403])
async def test_transient_failures_back_off_but_never_retire(desk: Desk, status: int) -> None:
    rows = [await desk.poll(status) for _ in range(40)]  # past the 410 and the 404 counts
    last = rows[-1]
    assert await desk.enabled()
    assert last.error_count == 40
    assert last.last_status == status
    assert last.last_error is not None and last.last_error.startswith(f"HTTP {status} ")
    waits = [row.next_check_at - row.last_checked_at for row in rows if row.last_checked_at]
    assert waits[0] < waits[3] < waits[8]  # backing off …
    assert waits[-1] == timedelta(seconds=SETTINGS.max_interval)  # … up to poll.max_interval


async def test_a_server_that_stops_answering_is_never_retired(desk: Desk) -> None:
    for _ in range(4):
        row = await desk.poll("silent")
    assert await desk.enabled()
    assert row.error_count == 4
    assert row.last_error == "timed out after 0.3 s waiting for 127.0.0.1"


async def test_a_404_retires_the_feed_only_after_30_in_a_row_over_a_week(desk: Desk) -> None:
    rows: list[FeedRow] = []
    while await desk.enabled() and len(rows) < 60:
        rows.append(await desk.poll(404))
    assert rows[0].last_error == "HTTP 404 Not Found (1 of 30 before the feed is retired)"
    assert rows[28].last_error == "HTTP 404 Not Found (29 of 30 before the feed is retired)"
    assert rows[29].last_error == (
        "HTTP 404 Not Found (30 times; the feed is retired once it has failed for 7 days)"
    )
    retired = rows[-1]
    assert retired.last_error == f"HTTP 404 Not Found ({len(rows)} times): feed retired"
    assert rows[-2].last_checked_at is not None and retired.last_checked_at is not None
    assert rows[-2].last_checked_at - START < timedelta(days=7) <= retired.last_checked_at - START


async def test_a_feed_that_worked_a_week_ago_retires_at_its_30th_404(desk: Desk) -> None:
    await desk.poll("ok")
    desk.now += timedelta(days=8)  # then nothing was heard for a week (the bot was down)
    rows = [await desk.poll(404) for _ in range(30)]
    assert rows[28].last_error == "HTTP 404 Not Found (29 of 30 before the feed is retired)"
    assert rows[29].last_error == "HTTP 404 Not Found (30 times): feed retired"
    assert not await desk.enabled()
