"""The ``digest``, ``timezone``, ``quiet`` and ``urgent`` commands, called by the command core.

=================================  ===========================================================
``digest``                         the schedule, its next run on the chat's clock, its topics
``digest daily 08:00 [ZONE]``      also ``weekdays 18:30``, ``weekly mon 09:00``, ``every 6h``;
                                   a ZONE sets the chat's time zone too
``digest off`` / ``digest now``    stop the digest / send the digest since the last one, now
``timezone [ZONE]``                show or set the chat's IANA time zone ("did you mean" on a miss)
``quiet [HH:MM-HH:MM | off]``      instant alerts in these hours wait until they end
``urgent [TOPIC | off TOPIC]``     a topic whose alerts come through quiet hours
=================================  ===========================================================

Like the core: parse first (a usage error is shown only to the caller), then the permission
check the core hands in (``refuse``: the refusal text, or None when the caller may change the
chat), then the store. Schedule changes call ``hooks.schedule_changed`` after the commit so the
scheduler's jobs follow; the hooks are set by the composition root.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import utcnow
from bot.digest.localtime import (
    QuietHours,
    format_clock,
    format_local,
    resolve_zone,
    suggest_zones,
    zone,
)
from bot.digest.runner import RunResult
from bot.digest.schedule import ScheduleError, next_run, parse_schedule
from bot.model import ChatRef, Delivery
from bot.store import chats as chat_store
from bot.store import digests as digest_store
from bot.store import quiet as quiet_store
from bot.topics import TopicRegistry
from handlers.permissions import Caller

__all__ = [
    "DIGEST_ARGS",
    "QUIET_ARGS",
    "TIMEZONE_ARGS",
    "URGENT_ARGS",
    "Answer",
    "DigestCommands",
    "DigestHooks",
]

DIGEST_ARGS = "[daily HH:MM | weekdays HH:MM | weekly DAY HH:MM | every Nh] [ZONE] | off | now"
TIMEZONE_ARGS = "[ZONE]"
QUIET_ARGS = "[HH:MM-HH:MM | off]"
URGENT_ARGS = "[TOPIC | off TOPIC]"

# Words a schedule takes before an optional time zone.
SCHEDULE_WORDS = {"daily": 2, "weekdays": 2, "weekly": 3, "every": 2}
ZONE_EXAMPLES = "an IANA name such as Europe/Kyiv, America/New_York, Asia/Kolkata or UTC"

Refusal = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    ephemeral: bool = False


class DigestHooks(Protocol):
    async def schedule_changed(self) -> None: ...

    async def send_now(self, chat_pk: int, chat: ChatRef, zone: str) -> RunResult: ...


def _usage(name: str, arguments: str) -> Answer:
    return Answer(f"Usage: {name} {arguments}", ephemeral=True)


class DigestCommands:
    def __init__(
        self,
        engine: AsyncEngine,
        registry: TopicRegistry,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._registry = registry
        self._clock = clock
        self.hooks: DigestHooks | None = None

    # -- digest ----------------------------------------------------------------------------

    async def digest(self, caller: Caller, rest: str, refuse: Refusal) -> Answer:
        words = rest.split()
        if not words:
            return await self._show_digest(caller)
        action = words[0].lower()
        if action in ("off", "now") and len(words) == 1:
            if refused := await refuse():
                return Answer(refused, ephemeral=True)
            return await (self._digest_off(caller) if action == "off" else self._digest_now(caller))
        if action not in SCHEDULE_WORDS:
            return _usage("digest", DIGEST_ARGS)
        count = SCHEDULE_WORDS[action]
        zone_text = " ".join(words[count:])
        zone_name = resolve_zone(zone_text) if zone_text else None
        if zone_text and zone_name is None:
            return _unknown_zone(zone_text)
        try:
            schedule = parse_schedule(" ".join(words[:count]), zone_name or "UTC")
        except ScheduleError as error:
            return Answer(str(error), ephemeral=True)
        if refused := await refuse():
            return Answer(refused, ephemeral=True)
        async with self._engine.begin() as conn:
            chat_pk = await self._chat_pk(conn, caller)
            if zone_name is not None:
                await digest_store.set_timezone(conn, chat_pk, zone_name)
            zone_name = await digest_store.chat_timezone(conn, chat_pk)
            await digest_store.set_schedule(
                conn, chat_pk, schedule.rule, zone_name, now=self._clock()
            )
            topics = await digest_store.digest_topic_ids(conn, chat_pk, now=self._clock())
        await self._schedule_changed()
        schedule = parse_schedule(schedule.rule, zone_name)
        upcoming = format_local(next_run(schedule, self._clock()), zone_name)
        lines = [f"Digest {schedule.describe()} ({zone_name}). Next: {upcoming}."]
        if not topics:
            lines.append(_NO_TOPICS)
        return Answer("\n".join(lines))

    async def _show_digest(self, caller: Caller) -> Answer:
        async with self._engine.connect() as conn:
            chat = await chat_store.get_chat(conn, caller.chat)
            if chat is None:
                return Answer("No digest is scheduled. Try: digest daily 08:00")
            row = await digest_store.get_schedule(conn, chat_pk=chat.id)
            topics = await digest_store.digest_topic_ids(conn, chat.id, now=self._clock())
            quiet = await quiet_store.get_quiet(conn, chat.id)
        if row is None:
            lines = [f"No digest is scheduled ({chat.timezone}). Try: digest daily 08:00"]
        else:
            schedule = parse_schedule(row.rule, row.timezone)
            upcoming = format_local(next_run(schedule, self._clock()), row.timezone)
            lines = [f"Digest {schedule.describe()} ({row.timezone}). Next: {upcoming}."]
        if topics:
            names = ", ".join(self._topic_label(topic_id) for topic_id in topics)
            lines.append(f"Topics in the digest: {names}.")
        else:
            lines.append(_NO_TOPICS)
        if quiet is not None:
            lines.append(f"Quiet hours: {QuietHours.from_minutes(quiet.start, quiet.end)}.")
        return Answer("\n".join(lines))

    async def _digest_off(self, caller: Caller) -> Answer:
        async with self._engine.begin() as conn:
            removed = await digest_store.remove_schedule(conn, await self._chat_pk(conn, caller))
        if not removed:
            return Answer("No digest was scheduled.", ephemeral=True)
        await self._schedule_changed()
        return Answer("Digest turned off. Topics set to digest get no alerts until it is back.")

    async def _digest_now(self, caller: Caller) -> Answer:
        if self.hooks is None:
            return Answer("Digests are not running on this bot right now.", ephemeral=True)
        async with self._engine.begin() as conn:
            chat_pk = await self._chat_pk(conn, caller)
            zone_name = await digest_store.chat_timezone(conn, chat_pk)
        result = await self.hooks.send_now(chat_pk, caller.chat, zone_name)
        since = format_local(result.period.start, zone_name)
        if result.status != "sent":
            return Answer(f"Nothing new on the digest topics since {since}.")
        stories = "1 story" if result.stories == 1 else f"{result.stories} stories"
        messages = "1 message" if result.messages == 1 else f"{result.messages} messages"
        return Answer(f"Sending the digest since {since}: {stories} in {messages}.")

    # -- timezone --------------------------------------------------------------------------

    async def timezone(self, caller: Caller, rest: str, refuse: Refusal) -> Answer:
        if not rest:
            async with self._engine.connect() as conn:
                chat = await chat_store.get_chat(conn, caller.chat)
            current = chat.timezone if chat else "UTC"
            clock = format_clock(self._clock().astimezone(zone(current)).time())
            return Answer(f"This chat's time zone is {current} ({clock} there now).")
        zone_name = resolve_zone(rest)
        if zone_name is None:
            return _unknown_zone(rest)
        if refused := await refuse():
            return Answer(refused, ephemeral=True)
        async with self._engine.begin() as conn:
            chat_pk = await self._chat_pk(conn, caller)
            await digest_store.set_timezone(conn, chat_pk, zone_name)
            row = await digest_store.get_schedule(conn, chat_pk=chat_pk)
            if row is not None:  # the digest keeps its wall-clock time in the new zone
                await digest_store.set_schedule(
                    conn, chat_pk, row.rule, zone_name, now=self._clock()
                )
        clock = format_clock(self._clock().astimezone(zone(zone_name)).time())
        lines = [f"Time zone set to {zone_name} ({clock} there now)."]
        if row is not None:
            await self._schedule_changed()
            schedule = parse_schedule(row.rule, zone_name)
            upcoming = format_local(next_run(schedule, self._clock()), zone_name)
            lines.append(f"The digest follows: next {upcoming}.")
        return Answer(" ".join(lines))

    # -- quiet hours -----------------------------------------------------------------------

    async def quiet(self, caller: Caller, rest: str, refuse: Refusal) -> Answer:
        if not rest:
            async with self._engine.connect() as conn:
                chat = await chat_store.get_chat(conn, caller.chat)
                quiet = await quiet_store.get_quiet(conn, chat.id) if chat else None
            if quiet is None:
                return Answer("No quiet hours. Set some with: quiet 22:00-07:00")
            current = QuietHours.from_minutes(quiet.start, quiet.end)
            return Answer(f"Quiet hours: {current} ({quiet.timezone}).")
        turning_off = rest.lower() == "off"
        hours = None if turning_off else QuietHours.parse(rest.replace(" ", ""))
        if not turning_off and hours is None:
            return Answer(
                "Write quiet HH:MM-HH:MM with two different times, e.g. quiet 22:00-07:00,"
                " or quiet off.",
                ephemeral=True,
            )
        if refused := await refuse():
            return Answer(refused, ephemeral=True)
        async with self._engine.begin() as conn:
            chat_pk = await self._chat_pk(conn, caller)
            await quiet_store.set_quiet(conn, chat_pk, hours.minutes if hours else None)
            zone_name = await digest_store.chat_timezone(conn, chat_pk)
            released = 0
            if hours is None:
                released = await quiet_store.release_held_alerts(
                    conn, now=self._clock(), chat_pk=chat_pk
                )
        if hours is None:
            waiting = f" {released} waiting alert(s) are on their way." if released else ""
            return Answer(f"Quiet hours off.{waiting}")
        return Answer(
            f"Quiet hours {hours} ({zone_name}): instant alerts in them wait until"
            f" {format_clock(hours.end)}. Urgent topics still come through (urgent TOPIC)."
        )

    # -- urgent topics ---------------------------------------------------------------------

    async def urgent(self, caller: Caller, rest: str, refuse: Refusal) -> Answer:
        words = rest.split()
        if not words:
            return await self._show_urgent(caller)
        urgent = not (words[0].lower() == "off" and len(words) == 2)
        if len(words) != (1 if urgent else 2):
            return _usage("urgent", URGENT_ARGS)
        name = words[-1]
        topic = self._registry.resolve(caller.chat, name)
        if topic is None:
            suggestions = self._registry.suggest(caller.chat, name)
            hint = f" Did you mean {' or '.join(suggestions)}?" if suggestions else " See topics."
            return Answer(f"No topic called '{name}'.{hint}", ephemeral=True)
        if refused := await refuse():
            return Answer(refused, ephemeral=True)
        async with self._engine.begin() as conn:
            chat_pk = await self._chat_pk(conn, caller)
            found = await quiet_store.set_urgent(conn, chat_pk, topic.id, urgent)
            subscriptions = await chat_store.list_subscriptions(conn, chat_pk)
        if not found:
            return Answer(f"This chat is not subscribed to {topic.name}.", ephemeral=True)
        if not urgent:
            return Answer(f"{topic.name} is no longer urgent: it waits out quiet hours.")
        delivery = next((s.delivery for s in subscriptions if s.topic_id == topic.id), None)
        note = ""
        if delivery == Delivery.DIGEST:
            note = f" It is digest-only now: subscribe {name} both to get instant alerts."
        return Answer(f"{topic.name} is urgent: its alerts come through quiet hours.{note}")

    async def _show_urgent(self, caller: Caller) -> Answer:
        async with self._engine.connect() as conn:
            chat = await chat_store.get_chat(conn, caller.chat)
            topic_ids = await quiet_store.urgent_topic_ids(conn, chat.id) if chat else []
        if not topic_ids:
            return Answer("No urgent topics. Mark one with: urgent TOPIC")
        return Answer("Urgent topics: " + ", ".join(map(self._topic_label, topic_ids)) + ".")

    # -- helpers ---------------------------------------------------------------------------

    async def _schedule_changed(self) -> None:
        if self.hooks is not None:
            await self.hooks.schedule_changed()

    async def _chat_pk(self, conn: AsyncConnection, caller: Caller) -> int:
        return await chat_store.ensure_chat(
            conn, caller.chat, now=self._clock(), title=caller.chat_title, kind=str(caller.kind)
        )

    def _topic_label(self, topic_id: str) -> str:
        topic = self._registry.get(topic_id)
        return self._registry.handle(topic) if topic is not None else topic_id


_NO_TOPICS = "No topic goes to the digest yet: subscribe TOPIC digest (or both)."


def _unknown_zone(text: str) -> Answer:
    suggestions = suggest_zones(text)
    hint = f" Did you mean {' or '.join(suggestions)}?" if suggestions else f" Use {ZONE_EXAMPLES}."
    return Answer(f"'{text}' is not a time zone.{hint}", ephemeral=True)
