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

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.tables import articles

__all__ = ["Article", "get_articles", "prune_articles", "save_articles"]

CHUNK_ROWS = 500  # URLs per query: far below any backend's limit of bound variables


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


def _insert(conn: AsyncConnection) -> postgresql.Insert | sqlite.Insert:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(articles)
    return sqlite.insert(articles)
