"""Digest schedules, the runs that claim their periods, and the matches a digest is made of.

A schedule row never changes: setting another rule or time zone deletes it and inserts a new
one, so its id and a period start name one digest for good. ``claim_run`` inserts the
(schedule, period start) record under a unique constraint; called in the transaction that
queues the digest's messages, it makes a period go out once across restarts and instances.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, Select, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import ChatRef, Delivery, Platform
from bot.store.tables import chats, digest_runs, digest_schedules, feeds, items, matches
from bot.store.tables import subscriptions as subs

__all__ = [
    "NewRun",
    "ScheduleRow",
    "StoryRow",
    "chat_timezone",
    "claim_run",
    "digest_topic_ids",
    "get_schedule",
    "last_chat_digest_end",
    "last_run_end",
    "last_run_ends",
    "list_schedules",
    "remove_schedule",
    "set_schedule",
    "set_timezone",
    "story_rows",
]


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    id: int
    chat_pk: int
    chat: ChatRef
    rule: str
    timezone: str
    created_at: datetime
    receiving: bool  # the chat is active and not paused


def _schedule_query() -> Select[Any]:
    return select(
        digest_schedules,
        chats.c.platform,
        chats.c.chat_id.label("chat_ref"),
        chats.c.active,
        chats.c.paused,
    ).join(chats, chats.c.id == digest_schedules.c.chat_id)


def _schedule_row(row: Row[Any]) -> ScheduleRow:
    return ScheduleRow(
        id=row.id,
        chat_pk=row.chat_id,
        chat=ChatRef(Platform(row.platform), row.chat_ref),
        rule=row.rule,
        timezone=row.timezone,
        created_at=row.created_at,
        receiving=bool(row.active) and not bool(row.paused),
    )


async def list_schedules(conn: AsyncConnection) -> list[ScheduleRow]:
    rows = await conn.execute(_schedule_query().order_by(digest_schedules.c.id))
    return [_schedule_row(row) for row in rows]


async def get_schedule(
    conn: AsyncConnection, *, schedule_id: int | None = None, chat_pk: int | None = None
) -> ScheduleRow | None:
    query = _schedule_query()
    if schedule_id is not None:
        query = query.where(digest_schedules.c.id == schedule_id)
    if chat_pk is not None:
        query = query.where(digest_schedules.c.chat_id == chat_pk)
    row = (await conn.execute(query)).first()
    return _schedule_row(row) if row is not None else None


async def set_schedule(
    conn: AsyncConnection, chat_pk: int, rule: str, timezone: str, *, now: datetime
) -> bool:
    """Give the chat this schedule; False when it already had exactly this one."""
    current = (
        await conn.execute(
            select(digest_schedules.c.rule, digest_schedules.c.timezone).where(
                digest_schedules.c.chat_id == chat_pk
            )
        )
    ).first()
    if current is not None and (current.rule, current.timezone) == (rule, timezone):
        return False
    await remove_schedule(conn, chat_pk)
    await conn.execute(
        digest_schedules.insert().values(
            chat_id=chat_pk, rule=rule, timezone=timezone, created_at=now
        )
    )
    return True


async def remove_schedule(conn: AsyncConnection, chat_pk: int) -> bool:
    result = await conn.execute(
        delete(digest_schedules).where(digest_schedules.c.chat_id == chat_pk)
    )
    return bool(result.rowcount)


async def chat_timezone(conn: AsyncConnection, chat_pk: int) -> str:
    zone = (await conn.execute(select(chats.c.timezone).where(chats.c.id == chat_pk))).scalar()
    return str(zone or "UTC")


async def set_timezone(conn: AsyncConnection, chat_pk: int, timezone: str) -> None:
    await conn.execute(update(chats).where(chats.c.id == chat_pk).values(timezone=timezone))


# -- runs ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewRun:
    chat_pk: int
    schedule_id: int | None  # None: "digest now"
    period_start: datetime
    period_end: datetime
    late: bool = False


async def claim_run(
    conn: AsyncConnection,
    run: NewRun,
    *,
    status: str,
    now: datetime,
    stories: int = 0,
    messages: int = 0,
) -> int | None:
    """Record a run; its id, or None when this (schedule, period start) was claimed before."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(digest_runs)
        .values(
            chat_id=run.chat_pk,
            schedule_id=run.schedule_id,
            period_start=run.period_start,
            period_end=run.period_end,
            status=status,
            late=run.late,
            stories=stories,
            messages=messages,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["schedule_id", "period_start"])
        .returning(digest_runs.c.id)
    )
    run_id = (await conn.execute(statement)).scalar()
    return int(run_id) if run_id is not None else None


