"""Parse feeds in worker processes, with a deadline.

feedparser is pure Python and has known catastrophic-backtracking inputs; run in the event loop it
would stall every other feed, and a thread cannot be stopped. A small process pool keeps the loop
free, and when a parse overruns its deadline the pool is torn down and rebuilt, so a hostile feed
costs one error on that feed and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from multiprocessing.pool import Pool
from typing import Any

from bot.errors import FeedError
from bot.feeds.parse import NotAFeedError, ParsedFeed, parse_feed

__all__ = ["FeedParser"]

log = logging.getLogger(__name__)


def _parse_in_worker(content: bytes, feed_url: str, content_type: str | None) -> tuple[Any, ...]:
    """Runs in the worker: errors travel back as plain values (exceptions may not unpickle)."""
    try:
        return ("ok", parse_feed(content, feed_url=feed_url, content_type=content_type))
    except FeedError as error:
        return ("error", str(error), error.permanent, getattr(error, "feed_links", ()))
    except Exception as error:
        return ("error", f"could not parse the feed: {type(error).__name__}: {error}", False, ())


class FeedParser:
    def __init__(self, *, timeout: float = 20.0, workers: int = 2) -> None:
        self._timeout = timeout
        self._workers = workers
        self._pool: Pool | None = None

    def _ensure_pool(self) -> Pool:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = context.Pool(self._workers, maxtasksperchild=1000)
        return self._pool

    async def parse(self, content: bytes, feed_url: str, content_type: str | None) -> ParsedFeed:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[Any, ...]] = loop.create_future()

        def deliver(value: tuple[Any, ...]) -> None:
            loop.call_soon_threadsafe(_settle, future, value)

        def crashed(error: BaseException) -> None:
            failure = ("error", f"parser crashed: {error}", False, ())
            loop.call_soon_threadsafe(_settle, future, failure)

        pool = self._ensure_pool()
        pool.apply_async(
            _parse_in_worker,
            (content, feed_url, content_type),
            callback=deliver,
            error_callback=crashed,
        )
        try:
            outcome = await asyncio.wait_for(future, self._timeout)
        except TimeoutError:
            self._restart(pool)
            raise FeedError(f"parsing took longer than {self._timeout:g} s; feed skipped") from None
        if outcome[0] == "ok":
            parsed: ParsedFeed = outcome[1]
            return parsed
        _, message, permanent, feed_links = outcome
        if feed_links:
            raise NotAFeedError(message, feed_links=tuple(feed_links))
        raise FeedError(message, permanent=permanent)

    def _restart(self, pool: Pool) -> None:
        if self._pool is pool:
            log.warning("a feed parse overran its deadline; restarting the parser workers")
            self._pool = None
            pool.terminate()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None


def _settle(future: asyncio.Future[tuple[Any, ...]], value: tuple[Any, ...]) -> None:
    if not future.done():
        future.set_result(value)
