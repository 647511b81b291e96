"""One story, one alert: reports of one event from several outlets update the alert in place.

The real bot reads local feeds; the chats are the console, the strict fake Telegram Bot API and
the fake Slack Web API. What is asserted is what a reader sees: how many messages arrived, and
which sources the one message names after the edits.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import App, AppOptions
from bot.chat.console import UPDATE_MARK
from bot.digest.content import DigestTopic, build_digest
from bot.model import Digest
from bot.settings import load_settings
from bot.store import story_alerts
from bot.store.digests import story_rows
from tests.e2e.test_pipeline import alerts_in, running_bot, wait_for
from tests.e2e.test_telegram_bot import USER, StartBot, eventually, start_bot, telegram
from tests.feeds import WEATHER, Entry, rss
from tests.feedserver import FeedServer

__all__ = ["running_bot", "start_bot", "telegram"]  # fixtures used here

CONVOY_EN = Entry(
    "en-1",
    "Buses evacuate civilians from Mariupol to Zaporizhzhia",
    "https://wire.example/mariupol-buses",
    "A convoy of 45 buses left Mariupol on Friday. The Red Cross mediates the evacuation.",
)
CONVOY_UK = Entry(
    "uk-1",
    "Автобуси евакуювали цивільних з Маріуполя до Запоріжжя",
    "https://ukr.example/news/1",
    "Колона з 45 автобусів виїхала з Маріуполя в п'ятницю. Червоний Хрест є посередником"
    " евакуації.",
)
CONVOY_RU = Entry(
    "ru-1",
    "Из Мариуполя в Запорожье эвакуировали мирных жителей на автобусах",
    "https://ru.example/n/3",
    "Колонна из 45 автобусов выехала из Мариуполя в пятницу. Посредник эвакуации — Красный Крест.",
)
POSTPONED = Entry(
    "en-2",
    "Evacuation from Mariupol postponed again as shelling continues",
    "https://wire.example/postponed",
    "The planned evacuation of civilians from Mariupol was called off on Tuesday.",
)
FEEDS = {"/wire.xml": "Wire Service", "/ukr.xml": "Ukrinform", "/ru.xml": "Interfax"}


@pytest.fixture(autouse=True)
def edits_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Edits wait for more sources to gather; a test need not wait with them."""
    monkeypatch.setattr(story_alerts, "EDIT_DELAY", timedelta(0))


def publish(feed_server: FeedServer, path: str, *entries: Entry) -> None:
    feed_server.set(path, rss(*entries, title=FEEDS[path]))


def updates_in(stream: io.StringIO) -> list[str]:
    return [block for block in alerts_in(stream) if block.startswith(UPDATE_MARK)]


def new_alerts_in(stream: io.StringIO) -> list[str]:
    return [block for block in alerts_in(stream) if not block.startswith(UPDATE_MARK)]


async def test_three_outlets_in_three_languages_make_one_alert_naming_all(
    running_bot: Callable[..., Any], feed_server: FeedServer
) -> None:
    for path in FEEDS:
        publish(feed_server, path, WEATHER)
    app, stream = await running_bot(*FEEDS)
    await wait_for(lambda: all(feed_server.hits(path) for path in FEEDS))

    publish(feed_server, "/wire.xml", CONVOY_EN, WEATHER)
    await wait_for(lambda: new_alerts_in(stream))
    publish(feed_server, "/ukr.xml", CONVOY_UK, WEATHER)
    await wait_for(lambda: updates_in(stream))
    publish(feed_server, "/ru.xml", CONVOY_RU, WEATHER)
    await wait_for(lambda: len(updates_in(stream)) >= 2)
    publish(feed_server, "/wire.xml", POSTPONED, CONVOY_EN, WEATHER)  # another event, same city
    await wait_for(lambda: len(new_alerts_in(stream)) >= 2)

    first, second = new_alerts_in(stream)
    assert first.startswith(CONVOY_EN.title)
    assert second.startswith(POSTPONED.title)
    latest = updates_in(stream)[-1]
    assert f"{UPDATE_MARK} 1" in latest  # the first alert is the one updated
    assert "sources: Wire Service, Ukrinform, Interfax" in latest
    assert "https://ukr.example/news/1" in latest

    digest = await digest_of(app, "mariupol-evacuation")  # the digest lists the story once
    assert [(e.title, e.source_count) for e in digest.sections[0].entries] == [
        (CONVOY_EN.title, 3),
        (POSTPONED.title, 1),
    ]


