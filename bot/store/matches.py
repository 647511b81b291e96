"""Matches: which stored item matched which topic, and on what terms."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import Match
from bot.store.tables import matches

__all__ = ["record_matches"]


async def record_matches(
    conn: AsyncConnection, found: Sequence[tuple[int, Match]], *, now: datetime
) -> None:
    """Store (item id, match) pairs; called once per new item, so no conflicts arise."""
    if not found:
        return
    await conn.execute(
        matches.insert(),
        [
            {
                "item_id": item_id,
                "topic_id": match.topic_id,
                "score": match.score,
                "terms": list(match.terms),
                "created_at": now,
            }
            for item_id, match in found
        ],
    )