async def last_run_end(conn: AsyncConnection, schedule_id: int) -> datetime | None:
    """The end of this schedule's latest claimed period."""
    query = select(func.max(digest_runs.c.period_end)).where(
        digest_runs.c.schedule_id == schedule_id
    )
    return _aware((await conn.execute(query)).scalar())


async def last_run_ends(conn: AsyncConnection) -> dict[int, datetime]:
    """Every schedule's latest claimed period end."""
    rows = await conn.execute(
        select(digest_runs.c.schedule_id, func.max(digest_runs.c.period_end))
        .where(digest_runs.c.schedule_id.is_not(None))
        .group_by(digest_runs.c.schedule_id)
    )
    found = {int(row[0]): _aware(row[1]) for row in rows}
    return {key: value for key, value in found.items() if value is not None}


async def last_chat_digest_end(
    conn: AsyncConnection, chat_pk: int, *, not_after: datetime
) -> datetime | None:
    """Where the chat's previous digest (any schedule, or "digest now") stopped."""
    query = select(func.max(digest_runs.c.period_end)).where(
        digest_runs.c.chat_id == chat_pk, digest_runs.c.period_end <= not_after
    )
    return _aware((await conn.execute(query)).scalar())


def _aware(value: datetime | None) -> datetime | None:
    """Aggregates skip the column type, so SQLite hands back a naive UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# -- content ---------------------------------------------------------------------------------


async def digest_topic_ids(conn: AsyncConnection, chat_pk: int, *, now: datetime) -> list[str]:
    """Topics the chat takes as a digest (``digest`` or ``both``) and is not muting."""
    rows = await conn.execute(
        select(subs.c.topic_id)
        .where(
            subs.c.chat_id == chat_pk,
            subs.c.delivery.in_([str(Delivery.DIGEST), str(Delivery.BOTH)]),
            or_(subs.c.muted_until.is_(None), subs.c.muted_until <= now),
        )
        .order_by(subs.c.topic_id)
    )
    return [row.topic_id for row in rows]


@dataclass(frozen=True, slots=True)
class StoryRow:
    """One match of a topic, with what a digest shows of its item."""

    topic_id: str
    matched_at: datetime
    item_id: int
    feed_id: int
    source: str  # the feed's title, else its URL
    url: str | None
    title: str
    summary: str
    published: datetime | None
    story_id: str | None = None  # the item's story (bot/stories); None before stories existed


async def story_rows(
    conn: AsyncConnection, topic_ids: Sequence[str], *, since: datetime, until: datetime
) -> list[StoryRow]:
    """Matches of these topics recorded in [since, until), with their items and feeds."""
    if not topic_ids:
        return []
    columns = [
        matches.c.topic_id,
        matches.c.created_at,
        items.c.id.label("item_id"),
        items.c.feed_id,
        items.c.url,
        items.c.title,
        items.c.summary,
        items.c.published,
        feeds.c.title.label("feed_title"),
        feeds.c.url.label("feed_url"),
        items.c.story_id,
    ]
    rows = await conn.execute(
        select(*columns)
        .join(items, items.c.id == matches.c.item_id)
        .join(feeds, feeds.c.id == items.c.feed_id)
        .where(
            matches.c.topic_id.in_(list(topic_ids)),
            matches.c.created_at >= since,
            matches.c.created_at < until,
        )
        .order_by(matches.c.created_at, matches.c.id)
    )
    return [
        StoryRow(
            topic_id=row.topic_id,
            matched_at=row.created_at,
            item_id=row.item_id,
            feed_id=row.feed_id,
            source=row.feed_title or row.feed_url,
            url=row.url,
            title=row.title,
            summary=row.summary or "",
            published=row.published,
            story_id=row.story_id,
        )
        for row in rows
    ]
