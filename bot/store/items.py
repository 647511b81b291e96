"""Dedupe: an item is new exactly once per feed.

An item is already known when its feed has stored the same key (guid, canonical link or content
hash) or the same canonical URL, so reordering, dropping and re-adding, or republishing an
article under another guid never makes it new again. Inserts skip conflicts, so two instances
recording the same poll still store each item once and only one of them sees it as new.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import Item
from bot.store.tables import feeds, items

__all__ = [
    "StoredItem",
    "insert_items",
    "insert_new_items",
    "recent_items",
    "unique_within_batch",
    "unstored_items",
]

CHUNK_ROWS = 500
"""Rows per statement: 500 × 9 columns stays far below SQLite's 32,766 bound variables."""

# Statements built once, not per call: building and hashing one was about a third of the cost
# of a lookup.
_KNOWN = union_all(
    select(items.c.key, items.c.url).where(
        items.c.feed_id == bindparam("feed_id"), items.c.key.in_(bindparam("keys", expanding=True))
    ),
    select(items.c.key, items.c.url).where(
        items.c.feed_id == bindparam("feed_id"), items.c.url.in_(bindparam("urls", expanding=True))
    ),
)
_INSERT = {
    name: dialect.insert(items)
    .on_conflict_do_nothing(index_elements=["feed_id", "key"])
    .returning(items.c.id, items.c.key)
    for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
}


@dataclass(frozen=True, slots=True)
class StoredItem:
    id: int
    item: Item


async def insert_new_items(
    conn: AsyncConnection, feed_id: int, candidates: Sequence[Item], *, now: datetime
) -> list[StoredItem]:
    """Store the items this feed has not seen before; return those, in feed order."""
    unstored = await unstored_items(conn, feed_id, unique_within_batch(candidates))
    return await insert_items(conn, feed_id, unstored, now=now)


async def unstored_items(
    conn: AsyncConnection, feed_id: int, candidates: Sequence[Item]
) -> list[Item]:
    """The candidates this feed has not stored yet, in feed order, storing nothing: a poll asks
    before its transaction, to fetch full text for new items only, and ingest asks before it
    matches and clusters them, so an item is written once, with its story."""
    unstored: list[Item] = []
    for start in range(0, len(candidates), CHUNK_ROWS):
        unstored += await _not_yet_known(conn, feed_id, candidates[start : start + CHUNK_ROWS])
    return unstored


async def insert_items(
    conn: AsyncConnection,
    feed_id: int,
    unstored: Sequence[Item],
    *,
    now: datetime,
    story_ids: Mapping[str, str] | None = None,
) -> list[StoredItem]:
    """Store items ``unstored_items`` found new; return those stored, in feed order.

    ``story_ids``: item key → story id, written with the item. An item another instance stored
    meanwhile is skipped (not new here). Written in chunks, each one multi-row statement,
    because a round trip per item was most of the cost of an ingest.
    """
    stored: list[StoredItem] = []
    for start in range(0, len(unstored), CHUNK_ROWS):
        chunk = unstored[start : start + CHUNK_ROWS]
        ids = await _insert_skipping_conflicts(conn, feed_id, chunk, now=now, story_ids=story_ids)
        stored.extend(StoredItem(ids[item.key], item) for item in chunk if item.key in ids)
    return stored


async def _not_yet_known(conn: AsyncConnection, feed_id: int, chunk: Sequence[Item]) -> list[Item]:
    """The items whose key and canonical URL this feed has not stored yet.

    Two index lookups joined by UNION ALL: with ``key IN … OR url IN …`` SQLite reads every
    item the feed ever stored.
    """
    keys = [item.key for item in chunk]
    urls = [item.url for item in chunk if item.url]
    known = await conn.execute(_KNOWN, {"feed_id": feed_id, "keys": keys, "urls": urls})
    known_keys: set[str] = set()
    known_urls: set[str] = set()
    for row in known:
        known_keys.add(row.key)
        if row.url:
            known_urls.add(row.url)
    return [
        item
        for item in chunk
        if item.key not in known_keys and not (item.url and item.url in known_urls)
    ]


async def _insert_skipping_conflicts(
    conn: AsyncConnection,
    feed_id: int,
    fresh: Sequence[Item],
    *,
    now: datetime,
    story_ids: Mapping[str, str] | None,
) -> dict[str, int]:
    """Insert in feed order, skipping keys another instance stored meanwhile; key → new id.

    RETURNING gives no order, so the ids are matched to the items by key; a key missing from
    the answer was a conflict, and is not new here.
    """
    if not fresh:
        return {}
    statement = _INSERT[conn.dialect.name]
    stories = story_ids or {}
    rows = await conn.execute(
        statement, [_item_row(feed_id, item, now, stories.get(item.key)) for item in fresh]
    )
    return {row.key: row.id for row in rows}


def _item_row(feed_id: int, item: Item, now: datetime, story_id: str | None) -> dict[str, Any]:
    return {
        "feed_id": feed_id,
        "key": item.key,
        "url": item.url,
        "title": item.title,
        "summary": item.summary,
        "published": item.published,
        "language": item.language,
        "author": item.author,
        "fetched_at": now,
        "story_id": story_id,
    }


def unique_within_batch(candidates: Sequence[Item]) -> list[Item]:
    """The candidates less repeats of a key or URL earlier in the same batch."""
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
