"""Dedupe: an item is new exactly once per feed.

An item is already known when its feed has stored the same key (guid, canonical link or content
hash) or the same canonical URL, so reordering, dropping and re-adding, or republishing an
article under another guid never makes it new again. Inserts skip conflicts, so two instances
recording the same poll still store each item once and only one of them sees it as new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import Item
from bot.store.tables import feeds, items

__all__ = ["StoredItem", "insert_new_items", "recent_items"]


@dataclass(frozen=True, slots=True)
class StoredItem:
    id: int
    item: Item


async def insert_new_items(
    conn: AsyncConnection, feed_id: int, candidates: Sequence[Item], *, now: datetime
) -> list[StoredItem]:
    """Store the items this feed has not seen before; return those, in feed order."""
    unique = _unique_within_batch(candidates)
    if not unique:
        return []
    keys = [item.key for item in unique]
    urls = [item.url for item in unique if item.url]
    known = await conn.execute(
        select(items.c.key, items.c.url).where(
            items.c.feed_id == feed_id,
            or_(items.c.key.in_(keys), items.c.url.in_(urls)),
        )
    )
    known_keys: set[str] = set()
    known_urls: set[str] = set()
    for row in known:
        known_keys.add(row.key)
        if row.url:
            known_urls.add(row.url)
    fresh = [
        item
        for item in unique
        if item.key not in known_keys and not (item.url and item.url in known_urls)
    ]
    stored: list[StoredItem] = []
    for item in fresh:
        statement = _insert(conn).values(
            feed_id=feed_id,
            key=item.key,
            url=item.url,
            title=item.title,
            summary=item.summary,
            published=item.published,
            language=item.language,
            author=item.author,
            fetched_at=now,
        )
        statement = statement.on_conflict_do_nothing(index_elements=["feed_id", "key"])
        item_id = (await conn.execute(statement.returning(items.c.id))).scalar()
        if item_id is not None:
            stored.append(StoredItem(item_id, item))
    return stored


def _insert(conn: AsyncConnection) -> postgresql.Insert | sqlite.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(items)
    return sqlite.insert(items)


def _unique_within_batch(candidates: Sequence[Item]) -> list[Item]:
    seen_keys: set[str] = set()
    seen_urls: set[str] = set()
    unique = []
    for item in candidates:
        if item.key in seen_keys or (item.url and item.url in seen_urls):
            continue
        seen_keys.add(item.key)
        if item.url:
            seen_urls.add(item.url)
        unique.append(item)
    return unique


async def recent_items(conn: AsyncConnection, *, limit: int = 200) -> list[Item]:
    """The newest stored items, for previews of what a topic would have matched."""

    rows = await conn.execute(
        select(items, feeds.c.url.label("feed_url"), feeds.c.title.label("feed_title"))
        .join(feeds, feeds.c.id == items.c.feed_id)
        .order_by(items.c.fetched_at.desc(), items.c.id.desc())
        .limit(limit)
    )
    return [
        Item(
            feed_url=row.feed_url,
            key=row.key,
            title=row.title,
            summary=row.summary,
            url=row.url,
            published=row.published,
            language=row.language,
            author=row.author,
            source_title=row.feed_title,
        )
        for row in rows
    ]
