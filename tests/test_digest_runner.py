"""Scheduled digests as chats get them: the period's top stories, on time, exactly once.

Time is a controllable clock: a week of schedules runs in seconds by waking the runner at the
instants the schedule logic gives, the way APScheduler would, with nothing slept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat.slack import SlackChannel
from bot.delivery.digest_messages import digest_messages
from bot.delivery.outbox import Deliverer
from bot.digest.runner import SETTLE, DigestRunner, RunResult
from bot.digest.schedule import Period, due_periods, parse_schedule
from bot.model import Alert, ChatRef, Delivery, Digest, Feed, Item, Match, Platform, Topic
from bot.settings import DigestSettings
from bot.store import chats as chat_store
from bot.store import digests as digest_store
from bot.store import feeds as feed_store
from bot.store.alerts import alert_from_payload
from bot.store.items import insert_new_items
from bot.store.matches import record_matches
from bot.store.tables import alerts, chats, digest_runs, items, matches, subscriptions
from tests.clock import Clock
from tests.conftest import table_count
from tests.fakes.slack import FakeSlack

TOPICS = {
    "peace-talks": Topic("peace-talks", "Peace talks", "talks"),
    "mariupol-evacuation": Topic("mariupol-evacuation", "Mariupol evacuation", "mariupol"),
}
FEEDS = [f"https://wire{n}.example/rss" for n in range(3)]
CREATED = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
ON_TIME = SETTLE + timedelta(seconds=1)  # when APScheduler runs a digest due at an instant


@dataclass
class Store:
    engine: AsyncEngine
    feed_ids: list[int]
    keys: int = 0

    async def chat(
        self,
        chat: ChatRef,
        rule: str | None = "daily 08:00",
        *,
        zone: str = "UTC",
        topics: Sequence[str] = ("peace-talks",),
        delivery: Delivery = Delivery.DIGEST,
    ) -> int:
        async with self.engine.begin() as conn:
            chat_pk = await chat_store.ensure_chat(conn, chat, now=CREATED)
            await digest_store.set_timezone(conn, chat_pk, zone)
            for topic in topics:
                await chat_store.subscribe(conn, chat_pk, topic, now=CREATED, delivery=delivery)
            if rule:
                await digest_store.set_schedule(conn, chat_pk, rule, zone, now=CREATED)
        return chat_pk

    async def story(
        self,
        at: datetime,
        *,
        url: str | None = None,
        feeds: Sequence[int] = (0,),
        topic: str = "peace-talks",
        title: str | None = None,
    ) -> str:
        """One story, reported by ``feeds`` and matched at ``at``; returns its URL."""
        self.keys += 1
        url = url or f"https://news.example/{self.keys}"
        async with self.engine.begin() as conn:
            for feed in feeds:
                item = Item(FEEDS[feed], f"{url}#{feed}", title or f"Story {self.keys}", url=url)
                [stored] = await insert_new_items(conn, self.feed_ids[feed], [item], now=at)
                await record_matches(conn, [(stored.id, Match(topic))], now=at)
        return url

    async def schedule_id(self, chat_pk: int) -> int:
        async with self.engine.connect() as conn:
            row = await digest_store.get_schedule(conn, chat_pk=chat_pk)
        assert row is not None
        return row.id

    async def queued(self) -> list[tuple[str, Alert]]:
        """(story key, message) of every outbox row, oldest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(alerts.c.story_key, alerts.c.payload, chats.c.platform, chats.c.chat_id)
                .join(chats, chats.c.id == alerts.c.chat_id)
                .order_by(alerts.c.id)
            )
            return [
                (
                    row.story_key,
                    alert_from_payload(ChatRef(Platform(row.platform), row.chat_id), row.payload),
                )
                for row in rows
            ]

    async def runs(self) -> list[tuple[int | None, datetime, str, bool]]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(digest_runs).order_by(digest_runs.c.id))
            return [(r.schedule_id, r.period_end, r.status, r.late) for r in rows]


@pytest.fixture
async def store(engine: AsyncEngine) -> Store:
    async with engine.begin() as conn:
        ids = [
            (await feed_store.add_feed(conn, Feed(url, f"Wire {n}"), now=CREATED)).id
            for n, url in enumerate(FEEDS)
        ]
    return Store(engine, ids)


def make_runner(store: Store, clock: Clock, **settings: object) -> DigestRunner:
    return DigestRunner(
        store.engine,
        TOPICS,
        DigestSettings(**settings),
        digest_messages,
        clock=clock,  # type: ignore[arg-type]
    )


