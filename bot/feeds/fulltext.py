"""Full text for feeds that carry only a headline (a feed's ``fulltext = true``).

``FullText.enrich(items)`` returns the items with each summary replaced by the main text of the
article page the item links, in this order:

1. each item's link is made canonical (``bot.feeds.urls.canonical_url``); an item without one
   passes through unchanged;
2. the article cache (``bot.store.articles``) is read: a text fetched within ``max_age`` is used
   as it is, and a failure within ``retry_failures_after`` keeps the feed's summary with no
   request, so a page that answers 404 is not asked again on every poll;
3. the other pages are fetched, the first ``per_poll`` of them in feed order and ``concurrency``
   at a time across all polls, through the guarded fetcher that fetches the feeds, so the same
   SSRF checks, byte cap and deadlines apply to a link a stranger's feed put there; their main
   text is extracted in a thread (``bot.feeds.article``). Pages still unfinished after
   ``budget`` seconds are given up for this call (and not cached);
4. every page fetched is cached, its text or the error that kept us from it ("HTTP 404 Not
   Found", "refused: 10.0.0.7 is a private address …", "not an HTML page (application/pdf)");
5. a summary is replaced only by a longer text; on any failure the item keeps its own summary.

Fetching takes seconds, so call it outside any database transaction. ``enrich_new`` is what a
poll wants: it enriches only the items the feed has not stored yet.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import utcnow
from bot.errors import FeedError
from bot.feeds.article import MAX_CHARS, MAX_HTML_BYTES, extract_article
from bot.feeds.fetch import FetchResult
from bot.feeds.urls import canonical_url
from bot.model import Item
from bot.store.articles import Article, get_articles, prune_articles, save_articles
from bot.store.items import unstored_items

__all__ = ["Fetch", "FullText"]

log = logging.getLogger(__name__)

Fetch = Callable[[str], Awaitable[FetchResult]]
"""``Fetcher.fetch``: GET a URL through the guard, or raise ``FeedError``."""


class FullText:
    """Replaces headline-only summaries by the article's text; create once, share."""

    def __init__(
        self,
        engine: AsyncEngine,
        fetch: Fetch,
        *,
        max_age: timedelta = timedelta(days=7),
        retry_failures_after: timedelta = timedelta(hours=6),
        per_poll: int = 20,
        concurrency: int = 4,
        budget: float = 30.0,
        max_chars: int = MAX_CHARS,
        max_html_bytes: int = MAX_HTML_BYTES,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._fetch = fetch
        self._max_age = max_age
        self._retry_failures_after = retry_failures_after
        self._per_poll = per_poll
        self._slots = asyncio.Semaphore(concurrency)
        self._budget = budget
        self._max_chars = max_chars
        self._max_html_bytes = max_html_bytes
        self._clock = clock

    async def enrich(self, items: Sequence[Item]) -> list[Item]:
        """``items`` in the same order, each with its article's text as summary when known."""
        links = [canonical_url(item.url) if item.url else None for item in items]
        titles: dict[str, str] = {}
        for item, link in zip(items, links, strict=True):
            if link is not None:
                titles.setdefault(link, item.title)
        if not titles:
            return list(items)
        known = await self._cached(titles)
        missing = [link for link in titles if link not in known][: self._per_poll]
        fetched = await self._fetch_pages({link: titles[link] for link in missing})
        if fetched:
            async with self._engine.begin() as conn:
                await save_articles(conn, fetched)
        known |= {article.url: article for article in fetched}
        return [
            _with_article(item, known.get(link)) if link else item
            for item, link in zip(items, links, strict=True)
        ]

    async def enrich_new(self, feed_id: int, items: Sequence[Item]) -> tuple[Item, ...]:
        """All of ``items``, the ones the feed has not stored yet enriched (see ``enrich``)."""
        async with self._engine.connect() as conn:
            new = await unstored_items(conn, feed_id, items)
        if not new:
            return tuple(items)
        enriched = {id(old): fresh for old, fresh in zip(new, await self.enrich(new), strict=True)}
        return tuple(enriched.get(id(item), item) for item in items)

    async def prune(self) -> int:
        """Forget cached pages too old to be used again; returns how many."""
        oldest = self._clock() - max(self._max_age, self._retry_failures_after)
        async with self._engine.begin() as conn:
            return await prune_articles(conn, before=oldest)

    async def _cached(self, links: dict[str, str]) -> dict[str, Article]:
        """The cached articles still fresh enough to use: texts and recent failures."""
        async with self._engine.connect() as conn:
            cached = await get_articles(conn, list(links))
        now = self._clock()
        return {
            link: article
            for link, article in cached.items()
            if now - article.fetched_at
            < (self._retry_failures_after if article.failed else self._max_age)
        }

    async def _fetch_pages(self, titles: dict[str, str]) -> list[Article]:
        """Fetch and extract each page; the ones not done within the budget are dropped."""
        if not titles:
            return []
        tasks = [
            asyncio.create_task(self._fetch_page(link, title)) for link, title in titles.items()
        ]
        try:
            await asyncio.wait(tasks, timeout=self._budget)
        finally:  # on the budget, and when the poll itself is cancelled: no fetch outlives it
            late = [task for task in tasks if not task.done()]
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        if late:
            log.info("full text: %d pages not fetched within %g s", len(late), self._budget)
        return [task.result() for task in tasks if not task.cancelled()]

    async def _fetch_page(self, link: str, title: str) -> Article:
        async with self._slots:
            try:
                text = await self._read(link, title)
            except FeedError as error:
                return Article(link, None, str(error), self._clock())
            except Exception:  # a bug on one page must not cost the poll its items
                log.exception("full text of %s failed unexpectedly", link)
                return Article(link, None, "internal error while reading the page", self._clock())
        return Article(link, text, None, self._clock())

    async def _read(self, link: str, title: str) -> str:
        result = await self._fetch(link)
        return await asyncio.to_thread(
            extract_article,
            result.content,
            result.content_type,
            url=result.final_url,
            title=title,
            max_html_bytes=self._max_html_bytes,
            max_chars=self._max_chars,
        )


def _with_article(item: Item, article: Article | None) -> Item:
    """The item with the article's text as summary, when that says more than the feed did."""
    if article is None or article.text is None or len(article.text) <= len(item.summary):
        return item
    return dataclasses.replace(item, summary=article.text)
