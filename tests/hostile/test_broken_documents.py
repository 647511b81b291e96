"""Documents that are broken, mislabelled or built to stall the parser, fed to the running bot.

One bot, with a 2-second parse deadline, polls a good feed beside: two feeds whose author e-mail
sends feedparser's regex into catastrophic backtracking, an HTML page where a feed should be,
Cyrillic feeds in windows-1251 (declared as UTF-8, and undeclared) and in KOI8-R (declared), and a
feed of odd items. Every outcome is pinned as the user sees it; the good feed alerts on its first
poll although both parser workers are stuck when it arrives.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.store.tables import feeds, items
from tests.feedserver import FeedServer
from tests.hostile.documents import ODD_ITEMS, REDOS_AUTHOR, cyrillic_feed, html_page
from tests.hostile.newsroom import (
    GOOD_STORY,
    Newsroom,
    clean_environment,
    good_feed,
    newsroom,
    newsroom_settings,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

PARSE_TIMEOUT = 2
UKRAINIAN = "Маріуполь: евакуація триває"
RUSSIAN = "Мариуполь: эвакуация продолжается"


@dataclass(frozen=True, slots=True)
class Scene:
    room: Newsroom
    hostile: FeedServer
    good: FeedServer
    urls: dict[str, str]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scene(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Scene]:
    database = tmp_path_factory.mktemp("documents") / "wirewatch.db"
    with clean_environment(), FeedServer() as hostile, FeedServer() as good:
        good.set("/feed.xml", good_feed())
        good.delay("/feed.xml", 0.5)  # arrives while both workers are stuck in the regex
        hostile.set("/redos-1.xml", REDOS_AUTHOR)
        hostile.set("/redos-2.xml", REDOS_AUTHOR)
        hostile.set(
            "/news.html",
            html_page("/rss.xml", "https://cdn.example/hostile/atom.xml"),
            content_type="text/html; charset=utf-8",
        )
        hostile.set(
            "/cp1251-as-utf8.xml",
            cyrillic_feed("Вісник", UKRAINIAN, "windows-1251", declared="utf-8"),
            content_type="application/rss+xml; charset=utf-8",
        )
        hostile.set(
            "/cp1251-undeclared.xml",
            cyrillic_feed("Вісник", UKRAINIAN, "windows-1251", declared="utf-8").replace(
                b' encoding="utf-8"', b""
            ),
            content_type="application/rss+xml",
        )
        hostile.set(
            "/koi8-r.xml",
            cyrillic_feed("Вестник", RUSSIAN, "koi8-r", declared="koi8-r"),
            content_type="application/rss+xml",
        )
        hostile.set("/odd.xml", ODD_ITEMS)
        names = ["redos-1", "redos-2", "news", "cp1251-as-utf8", "cp1251-undeclared", "koi8-r"]
        urls = {
            name: hostile.url(f"/{name}.{'html' if name == 'news' else 'xml'}") for name in names
        }
        urls["odd"] = hostile.url("/odd.xml")
        urls["good"] = good.url("/feed.xml")
        settings = newsroom_settings(
            f"sqlite+aiosqlite:///{database}",
            # The stalling feeds first: they are claimed first and take both workers.
            list(urls.values()),
            fetch={"parse_timeout": PARSE_TIMEOUT},
            poll={"concurrency": 20},
        )
        async with newsroom(settings) as room:
            yield Scene(room, hostile, good, urls)


# --- the parser stalled on purpose ------------------------------------------------------------


async def test_a_feed_that_stalls_the_parser_is_cut_off_at_the_deadline(scene: Scene) -> None:
    reason = f"parsing took longer than {PARSE_TIMEOUT} s; feed skipped"
    for name in ("redos-1", "redos-2"):
        url = scene.urls[name]
        assert await scene.room.failure(url) == reason
        assert f"failing ({reason})\n  {url}" in await scene.room.feeds_reply()
    checked = await scene.room.check_feed(scene.urls["redos-1"])
    assert (checked.status, checked.err) == (1, f"{scene.urls['redos-1']}: {reason}\n")
    assert scene.room.app.running


async def test_the_good_feed_alerts_on_its_first_poll_while_the_parser_is_stalled(
    scene: Scene,
) -> None:
    await scene.room.wait_for_alert(GOOD_STORY.title)
    assert scene.good.hits("/feed.xml", status=200) == 1  # its first parse was never lost
    good = await scene.room.feed(scene.urls["good"])
    assert (good.error_count, good.last_error) == (0, None)


async def test_the_parser_keeps_working_after_each_restart(scene: Scene) -> None:
    row = await scene.room.wait_for_feed(scene.urls["redos-1"], lambda row: row.error_count >= 2)
    assert row.last_error == f"parsing took longer than {PARSE_TIMEOUT} s; feed skipped"
    odd = await scene.room.feed(scene.urls["odd"])  # parsed beside the restarts
    assert (odd.error_count, odd.last_success_at is not None) == (0, True)


# --- an HTML page ------------------------------------------------------------------------------


async def test_an_html_page_names_the_feeds_it_advertises(scene: Scene) -> None:
    url = scene.urls["news"]
    reason = (
        "not a feed: got an HTML page (it advertises 2 feeds: "
        f"{scene.hostile.url('/rss.xml')}, https://cdn.example/hostile/atom.xml)"
    )
    assert await scene.room.failure(url) == reason
    assert f"failing ({reason})\n  {url}" in await scene.room.feeds_reply()
    checked = await scene.room.check_feed(url)
    assert (checked.status, checked.err) == (1, f"{url}: {reason}\n")


# --- encodings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "channel", "title", "warning"),
    [
        # Not UTF-8 as declared: read as the Cyrillic it is, with a warning (not mojibake).
        (
            "cp1251-as-utf8",
            "Вісник",
            UKRAINIAN,
            "document declared as utf-8, but parsed as windows-1251",
        ),
        (
            "cp1251-undeclared",
            "Вісник",
            UKRAINIAN,
            "document declared as utf-8, but parsed as windows-1251",
        ),
        ("koi8-r", "Вестник", RUSSIAN, None),  # declared properly: read properly, nothing to say
    ],
)
async def test_legacy_cyrillic_encodings_are_read_as_cyrillic(
    scene: Scene, name: str, channel: str, title: str, warning: str | None
) -> None:
    url = scene.urls[name]
    row = await scene.room.wait_for_feed(url, lambda row: row.last_success_at is not None)
    assert (row.title, row.error_count, row.last_error) == (channel, 0, warning)
    assert await scene.room.stored_titles(url) == [title]
    assert f"• {channel} — ok\n  {url}" in await scene.room.feeds_reply()
    checked = await scene.room.check_feed(url)
    assert checked.status == 0 and f" {title}\n" in checked.out
    assert (f"warning: {warning}\n" in checked.out) if warning else "warning" not in checked.out


# --- odd items ---------------------------------------------------------------------------------


async def test_odd_items_are_stored_once_each_with_usable_keys_and_links(scene: Scene) -> None:
    url = scene.urls["odd"]
    await scene.room.wait_for_feed(url, lambda row: row.last_success_at is not None)
    async with scene.room.app.engine.connect() as conn:
        rows = await conn.execute(
            select(items.c.key, items.c.url, items.c.title, items.c.published)
            .join(feeds, feeds.c.id == items.c.feed_id)
            .where(feeds.c.url == url)
            .order_by(items.c.id)
        )
        stored = {row.title: row for row in rows}
    relative = scene.hostile.url("/stories/kharkiv-rescue")
    guid_link = scene.hostile.url("/stories/uzhhorod-webcam")
    assert {title: (row.key, row.url) for title, row in stored.items()} == {
        "Kestrel ringed at Chernihiv reservoir": ("odd-no-link", None),
        "Kestrel chicks hatch in Lviv botanical garden": (
            "https://odd.example/lviv-chicks",  # no guid: the canonical link is the key
            "https://odd.example/lviv-chicks",
        ),
        "Kestrel count rises in Odesa region": ("odd-twice", "https://odd.example/odesa-count"),
        "Kestrel recovers at Kharkiv rescue centre": ("odd-relative", relative),
        "Kestrel festival planned in Poltava": ("odd-future", None),
        "Kestrel nest box programme in Sumy": ("odd-bad-date", None),
        # A guid without isPermaLink="false" is the link (RSS 2.0); the key stays as written,
        # so it does not change if the feed moves.
        "Kestrel webcam back online in Uzhhorod": ("stories/uzhhorod-webcam", guid_link),
    }  # the second item with guid "odd-twice" is the same item; the empty one is skipped
    assert stored["Kestrel festival planned in Poltava"].published is not None  # kept as given
    assert stored["Kestrel nest box programme in Sumy"].published is None


async def test_odd_items_alert_as_the_age_rules_say(scene: Scene) -> None:
    await scene.room.wait_for_feed(scene.urls["odd"], lambda row: row.last_success_at is not None)
    expected = {
        "Kestrel ringed at Chernihiv reservoir",
        "Kestrel chicks hatch in Lviv botanical garden",
        "Kestrel count rises in Odesa region",
        "Kestrel recovers at Kharkiv rescue centre",
        "Kestrel festival planned in Poltava",  # a future date counts as new
        "Kestrel webcam back online in Uzhhorod",
    }  # not the undated one: on a feed's first fetch only dated, recent items alert
    for title in (*expected, GOOD_STORY.title):
        await scene.room.wait_for_alert(title)
    titles = {alert.splitlines()[0] for alert in scene.room.alerts()}
    assert titles == expected | {GOOD_STORY.title}
