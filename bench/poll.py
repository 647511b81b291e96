"""Benchmark (not a test): one full poll cycle over 10,000 feeds, against bare httpx and aiohttp.

    .venv/bin/python bench/poll.py                # 10,000 feeds; about three minutes
    .venv/bin/python bench/poll.py --quick        # 200 feeds: a smoke run of a few seconds
    .venv/bin/python bench/poll.py --tick 0.01    # tick every 10 ms: the poller's capacity

What runs: ``bench/feedhost.py`` in its own process serves the feeds (20 entries each, on 32
loopback addresses so the fetcher's per-host limit sees many hosts); this process runs the real
``Poller`` with the real ``Fetcher``, ``FeedParser`` (its worker processes), ``Ingestor`` (the
built-in topics) and SQLite store in a temporary folder; no chat channel.

1. set-up (not the figure): the 10 % of feeds that will change get a real first poll, fetched,
   parsed and stored; the other 90 % are written to the store as a first poll leaves them (with
   the feed host's ETag), since parsing 10,000 new feeds would take many minutes;
2. every feed is made due again; cycle 2 is the figure: conditional requests, about 90 % answered
   304 Not Modified and 10 % with one new entry to parse, dedupe, match and store;
3. the baselines: a bare ``httpx.AsyncClient`` GET loop over the same URLs with the same
   concurrency, once to learn the ETags, then timed with them (the same 304 / 200 mix); then the
   same loop with a bare ``aiohttp.ClientSession``, the client the fetcher is built on.

Polls are started as the app starts them: ``Poller.tick`` once a second (``--tick``), and each
finished poll starting the next due feed while a backlog lasts, so the figure is what the running
app does. Peak RSS is this process (``RUSAGE_SELF``) plus the parser workers' own peaks (VmHWM in
/proc, read before they exit); ``RUSAGE_CHILDREN`` is printed too, but a spawned worker starts as
a fork of this process, so its figure begins at the parent's size.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, however the venv installed it

# A parser worker (multiprocessing "spawn") runs this file again as "__mp_main__"; the bot's
# entry point, ``bot.__main__``, is not re-run there. Keep the workers as light as the bot's.
if __name__ != "__mp_main__":
    import aiohttp
    import httpx
    from feedhost import launch, stop
    from sqlalchemy import update
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.app import POLL_TICK_SECONDS
    from bot.clock import utcnow
    from bot.errors import FeedError
    from bot.feeds.fetch import Fetcher, FetchLimits, FetchResult
    from bot.feeds.parsing import FeedParser
    from bot.feeds.poller import Poller
    from bot.ingest import Ingestor
    from bot.match.places import load_places
    from bot.match.topics import load_topics
    from bot.model import Feed
    from bot.settings import PollSettings
    from bot.store import feeds as feed_store
    from bot.store.db import create_engine, migrate
    from bot.store.tables import feeds as feeds_table
    from bot.summarize import summarize
    from bot.topics import TopicRegistry

TARGET_CYCLE_S = 60.0
TARGET_RSS_MB = 300.0
PARSER_WORKERS = 2
ENTRIES_PER_FEED = 20
CHURN_EVERY = 10  # every 10th feed has a new entry at each re-poll: 90 % answer 304


def _mb(kilobytes: int) -> float:
    return kilobytes / 1024  # ru_maxrss is in kilobytes on Linux


async def run(options: argparse.Namespace) -> None:
    host, port = launch(
        options.feeds, items=ENTRIES_PER_FEED, churn=1 / CHURN_EVERY, hosts=options.hosts
    )
    urls = [
        f"http://127.0.0.{n % options.hosts + 1}:{port}/feed/{n}.xml" for n in range(options.feeds)
    ]
    try:
        with tempfile.TemporaryDirectory(prefix="wirewatch-bench-") as folder:
            ours = await _measure_poller(urls, Path(folder), options, host.pid)
        baseline = await _measure_baseline(urls, options.concurrency)
        bare_aiohttp = await _measure_aiohttp_baseline(urls, options.concurrency)
    finally:
        stop(host)
    _report(options, ours, baseline, bare_aiohttp)


async def _measure_poller(
    urls: list[str], folder: Path, options: argparse.Namespace, host_pid: int
) -> dict[str, float]:
    engine = create_engine(f"sqlite+aiosqlite:///{folder / 'bench.db'}")
    await migrate(engine)
    now = utcnow()
    async with engine.begin() as conn:
        for url in urls:
            await feed_store.add_feed(conn, Feed(url), now=now)
    aliases = load_places(ROOT / "config" / "places.toml")
    topics = TopicRegistry(load_topics(ROOT / "config" / "topics.toml", aliases), aliases)
    fetcher = Fetcher(FetchLimits(allow_private_networks=True))
    parser = FeedParser(workers=PARSER_WORKERS)
    statuses: Counter[int] = Counter()

    async def fetch(url: str, **validators: str | None) -> FetchResult:
        try:
            result = await fetcher.fetch(url, **validators)
        except FeedError:
            statuses[0] += 1  # 0: an error
            raise
        statuses[result.status] += 1
        return result

    settings = PollSettings(concurrency=options.concurrency)
    ingestor = Ingestor(
        topics,
        topics,
        summarize,
        first_fetch_max_age=timedelta(seconds=settings.first_fetch_max_age),
        max_item_age=timedelta(seconds=settings.max_item_age),
    )
    poller = Poller(engine, fetch, parser.parse, ingestor, settings)
    figures: dict[str, float] = {}
    try:
        changing = await _seed_unchanging_feeds(engine, urls)
        first = await _cycle(poller, statuses, changing, options.tick)
        figures["first_s"] = first
        figures["first_200"] = statuses[200]
        async with engine.begin() as conn:  # every feed due again, as after its interval
            await conn.execute(update(feeds_table).values(next_check_at=utcnow()))
        statuses.clear()
        figures["cycle_s"] = await _cycle(poller, statuses, len(urls), options.tick)
        figures["cycle_304"] = statuses[304]
        figures["cycle_200"] = statuses[200]
        figures["errors"] = statuses[0]
    finally:
        workers = _peak_rss_of_children(exclude=host_pid)
        parser.close()  # the workers exit and are reaped: RUSAGE_CHILDREN now counts them
        await fetcher.aclose()
        await engine.dispose()
    figures["rss_self_mb"] = _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    figures["rss_children_mb"] = _mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    figures["rss_worker_mb"] = max(workers, default=0.0)
    figures["rss_workers_mb"] = sum(workers)
    return figures


def _peak_rss_of_children(*, exclude: int) -> list[float]:
    """VmHWM (peak RSS), in MB, of this process's live children but ``exclude`` (Linux /proc)."""
    children: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        children += [int(pid) for pid in (task / "children").read_text().split()]
    peaks = []
    for pid in children:
        if pid == exclude:
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        peaks += [
            int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")
        ]
    return peaks


