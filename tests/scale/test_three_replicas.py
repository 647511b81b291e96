"""Three ``wirewatch run`` replicas on one PostgreSQL database, 1,000 feeds, and the leader killed.

The replicas start together on an empty database, with the same 1,000 feeds and the local fake
Telegram; 20 of the feeds publish stories a topic of the test's own matches, and four Telegram chats
subscribe to it by command. In the middle of a round of polls the leader is SIGKILLed.
What a person running three replicas relies on:

- every feed is fetched at most once per poll interval, by whichever replica leased it — also
  the polls the killed replica had in flight, retried only when their lease ran out;
- every story reaches every subscribed chat exactly once (an alert whose send the kill cut off
  may be resent once: the outbox's documented price for never losing one);
- one replica leads at a time — the one that answers Telegram commands — and another takes over
  within a minute of the leader's death.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.store.db import create_engine
from tests.fakes.telegram import FakeTelegram, Limit, Limits
from tests.scale.replicas import (
    TOPIC_ID,
    LeaderWatch,
    Replica,
    Story,
    TimedFeedServer,
    archive_story,
    config_toml,
    matching_story,
    opml,
    rss,
)

pytestmark = pytest.mark.slow

REPLICAS = 3
FEEDS = 1000
PUBLISHING = list(range(0, FEEDS, 50))  # 20 feeds publish stories the topic matches
CHATS = [7001, 7002, 7003, 7004]
BYSTANDER = 7005  # subscribes to nothing; asks the new leader something
# Telegram's one message a second per chat, without its small burst allowance: alerts to a chat
# sent by different replicas must still be a second apart.
ONE_A_SECOND = Limits(per_chat=Limit(1, 1.0, burst=1), per_group=None, overall=None)
INTERVAL = 30  # seconds between two polls of one feed
# A poll lease (fetch total_timeout + parse_timeout + 30 s) longer than the interval: a poll the
# kill cut off is retried no sooner than one interval after it began.
FETCH_TIMEOUT, PARSE_TIMEOUT = 3, 3
POLL_LEASE = FETCH_TIMEOUT + PARSE_TIMEOUT + 30  # bot.app.poll_lease
ALERT_LEASE = 10
TAKEOVER_LIMIT = 60.0
TAG = re.compile(r"<[^>]+>")


def replica_env(database_url: str, telegram: FakeTelegram, config: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "TELEGRAM_BOT_TOKEN": telegram.token,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "WIREWATCH_CONFIG": str(config),
        "WIREWATCH_FETCH__ALLOW_PRIVATE_NETWORKS": "true",
        "WIREWATCH_FETCH__TOTAL_TIMEOUT": str(FETCH_TIMEOUT),
        "WIREWATCH_FETCH__PARSE_TIMEOUT": str(PARSE_TIMEOUT),
        "WIREWATCH_POLL__INTERVAL": str(INTERVAL),
        "WIREWATCH_POLL__MIN_INTERVAL": str(INTERVAL),
        "WIREWATCH_DELIVERY__LEASE": str(ALERT_LEASE),
    }


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds it took; fails the test after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


def publish(server: TimedFeedServer, feeds: list[int], stories: dict[int, list[Story]], tag: str):
    rng = random.Random(tag)
    published = []
    for feed in feeds:
        story = matching_story(rng, f"{tag}-{feed}")
        stories[feed].append(story)
        server.set(f"/feed/{feed}.xml", rss(feed, stories[feed]))
        published.append(story)
    return published


def alert_titles(telegram: FakeTelegram, chat: int, titles: set[str]) -> Counter[str]:
    """How many times each of ``titles`` reached ``chat`` (an alert's first line is its title)."""
    firsts = (message.text.splitlines()[0] for message in telegram.messages(chat) if message.text)
    return Counter(first for first in firsts if first in titles)


async def test_three_replicas_share_1000_feeds_and_survive_losing_the_leader(
    tmp_path: Path, postgres_url: str
) -> None:
    stories: dict[int, list[Story]] = {feed: [archive_story(feed)] for feed in range(FEEDS)}
    with TimedFeedServer() as server, FakeTelegram(limits=ONE_A_SECOND) as telegram:
        for feed in range(FEEDS):
            server.set(f"/feed/{feed}.xml", rss(feed, stories[feed]))
        (tmp_path / "feeds.opml").write_text(
            opml([server.url(f"/feed/{feed}.xml") for feed in range(FEEDS)])
        )
        config = tmp_path / "wirewatch.toml"
        config.write_text(config_toml("feeds.opml"))
        for chat in [*CHATS, BYSTANDER]:
            telegram.add_chat(chat)
        env = replica_env(postgres_url, telegram, config)
        replicas = [Replica.start(f"replica-{n}", env, tmp_path) for n in range(REPLICAS)]
        watch = LeaderWatch(replicas)
        watching = asyncio.Event()
        watcher = asyncio.create_task(watch.run(watching))
        try:
            await wait_until(
                lambda: len(watch.samples) > 0 and len(watch.samples[-1][1]) == 3,
                120,
                "all replicas serve /metrics",
            )
            await wait_until(lambda: len(server.arrivals) == FEEDS, 90, "every feed polled once")
            await wait_until(lambda: len(watch.leaders()) == 1, 30, "a leader")
            leader = next(r for r in replicas if r.name == watch.leaders()[0])

            for chat in CHATS:  # commands reach the bot through the leader's long polling
                telegram.enqueue_message(chat, f"/subscribe {TOPIC_ID}")
            await wait_until(lambda: all(telegram.messages(c) for c in CHATS), 30, "subscribed")
            published = publish(server, PUBLISHING[:10], stories, "before-kill")

            # Mid-round: a third of the second round of polls is done when the leader dies.
            await wait_until(lambda: server.total_requests() >= FEEDS + FEEDS // 3, 90, "round 2")
            conflicts_before_kill = len(
                [c for c in telegram.calls("getUpdates") if c.status == 409]
            )
            leader.kill()
            in_flight = await alerts_being_sent(postgres_url)
            published += publish(server, PUBLISHING[10:], stories, "after-kill")

            assert leader.killed_at is not None
            takeover = await wait_until(
                lambda: watch.first_leader_after(leader.killed_at or 0) is not None,
                TAKEOVER_LIMIT,
                "another replica leads",
            )
            titles = {story.title for story in published}
            telegram.enqueue_message(BYSTANDER, "/topics")
            await wait_until(
                lambda: bool(telegram.messages(BYSTANDER)),
                30,
                "the new leader answers a command",
            )
            await wait_until(
                lambda: all(set(alert_titles(telegram, c, titles)) == titles for c in CHATS),
                120,
                "every story in every chat",
            )
            # Past the killed replica's poll leases and one more round: any double fetch shows.
            settled = leader.killed_at + POLL_LEASE + INTERVAL + 2
            await asyncio.sleep(max(0.0, settled - time.monotonic()))
            conflicts = [c for c in telegram.calls("getUpdates") if c.status == 409]
        finally:
            watching.set()
            await watcher
            exits = {replica.name: replica.stop() for replica in replicas if replica.alive}
            if sys.exc_info()[0] is not None:
                for replica in replicas:
                    print(f"\n--- {replica.name} (last lines) ---\n{replica.tail()}")

        arrivals = {path: sorted(times) for path, times in server.arrivals.items()}
        received = {chat: alert_titles(telegram, chat, titles) for chat in CHATS}
        throttled = telegram.throttled
        sends = [
            (call.at - leader.killed_at, TAG.sub("", call.params.get("text", "")).split("\n")[0])
            for call in telegram.calls("sendMessage")
            if call.status == 200
        ]

    polls = {r.name: watch.counter(r.name, "wirewatch_feed_polls_total") for r in replicas}
    resent = sum(sum(counts.values()) for counts in received.values()) - len(titles) * len(CHATS)
    fetches = sum(len(times) for times in arrivals.values())
    print(
        f"\ntakeover after {takeover:.1f} s; {len(titles)} stories x {len(CHATS)} chats; "
        f"sent twice after the kill: {resent}; 429s: {throttled}; {fetches} fetches; "
        f"polls per replica (last scrape): {polls}"
    )
    twice = Counter(title for _, title in sends if title in titles)
    for title in (title for title, count in twice.items() if count > len(CHATS)):
        print(f"  {title[:40]}… sent at {[round(at, 2) for at, t in sends if t == title]} s")
    logs = "\n".join(replica.tail(1500) for replica in replicas)
    assert all(code == 0 for code in exits.values()), (exits, logs)

    # every feed at most once per interval
    gaps = [b - a for times in arrivals.values() for a, b in itertools.pairwise(times)]
    too_soon = [gap for gap in gaps if gap < INTERVAL - 0.5]
    assert not too_soon, f"{len(too_soon)} fetches came sooner than {INTERVAL} s after the last"
    assert all(len(times) >= 3 for times in arrivals.values())

    # every story to every chat once; only an alert cut off mid-send may come twice
    for chat, counts in received.items():
        assert set(counts) == titles, chat
        repeated = {title for title, count in counts.items() if count > 1}
        assert repeated <= in_flight, (chat, repeated - in_flight)
        assert max(counts.values()) <= 2, chat
    assert throttled == 0  # a second between two alerts to a chat, whichever replicas sent them

    # one leader at a time; the next one within a minute
    assert watch.most_at_once() == 1
    assert conflicts_before_kill == 0
    # The fake answers 409 to a long poll still open when a newer one arrives: at most the dead
    # leader's, ended by its successor's first poll.
    assert len(conflicts) <= 1
    successor = watch.first_leader_after(leader.killed_at)
    assert successor is not None and successor[1] != leader.name


async def alerts_being_sent(database_url: str) -> set[str]:
    """Titles of the alerts out on the wire right now: a kill may make these go out twice."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT payload FROM alerts WHERE status = 'sending'"))
            payloads = (row.payload for row in rows)
            return {(json.loads(p) if isinstance(p, str) else p)["title"] for p in payloads}
    finally:
        await engine.dispose()
