"""Story ids on stored items: written when an item is clustered, read back to rebuild the clusters.

The clusterer lives in memory; the store is what survives a restart and what several instances
share, so every assignment is written here in the ingest transaction and the clusterer is fed
from here on start and, before each use, with what other instances assigned since.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import Item
from bot.store.tables import feeds, items

__all__ = ["StoryMember", "set_story_ids", "story_members"]


@dataclass(frozen=True, slots=True)
class StoryMember:
    item_id: int
    feed_id: int
    story_id: str
    item: Item


async def set_story_ids(conn: AsyncConnection, assignments: Sequence[tuple[int, str]]) -> None:
    """Record ``(item id, story id)`` pairs."""
    if not assignments:
        return
    statement = (
        update(items)
        .where(items.c.id == bindparam("item_id"))
        .values(story_id=bindparam("story"))
        .execution_options(synchronize_session=None)
    )
    await conn.execute(
        statement, [{"item_id": item_id, "story": story} for item_id, story in assignments]
    )


async def story_members(
    conn: AsyncConnection, *, after_id: int, since: datetime, limit: int = 10_000
) -> list[StoryMember]:
    """Items with a story, stored after item ``after_id`` and fetched since ``since``, by id."""
    rows = await conn.execute(
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
            items.c.id > after_id,
            items.c.fetched_at >= since,
            items.c.story_id.is_not(None),
        )
        .order_by(items.c.id)
        .limit(limit)
    )
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