async def digest_of(app: App, topic_id: str) -> Digest:
    now = datetime.now(UTC)
    since = now - timedelta(hours=1)
    async with app.engine.connect() as conn:
        rows = await story_rows(conn, [topic_id], since=since, until=now)
    return build_digest(
        rows,
        [DigestTopic(topic_id, topic_id)],
        title="Digest",
        since=since,
        until=now,
        zone="UTC",
        max_per_topic=10,
    )


async def test_a_corrected_headline_never_alerts_again(
    running_bot: Callable[..., Any], feed_server: FeedServer
) -> None:
    publish(feed_server, "/wire.xml", WEATHER)
    _, stream = await running_bot("/wire.xml")
    await wait_for(lambda: feed_server.hits("/wire.xml"))
    publish(feed_server, "/wire.xml", CONVOY_EN, WEATHER)
    await wait_for(lambda: alerts_in(stream))

    corrected = Entry(CONVOY_EN.guid, CONVOY_EN.title + " (updated)", CONVOY_EN.link + "?v=2")
    publish(feed_server, "/wire.xml", corrected, WEATHER)
    hits = feed_server.hits("/wire.xml", status=200)
    await wait_for(lambda: feed_server.hits("/wire.xml", status=200) > hits)
    await wait_for(lambda: feed_server.hits("/wire.xml", status=304) >= 1)

    assert len(alerts_in(stream)) == 1


async def test_a_restarted_bot_still_knows_the_stories_it_alerted(
    database_url: str, feed_server: FeedServer
) -> None:
    for path in FEEDS:
        publish(feed_server, path, WEATHER)
    settings = load_settings(
        database_url=database_url,
        feeds_file=None,
        feeds=[{"url": feed_server.url(path)} for path in FEEDS],
        poll={"interval": 1, "min_interval": 1},
        fetch={"allow_private_networks": True, "total_timeout": 2},
        http={"enabled": False},
        console={"enabled": "always"},
    )
    before, after = io.StringIO(), io.StringIO()
    first = App(settings, AppOptions(console_stream=before))
    await first.start()
    try:
        await wait_for(lambda: all(feed_server.hits(path) for path in FEEDS))
        publish(feed_server, "/wire.xml", CONVOY_EN, WEATHER)
        await wait_for(lambda: alerts_in(before))
    finally:
        await first.stop()

    second = App(settings, AppOptions(console_stream=after))
    await second.start()
    try:
        publish(feed_server, "/ukr.xml", CONVOY_UK, WEATHER)
        await wait_for(lambda: alerts_in(after))
    finally:
        await second.stop()

    assert [block.splitlines()[0] for block in alerts_in(after)] == [f"{UPDATE_MARK} 1"]


async def test_telegram_edits_the_alert_when_another_outlet_reports_the_story(
    start_bot: StartBot, feed_server: FeedServer
) -> None:
    for path in FEEDS:
        publish(feed_server, path, WEATHER)
    bot = await start_bot(feeds=[{"url": feed_server.url(path)} for path in FEEDS])
    await bot.command(USER, "/subscribe mariupol-evacuation")
    answered = len(bot.telegram.messages(USER))

    publish(feed_server, "/wire.xml", CONVOY_EN, WEATHER)
    alert = (await eventually(lambda: bot.telegram.messages(USER)[answered:]))[0]
    publish(feed_server, "/ukr.xml", CONVOY_UK, WEATHER)
    await eventually(lambda: alert.edits >= 1 and "Ukrinform" in alert.text)
    publish(feed_server, "/ru.xml", CONVOY_RU, WEATHER)
    await eventually(lambda: "Interfax" in alert.text)

    assert len(bot.telegram.messages(USER)) == answered + 1
    assert alert.text.startswith(CONVOY_EN.title)
    assert "Sources: Wire Service, Ukrinform, Interfax" in alert.text
    assert not bot.telegram.calls("sendMessage")[answered + 1 :]
