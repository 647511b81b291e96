"""The operator sub-commands behind ``wirewatch``: one function each, printing for a person."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.app import fetch_limits
from bot.clock import utcnow
from bot.errors import FeedError
from bot.feeds.fetch import Fetcher
from bot.feeds.opml import read_opml, write_opml
from bot.feeds.parsing import FeedParser
from bot.model import Feed, Item
from bot.settings import Settings
from bot.sources import configured_topics
from bot.store import feeds as feed_store
from bot.store.db import create_engine, migrate
from bot.topics import TopicRegistry

__all__ = ["check_feed", "export_opml", "import_opml", "match_text", "migrate_store"]


async def check_feed(settings: Settings, url: str, *, limit: int = 20) -> int:
    parser = FeedParser(timeout=settings.fetch.parse_timeout, workers=1)
    try:
        async with Fetcher(fetch_limits(settings, frozenset())) as fetcher:
            result = await fetcher.fetch(url)
            parsed = await parser.parse(result.content, result.final_url, result.content_type)
    except FeedError as error:
        print(f"{url}: {error}", file=sys.stderr)
        return 1
    finally:
        parser.close()
    print(f"{parsed.title or url} — {len(parsed.items)} items")
    if result.final_url != url:
        print(f"(redirected to {result.final_url})")
    if parsed.warning:
        print(f"warning: {parsed.warning}")
    for item in parsed.items[:limit]:
        when = item.published.strftime("%Y-%m-%d %H:%M") if item.published else "undated"
        language = f" [{item.language}]" if item.language else ""
        print(f"- {when}{language} {item.title}")
        if item.url:
            print(f"  {item.url}")
    return 0


async def import_opml(settings: Settings, path: Path) -> int:
    try:
        feeds = read_opml(await asyncio.to_thread(path.read_bytes))
    except OSError as error:
        print(f"cannot read {path}: {error.strerror}", file=sys.stderr)
        return 1
    except FeedError as error:
        print(f"{path}: {error}", file=sys.stderr)
        return 1
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            before = len(await feed_store.list_feeds(conn))
            for feed in feeds:
                await feed_store.add_feed(conn, feed, now=utcnow(), origin="opml")
            added = len(await feed_store.list_feeds(conn)) - before
    finally:
        await engine.dispose()
    print(f"imported {added} new feeds ({len(feeds) - added} already present) from {path}")
    return 0


async def export_opml(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            rows = await feed_store.list_feeds(conn)
    finally:
        await engine.dispose()
    sys.stdout.write(write_opml(Feed(r.url, r.title, r.interval, r.fulltext) for r in rows))
    return 0


async def migrate_store(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    print("database schema is up to date")
    return 0


def match_text(settings: Settings, text: str) -> int:
    topics = TopicRegistry(configured_topics(settings))
    matches = topics.match(Item(feed_url="", key="cli", title=text))
    if not matches:
        print("no topic matches")
        return 1
    for match in matches:
        print(
            f"{match.topic_id} ({topics[match.topic_id].name}): matched {' + '.join(match.terms)}"
        )
    return 0
