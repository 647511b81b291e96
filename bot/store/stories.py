"""Story ids on stored items, read back to rebuild the clusters.

The clusterer lives in memory; the store is what survives a restart and what several instances
share. Ingest clusters a new item before storing it, so the item is written once, with its story
id (``bot.store.items.insert_items``); the clusterer is fed from here on start and, before each
use, with what other instances assigned since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import Item
from bot.store.tables import feeds, items

__all__ = ["StoryMember", "story_members"]


@dataclass(frozen=True, slots=True)
class StoryMember:
    item_id: int
    feed_id: int
    story_id: str
    item: Item


# Built once, not per call: it runs on every ingest, where building a statement cost about as
# much as running it.
_MEMBERS = (
    select(
        items.c.id,
        items.c.feed_id,
        items.c.story_id,
        items.c.key,
        items.c.url,
        items.c.title,
        items.c.summary,
        items.c.published,
        items.c.language,
        feeds.c.url.label("feed_url"),
        feeds.c.title.label("feed_title"),
    )
    .join(feeds, feeds.c.id == items.c.feed_id)
    .where(
        items.c.id > bindparam("after_id"),
        items.c.fetched_at >= bindparam("since", type_=items.c.fetched_at.type),
        items.c.story_id.is_not(None),
    )
    .order_by(items.c.id)
    .limit(bindparam("limit"))
)


async def story_members(
    conn: AsyncConnection, *, after_id: int, since: datetime, limit: int = 10_000
) -> list[StoryMember]:
    """Items with a story, stored after item ``after_id`` and fetched since ``since``, by id."""
    rows = await conn.execute(_MEMBERS, {"after_id": after_id, "since": since, "limit": limit})
    return [
        StoryMember(
            row.id,
            row.feed_id,
            row.story_id,
            Item(
                feed_url=row.feed_url,
                key=row.key,
                title=row.title,
                summary=row.summary or "",
                url=row.url,
                published=row.published,
                language=row.language,
                source_title=row.feed_title,
            ),
        )
        for row in rows
    ]
