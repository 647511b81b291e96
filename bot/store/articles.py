"""The article cache: the main text of each article page fetched for full text, by canonical URL.

A page is fetched once however many feeds and items link it. A failure is cached too (``text``
null, ``error`` set), so a page that answers 404 or is refused by the guard is not fetched again
on every poll; the caller decides how long a success or a failure stays fresh (``fetched_at``).
Writes are upserts, so two instances caching the same page never conflict.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import Item
from bot.store.tables import articles, items

__all__ = ["Article", "get_articles", "prune_articles", "save_articles", "unstored_items"]

CHUNK_ROWS = 500  # items per query: 1,000 bound variables, far below any backend's limit


@dataclass(frozen=True, slots=True)
class Article:
    """One cached page: its main text, or the error that kept us from it."""

    url: str
    text: str | None
    error: str | None
    fetched_at: datetime

    @property
    def failed(self) -> bool:
        return self.text is None


async def get_articles(conn: AsyncConnection, urls: Collection[str]) -> dict[str, Article]:
    """The cached articles among ``urls``, by URL."""
    wanted = list(urls)
    found: dict[str, Article] = {}
    for start in range(0, len(wanted), CHUNK_ROWS):
        chunk = wanted[start : start + CHUNK_ROWS]
        rows = await conn.execute(select(articles).where(articles.c.url.in_(chunk)))
        found |= {row.url: Article(row.url, row.text, row.error, row.fetched_at) for row in rows}
    return found


async def save_articles(conn: AsyncConnection, fetched: Sequence[Article]) -> None:
    """Insert or replace each article (the newer fetch wins)."""
    for article in fetched:
        values = {"text": article.text, "error": article.error, "fetched_at": article.fetched_at}
        statement = _insert(conn).values(url=article.url, **values)
        await conn.execute(statement.on_conflict_do_update(index_elements=["url"], set_=values))


async def prune_articles(conn: AsyncConnection, *, before: datetime) -> int:
    """Forget articles fetched before ``before``; returns how many."""
    result = await conn.execute(delete(articles).where(articles.c.fetched_at < before))
    return result.rowcount or 0


async def unstored_items(
    conn: AsyncConnection, feed_id: int, candidates: Sequence[Item]
) -> list[Item]:
    """The candidates this feed has not stored yet (by key or canonical URL), in feed order.

    The same test as ``bot.store.items.insert_new_items``, read-only, so a poll can fetch full
    text for new items only, before the transaction that stores them.
    """
    unstored: list[Item] = []
    for start in range(0, len(candidates), CHUNK_ROWS):
        chunk = candidates[start : start + CHUNK_ROWS]
        known_keys, known_urls = await _known(conn, feed_id, chunk)
        unstored.extend(
            item
            for item in chunk
            if item.key not in known_keys and not (item.url and item.url in known_urls)
        )
    return unstored


async def _known(
    conn: AsyncConnection, feed_id: int, chunk: Sequence[Item]
) -> tuple[set[str], set[str]]:
    """The keys and URLs among ``chunk``'s that the feed has stored."""
    keys = [item.key for item in chunk]
    urls = [item.url for item in chunk if item.url]
    rows = await conn.execute(
        select(items.c.key, items.c.url).where(
            items.c.feed_id == feed_id, or_(items.c.key.in_(keys), items.c.url.in_(urls))
        )
    )
    known_keys: set[str] = set()
    known_urls: set[str] = set()
    for row in rows:
        known_keys.add(row.key)
        if row.url:
            known_urls.add(row.url)
    return known_keys, known_urls


def _insert(conn: AsyncConnection) -> postgresql.Insert | sqlite.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(articles)
    return sqlite.insert(articles)
