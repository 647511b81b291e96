"""Feed rows and their fetch state: what to poll next, and what the last poll said.

``claim_due_feeds`` leases due feeds by pushing their ``next_check_at`` forward before the poll,
in one statement (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so a crashed poll is retried once the
lease runs out and two pollers, or two claims of one poller, never take the same feed.
``record_not_modified`` writes many 304 answers in one statement: the poller batches them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import ChatRef, Feed, Platform
from bot.store.tables import alerts, chats, feeds, items

__all__ = [
    "FeedRow",
    "NotModified",
    "add_feed",
    "claim_due_feeds",
    "claim_failure_notice",
    "dependent_chats",
    "get_feed",
    "list_feeds",
    "record_failure",
    "record_not_modified",
    "record_success",
    "remove_feed",
    "sync_configured_feeds",
]


@dataclass(frozen=True, slots=True)
class FeedRow:
    id: int
    url: str
    title: str | None
    interval: int | None
    fulltext: bool
    origin: str
    etag: str | None
    last_modified: str | None
    next_check_at: datetime
    last_checked_at: datetime | None
    last_success_at: datetime | None
    last_status: int | None
    error_count: int
    last_error: str | None
    created_at: datetime

    @property
    def never_fetched(self) -> bool:
        return self.last_success_at is None


_COLUMNS = [feeds.c[name] for name in FeedRow.__dataclass_fields__]


def _row(row: object) -> FeedRow:
    return FeedRow(**row._mapping)  # type: ignore[attr-defined]


async def add_feed(
    conn: AsyncConnection,
    feed: Feed,
    *,
    now: datetime,
    origin: str = "user",
    added_by: int | None = None,
) -> FeedRow:
    """Insert a feed (due at once) or return the existing row for its URL."""
    existing = await get_feed(conn, feed.url)
    if existing is not None:
        return existing
    await conn.execute(
        feeds.insert().values(
            url=feed.url,
            title=feed.title,
            interval=feed.interval,
            fulltext=feed.fulltext,
            origin=origin,
            added_by=added_by,
            enabled=True,
            next_check_at=now,
            error_count=0,
            created_at=now,
        )
    )
    row = await get_feed(conn, feed.url)
    assert row is not None
    return row


async def sync_configured_feeds(
    conn: AsyncConnection, configured: Iterable[Feed], *, now: datetime
) -> int:
    """Make the store's config-origin feeds equal to the configuration; returns how many are new.

    Feeds added by users (origin "user" or "opml") are left alone.
    """
    wanted = {feed.url: feed for feed in configured}
    rows = (await conn.execute(select(feeds.c.url, feeds.c.origin))).all()
    present = {row.url: row.origin for row in rows}
    added = 0
    for url, feed in wanted.items():
        if url not in present:
            await add_feed(conn, feed, now=now, origin="config")
            added += 1
        else:
            await conn.execute(
                update(feeds)
                .where(feeds.c.url == url)
                .values(title=feed.title, interval=feed.interval, fulltext=feed.fulltext)
            )
    stale = [url for url, origin in present.items() if origin == "config" and url not in wanted]
    if stale:
        await conn.execute(feeds.delete().where(feeds.c.url.in_(stale)))
    return added


async def remove_feed(conn: AsyncConnection, url: str) -> bool:
    result = await conn.execute(feeds.delete().where(feeds.c.url == url))
    return bool(result.rowcount)


async def get_feed(conn: AsyncConnection, url: str) -> FeedRow | None:
    row = (await conn.execute(select(*_COLUMNS).where(feeds.c.url == url))).first()
    return _row(row) if row else None


async def list_feeds(conn: AsyncConnection) -> list[FeedRow]:
    rows = await conn.execute(select(*_COLUMNS).order_by(feeds.c.id))
    return [_row(row) for row in rows]


async def claim_due_feeds(
    conn: AsyncConnection, *, now: datetime, limit: int, lease: timedelta
) -> list[FeedRow]:
    """Take up to ``limit`` due feeds, most overdue first, leasing each until ``now + lease``.

    One ``UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING``: on SQLite the statement holds the
    write lock from the choice to the lease, and on PostgreSQL ``SKIP LOCKED`` passes over rows
    another claim is taking, so concurrent claims never return the same feed. The rows come
    back with ``next_check_at`` already leased.
    """
    due = (
        select(feeds.c.id)
        .where(feeds.c.enabled, feeds.c.next_check_at <= now)
        .order_by(feeds.c.next_check_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = (
        update(feeds)
        .where(feeds.c.id.in_(due.scalar_subquery()))
        .values(next_check_at=now + lease)
        .returning(*_COLUMNS)
    )
    return sorted((_row(row) for row in await conn.execute(claimed)), key=lambda row: row.id)


async def record_success(
    conn: AsyncConnection,
    feed_id: int,
    *,
    now: datetime,
    next_check_at: datetime,
    status: int,
    etag: str | None,
    last_modified: str | None,
    title: str | None,
    had_new_items: bool,
    warning: str | None = None,
) -> None:
    values: dict[str, object] = {
        "next_check_at": next_check_at,
        "last_checked_at": now,
        "last_success_at": now,
        "last_status": status,
        "etag": etag,
        "last_modified": last_modified,
        "error_count": 0,
        "last_error": warning,
        "failure_notified": False,
    }
    if had_new_items:
        values["last_new_item_at"] = now
    if title:
        values["title"] = func.coalesce(feeds.c.title, title)
    await conn.execute(update(feeds).where(feeds.c.id == feed_id).values(**values))


@dataclass(frozen=True, slots=True)
class NotModified:
    """A 304 answer to record: the feed is unchanged, and when to look again."""

    feed_id: int
    checked_at: datetime
    next_check_at: datetime
    status: int
    etag: str | None
    last_modified: str | None
    warning: str | None  # the last parse's warning, which the 304 confirms


async def record_not_modified(conn: AsyncConnection, answers: Sequence[NotModified]) -> None:
    """Record many 304 answers in one executemany UPDATE (what ``record_success`` does for each)."""
    if not answers:
        return
    statement = (
        update(feeds)
        .where(feeds.c.id == bindparam("b_id"))
        .values(
            next_check_at=bindparam("b_next"),
            last_checked_at=bindparam("b_checked"),
            last_success_at=bindparam("b_checked"),
            last_status=bindparam("b_status"),
            etag=bindparam("b_etag"),
            last_modified=bindparam("b_last_modified"),
            error_count=0,
            last_error=bindparam("b_warning"),
            failure_notified=False,
        )
    )
    await conn.execute(
        statement,
        [
            {
                "b_id": answer.feed_id,
                "b_checked": answer.checked_at,
                "b_next": answer.next_check_at,
                "b_status": answer.status,
                "b_etag": answer.etag,
                "b_last_modified": answer.last_modified,
                "b_warning": answer.warning,
            }
            for answer in answers
        ],
    )


async def record_failure(
    conn: AsyncConnection,
    feed_id: int,
    *,
    now: datetime,
    next_check_at: datetime,
    error: str,
    status: int | None = None,
    disable: bool = False,
    new_streak: bool = False,
) -> None:
    """Record a failed poll; ``new_streak`` counts it as the first of a new run of failures."""
    values: dict[str, object] = {
        "next_check_at": next_check_at,
        "last_checked_at": now,
        "last_status": status,
        "error_count": 1 if new_streak else feeds.c.error_count + 1,
        "last_error": error,
    }
    if disable:
        values["enabled"] = False
    await conn.execute(update(feeds).where(feeds.c.id == feed_id).values(**values))


async def claim_failure_notice(conn: AsyncConnection, feed_id: int) -> bool:
    """True exactly once per failure streak: the caller then tells the chats that depend on it."""
    result = await conn.execute(
        update(feeds)
        .where(feeds.c.id == feed_id, ~feeds.c.failure_notified)
        .values(failure_notified=True)
    )
    return bool(result.rowcount)


async def dependent_chats(
    conn: AsyncConnection, feed_id: int, *, since: datetime
) -> list[tuple[int, ChatRef]]:
    """Chats that added the feed or were alerted from it since ``since``."""
    alerted = (
        select(alerts.c.chat_id)
        .join(items, items.c.id == alerts.c.item_id)
        .where(items.c.feed_id == feed_id, alerts.c.created_at >= since)
    )
    added = select(feeds.c.added_by).where(feeds.c.id == feed_id, feeds.c.added_by.is_not(None))
    rows = await conn.execute(
        select(chats.c.id, chats.c.platform, chats.c.chat_id)
        .where(chats.c.id.in_(alerted.union(added)), chats.c.active)
        .order_by(chats.c.id)
    )
    return [(row.id, ChatRef(Platform(row.platform), row.chat_id)) for row in rows]
