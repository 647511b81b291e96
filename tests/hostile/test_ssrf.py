"""SSRF through the bot's real paths: /addfeed, ``wirewatch check-feed`` and the poller.

The bot runs as in production (private networks refused). A "publisher" server on 127.0.0.1 is
trusted, as a public feed host would be; a "private" server on 127.0.0.1 stands for the bot's
own network and must never receive a request. DNS is a ``StaticResolver`` in which a public-looking
name points at 127.0.0.1. The full table of address spellings is pinned in tests/test_guard.py;
here a representative subset goes through the commands a user would type.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from bot.app import AppOptions, fetch_limits
from bot.feeds.fetch import Fetcher
from bot.store import feeds as feed_store
from bot.store.feeds import FeedRow
from tests.feedserver import FeedServer, StaticResolver
from tests.hostile.newsroom import (
    GOOD_STORY,
    OPERATOR,
    Newsroom,
    clean_environment,
    good_feed,
    newsroom,
    newsroom_settings,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

NOT_ALLOWED = "(private networks are not allowed)"
REBINDING_NAME = "news.example.com"


@dataclass(frozen=True, slots=True)
class Scene:
    room: Newsroom
    publisher: FeedServer
    private: FeedServer
    dns: StaticResolver
    redirects: dict[str, str]  # name → feed URL on the publisher that redirects there


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scene(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Scene]:
    database = tmp_path_factory.mktemp("ssrf") / "wirewatch.db"
    with clean_environment(), FeedServer() as publisher, FeedServer() as private:
        private.set("/admin", "internal admin page", content_type="text/plain")
        private.set("/feed.xml", good_feed())
        publisher.set("/feed.xml", good_feed())
        publisher.set("/another.xml", good_feed().replace("Good Wire", "Another Good Wire"))
        targets = {
            "loopback": private.url("/admin"),
            "moved-inside": private.url("/admin"),  # a 301: the feed claims to have moved
            "metadata": "http://169.254.169.254/latest/meta-data/",
            "file": "file:///etc/passwd",
            "localhost": f"http://localhost:{private.port}/admin",
        }
        redirects = {}
        for name, target in targets.items():
            publisher.redirect(
                f"/{name}.xml", target, status=301 if name == "moved-inside" else 302
            )
            redirects[name] = publisher.url(f"/{name}.xml")
        settings = newsroom_settings(
            f"sqlite+aiosqlite:///{database}",
            [publisher.url("/feed.xml"), *redirects.values()],
            fetch={"allow_private_networks": False},
        )
        trusted = frozenset({f"127.0.0.1:{publisher.port}"})
        dns = StaticResolver({REBINDING_NAME: ["127.0.0.1"]})
        async with newsroom(settings, AppOptions(trusted_origins=trusted)) as room:
            # /addfeed checks a feed with app.fetcher: give it the test's DNS. The poller keeps
            # the fetcher it was built with (configured feeds are literal, trusted addresses).
            polling = room.app.fetcher
            room.app.fetcher = Fetcher(fetch_limits(settings, trusted), resolver=dns)
            try:
                yield Scene(room, publisher, private, dns, redirects)
            finally:
                await polling.aclose()


def forbidden_urls(port: int) -> list[tuple[str, str]]:
    """(URL, why it is refused), each aimed at 127.0.0.1:``port`` where the form allows, so a
    slip would really reach the private server."""
    loopback = f"refused: 127.0.0.1 is a loopback address {NOT_ALLOWED}"
    scheme = "unsupported URL scheme '{}': only http and https feeds are allowed"
    return [
        (f"http://127.0.0.1:{port}/feed.xml", loopback),
        (f"http://2130706433:{port}/feed.xml", loopback),  # decimal
        (f"http://0x7f.1:{port}/feed.xml", loopback),  # hex, short form
        (
            f"http://[::ffff:127.0.0.1]:{port}/feed.xml",
            "refused: ::ffff:7f00:1 is an IPv6 form of 127.0.0.1, a loopback address "
            + NOT_ALLOWED,
        ),
        (f"http://[::1]:{port}/feed.xml", f"refused: ::1 is a loopback address {NOT_ALLOWED}"),
        (
            f"http://localhost:{port}/feed.xml",
            f"refused: localhost is a local host name {NOT_ALLOWED}",
        ),
        ("http://10.1.2.3/feed.xml", f"refused: 10.1.2.3 is a private address {NOT_ALLOWED}"),
        (
            "http://169.254.169.254/latest/meta-data/",
            f"refused: 169.254.169.254 is the cloud metadata address {NOT_ALLOWED}",
        ),
        (
            "http://100.64.0.1/feed.xml",
            f"refused: 100.64.0.1 is a shared (carrier-grade NAT) address {NOT_ALLOWED}",
        ),
        ("file:///etc/passwd", scheme.format("file")),
        (f"gopher://127.0.0.1:{port}/_INFO", scheme.format("gopher")),
    ]


CASES = range(len(forbidden_urls(0)))


@pytest.mark.parametrize("case", CASES)
async def test_addfeed_refuses_a_forbidden_address_before_any_connection(
    scene: Scene, case: int
) -> None:
    url, reason = forbidden_urls(scene.private.port)[case]
    reply = await scene.room.app.commands.handle(OPERATOR, f"addfeed {url}")
    assert reply.text == f"Cannot add {url}: {reason}"
    assert reply.ephemeral
    assert url not in {row.url for row in await _stored(scene)}
    assert scene.private.requests == []
    assert scene.dns.asked == []


@pytest.mark.parametrize("case", CASES)
async def test_check_feed_refuses_a_forbidden_address_before_any_connection(
    scene: Scene, case: int
) -> None:
    url, reason = forbidden_urls(scene.private.port)[case]
    checked = await scene.room.check_feed(url)
    assert (checked.status, checked.out, checked.err) == (1, "", f"{url}: {reason}\n")
    assert scene.private.requests == []


async def test_a_public_looking_name_that_resolves_to_loopback_is_refused_at_connect_time(
    scene: Scene,
) -> None:
    url = f"http://{REBINDING_NAME}:{scene.private.port}/feed.xml"
    reply = await scene.room.app.commands.handle(OPERATOR, f"addfeed {url}")
    assert reply.text == (
        f"Cannot add {url}: refused: {REBINDING_NAME} resolves to 127.0.0.1, which is a "
        f"loopback address {NOT_ALLOWED}"
    )
    assert scene.dns.asked == [REBINDING_NAME]  # it got as far as asking DNS, no further
    assert scene.private.requests == []
    assert url not in {row.url for row in await _stored(scene)}


async def test_addfeed_of_a_trusted_feed_that_redirects_inside_is_refused(scene: Scene) -> None:
    url = scene.redirects["loopback"]
    reply = await scene.room.app.commands.handle(OPERATOR, f"addfeed {url}")
    assert reply.text == (
        f"Cannot add {url}: redirect to {scene.private.url('/admin')}: refused: 127.0.0.1 is a "
        f"loopback address {NOT_ALLOWED}"
    )
    assert scene.private.requests == []


async def test_addfeed_still_adds_a_feed_on_a_trusted_host(scene: Scene) -> None:
    url = scene.publisher.url("/another.xml")
    reply = await scene.room.app.commands.handle(OPERATOR, f"addfeed {url}")
    assert reply.text == "Added Another Good Wire. Its new items will be matched from now on."


# --- the poller -------------------------------------------------------------------------------


def redirect_refusal(scene: Scene, name: str) -> str:
    target = {
        "loopback": f"{scene.private.url('/admin')}: refused: 127.0.0.1 is a loopback address",
        "moved-inside": f"{scene.private.url('/admin')}: refused: 127.0.0.1 is a loopback address",
        "metadata": "http://169.254.169.254/latest/meta-data/: refused: 169.254.169.254 is the "
        "cloud metadata address",
        "localhost": f"http://localhost:{scene.private.port}/admin: refused: localhost is a local "
        "host name",
    }.get(name)
    if target is None:  # file:
        return "redirect to file:///etc/passwd: unsupported URL scheme 'file': only http and https "
    return f"redirect to {target} {NOT_ALLOWED}"


@pytest.mark.parametrize("name", ["loopback", "moved-inside", "metadata", "file", "localhost"])
async def test_a_trusted_feed_that_redirects_inside_is_refused_and_keeps_its_url(
    scene: Scene, name: str
) -> None:
    url = scene.redirects[name]
    recorded = await scene.room.failure(url)
    assert recorded.startswith(redirect_refusal(scene, name)), recorded
    assert f"failing ({recorded})\n  {url}" in await scene.room.feeds_reply()
    assert url in {row.url for row in await _stored(scene)}  # never rewritten to the target
    assert scene.private.requests == []


async def test_a_feed_refused_three_times_is_retired_and_the_good_feed_alerts(
    scene: Scene,
) -> None:
    await scene.room.wait_for_alert(GOOD_STORY.title)
    url = scene.redirects["moved-inside"]
    row = await scene.room.wait_for_feed(url, lambda row: row.error_count >= 3)
    assert row.last_error == f"{redirect_refusal(scene, 'moved-inside')} (3 times): feed retired"
    assert not await scene.room.enabled(url)
    assert row.url == url
    assert scene.private.requests == []


async def _stored(scene: Scene) -> list[FeedRow]:
    async with scene.room.app.engine.connect() as conn:
        return await feed_store.list_feeds(conn)