def digests_of(queued: list[tuple[str, Alert]]) -> list[Digest]:
    return [alert.digest for _, alert in queued if alert.digest is not None]


def shown(digest: Digest) -> list[str]:
    return [entry.links[0] for section in digest.sections for entry in section.entries]


KYIV_MARCH_2 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)  # 08:00 in Kyiv


async def test_a_daily_digest_has_the_periods_top_stories_ranked_by_sources(store: Store) -> None:
    chat = ChatRef(Platform.TELEGRAM, "42")
    schedule_id = await store.schedule_id(await store.chat(chat, zone="Europe/Kyiv"))
    single = await store.story(KYIV_MARCH_2 - timedelta(hours=2))
    everywhere = await store.story(KYIV_MARCH_2 - timedelta(hours=20), feeds=(0, 1, 2))
    await store.story(KYIV_MARCH_2 - timedelta(hours=30))  # the day before: not this period
    await store.story(KYIV_MARCH_2 + timedelta(minutes=1))  # after 08:00: tomorrow's
    clock = Clock(KYIV_MARCH_2 + ON_TIME)

    result = await make_runner(store, clock).run_due(schedule_id)

    assert result is not None and (result.status, result.stories, result.late) == ("sent", 2, False)
    [(key, message)] = await store.queued()
    assert key == f"digest:{schedule_id}:2026-03-01T06:00:00+00:00:1"
    assert message.digest is not None and shown(message.digest) == [everywhere, single]
    assert message.digest.sections[0].entries[0].source_count == 3
    assert "Sun 1 Mar 08:00 – Mon 2 Mar 08:00 (Europe/Kyiv)" in message.summary


async def test_a_period_is_sent_once_however_often_it_is_asked_for(store: Store) -> None:
    chat_pk = await store.chat(ChatRef(Platform.SLACK, "C1"))
    schedule_id = await store.schedule_id(chat_pk)
    await store.story(datetime(2026, 3, 1, 12, tzinfo=UTC))
    clock = Clock(datetime(2026, 3, 2, 8, tzinfo=UTC) + ON_TIME)
    first, second = make_runner(store, clock), make_runner(store, clock)  # two instances

    results = await asyncio.gather(
        first.run_due(schedule_id), second.run_due(schedule_id), first.catch_up(), second.catch_up()
    )

    statuses = Counter(r.status for r in _flatten(results))
    assert statuses["sent"] == 1
    assert len(await store.queued()) == 1
    assert await first.run_due(schedule_id) is None  # nothing more is due


async def test_a_restart_before_the_commit_sends_the_digest_once(store: Store) -> None:
    chat_pk = await store.chat(ChatRef(Platform.SLACK, "C1"))
    schedule_id = await store.schedule_id(chat_pk)
    await store.story(datetime(2026, 3, 1, 12, tzinfo=UTC))
    clock = Clock(datetime(2026, 3, 2, 8, tzinfo=UTC) + ON_TIME)

    def crash(chat: ChatRef, digest: Digest) -> list[Alert]:
        raise RuntimeError("the process dies while queueing the digest")

    crashing = DigestRunner(store.engine, TOPICS, DigestSettings(), crash, clock=clock)
    with pytest.raises(RuntimeError):
        await crashing.run_due(schedule_id)
    assert await store.runs() == [] and await store.queued() == []  # the claim rolled back

    clock.now += timedelta(minutes=5)  # restarted
    results = await make_runner(store, clock).catch_up()
    again = await make_runner(store, clock).catch_up()

    assert [(r.status, r.late) for r in results] == [("sent", True)]
    assert again == []
    assert len(await store.queued()) == 1


async def test_a_restart_after_the_commit_does_not_send_it_again(store: Store) -> None:
    chat_pk = await store.chat(ChatRef(Platform.SLACK, "C1"), "every 6h")
    await store.story(datetime(2026, 3, 2, 3, tzinfo=UTC))
    clock = Clock(datetime(2026, 3, 2, 6, tzinfo=UTC) + ON_TIME)
    assert [r.status for r in await make_runner(store, clock).catch_up()] == ["sent"]

    for minutes in (0, 1, 30):  # restarted right away, a minute later, half an hour later
        clock.now = datetime(2026, 3, 2, 6, minutes, tzinfo=UTC) + ON_TIME
        assert await make_runner(store, clock).catch_up() == []
    assert len(await store.queued()) == 1
    assert [status for _, _, status, _ in await store.runs()] == ["sent"]
    assert chat_pk


