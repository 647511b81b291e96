"""Quiet hours and urgent topics per chat, and the outbox rows they hold back.

An alert queued in a chat's quiet hours is **held**: status ``held``, ``next_attempt_at`` at the
end of the quiet period. Held rows are not ``pending``, so they neither go out nor keep the
chat's later alerts (urgent ones, digests) waiting behind them — the outbox sends a chat's
pending alerts strictly in order. ``release_held_alerts`` makes them pending again once their
time has come (the digest scheduler calls it every few seconds), or at once for a chat that
turned quiet hours off.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.tables import alerts, chats, subscriptions

__all__ = [
    "HELD",
    "QuietSetting",
    "get_quiet",
    "quiet_settings",
    "release_held_alerts",
    "set_quiet",
    "set_urgent",
    "urgent_topic_ids",
    "urgent_topics_by_chat",
]

HELD = "held"


@dataclass(frozen=True, slots=True)
class QuietSetting:
    chat_pk: int
    timezone: str
    start: int  # minutes after local midnight
    end: int


async def get_quiet(conn: AsyncConnection, chat_pk: int) -> QuietSetting | None:
    found = await quiet_settings(conn, [chat_pk])
    return found.get(chat_pk)


async def quiet_settings(conn: AsyncConnection, chat_pks: Iterable[int]) -> dict[int, QuietSetting]:
    """The quiet hours of those of these chats that have some."""
    wanted = list(set(chat_pks))
    if not wanted:
        return {}
    rows = await conn.execute(
        select(chats.c.id, chats.c.timezone, chats.c.quiet_start, chats.c.quiet_end).where(
            chats.c.id.in_(wanted), chats.c.quiet_start.is_not(None), chats.c.quiet_end.is_not(None)
        )
    )
    return {
        row.id: QuietSetting(row.id, row.timezone, row.quiet_start, row.quiet_end) for row in rows
    }


async def set_quiet(conn: AsyncConnection, chat_pk: int, minutes: tuple[int, int] | None) -> None:
    start, end = minutes if minutes is not None else (None, None)
    await conn.execute(
        update(chats).where(chats.c.id == chat_pk).values(quiet_start=start, quiet_end=end)
    )


async def set_urgent(conn: AsyncConnection, chat_pk: int, topic_id: str, urgent: bool) -> bool:
    """Mark a subscription urgent (or not); False when the chat is not subscribed."""
    result = await conn.execute(
        update(subscriptions)
        .where(subscriptions.c.chat_id == chat_pk, subscriptions.c.topic_id == topic_id)
        .values(urgent=urgent)
    )
    return bool(result.rowcount)


async def urgent_topic_ids(conn: AsyncConnection, chat_pk: int) -> list[str]:
    found = await urgent_topics_by_chat(conn, [chat_pk])
    return sorted(found.get(chat_pk, ()))


async def urgent_topics_by_chat(
    conn: AsyncConnection, chat_pks: Iterable[int]
) -> dict[int, set[str]]:
    wanted = list(set(chat_pks))
    if not wanted:
        return {}
    rows = await conn.execute(
        select(subscriptions.c.chat_id, subscriptions.c.topic_id).where(
            subscriptions.c.chat_id.in_(wanted), subscriptions.c.urgent
        )
    )
    found: dict[int, set[str]] = {}
    for row in rows:
        found.setdefault(row.chat_id, set()).add(row.topic_id)
    return found


async def release_held_alerts(
    conn: AsyncConnection, *, now: datetime, chat_pk: int | None = None
) -> int:
    """Make held alerts pending: those whose quiet hours ended, and all of ``chat_pk``'s."""
    due = alerts.c.next_attempt_at <= now
    if chat_pk is not None:
        due = or_(due, alerts.c.chat_id == chat_pk)
    result = await conn.execute(
        update(alerts)
        .where(and_(alerts.c.status == HELD, due))
        .values(status="pending", next_attempt_at=now)
    )
    return result.rowcount or 0
