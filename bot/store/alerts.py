"""The outbox: alerts written durably before any send, then claimed, sent and marked.

A claim moves an alert to ``sending`` with a lease. If the process dies between the send and the
mark, the lease runs out and the alert is sent again: at most one duplicate per chat per crash
(a chat has one alert in flight at a time), never a loss. Per-chat order is kept by always taking
a chat's oldest alert first (tests/faults/ prove both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import Alert, ChatRef, Platform
from bot.store.digest_payload import kind_fields, kind_payload
from bot.store.quiet import HELD
from bot.store.tables import alerts, chats

__all__ = [
    "NewAlert",
    "OutboxEntry",
    "alert_from_payload",
    "alert_to_payload",
    "claim_due_alerts",
    "count_by_status",
    "enqueue_alerts",
    "mark_edited",
    "mark_failed",
    "mark_retry",
    "mark_sent",
]


@dataclass(frozen=True, slots=True)
class NewAlert:
    chat_pk: int
    item_id: int | None  # None for notices about the bot itself, e.g. a failing feed
    story_key: str
    alert: Alert
    held_until: datetime | None = None  # queued held until then: the chat's quiet hours


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    chat_pk: int
    attempts: int
    alert: Alert
    edit_of: int | None = None  # an edit of this alert's message (bot/store/story_alerts)
    target_message_id: str | None = None  # that message, if it was delivered


def alert_to_payload(alert: Alert) -> dict[str, Any]:
    return {
        "topic_id": alert.topic_id,
        "topic_name": alert.topic_name,
        "title": alert.title,
        "summary": alert.summary,
        "links": list(alert.links),
        "published": alert.published.isoformat() if alert.published else None,
        "why": list(alert.why),
        "source_titles": list(alert.source_titles),
        **kind_payload(alert),  # digests and other kinds; nothing for a story alert
    }


def alert_from_payload(chat: ChatRef, payload: dict[str, Any]) -> Alert:
    published = payload.get("published")
    return Alert(
        chat=chat,
        topic_id=payload["topic_id"],
        topic_name=payload["topic_name"],
        title=payload["title"],
        summary=payload["summary"],
        links=tuple(payload["links"]),
        published=datetime.fromisoformat(published) if published else None,
        why=tuple(payload.get("why", ())),
        source_titles=tuple(payload.get("source_titles", ())),
        **kind_fields(payload),
    )


async def enqueue_alerts(
    conn: AsyncConnection, new_alerts: Sequence[NewAlert], *, now: datetime
) -> int:
    """Write alerts; a story already queued for a chat is skipped. Returns how many were added.

    Written in chunks of multi-row statements, in the given order, so ids keep each chat's
    alerts in queue order.
    """
    added = 0
    for start in range(0, len(new_alerts), _ALERT_ROWS):
        added += await _insert_alerts(conn, new_alerts[start : start + _ALERT_ROWS], now=now)
    return added


_ALERT_ROWS = 500  # × 9 columns: far below SQLite's 32,766 bound variables per statement
_ENQUEUE = {  # built once, not on every call: building and hashing a statement is not free
    name: dialect.insert(alerts)
    .on_conflict_do_nothing(index_elements=["chat_id", "story_key"])
    .returning(alerts.c.id)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


async def _insert_alerts(conn: AsyncConnection, chunk: Sequence[NewAlert], *, now: datetime) -> int:
    """One INSERT for the chunk; RETURNING counts the rows a conflict did not skip."""
    rows = [_alert_row(new, now) for new in chunk]
    return len((await conn.execute(_ENQUEUE[conn.dialect.name], rows)).all())


def _alert_row(new: NewAlert, now: datetime) -> dict[str, Any]:
    return {
        "chat_id": new.chat_pk,
        "item_id": new.item_id,
        "topic_id": new.alert.topic_id,
        "story_key": new.story_key,
        "payload": alert_to_payload(new.alert),
        "status": "pending" if new.held_until is None else HELD,
        "attempts": 0,
        "next_attempt_at": now if new.held_until is None else new.held_until,
        "created_at": now,
    }


async def claim_due_alerts(
    conn: AsyncConnection,
    *,
    platforms: Sequence[Platform],
    now: datetime,
    limit: int,
    lease: timedelta,
) -> list[OutboxEntry]:
    """Lease due alerts (pending, retry due, or a lease that ran out after a crash).

    Only a chat's oldest unsent alert is ever claimable, so a chat's alerts go out in order and
    one at a time, across every instance, however long a platform makes one of them wait. The
    lease is one ``UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING``: on SQLite the statement
    holds the write lock from the choice to the lease (a SELECT then an UPDATE let two
    deliverers claim, and send, the same alert), and on PostgreSQL ``SKIP LOCKED`` passes over
    rows another claim is taking.
    """
    candidate = alerts.alias("candidate")
    older = alerts.alias("older")
    blocked_by_older = (
        select(older.c.id)
        .where(
            older.c.chat_id == candidate.c.chat_id,
            older.c.id < candidate.c.id,
            older.c.status.in_(["pending", "sending"]),
            older.c.edit_of.is_(None),  # a waiting edit holds back nothing
        )
        .exists()
    )
    due = (
        select(candidate.c.id)
        .join(chats, chats.c.id == candidate.c.chat_id)
        .where(
            chats.c.platform.in_([str(platform) for platform in platforms]),
            candidate.c.status.in_(["pending", "sending"]),
            candidate.c.next_attempt_at <= now,
            ~blocked_by_older,
        )
        .order_by(candidate.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=candidate)
    claimed = (
        update(alerts)
        .where(alerts.c.id.in_(due.scalar_subquery()))
        .values(status="sending", next_attempt_at=now + lease)
        .returning(alerts.c.id)
    )
    ids = [row.id for row in await conn.execute(claimed)]
    if not ids:
        return []
    original = alerts.alias("original")
    rows = await conn.execute(
        select(
            alerts.c.id,
            alerts.c.chat_id.label("chat_pk"),
            alerts.c.attempts,
            alerts.c.payload,
            alerts.c.edit_of,
            original.c.message_id.label("target_message_id"),
            chats.c.platform,
            chats.c.chat_id,
        )
        .join(chats, chats.c.id == alerts.c.chat_id)
        .outerjoin(original, original.c.id == alerts.c.edit_of)
        .where(alerts.c.id.in_(ids))
        .order_by(alerts.c.id)
    )
    return [
        OutboxEntry(
            row.id,
            row.chat_pk,
            row.attempts,
            alert_from_payload(ChatRef(Platform(row.platform), row.chat_id), row.payload),
            row.edit_of,
            row.target_message_id,
        )
        for row in rows
    ]


async def mark_sent(
    conn: AsyncConnection, alert_id: int, *, now: datetime, message_id: str | None
) -> None:
    await conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id)
        .values(status="sent", sent_at=now, message_id=message_id, last_error=None)
    )


async def mark_edited(conn: AsyncConnection, alert_id: int, *, now: datetime) -> None:
    """An edit went out. Not when it was re-queued meanwhile with newer sources: it goes again."""
    await conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id, alerts.c.status == "sending")
        .values(status="sent", sent_at=now, last_error=None)
    )


async def mark_retry(
    conn: AsyncConnection,
    alert_id: int,
    *,
    error: str,
    next_attempt_at: datetime,
    count_attempt: bool = True,
) -> None:
    """Reschedule; a platform's rate-limit answer is not a failed attempt (``count_attempt``)."""
    await conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id)
        .values(
            status="pending",
            attempts=alerts.c.attempts + (1 if count_attempt else 0),
            last_error=error,
            next_attempt_at=next_attempt_at,
        )
    )


async def mark_failed(conn: AsyncConnection, alert_id: int, *, error: str) -> None:
    await conn.execute(
        update(alerts)
        .where(alerts.c.id == alert_id)
        .values(status="failed", attempts=alerts.c.attempts + 1, last_error=error)
    )


async def count_by_status(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(select(alerts.c.status, func.count()).group_by(alerts.c.status))
    return {row[0]: int(row[1]) for row in rows.all()}


async def backlog(conn: AsyncConnection, *, now: datetime) -> tuple[int, float]:
    """How many alerts wait, and the age in seconds of the oldest (0 when none)."""
    row = (
        await conn.execute(
            select(func.count(), func.min(alerts.c.created_at)).where(
                alerts.c.status.in_(["pending", "sending"])
            )
        )
    ).one()
    count, oldest = int(row[0]), row[1]
    if oldest is None:
        return count, 0.0
    if oldest.tzinfo is None:  # an aggregate bypasses the column type on SQLite
        oldest = datetime.fromisoformat(str(oldest)).replace(tzinfo=UTC)
    return count, max(0.0, (now - oldest).total_seconds())