async def test_a_missed_digest_is_sent_late_within_the_grace(store: Store) -> None:
    await store.chat(ChatRef(Platform.TELEGRAM, "42"), zone="Asia/Kolkata")
    due = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)  # 08:00 in Kolkata
    url = await store.story(due - timedelta(hours=1))
    clock = Clock(due + timedelta(hours=5, minutes=59))  # the bot was down until now

    [result] = await make_runner(store, clock).catch_up()

    assert (result.status, result.late, result.period.end) == ("sent", True, due)
    [(_, message)] = await store.queued()
    assert message.digest is not None and message.digest.late and shown(message.digest) == [url]
    assert "sent late" in message.summary


async def test_digests_missed_longer_than_the_grace_are_skipped_with_one_log_line(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    chat_pk = await store.chat(ChatRef(Platform.SLACK, "C1"), zone="Europe/Kyiv")
    schedule_id = await store.schedule_id(chat_pk)
    await store.story(datetime(2026, 3, 1, 12, tzinfo=UTC))  # in a skipped period
    kept = await store.story(datetime(2026, 3, 4, 12, tzinfo=UTC))  # in the next one
    clock = Clock(datetime(2026, 3, 4, 13, tzinfo=UTC))  # down since it was set up on 1 Mar
    runner = make_runner(store, clock)

    with caplog.at_level(logging.WARNING, logger="bot.digest.runner"):
        [result] = await runner.catch_up()
        assert await runner.catch_up() == []
    assert result.status == "skipped"
    [line] = [r.getMessage() for r in caplog.records]
    assert "skipping 4 period(s) missed by more than 6:00:00" in line  # 1-4 Mar, 08:00
    assert await store.queued() == []

    clock.now = datetime(2026, 3, 5, 6, tzinfo=UTC) + ON_TIME  # the next digest, on time
    sent = await runner.run_due(schedule_id)
    assert sent is not None and sent.status == "sent"
    [(_, message)] = await store.queued()
    assert message.digest is not None and shown(message.digest) == [kept]


async def test_an_hourly_digest_after_downtime_is_one_late_digest(store: Store) -> None:
    await store.chat(ChatRef(Platform.SLACK, "C1"), "every 1h")
    urls = [await store.story(datetime(2026, 3, 2, hour, 30, tzinfo=UTC)) for hour in range(9, 13)]
    clock = Clock(datetime(2026, 3, 2, 13, 10, tzinfo=UTC))  # down from 10:00 to 13:10

    await make_runner(store, clock).catch_up()

    [(_, message)] = await store.queued()
    assert message.digest is not None and message.digest.late
    assert sorted(shown(message.digest)) == sorted(urls)  # 09:30 … 12:30: since the last one


@pytest.mark.parametrize("send_empty", [False, True])
async def test_an_empty_period_sends_nothing_unless_asked_to(
    store: Store, send_empty: bool
) -> None:
    await store.chat(ChatRef(Platform.SLACK, "C1"))
    clock = Clock(datetime(2026, 3, 2, 8, tzinfo=UTC) + ON_TIME)

    [result] = await make_runner(store, clock, send_empty=send_empty).catch_up()

    queued = await store.queued()
    if send_empty:
        assert result.status == "sent" and len(queued) == 1
        assert "No new stories" in queued[0][1].summary
    else:
        assert result.status == "empty" and queued == []


async def test_a_paused_chat_gets_no_digest_and_muted_topics_stay_out(store: Store) -> None:
    paused = await store.chat(ChatRef(Platform.SLACK, "C1"))
    muting = await store.chat(
        ChatRef(Platform.SLACK, "C2"), topics=("peace-talks", "mariupol-evacuation")
    )
    await store.story(datetime(2026, 3, 1, 12, tzinfo=UTC))
    evacuation = await store.story(
        datetime(2026, 3, 1, 13, tzinfo=UTC), topic="mariupol-evacuation"
    )
    async with store.engine.begin() as conn:
        await chat_store.set_chat_flags(conn, paused, paused=True)
        await chat_store.mute(conn, muting, "peace-talks", until=datetime(2026, 3, 9, tzinfo=UTC))
    clock = Clock(datetime(2026, 3, 2, 8, tzinfo=UTC) + ON_TIME)

    results = await make_runner(store, clock).catch_up()

    assert sorted(r.status for r in results) == ["sent", "skipped"]
    [(_, message)] = await store.queued()
    assert message.chat.chat_id == "C2"
    assert message.digest is not None and shown(message.digest) == [evacuation]


async def test_digest_now_sends_what_came_since_the_previous_digest(store: Store) -> None:
    chat = ChatRef(Platform.SLACK, "C1")
    chat_pk = await store.chat(chat)
    await store.story(datetime(2026, 3, 1, 12, tzinfo=UTC))
    clock = Clock(datetime(2026, 3, 2, 8, tzinfo=UTC) + ON_TIME)
    runner = make_runner(store, clock)
    await runner.catch_up()
    fresh = await store.story(datetime(2026, 3, 2, 9, tzinfo=UTC))
    clock.now = datetime(2026, 3, 2, 10, tzinfo=UTC)

    now = await runner.send_now(chat_pk, chat, "UTC")
    nothing = await runner.send_now(chat_pk, chat, "UTC")

    assert (now.status, now.stories, now.period.start) == (
        "sent",
        1,
        datetime(2026, 3, 2, 8, tzinfo=UTC),
    )
    assert nothing.status == "empty"
    key, message = (await store.queued())[-1]
    assert key == "digest:now:2026-03-02T08:00:00+00:00:1"
    assert message.digest is not None and shown(message.digest) == [fresh]
    await store.story(datetime(2026, 3, 2, 11, tzinfo=UTC))
    clock.now = (
        datetime(2026, 3, 3, 8, tzinfo=UTC) + ON_TIME
    )  # the next scheduled one starts after it
    await runner.catch_up()
    next_digest = digests_of(await store.queued())[-1]
    assert next_digest.period_start == datetime(2026, 3, 2, 10, tzinfo=UTC) - SETTLE


# -- a week of schedules in every kind of time zone, across clock changes ----------------------

CHATS = [
    ("daily 08:00", "Europe/Kyiv"),
    ("every 3h", "Europe/Kyiv"),  # 03:00 is skipped in spring and repeated in autumn
    ("daily 02:30", "America/New_York"),
    ("daily 01:30", "America/New_York"),
    ("weekdays 18:30", "America/New_York"),
    ("weekly mon 09:00", "Asia/Kolkata"),
    ("every 6h", "Asia/Kathmandu"),
]
WEEKS = [
    pytest.param(datetime(2026, 3, 4, tzinfo=UTC), id="new-york-springs-forward-8-mar"),
    pytest.param(datetime(2026, 3, 24, tzinfo=UTC), id="kyiv-springs-forward-29-mar"),
    pytest.param(datetime(2026, 10, 24, tzinfo=UTC), id="both-fall-back-25-oct-1-nov"),
]


@pytest.mark.parametrize("start", WEEKS)
async def test_a_week_of_digests_runs_each_period_once_on_time(
    store: Store, start: datetime
) -> None:
    end = start + timedelta(days=9)
    created = start  # the schedules are set up as the week begins
    chat_pks = []
    for n, (rule, zone) in enumerate(CHATS):
        chat_pks.append(await store.chat(ChatRef(Platform.SLACK, f"C{n}"), rule, zone=zone))
    async with store.engine.begin() as conn:
        await conn.execute(digest_store.digest_schedules.update().values(created_at=created))
    stories = [
        start - timedelta(days=1) + timedelta(minutes=45 * n) for n in range(int(10 * 24 * 60 / 45))
    ]
    async with store.engine.begin() as conn:  # all at once: a match is seen only from its time
        await conn.execute(
            items.insert(),
            [
                {
                    "id": n + 1,
                    "feed_id": store.feed_ids[0],
                    "key": f"k{n}",
                    "url": f"https://news.example/{n}",
                    "title": f"Story {n}",
                    "summary": "",
                    "fetched_at": at,
                }
                for n, at in enumerate(stories)
            ],
        )
        await record_matches(
            conn, [(n + 1, Match("peace-talks")) for n in range(len(stories))], now=start
        )
        await conn.execute(
            matches.update().values(
                created_at=select(items.c.fetched_at)
                .where(items.c.id == matches.c.item_id)
                .scalar_subquery()
            )
        )
    schedules = {}
    for chat_pk, (rule, zone) in zip(chat_pks, CHATS, strict=True):
        schedules[await store.schedule_id(chat_pk)] = parse_schedule(rule, zone)
    expected = {sid: due_periods(s, start, end) for sid, s in schedules.items()}
    wakeups = sorted({(p.end, sid) for sid, periods in expected.items() for p in periods})
    clock = Clock(start)
    runner = make_runner(store, clock, max_stories_per_topic=50)
    began = time.perf_counter()

    last_sweep = start
    for instant in sorted({instant for instant, _ in wakeups}):
        clock.now = instant + ON_TIME  # APScheduler wakes the jobs due now
        for schedule_id in [sid for at, sid in wakeups if at == instant]:
            await runner.run_due(schedule_id)
        if instant - last_sweep > timedelta(hours=5):  # the safety-net sweep finds nothing more
            assert await runner.catch_up() == []
            last_sweep = instant

    elapsed = time.perf_counter() - began
    runs = await store.runs()
    for schedule_id, periods in expected.items():
        mine = [(end, status, late) for sid, end, status, late in runs if sid == schedule_id]
        assert mine == [(p.end, "sent", False) for p in periods]  # every period, once, on time
    by_chat: dict[str, list[Digest]] = {}
    for _, message in await store.queued():
        assert message.digest is not None
        by_chat.setdefault(message.chat.chat_id, []).append(message.digest)
    for n, periods in enumerate(expected.values()):
        digests = by_chat[f"C{n}"]
        window = Period(periods[0].start, periods[-1].end)
        in_window = sum(1 for at in stories if window.start <= at < window.end)
        assert sum(d.stories for d in digests if d.part == 1) == in_window  # each story once
        all_shown = [url for d in digests for url in shown(d)]
        assert len(all_shown) == len(set(all_shown))
    assert elapsed < 60  # seconds for a week: nothing sleeps


# -- 1,000 chats due in the same minute ---------------------------------------------------------


async def test_a_thousand_digests_due_at_once_are_queued_once_and_sent_within_slacks_limits(
    store: Store,
) -> None:
    channels = [f"C{n:04d}" for n in range(1000)]
    set_up = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    async with store.engine.begin() as conn:  # in bulk: a thousand chats one by one is slow
        await conn.execute(
            chats.insert(),
            [_chat_row(channel) for channel in channels],
        )
        ids = (await conn.execute(select(chats.c.id).where(chats.c.platform == "slack"))).scalars()
        chat_pks = list(ids)
        await conn.execute(
            subscriptions.insert(),
            [
                {
                    "chat_id": pk,
                    "topic_id": "peace-talks",
                    "delivery": "digest",
                    "created_at": set_up,
                }
                for pk in chat_pks
            ],
        )
        await conn.execute(
            digest_store.digest_schedules.insert(),
            [
                {"chat_id": pk, "rule": "daily 08:00", "timezone": "UTC", "created_at": set_up}
                for pk in chat_pks
            ],
        )
    for hour in (9, 12, 18):
        await store.story(datetime(2026, 3, 1, hour, tzinfo=UTC), feeds=(0, 1))
    clock = Clock(datetime(2026, 3, 2, 8, tzinfo=UTC) + ON_TIME)
    began = time.perf_counter()

    # A thousand jobs fire in the same minute, and the sweep races them.
    runner = make_runner(store, clock)
    async with store.engine.connect() as conn:
        schedule_ids = [row.id for row in await digest_store.list_schedules(conn)]
    results = await asyncio.gather(
        runner.catch_up(), *(runner.run_due(schedule_id) for schedule_id in schedule_ids)
    )
    queued_in = time.perf_counter() - began

    assert Counter(r.status for r in _flatten(results))["sent"] == 1000
    assert await table_count(store.engine, "alerts") == 1000
    assert await table_count(store.engine, "digest_runs") == 1000

    with FakeSlack() as slack:  # Slack's own pace: 1 message a second per channel, burst 3
        for channel in channels:
            slack.add_channel(channel)
        channel = SlackChannel(slack.token, slack.api_url)
        deliverer = Deliverer(store.engine, {Platform.SLACK: channel}, clock=clock)
        began = time.perf_counter()
        while await deliverer.drain_once():
            pass
        sent_in = time.perf_counter() - began
        await channel.aclose()
        posted = slack.all_messages
        assert slack.throttled == 0
    assert sorted(posted) == channels
    assert all(len(messages) == 1 for messages in posted.values())
    assert all(m.text and m.text.startswith("Daily digest") for ms in posted.values() for m in ms)
    assert deliverer.sent == 1000
    # Seconds on an idle laptop; the bounds only catch a runaway (e.g. writers busy-waiting).
    assert queued_in < 120 and sent_in < 120


def _chat_row(channel: str) -> dict[str, object]:
    return {
        "platform": "slack",
        "chat_id": channel,
        "kind": "channel",
        "timezone": "UTC",
        "paused": False,
        "active": True,
        "created_at": CREATED,
    }


def _flatten(results: Sequence[object]) -> list[RunResult]:
    found: list[RunResult] = []
    for result in results:
        if isinstance(result, list):
            found += result
        elif isinstance(result, RunResult):
            found.append(result)
    return found