async def _seed_unchanging_feeds(engine: AsyncEngine, urls: list[str]) -> int:
    """Write the 90 % of feeds that will not change as a first poll leaves them: fetched, with
    the ETag the feed host gives (parsing 10,000 new feeds of 20 entries would take minutes and
    is not the figure). The rest stay due for a real first poll; returns how many."""
    now = utcnow()
    later = now + timedelta(days=1)
    async with engine.begin() as conn:
        rows = await feed_store.list_feeds(conn)
        for row in rows:
            feed = int(row.url.rsplit("/", 1)[1].removesuffix(".xml"))
            if feed % CHURN_EVERY == 0:
                continue
            await feed_store.record_success(
                conn,
                row.id,
                now=now,
                next_check_at=later,
                status=200,
                etag=f'"{feed}-{ENTRIES_PER_FEED - 1}"',
                last_modified=None,
                title=f"Feed {feed}",
                had_new_items=True,
            )
    return len([url for url in urls if int(url.rsplit("/", 1)[1][:-4]) % CHURN_EVERY == 0])


async def _cycle(poller: Poller, statuses: Counter[int], feeds: int, tick: float) -> float:
    """Tick every ``tick`` seconds until every feed was fetched once, then until the last polls
    finish (looking every 10 ms, so the figure is not rounded up to a tick)."""
    started = last_tick = time.perf_counter()
    await poller.tick()
    while sum(statuses.values()) < feeds:
        before = sum(statuses.values())
        await asyncio.sleep(0.01)
        if time.perf_counter() - last_tick >= tick:
            last_tick = time.perf_counter()
            await poller.tick()
        if time.perf_counter() - started > 900 and sum(statuses.values()) == before:
            raise RuntimeError("the poll cycle stalled")
    await poller.wait_idle(60)
    return time.perf_counter() - started


async def _measure_baseline(urls: list[str], concurrency: int) -> dict[str, float]:
    slots = asyncio.Semaphore(concurrency)
    etags: dict[str, str] = {}
    statuses: Counter[int] = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, trust_env=False, timeout=30) as client:

        async def get(url: str) -> None:
            headers = {"If-None-Match": etags[url]} if url in etags else {}
            async with slots:
                response = await client.get(url, headers=headers)
            statuses[response.status_code] += 1
            if "etag" in response.headers:
                etags[url] = response.headers["etag"]

        seconds = await _second_cycle(get, urls, statuses)
    return {"cycle_s": seconds, "cycle_304": statuses[304], "cycle_200": statuses[200]}


