"""Benchmark (not a test): parse → dedupe → match → route, against feedparser's parse alone.

    .venv/bin/python bench/ingest.py              # 200 feeds × 50 entries = 10,000 items
    .venv/bin/python bench/ingest.py --quick      # 20 feeds: a smoke run of a few seconds
    .venv/bin/python bench/ingest.py --no-stories # only the pipeline without story clustering

The input is realistic feed bytes: RSS 2.0 documents of 50 entries each (``bench/feedhost.py``
renders them), with the matching benchmark's synthetic en/uk/ru news text (``bench/corpus.py``),
published in the last hour. The topics are the built-ins plus generated ones up to 1,000 (the
matching benchmark's generator, same seed); 200 chats subscribe to 5 topics each.

For each feed, as the poller does it: ``parse_feed`` (in this process; the bot runs it in a
worker process), then ``Ingestor.ingest`` in one SQLite transaction (a temporary file): new items
found (dedupe), matched, routed to the subscribers, stored, alerts queued. Then a second pass
over the same bytes, which finds nothing new (dedupe only). Timed in CPU seconds of the process,
SQLite's thread included; the store is set up, the topics compiled and the heap settled
(``bot/heap.py``) first, as the app does at start.

Two pipelines, each on a store of its own, one after the other:

- **parse → dedupe → match → route**, the pipeline the issue ("Performance and scale") sets its
  target for: at most 1.5× feedparser's parse alone, and at least 2,000 new items/s. Alerts are
  one per chat and canonical URL.
- **the same with story clustering**, as the app runs it (``StoryTracker``: one alert per story
  across feeds and languages, a later report adding its source to the alert), measured against
  the same target.

The baseline, in the same run on the same bytes, interleaved feed by feed with each pipeline:
``feedparser.parse`` alone.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout, however the venv installed it

import feedparser  # noqa: E402
from corpus import make_items, make_topics, vocabulary  # noqa: E402
from feedhost import Entry, rss_document  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncEngine  # noqa: E402

from bot.clock import utcnow  # noqa: E402
from bot.feeds.parse import parse_feed  # noqa: E402
from bot.heap import settle  # noqa: E402
from bot.ingest import Ingestor  # noqa: E402
from bot.match.topics import load_topics  # noqa: E402
from bot.model import ChatRef, Feed, Item, Platform, Topic  # noqa: E402
from bot.store import chats as chat_store  # noqa: E402
from bot.store import feeds as feed_store  # noqa: E402
from bot.store.db import create_engine, migrate  # noqa: E402
from bot.stories.tracker import StoryTracker  # noqa: E402
from bot.summarize import summarize  # noqa: E402
from bot.topics import TopicRegistry  # noqa: E402

SEED = 2024
TOPICS = 1_000
ENTRIES_PER_FEED = 50
CHATS = 200
TOPICS_PER_CHAT = 5
TARGET_RATIO = 1.5
TARGET_ITEMS_PER_S = 2_000


def make_documents(feeds: int, rng: random.Random) -> list[tuple[str, bytes]]:
    """(feed URL, RSS bytes) for ``feeds`` feeds of 50 entries, published in the last hour."""
    vocab = vocabulary(ROOT, rng)
    items = make_items(vocab, feeds * ENTRIES_PER_FEED, rng)
    now = time.time()
    documents = []
    for feed in range(feeds):
        url = f"https://wire{feed}.example/rss"
        entries = [
            Entry(
                guid=f"wire{feed}-{number}",
                title=item.title,
                summary=item.summary,
                link=f"https://wire{feed}.example/news/{number}",
                published=now - rng.uniform(0, 3600),
            )
            for number, item in enumerate(
                items[feed * ENTRIES_PER_FEED : (feed + 1) * ENTRIES_PER_FEED]
            )
        ]
        documents.append(
            (url, rss_document(f"Wire {feed}", f"https://wire{feed}.example/", entries))
        )
    return documents


def make_registry(rng: random.Random) -> TopicRegistry:
    vocab = vocabulary(ROOT, random.Random(SEED))
    builtins = load_topics(ROOT / "config" / "topics.toml", vocab.aliases)
    generated = make_topics(vocab, TOPICS - len(builtins), rng)
    registry = TopicRegistry([*builtins, *generated], vocab.aliases)
    registry.match(Item(feed_url="", key="warm-up", title=""))  # compiled before timing
    return registry


async def prepare_store(
    engine: AsyncEngine, topics: Sequence[Topic], urls: Sequence[str]
) -> dict[str, int]:
    """Topics, chats with subscriptions, and the feeds; returns feed URL → id."""
    await migrate(engine)
    now = utcnow()
    rng = random.Random(SEED)
    async with engine.begin() as conn:
        await chat_store.sync_builtin_topics(conn, topics, now=now)
        for number in range(CHATS):
            chat_pk = await chat_store.ensure_chat(
                conn, ChatRef(Platform.TELEGRAM, str(100_000 + number)), now=now
            )
            for topic in rng.sample(list(topics), TOPICS_PER_CHAT):
                await chat_store.subscribe(conn, chat_pk, topic.id, now=now)
        ids = {}
        for url in urls:
            ids[url] = (await feed_store.add_feed(conn, Feed(url), now=now)).id
    return ids


@dataclass
class Timing:
    """CPU seconds of this process (all its threads, SQLite's included), per stage."""

    feedparser: float = 0.0
    parse: float = 0.0
    ingest: float = 0.0
    wall: float = 0.0
    new: int = 0
    matched: int = 0
    alerts: int = 0
    entries: int = 0


async def run_pipeline(
    engine: AsyncEngine,
    ingestor: Ingestor,
    documents: Sequence[tuple[str, bytes]],
    feed_ids: dict[str, int],
) -> Timing:
    """Each feed: feedparser alone (the baseline), then parse → dedupe → match → route → queue.

    Interleaved feed by feed, so that anything else slowing the machine slows both alike.
    """
    timing = Timing()
    for url, content in documents:
        started = time.process_time()
        timing.entries += len(feedparser.parse(content).entries)
        baseline_done = time.process_time()
        wall = time.perf_counter()
        parsed = parse_feed(content, feed_url=url, content_type="application/rss+xml")
        parsed_at = time.process_time()
        async with engine.begin() as conn:
            result = await ingestor.ingest(
                conn, feed_ids[url], parsed.items, now=utcnow(), first_fetch=False
            )
        timing.wall += time.perf_counter() - wall
        timing.ingest += time.process_time() - parsed_at
        timing.parse += parsed_at - baseline_done
        timing.feedparser += baseline_done - started
        timing.new += result.new_items
        timing.matched += result.matched_items
        timing.alerts += result.alerts
    return timing


async def run(options: argparse.Namespace) -> None:
    rng = random.Random(options.seed)
    documents = make_documents(options.feeds, rng)
    registry = make_registry(rng)
    size = sum(len(content) for _, content in documents)
    print(
        f"ingest bench: {options.feeds:,} RSS feeds × {ENTRIES_PER_FEED} entries = "
        f"{options.feeds * ENTRIES_PER_FEED:,} items, {size / 1e6:.1f} MB; {len(registry):,} "
        f"topics; {CHATS} chats × {TOPICS_PER_CHAT} subscriptions; SQLite"
        + (" (--quick: a smoke run)" if options.quick else "")
    )
    pipelines = [False] if options.no_stories else [False, True]
    for stories in pipelines:
        first, again = await measure(documents, registry, stories=stories)
        report(first, again, stories=stories)


async def measure(
    documents: Sequence[tuple[str, bytes]], registry: TopicRegistry, *, stories: bool
) -> tuple[Timing, Timing]:
    """The first pass (everything new) and the re-poll, on a fresh store."""
    with tempfile.TemporaryDirectory(prefix="wirewatch-bench-") as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        feed_ids = await prepare_store(engine, list(registry.values()), [u for u, _ in documents])
        ingestor = Ingestor(
            registry,
            registry,
            summarize,
            first_fetch_max_age=timedelta(days=1),
            max_item_age=timedelta(days=7),
            stories=StoryTracker() if stories else None,
        )
        settle()  # as the app does once it has started (bot/heap.py)
        first = await run_pipeline(engine, ingestor, documents, feed_ids)
        again = await run_pipeline(engine, ingestor, documents, feed_ids)
        await engine.dispose()
    return first, again


def report(first: Timing, again: Timing, *, stories: bool) -> None:
    total = first.parse + first.ingest
    ratio = total / first.feedparser
    rate = first.new / total
    print(
        "with story clustering, as the app runs it:"
        if stories
        else "parse → dedupe → match → route (the issue's pipeline):"
    )
    print(
        f"pipeline: {first.new:,} new items in {total:.2f} s = {rate:,.0f} new items/s "
        f"(parse_feed {first.parse:.2f} s, dedupe+match+route+queue {first.ingest:.2f} s; "
        f"CPU seconds, {first.wall:.2f} s wall); {first.matched:,} matched, "
        f"{first.alerts:,} alerts queued"
    )
    print(
        f"baseline: feedparser.parse alone on the same bytes: {first.entries:,} entries in "
        f"{first.feedparser:.2f} s = {first.entries / first.feedparser:,.0f} items/s"
    )
    print(
        f"ratio pipeline / feedparser parse: {ratio:.2f}× (target ≤ {TARGET_RATIO}×): "
        f"{_verdict(ratio <= TARGET_RATIO)}"
    )
    print(
        f"new items/s: {rate:,.0f} (target ≥ {TARGET_ITEMS_PER_S:,}): "
        f"{_verdict(rate >= TARGET_ITEMS_PER_S)}"
    )
    print(
        f"re-poll of the same bytes: {again.new} new, {again.parse + again.ingest:.2f} s "
        f"(parse {again.parse:.2f} s, dedupe {again.ingest:.2f} s; "
        f"feedparser alone {again.feedparser:.2f} s)"
    )


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, help="feeds of 50 entries (default 200; --quick 20)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument(
        "--no-stories", action="store_true", help="only the pipeline without story clustering"
    )
    options = parser.parse_args(argv)
    if options.feeds is None:
        options.feeds = 20 if options.quick else 200
    asyncio.run(run(options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
