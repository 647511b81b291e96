"""The command core as chat users meet it, on a real store and real feeds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.feeds.fetch import Fetcher, FetchLimits
from bot.feeds.parse import parse_feed
from bot.model import ChatRef, Feed, Item, Platform
from bot.settings import ChatSettings, load_settings
from bot.sources import configured_aliases, configured_topics
from bot.store import chats as chat_store
from bot.store import feeds as feed_store
from bot.store.items import insert_new_items
from bot.topics import TopicRegistry
from handlers.commands import CommandCore
from handlers.permissions import Caller, ChatKind
from tests.feeds import TALKS, rss
from tests.feedserver import FeedServer

NOW = datetime(2026, 3, 1, tzinfo=UTC)
ALICE = Caller(ChatRef(Platform.TELEGRAM, "100"), user_id="100")


async def yes() -> bool:
    return True


async def no() -> bool:
    return False


def group_member(admin: bool) -> Caller:
    return Caller(
        ChatRef(Platform.TELEGRAM, "-200"),
        user_id="300",
        kind=ChatKind.GROUP,
        chat_title="Newsroom",
        is_admin=yes if admin else no,
    )


MakeCore = Callable[[ChatSettings], CommandCore]


@pytest.fixture
async def make_core(engine: AsyncEngine) -> AsyncIterator[MakeCore]:
    """A command core with these chat settings, on the real store, fetching real feeds."""
    config = load_settings()
    registry = TopicRegistry(configured_topics(config), configured_aliases(config))
    fetcher = Fetcher(FetchLimits(allow_private_networks=True))

    async def check_feed(url: str) -> str | None:
        result = await fetcher.fetch(url)
        return parse_feed(result.content, feed_url=url, content_type=result.content_type).title

    def make(settings: ChatSettings) -> CommandCore:
        return CommandCore(engine, registry, settings, check_feed=check_feed)

    yield make
    await fetcher.aclose()


@pytest.fixture
def core(make_core: MakeCore) -> CommandCore:
    return make_core(
        ChatSettings(allow_user_feeds=False, operators=[], max_custom_topics=2, max_subscriptions=3)
    )


async def store_item(engine: AsyncEngine, title: str) -> None:
    async with engine.begin() as conn:
        feed = await feed_store.add_feed(conn, Feed("https://wire.example/rss"), now=NOW)
        item = Item("https://wire.example/rss", title, title, published=NOW)
        await insert_new_items(conn, feed.id, [item], now=NOW)


async def test_help_names_every_command(core: CommandCore) -> None:
    reply = await core.handle(ALICE, "help")
    for command in ("subscribe", "unsubscribe", "track", "feeds", "pause", "status"):
        assert command in reply.text
    assert "NEAR/5" in reply.text


async def test_subscribe_shows_what_the_topic_would_have_caught(
    core: CommandCore, engine: AsyncEngine
) -> None:
    await store_item(engine, "Evacuation buses leave Mariupol for Zaporizhzhia")
    await store_item(engine, "Football club in talks over new stadium")
    reply = await core.handle(ALICE, "subscribe mariupol-evacuation")
    assert reply.text.startswith("Subscribed to Mariupol evacuation (instant)")
    assert [item.title for item in reply.preview] == [
        "Evacuation buses leave Mariupol for Zaporizhzhia"
    ]
    listing = await core.handle(ALICE, "list")
    assert "mariupol-evacuation (instant)" in listing.text


async def test_unknown_topic_gets_a_did_you_mean(core: CommandCore) -> None:
    reply = await core.handle(ALICE, "subscribe peace-talk")
    assert reply.ephemeral
    assert "Did you mean peace-talks?" in reply.text


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("subscribe", "Usage: subscribe TOPIC [instant|digest|both]"),
        ("subscribe peace-talks hourly", "'hourly' is not a delivery mode"),
        ("unsubscribe", "Usage: unsubscribe TOPIC"),
        ("track kharkiv", "Usage: track NAME QUERY"),
        ("frobnicate", "Unknown command 'frobnicate'"),
    ],
)
async def test_malformed_commands_get_a_usage_line(
    core: CommandCore, command: str, expected: str
) -> None:
    reply = await core.handle(ALICE, command)
    assert reply.ephemeral
    assert expected in reply.text


async def test_non_admin_cannot_change_group_subscriptions(
    core: CommandCore, engine: AsyncEngine
) -> None:
    denied = await core.handle(group_member(admin=False), "subscribe peace-talks")
    allowed = await core.handle(group_member(admin=True), "subscribe peace-talks")
    read = await core.handle(group_member(admin=False), "list")
    assert "Only this chat's administrators" in denied.text
    assert allowed.text.startswith("Subscribed to Peace talks")
    assert "peace-talks" in read.text


async def test_track_validates_the_query_and_subscribes(
    core: CommandCore, engine: AsyncEngine
) -> None:
    bad = await core.handle(ALICE, "track kharkiv kharkiv AND (shelling")
    good = await core.handle(ALICE, "track kharkiv kharkiv AND shelling")
    topics = await core.handle(ALICE, "topics")
    others = await core.handle(group_member(admin=True), "topics")
    assert bad.ephemeral and "column" in bad.text
    assert good.text.startswith("Tracking kharkiv")
    assert "kharkiv" in topics.text and "(yours)" in topics.text
    assert "kharkiv" not in others.text
    assert (await core.handle(ALICE, "untrack kharkiv")).text == "Stopped tracking kharkiv."


async def test_custom_topic_quota(core: CommandCore) -> None:
    await core.handle(ALICE, "track one kyiv")
    await core.handle(ALICE, "track two odesa")
    third = await core.handle(ALICE, "track three lviv")
    await core.handle(ALICE, "untrack one")
    again = await core.handle(ALICE, "track three lviv")
    assert third.ephemeral
    assert third.text == (
        "This chat already has 2 topics of its own, the most allowed (2). "
        "Untrack one (see topics) to make room."
    )
    assert again.text.startswith("Tracking three")


async def test_subscription_quota(core: CommandCore) -> None:
    for topic in ("peace-talks", "prisoner-exchange", "grain-corridor"):
        assert (await core.handle(ALICE, f"subscribe {topic}")).text.startswith("Subscribed")
    fourth = await core.handle(ALICE, "subscribe strikes-on-kyiv")
    tracked = await core.handle(ALICE, "track kharkiv kharkiv")
    changed = await core.handle(ALICE, "subscribe peace-talks digest")
    await core.handle(ALICE, "unsubscribe grain-corridor")
    again = await core.handle(ALICE, "subscribe strikes-on-kyiv")
    assert fourth.ephemeral
    assert fourth.text == (
        "This chat already has 3 subscriptions, the most allowed (3). "
        "Unsubscribe from one (see list) to make room."
    )
    assert tracked.text == fourth.text  # tracking subscribes, so it counts too
    assert changed.text.startswith("Updated Peace talks (digest)")
    assert again.text.startswith("Subscribed to")


async def test_a_chat_adds_only_so_many_feeds(make_core: MakeCore, feed_server: FeedServer) -> None:
    core = make_core(ChatSettings(allow_user_feeds=True, max_feeds=2))
    admin = group_member(admin=True)
    elsewhere = Caller(ChatRef(Platform.SLACK, "C1"), user_id="U1", is_operator=True)
    urls = []
    for name in ("one", "two", "three", "four"):
        feed_server.set(f"/{name}.xml", rss(TALKS, title=f"Wire {name}"))
        urls.append(feed_server.url(f"/{name}.xml"))

    added = [await core.handle(admin, f"addfeed {url}") for url in urls[:2]]
    refused = await core.handle(admin, f"addfeed {urls[2]}")
    other_chat = await core.handle(elsewhere, f"addfeed {urls[3]}")
    await core.handle(admin, f"removefeed {urls[0]}")
    after_removing = await core.handle(admin, f"addfeed {urls[2]}")

    assert [reply.text.split(".")[0] for reply in added] == ["Added Wire one", "Added Wire two"]
    assert refused.ephemeral
    assert refused.text == (
        "This chat has already added 2 feeds, the most allowed (2). "
        "Remove one with removefeed URL (see feeds) to add another."
    )
    assert feed_server.hits("/three.xml") == 1  # refused before fetching; fetched once, later
    assert other_chat.text.startswith("Added Wire four")  # the quota is each chat's own
    assert after_removing.text.startswith("Added Wire three")


async def test_pause_and_resume(core: CommandCore, engine: AsyncEngine) -> None:
    await core.handle(ALICE, "subscribe peace-talks")
    await core.handle(ALICE, "pause")
    async with engine.connect() as conn:
        paused = await chat_store.subscribers_by_topic(conn, ["peace-talks"])
    await core.handle(ALICE, "resume")
    async with engine.connect() as conn:
        resumed = await chat_store.subscribers_by_topic(conn, ["peace-talks"])
    assert paused == {}
    assert [s.chat for s in resumed["peace-talks"]] == [ALICE.chat]


async def test_only_operators_add_feeds(core: CommandCore, feed_server: FeedServer) -> None:
    feed_server.set("/wire.xml", rss(TALKS, title="Test Wire"))
    url = feed_server.url("/wire.xml")
    refused = await core.handle(ALICE, f"addfeed {url}")
    operator = Caller(ALICE.chat, user_id="100", is_operator=True)
    added = await core.handle(operator, f"addfeed {url}")
    broken = await core.handle(operator, f"addfeed {feed_server.url('/missing')}")
    listing = await core.handle(ALICE, "feeds")
    assert "Only the bot's operators" in refused.text
    assert added.text.startswith("Added Test Wire")
    assert "404" in broken.text and broken.ephemeral
    assert "Test Wire — not fetched yet" in listing.text


async def test_hostile_input_is_cleaned_or_refused(core: CommandCore) -> None:
    too_long = await core.handle(ALICE, "track x " + "kyiv " * 2500)
    sneaky = await core.handle(ALICE, "subscribe peace\u202e-talks")
    assert too_long.ephemeral and "at most 1000" in too_long.text
    assert sneaky.text.startswith("Subscribed to Peace talks")


async def test_a_muted_topic_is_silent_until_the_mute_ends(
    core: CommandCore, engine: AsyncEngine
) -> None:
    await core.handle(ALICE, "subscribe peace-talks")
    reply = await core.handle(ALICE, "mute peace-talks 2")
    listing = await core.handle(ALICE, "list")
    async with engine.connect() as conn:
        during = await chat_store.subscribers_by_topic(conn, ["peace-talks"], now=datetime.now(UTC))
        later = datetime.now(UTC) + timedelta(hours=3)
        after = await chat_store.subscribers_by_topic(conn, ["peace-talks"], now=later)
    unmuted = await core.handle(ALICE, "unmute peace-talks")
    assert reply.text.startswith("Peace talks muted until")
    assert "muted until" in listing.text
    assert during == {}
    assert [s.chat for s in after["peace-talks"]] == [ALICE.chat]
    assert unmuted.text == "Peace talks is no longer muted."
    assert "Usage: mute" in (await core.handle(ALICE, "mute peace-talks soon")).text
