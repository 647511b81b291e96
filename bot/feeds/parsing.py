"""Parse feeds in worker processes, with a deadline that only the feed itself can overrun.

feedparser is pure Python and has known catastrophic-backtracking inputs (an author e-mail of
``a@`` and 16,000 × ``a.`` takes its regex minutes); run in the event loop it would stall every
other feed, and a thread cannot be stopped. So a small process pool parses, and for each feed,
in this order:

1. it waits for a free worker: at most ``workers`` parses are handed to the pool at a time, so a
   feed queued behind slow ones does not spend its deadline waiting;
2. it waits for the pool to be up, (re)starting it if needed: spawning workers and importing
   feedparser take about a second, which is not the feed's fault either. Each worker caps its own
   address space at ``memory_limit``, so a blow-up nobody foresaw ends as a ``MemoryError`` in
   one parse, not in the host's out-of-memory killer;
3. it parses within ``timeout`` seconds. On overrun the pool is torn down and rebuilt: that feed
   gets "parsing took longer than …", and the parses running beside it, killed with the pool, are
   started again on the new one instead of failing for a feed that is not theirs.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from multiprocessing.pool import Pool
from typing import Any

from bot.errors import FeedError
from bot.feeds.parse import NotAFeedError, ParsedFeed, parse_feed

__all__ = ["WORKER_MEMORY_LIMIT", "FeedParser"]

log = logging.getLogger(__name__)

WORKER_MEMORY_LIMIT = 1 << 30  # bytes of address space per worker: 10,000 items need < 100 MB
STARTUP_TIMEOUT = 60.0  # seconds for a new pool's workers to come up
MAX_ATTEMPTS = 3  # a parse killed with its pool by another feed's overrun is started again

Outcome = tuple[Any, ...]
_RESTARTED: Outcome = ("restarted",)


def _parse_in_worker(content: bytes, feed_url: str, content_type: str | None) -> Outcome:
    """Runs in the worker: errors travel back as plain values (exceptions may not unpickle)."""
    try:
        return ("ok", parse_feed(content, feed_url=feed_url, content_type=content_type))
    except FeedError as error:
        return ("error", str(error), error.permanent, getattr(error, "feed_links", ()))
    except MemoryError:
        return ("error", "the feed needs more memory to parse than a parser may use", False, ())
    except Exception as error:
        return ("error", f"could not parse the feed: {type(error).__name__}: {error}", False, ())


def _ready() -> Outcome:
    return ("ok",)


def _limit_memory(limit: int | None) -> None:
    """Worker initializer: cap the address space (where the platform allows; Linux does)."""
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if limit is not None:
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass


class FeedParser:
    def __init__(
        self,
        *,
        timeout: float = 20.0,
        workers: int = 2,
        memory_limit: int | None = WORKER_MEMORY_LIMIT,
    ) -> None:
        self._timeout = timeout
        self._workers = workers
        self._memory_limit = memory_limit
        self._pool: Pool | None = None
        self._slots = asyncio.Semaphore(workers)
        self._starting = asyncio.Lock()
        self._running: dict[asyncio.Future[Outcome], Pool] = {}  # parses in a pool, and which

    async def parse(self, content: bytes, feed_url: str, content_type: str | None) -> ParsedFeed:
        async with self._slots:
            for _ in range(MAX_ATTEMPTS):
                pool = await self._ready_pool()
                outcome = await self._run(pool, (content, feed_url, content_type))
                if outcome is not _RESTARTED:
                    return _result(outcome)
        raise FeedError("the parser was restarted while parsing this feed; it is tried again later")

    async def _ready_pool(self) -> Pool:
        async with self._starting:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")
                pool = context.Pool(
                    self._workers,
                    initializer=_limit_memory,
                    initargs=(self._memory_limit,),
                    maxtasksperchild=1000,
                )
                ready = [self._submit(pool, _ready, ()) for _ in range(self._workers)]
                try:
                    await asyncio.wait_for(asyncio.gather(*ready), STARTUP_TIMEOUT)
                except TimeoutError:
                    pool.terminate()
                    raise FeedError("the parser workers did not start; try again later") from None
                self._pool = pool
            return self._pool

    async def _run(self, pool: Pool, args: tuple[bytes, str, str | None]) -> Outcome:
        future = self._submit(pool, _parse_in_worker, args)
        self._running[future] = pool
        try:
            return await asyncio.wait_for(future, self._timeout)
        except TimeoutError:
            self._restart(pool)
            raise FeedError(f"parsing took longer than {self._timeout:g} s; feed skipped") from None
        finally:
            self._running.pop(future, None)

    def _submit(self, pool: Pool, function: Any, args: tuple[Any, ...]) -> asyncio.Future[Outcome]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()

        def deliver(value: Outcome) -> None:
            loop.call_soon_threadsafe(_settle, future, value)

        def crashed(error: BaseException) -> None:
            failure = ("error", f"parser crashed: {error}", False, ())
            loop.call_soon_threadsafe(_settle, future, failure)

        pool.apply_async(function, args, callback=deliver, error_callback=crashed)
        return future

    def _restart(self, pool: Pool) -> None:
        if self._pool is pool:
            log.warning("a feed parse overran its deadline; restarting the parser workers")
            self._pool = None
        for future, used in list(self._running.items()):
            if used is pool:
                _settle(future, _RESTARTED)  # killed with the pool: start it again
        pool.terminate()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None


def _result(outcome: Outcome) -> ParsedFeed:
    if outcome[0] == "ok":
        parsed: ParsedFeed = outcome[1]
        return parsed
    _, message, permanent, feed_links = outcome
    if feed_links:
        raise NotAFeedError(message, feed_links=tuple(feed_links))
    raise FeedError(message, permanent=permanent)


def _settle(future: asyncio.Future[Outcome], value: Outcome) -> None:
    if not future.done():
        future.set_result(value)
