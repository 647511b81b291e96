"""Servers that attack or fail at the HTTP level, polled by the running bot.

One bot polls a good feed beside a gzip bomb, an endless one-byte-a-second stream, a redirect
loop, a redirect chain longer than the cap, and feeds answering 404, 410, 429, 503 and 500. Each
ends as a readable error on its feed (shown by /feeds and ``wirewatch check-feed``), the bot's
memory stays bounded throughout, and the good feed keeps alerting and being polled.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import formatdate

import pytest
import pytest_asyncio

from tests.feedserver import FeedServer
from tests.hostile.newsroom import (
    GOOD_STORY,
    Newsroom,
    clean_environment,
    good_feed,
    later_than,
    newsroom,
    newsroom_settings,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

MAX_BYTES = 1 << 20
BOMB_BYTES = 100_000_000  # decoded; about 100 KB on the wire


@dataclass(frozen=True, slots=True)
class Scene:
    room: Newsroom
    hostile: FeedServer
    good: FeedServer
    urls: dict[str, str]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scene(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Scene]:
    database = tmp_path_factory.mktemp("network") / "wirewatch.db"
    with clean_environment(), FeedServer() as hostile, FeedServer() as good:
        good.set("/feed.xml", good_feed())
        hostile.set("/bomb.xml", b"\0" * BOMB_BYTES, encoding="gzip")
        hostile.trickle("/endless.xml", b"<", interval=1.0)
        hostile.redirect("/loop-a.xml", "/loop-b.xml")
        hostile.redirect("/loop-b.xml", "/loop-a.xml")
        for hop in range(6):
            hostile.redirect(f"/hop{hop}.xml", f"/hop{hop + 1}.xml", status=301)
        hostile.set("/hop6.xml", good_feed())
        for status in (404, 410, 500):
            hostile.set(
                f"/{status}.xml", "<html>no</html>", status=status, content_type="text/html"
            )
        hostile.set("/429.xml", "slow down", status=429, headers={"Retry-After": "120"})
        later = formatdate(time.time() + 150, usegmt=True)
        hostile.set("/503.xml", "maintenance", status=503, headers={"Retry-After": later})
        hostile.set("/gone.xml", "", status=410)
        names = ["bomb", "endless", "loop-a", "hop0", "404", "410", "429", "503", "500"]
        urls = {name: hostile.url(f"/{name}.xml") for name in names}
        urls["good"] = good.url("/feed.xml")
        urls["gone"] = hostile.url("/gone.xml")  # polled once a minute: stays at its first 410
        slow_gone = {"url": urls["gone"], "interval": 60}
        settings = newsroom_settings(
            f"sqlite+aiosqlite:///{database}",
            [*(url for name, url in urls.items() if name != "gone"), slow_gone],
            fetch={"max_bytes": MAX_BYTES, "total_timeout": 2.5, "read_timeout": 5},
        )
        tracemalloc.start()
        try:
            async with newsroom(settings) as room:
                yield Scene(room, hostile, good, urls)
        finally:
            tracemalloc.stop()


# name → what the feed's record says after its first failure.
FAILURES = {
    "bomb": "response larger than 1 MiB (limit)",
    "endless": "timed out after 2.5 s (the whole download took too long)",
    "loop-a": "redirect loop at {hostile}/loop-a.xml",
    "hop0": "more than 5 redirects",
    "404": "HTTP 404 Not Found",
    "429": "HTTP 429 Too Many Requests (retry after 120 s)",
    "503": "HTTP 503 Service Unavailable (retry after ",  # an HTTP date, 150 s ahead
    "500": "HTTP 500 Internal Server Error",
}


async def test_the_good_feed_keeps_alerting_and_being_polled(scene: Scene) -> None:
    await scene.room.wait_for_alert(GOOD_STORY.title)
    for name in FAILURES:
        await scene.room.failure(scene.urls[name])
    polls = scene.good.hits("/feed.xml")
    await scene.room.wait_for_feed(
        scene.urls["good"], lambda _: scene.good.hits("/feed.xml") > polls
    )
    good = await scene.room.feed(scene.urls["good"])
    assert (good.error_count, good.last_error) == (0, None)
    assert [alert.splitlines()[0] for alert in scene.room.alerts()] == [GOOD_STORY.title]
    assert scene.room.app.running


@pytest.mark.parametrize("name", list(FAILURES))
async def test_each_failure_is_recorded_with_a_clear_reason(scene: Scene, name: str) -> None:
    url = scene.urls[name]
    reason = FAILURES[name].format(hostile=scene.hostile.base_url)
    recorded = await scene.room.failure(url)
    assert recorded.startswith(reason), recorded
    assert f"failing ({recorded})\n  {url}" in await scene.room.feeds_reply()
    checked = await scene.room.check_feed(url)
    assert checked.status == 1 and checked.out == ""
    assert checked.err.startswith(f"{url}: {reason}"), checked.err


async def test_the_gzip_bomb_is_never_held_in_memory(scene: Scene) -> None:
    await scene.room.failure(scene.urls["bomb"])
    await scene.room.failure(scene.urls["endless"])
    _, peak = tracemalloc.get_traced_memory()
    print(f"bot process peak traced memory under attack: {peak / (1 << 20):.1f} MiB")
    assert peak < 24 * (1 << 20)  # the bomb alone would be 95 MiB


async def test_the_endless_stream_is_cut_at_the_total_deadline(scene: Scene) -> None:
    started = time.monotonic()
    checked = await scene.room.check_feed(scene.urls["endless"])
    assert checked.status == 1
    assert time.monotonic() - started < 5


async def test_redirects_stop_at_the_loop_and_at_the_cap(scene: Scene) -> None:
    await scene.room.failure(scene.urls["loop-a"])
    await scene.room.failure(scene.urls["hop0"])
    assert scene.hostile.hits("/hop5.xml") >= 1
    assert scene.hostile.hits("/hop6.xml") == 0  # the sixth redirect is never followed


async def polls_of_the_good_feed(scene: Scene, count: int) -> None:
    """Let the bot go on: wait until the good feed has been polled ``count`` more times."""
    target = scene.good.hits("/feed.xml") + count
    await scene.room.wait_for_feed(
        scene.urls["good"], lambda _: scene.good.hits("/feed.xml") >= target
    )


async def test_a_feed_gone_three_times_is_retired(scene: Scene) -> None:
    url = scene.urls["410"]
    row = await scene.room.wait_for_feed(url, lambda row: row.error_count >= 3)
    assert row.last_error == "HTTP 410 Gone (3 times): feed retired"
    assert not await scene.room.enabled(url)
    assert f"failing (HTTP 410 Gone (3 times): feed retired)\n  {url}" in (
        await scene.room.feeds_reply()
    )
    await polls_of_the_good_feed(scene, 2)
    assert await scene.room.feed(url) == row  # retired: never polled again


async def test_until_the_third_time_the_record_says_how_close_it_is(scene: Scene) -> None:
    url = scene.urls["gone"]
    assert await scene.room.failure(url) == "HTTP 410 Gone (1 of 3 before the feed is retired)"
    assert await scene.room.enabled(url)
    checked = await scene.room.check_feed(url)  # one look, not a poll: the publisher's word
    assert checked.err == f"{url}: HTTP 410 Gone: feed retired\n"


@pytest.mark.parametrize(("name", "seconds"), [("429", 120), ("503", 100)])
async def test_retry_after_is_honoured(scene: Scene, name: str, seconds: float) -> None:
    url = scene.urls[name]
    await scene.room.failure(url)
    row = await scene.room.feed(url)
    assert later_than(row, seconds), (row.last_checked_at, row.next_check_at)
    await polls_of_the_good_feed(scene, 1)
    assert await scene.room.feed(url) == row  # not asked again before Retry-After


async def test_a_server_error_is_retried_with_backoff(scene: Scene) -> None:
    url = scene.urls["500"]
    row = await scene.room.wait_for_feed(url, lambda row: row.error_count >= 2)
    assert row.last_error == "HTTP 500 Internal Server Error"
    assert await scene.room.enabled(url)
    assert later_than(row, 2)  # 1 s, then 2 s, 4 s … (poll.interval = 1)
