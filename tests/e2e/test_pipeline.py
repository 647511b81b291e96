"""The whole bot, running: a local feed server in, console alerts out."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.app import App, AppOptions
from bot.settings import load_settings
from bot.store import feeds as feed_store
from tests.feeds import EVACUATION, TALKS, WEATHER, rss
from tests.feedserver import FeedServer

SEPARATOR = "─" * 72


async def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def alerts_in(stream: io.StringIO) -> list[str]:
    return [block.strip() for block in stream.getvalue().split(SEPARATOR) if block.strip()]


@pytest.fixture
async def running_bot(
    database_url: str, feed_server: FeedServer
) -> AsyncIterator[Callable[..., Any]]:
    apps: list[App] = []

    async def start(*paths: str, **overrides: Any) -> tuple[App, io.StringIO]:
        stream = io.StringIO()
        settings = load_settings(
            database_url=database_url,
            feeds_file=None,
            feeds=[{"url": feed_server.url(path)} for path in paths],
            poll={"interval": 1, "min_interval": 1, **overrides.pop("poll", {})},
            fetch={"allow_private_networks": True, "total_timeout": 2, "read_timeout": 1},
            http={"enabled": False},
            console={"enabled": "always"},
            **overrides,
        )
        app = App(settings, AppOptions(console_stream=stream))
        apps.append(app)
        await app.start()
        return app, stream

    yield start
    for app in apps:
        if app.running:
            await app.stop()


async def test_new_item_alerts_once_and_repoll_is_quiet(
    running_bot: Callable[..., Any], feed_server: FeedServer
) -> None:
    feed_server.set("/wire.xml", rss(WEATHER))
    _, stream = await running_bot("/wire.xml")
    await wait_for(lambda: feed_server.hits("/wire.xml") >= 1)

    feed_server.set("/wire.xml", rss(EVACUATION, WEATHER))
    await wait_for(lambda: alerts_in(stream))
    # Let it poll again: the server answers 304 and nothing new is printed.
    await wait_for(lambda: feed_server.hits("/wire.xml", status=304) >= 2)

    alerts = alerts_in(stream)
    assert len(alerts) == 1
    assert EVACUATION.title in alerts[0]
    assert "https://wire.example/mariupol-buses" in alerts[0]
    assert "utm_source" not in alerts[0]
    assert "Mariupol evacuation" in alerts[0]


async def test_a_story_matching_two_topics_is_one_alert(
    running_bot: Callable[..., Any], feed_server: FeedServer
) -> None:
    feed_server.set("/a.xml", rss(EVACUATION, TALKS, WEATHER))
    feed_server.set("/b.xml", rss(EVACUATION, title="Another Wire"))
    _, stream = await running_bot("/a.xml", "/b.xml")
    await wait_for(lambda: len(alerts_in(stream)) >= 2)
    await wait_for(lambda: feed_server.hits("/b.xml", status=304) >= 1)

    titles = sorted(alert.splitlines()[0] for alert in alerts_in(stream))
    assert titles == sorted([EVACUATION.title, TALKS.title])


async def test_broken_feeds_are_recorded_and_the_bot_keeps_alerting(
    running_bot: Callable[..., Any], feed_server: FeedServer
) -> None:
    feed_server.set("/good.xml", rss(TALKS))
    feed_server.set("/broken.xml", "<rss><channel><item><title>half", content_type="text/xml")
    feed_server.set("/missing.xml", "gone", status=404, content_type="text/plain")
    feed_server.set("/slow.xml", rss(EVACUATION))
    feed_server.delay("/slow.xml", 5)
    app, stream = await running_bot("/good.xml", "/broken.xml", "/missing.xml", "/slow.xml")

    async def errors() -> dict[str, str | None]:
        async with app.engine.connect() as conn:
            rows = await feed_store.list_feeds(conn)
        return {row.url.rsplit("/", 1)[1]: row.last_error for row in rows}

    recorded: dict[str, str | None] = {}

    async def refresh() -> None:
        recorded.update(await errors())

    for _ in range(100):
        await refresh()
        if all(recorded.get(name) for name in ("broken.xml", "missing.xml", "slow.xml")):
            break
        await asyncio.sleep(0.1)

    assert "404" in (recorded["missing.xml"] or "")
    assert "timed out" in (recorded["slow.xml"] or "")
    assert recorded["broken.xml"]
    assert recorded["good.xml"] is None
    assert app.running
    assert [alert.splitlines()[0] for alert in alerts_in(stream)] == [TALKS.title]


async def test_a_failing_feed_is_reported_once_to_the_chats_that_read_it(
    running_bot: Callable[..., Any], feed_server: FeedServer
) -> None:
    feed_server.set("/wire.xml", rss(TALKS))
    _, stream = await running_bot("/wire.xml", poll={"max_interval": 1})
    await wait_for(lambda: alerts_in(stream))
    feed_server.set("/wire.xml", "upstream down", status=500, content_type="text/plain")
    await wait_for(lambda: feed_server.hits("/wire.xml", status=500) >= 5, timeout=15)

    notices = [alert for alert in alerts_in(stream) if "A source is failing" in alert]
    assert len(notices) == 1
    assert "HTTP 500" in notices[0]
    assert feed_server.url("/wire.xml") in notices[0]


async def test_a_backlog_of_due_feeds_drains_without_waiting_for_the_clock(
    database_url: str, feed_server: FeedServer
) -> None:
    paths = [f"/feed-{n}.xml" for n in range(12)]
    for path in paths:
        feed_server.set(path, rss(WEATHER))
    settings = load_settings(
        database_url=database_url,
        feeds_file=None,
        feeds=[{"url": feed_server.url(path)} for path in paths],
        poll={"concurrency": 2},
        fetch={"allow_private_networks": True},
        http={"enabled": False},
        console={"enabled": "always"},
    )
    app = App(settings, AppOptions(console_stream=io.StringIO(), start_scheduler=False))
    await app.prepare()
    try:
        await app.poller.tick()  # one tick only: freed slots must pull in the rest
        await wait_for(lambda: all(feed_server.hits(path) for path in paths))
    finally:
        await app.stop()
