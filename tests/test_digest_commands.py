"""digest, timezone, quiet and urgent, as chat users type them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.digest.runner import RunResult
from bot.digest.schedule import Period
from bot.model import ChatRef, Platform
from bot.settings import ChatSettings, load_settings
from bot.sources import configured_aliases, configured_topics
from bot.store import chats as chat_store
from bot.store import digests as digest_store
from bot.topics import TopicRegistry
from handlers.commands import CommandCore
from handlers.permissions import Caller, ChatKind

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 14:00 in Kyiv, 07:00 in New York
ALICE = Caller(ChatRef(Platform.TELEGRAM, "100"), user_id="100")


async def no() -> bool:
    return False


MEMBER = Caller(
    ChatRef(Platform.SLACK, "C200"),
    user_id="U3",
    kind=ChatKind.GROUP,
    chat_title="News",
    is_admin=no,
)


class Hooks:
    def __init__(self) -> None:
        self.changes = 0
        self.sent: list[tuple[int, ChatRef, str]] = []

    async def schedule_changed(self) -> None:
        self.changes += 1

    async def send_now(self, chat_pk: int, chat: ChatRef, zone: str) -> RunResult:
        self.sent.append((chat_pk, chat, zone))
        period = Period(datetime(2026, 3, 2, 6, tzinfo=UTC), NOW)
        return RunResult(chat, "sent", period, None, stories=12, messages=2)


@pytest.fixture
def hooks() -> Hooks:
    return Hooks()


@pytest.fixture
def core(engine: AsyncEngine, hooks: Hooks) -> CommandCore:
    config = load_settings()
    registry = TopicRegistry(configured_topics(config), configured_aliases(config))

    async def check_feed(url: str) -> str | None:
        return None

    core = CommandCore(engine, registry, ChatSettings(), check_feed=check_feed, clock=lambda: NOW)
    core.digests.hooks = hooks
    return core


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("digest daily", "Write daily HH:MM, e.g. daily 08:00."),
        ("digest daily 25:00", "'25:00' is not a time: use HH:MM on a 24-hour clock"),
        ("digest weekly funday 09:00", "'funday' is not a day: use mon, tue"),
        ("digest every 5h", "every takes 1, 2, 3, 4, 6, 8, 12 or 24 hours"),
        ("digest hourly", "Usage: digest [daily HH:MM | weekdays HH:MM | weekly DAY HH:MM"),
        ("digest daily 08:00 Mars/Olympus", "'Mars/Olympus' is not a time zone. Use an IANA name"),
        ("digest daily 08:00 Europe/Kiyv", "Did you mean Europe/Kyiv"),
        ("timezone Kyiv", "'Kyiv' is not a time zone. Did you mean Europe/Kyiv?"),
        ("timezone Europe/Kiev2", "Did you mean Europe/Kiev"),
        ("timezone +03:00", "is not a time zone"),
        ("quiet 22:00", "Write quiet HH:MM-HH:MM"),
        ("quiet 07:00-07:00", "Write quiet HH:MM-HH:MM with two different times"),
        ("urgent", "No urgent topics"),
        ("urgent off", "No topic called 'off'"),
        ("urgent peace-talk", "Did you mean peace-talks?"),
        ("urgent a b c", "Usage: urgent [TOPIC | off TOPIC]"),
    ],
)
async def test_mistakes_are_answered_with_how_to_write_it(
    core: CommandCore, command: str, expected: str
) -> None:
    reply = await core.handle(ALICE, command)
    assert expected in reply.text
    assert reply.ephemeral or command == "urgent"


async def test_help_names_the_new_commands(core: CommandCore) -> None:
    text = (await core.handle(ALICE, "help")).text
    for line in ("digest [daily HH:MM", "timezone [ZONE]", "quiet [HH:MM-HH:MM | off]", "urgent"):
        assert line in text


async def test_a_daily_digest_in_the_chats_zone_shows_its_next_run(
    core: CommandCore, engine: AsyncEngine, hooks: Hooks
) -> None:
    await core.handle(ALICE, "subscribe peace-talks digest")
    reply = await core.handle(ALICE, "digest daily 08:00 Europe/Kyiv")

    assert reply.text == "Digest daily at 08:00 (Europe/Kyiv). Next: Tue 3 Mar 08:00."
    assert hooks.changes == 1
    shown = await core.handle(ALICE, "digest")
    assert shown.text.splitlines() == [
        "Digest daily at 08:00 (Europe/Kyiv). Next: Tue 3 Mar 08:00.",
        "Topics in the digest: peace-talks.",
    ]
    zone = await core.handle(ALICE, "timezone")
    assert zone.text == "This chat's time zone is Europe/Kyiv (14:00 there now)."


async def test_a_digest_without_digest_topics_says_how_to_add_them(core: CommandCore) -> None:
    reply = await core.handle(ALICE, "digest weekly mon 09:00")
    assert reply.text.splitlines() == [
        "Digest every Monday at 09:00 (UTC). Next: Mon 9 Mar 09:00.",
        "No topic goes to the digest yet: subscribe TOPIC digest (or both).",
    ]


async def test_a_new_time_zone_moves_the_digest_and_resyncs_the_jobs(
    core: CommandCore, engine: AsyncEngine, hooks: Hooks
) -> None:
    await core.handle(ALICE, "digest every 6h")
    async with engine.connect() as conn:
        chat = await chat_store.get_chat(conn, ALICE.chat)
        assert chat is not None
        before = await digest_store.get_schedule(conn, chat_pk=chat.id)

    reply = await core.handle(ALICE, "timezone america/new york")

    async with engine.connect() as conn:
        after = await digest_store.get_schedule(conn, chat_pk=chat.id)
    assert reply.text == (
        "Time zone set to America/New_York (07:00 there now)."
        " The digest follows: next Mon 2 Mar 12:00."
    )
    assert before is not None and after is not None
    assert (after.rule, after.timezone) == ("every 6h", "America/New_York")
    assert after.id != before.id  # a new schedule: its periods never mix with the old one's
    assert hooks.changes == 2


async def test_digest_off_and_now(core: CommandCore, hooks: Hooks) -> None:
    assert (await core.handle(ALICE, "digest off")).text == "No digest was scheduled."
    await core.handle(ALICE, "digest daily 18:30")
    assert (await core.handle(ALICE, "digest off")).text.startswith("Digest turned off.")
    assert (await core.handle(ALICE, "digest")).text.startswith("No digest is scheduled (UTC).")

    now = await core.handle(ALICE, "digest now")

    assert now.text == "Sending the digest since Mon 2 Mar 06:00: 12 stories in 2 messages."
    assert [(chat, zone) for _, chat, zone in hooks.sent] == [(ALICE.chat, "UTC")]


async def test_quiet_hours_and_urgent_topics(core: CommandCore) -> None:
    await core.handle(ALICE, "timezone Asia/Kathmandu")
    await core.handle(ALICE, "subscribe strikes-on-kyiv")
    quiet = await core.handle(ALICE, "quiet 22:00-07:00")
    urgent = await core.handle(ALICE, "urgent strikes-on-kyiv")

    assert quiet.text.startswith("Quiet hours 22:00–07:00 (Asia/Kathmandu): instant alerts")
    assert "is urgent: its alerts come through quiet hours." in urgent.text
    assert (await core.handle(ALICE, "quiet")).text == "Quiet hours: 22:00–07:00 (Asia/Kathmandu)."
    assert (await core.handle(ALICE, "urgent")).text == "Urgent topics: strikes-on-kyiv."
    assert "no longer urgent" in (await core.handle(ALICE, "urgent off strikes-on-kyiv")).text
    assert (await core.handle(ALICE, "quiet off")).text == "Quiet hours off."
    not_subscribed = await core.handle(ALICE, "urgent peace-talks")
    assert (
        not_subscribed.text == "This chat is not subscribed to Peace talks."
        and not_subscribed.ephemeral
    )


@pytest.mark.parametrize(
    "command", ["digest daily 08:00", "digest off", "digest now", "timezone UTC", "quiet off"]
)
async def test_only_admins_change_a_group_chats_digest(
    core: CommandCore, hooks: Hooks, command: str
) -> None:
    reply = await core.handle(MEMBER, command)
    assert reply.text == "Only this chat's administrators can change its alerts."
    assert reply.ephemeral and hooks.changes == 0 and hooks.sent == []
    assert not (await core.handle(MEMBER, "digest")).ephemeral  # reading is open to everyone