async def _second_cycle(
    get: Callable[[str], Awaitable[None]], urls: list[str], statuses: Counter[int]
) -> float:
    """Seconds for a second round of ``get`` over ``urls``: the first one collects the ETags."""
    await asyncio.gather(*(get(url) for url in urls))
    statuses.clear()
    started = time.perf_counter()
    await asyncio.gather(*(get(url) for url in urls))
    return time.perf_counter() - started


async def _measure_aiohttp_baseline(urls: list[str], concurrency: int) -> dict[str, float]:
    """The same loop on a bare ``aiohttp.ClientSession``: the fetcher's client, nothing else."""
    slots = asyncio.Semaphore(concurrency)
    etags: dict[str, str] = {}
    statuses: Counter[int] = Counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:

        async def get(url: str) -> None:
            headers = {"If-None-Match": etags[url]} if url in etags else {}
            async with slots, session.get(url, headers=headers, allow_redirects=False) as answer:
                await answer.read()
            statuses[answer.status] += 1
            if "etag" in answer.headers:
                etags[url] = answer.headers["etag"]

        seconds = await _second_cycle(get, urls, statuses)
    return {"cycle_s": seconds, "cycle_304": statuses[304], "cycle_200": statuses[200]}


def _report(
    options: argparse.Namespace,
    ours: dict[str, float],
    base: dict[str, float],
    bare_aiohttp: dict[str, float],
) -> None:
    feeds = options.feeds
    cycle, base_cycle = ours["cycle_s"], base["cycle_s"]
    rss = ours["rss_self_mb"] + ours["rss_workers_mb"]
    print(
        f"first poll: {ours['first_200']:,.0f} new feeds of {ENTRIES_PER_FEED} entries in "
        f"{ours['first_s']:.1f} s ({ours['first_200'] / ours['first_s']:,.1f} feeds/s; the "
        f"other {feeds - ours['first_200']:,.0f} written as already fetched, not timed)"
    )
    print(
        f"poll cycle: {feeds:,} feeds in {cycle:.1f} s = {feeds / cycle:,.0f} requests/s "
        f"({ours['cycle_304']:,.0f} × 304, {ours['cycle_200']:,.0f} × 200, "
        f"{ours['cycle_200'] + ours['cycle_304'] - feeds:,.0f} busy feeds polled twice, "
        f"{ours['errors']:,.0f} errors); target ≤ {TARGET_CYCLE_S:.0f} s for 10,000 feeds: "
        f"{_verdict(cycle * 10_000 / feeds <= TARGET_CYCLE_S)}"
        + (" (extrapolated to 10,000)" if feeds != 10_000 else "")
    )
    print(
        f"baseline: bare httpx GET loop, same URLs and concurrency: {base_cycle:.1f} s = "
        f"{feeds / base_cycle:,.0f} requests/s ({base['cycle_304']:,.0f} × 304, "
        f"{base['cycle_200']:,.0f} × 200); poller/baseline time {cycle / base_cycle:.1f}×"
    )
    aio_cycle = bare_aiohttp["cycle_s"]
    print(
        f"baseline: bare aiohttp GET loop, same URLs and concurrency: {aio_cycle:.1f} s = "
        f"{feeds / aio_cycle:,.0f} requests/s; poller/baseline time {cycle / aio_cycle:.1f}×"
    )
    print(
        f"app tick: every {POLL_TICK_SECONDS:g} s starts at most concurrency {options.concurrency} "
        f"polls, and each finished poll starts the next due feed while a backlog lasts; the cycle "
        f"above was ticked every {options.tick:g} s"
        + (" (as the app ticks)" if options.tick == POLL_TICK_SECONDS else "")
    )
    print(
        f"peak RSS: {rss:,.0f} MB = this process {ours['rss_self_mb']:,.0f} MB + "
        f"parser processes {ours['rss_workers_mb']:,.0f} MB (VmHWM; RUSAGE_CHILDREN says "
        f"{ours['rss_children_mb']:,.0f} MB, the parent's size when it forked them); "
        f"target ≤ {TARGET_RSS_MB:.0f} MB: {_verdict(rss <= TARGET_RSS_MB)}"
    )


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, help="feeds to poll (default 10,000; --quick 200)")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=PollSettings().concurrency,
        help="polls at the same time (default: the setting's default)",
    )
    parser.add_argument("--hosts", type=int, default=32, help="loopback hosts serving the feeds")
    parser.add_argument(
        "--tick",
        type=float,
        default=POLL_TICK_SECONDS,
        help="seconds between Poller.tick calls (default: the app's)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    options = parser.parse_args(argv)
    if options.feeds is None:
        options.feeds = 200 if options.quick else 10_000
    logging.basicConfig(level=logging.WARNING)
    print(
        f"poll bench: {options.feeds:,} feeds on {options.hosts} loopback hosts, concurrency "
        f"{options.concurrency}, SQLite" + (" (--quick: a smoke run)" if options.quick else "")
    )
    asyncio.run(run(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
