"""The operator sub-commands behind ``wirewatch``: one function each, printing for a person."""

from __future__ import annotations

import asyncio
import difflib
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

from bot.clock import utcnow
from bot.errors import FeedError, UnsafeURLError, WirewatchError
from bot.feeds.opml import read_opml, write_opml
from bot.match.explain import evidence, highlight, why
from bot.match.matcher import Matcher
from bot.model import Feed, Item, Topic
from bot.settings import Settings
from bot.sources import configured_aliases, configured_topics
from bot.topics import TopicRegistry

if TYPE_CHECKING:
    from bot.feeds.fetch import FetchLimits

# Fetching, parsing, the store and the app are imported by the commands that use them: a command
# such as ``match`` should not pay a second of imports for aiohttp, SQLAlchemy and Alembic.

__all__ = [
    "check_feed",
    "export_opml",
    "import_opml",
    "match_feed",
    "match_items",
    "match_jsonl",
    "match_text",
    "migrate_store",
]


async def check_feed(settings: Settings, url: str, *, limit: int = 20) -> int:
    from bot.feeds.fetch import Fetcher
    from bot.feeds.parsing import FeedParser

    parser = FeedParser(timeout=settings.fetch.parse_timeout, workers=1)
    try:
        async with Fetcher(_fetch_limits(settings)) as fetcher:
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
    from bot.store import feeds as feed_store
    from bot.store.db import create_engine, migrate

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
    from bot.store import feeds as feed_store
    from bot.store.db import create_engine, migrate

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
    from bot.store.db import create_engine, migrate

    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()
    print("database schema is up to date")
    return 0


# --- match: try topics on a text, on a live feed, or on a stream of items -----------------------

MAX_IDS_LISTED = 12  # an unknown --topic lists the known ids when there are no more than this
_PRIVATE_FEED_HINT = (
    "to try a feed on your own network, set fetch.allow_private_networks = true "
    "(or WIREWATCH_FETCH__ALLOW_PRIVATE_NETWORKS=true)"
)


async def match_items(
    settings: Settings,
    text: str | None,
    *,
    topic_id: str | None = None,
    feed_url: str | None = None,
    jsonl: bool = False,
) -> int:
    """``wirewatch match``: 0 when something matched, 1 when nothing did (or, for ``--jsonl``,
    when a line was malformed); a usage error or unknown topic raises ``WirewatchError`` (2)."""
    given = {"TEXT": text is not None, "--feed": feed_url is not None, "--jsonl": jsonl}
    modes = [mode for mode, present in given.items() if present]
    if len(modes) != 1:
        both = f", not {' and '.join(modes)}" if modes else ""
        raise WirewatchError(f"match takes one of TEXT, --feed URL or --jsonl{both}")
    if feed_url is not None and topic_id is None:
        raise WirewatchError("match --feed needs --topic ID: the topic to try on the feed")
    aliases = configured_aliases(settings)
    topics = TopicRegistry(configured_topics(settings, aliases), aliases)
    only = None if topic_id is None else _known_topic(topics, topic_id)
    matcher = topics.matcher if only is None else topics.matcher_for([only])
    if jsonl:
        try:
            return match_jsonl(matcher, sys.stdin.buffer, sys.stdout.buffer, sys.stderr)
        except BrokenPipeError:  # the reader went away (| head): not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
    if feed_url is not None and only is not None:
        return await match_feed(settings, only, matcher, feed_url)
    return match_text(topics, matcher, text or "", only)


def match_text(
    topics: Mapping[str, Topic], matcher: Matcher, text: str, only: Topic | None = None
) -> int:
    item = Item(feed_url="", key="cli", title=text)
    matches = matcher.match(item)
    if not matches:
        print("no topic matches" if only is None else f"✗ {only.id} ({only.name}) does not match")
        return 1
    for match in matches:
        print(f"{match.topic_id} ({topics[match.topic_id].name}) — matched: {why(match)}")
        print(f"    {evidence(match, item)}")
        print(f"    {highlight(item, match)}")
    return 0


async def match_feed(settings: Settings, topic: Topic, matcher: Matcher, url: str) -> int:
    """Fetch and parse ``url`` as the poller would and mark each item ✓ or ✗ for ``topic``."""
    from bot.feeds.fetch import Fetcher
    from bot.feeds.parsing import FeedParser

    parser = FeedParser(timeout=settings.fetch.parse_timeout, workers=1)
    try:
        async with Fetcher(_fetch_limits(settings)) as fetcher:
            result = await fetcher.fetch(url)
            parsed = await parser.parse(result.content, result.final_url, result.content_type)
    except FeedError as error:
        print(f"{url}: {error}", file=sys.stderr)
        if isinstance(error, UnsafeURLError) and not settings.fetch.allow_private_networks:
            print(_PRIVATE_FEED_HINT, file=sys.stderr)
        return 2
    finally:
        parser.close()
    print(f"{topic.id} ({topic.name}) on {parsed.title or url} — {len(parsed.items)} items")
    matched = 0
    for item in parsed.items:
        matches = matcher.match(item)
        print(f"{'✓' if matches else '✗'} {item.title or item.url or item.key}")
        for match in matches:
            matched += 1
            print(f"    matched: {why(match)}")
            print(f"    {evidence(match, item)}")
    print(f"{matched} of {len(parsed.items)} items match {topic.id}")
    return 0 if matched else 1


def match_jsonl(matcher: Matcher, lines: IO[bytes], out: IO[bytes], errors: TextIO) -> int:
    """One JSON line in ({"id", "title", "summary"?, "language"?}), one line out, as they come.

    Each answer is ``{"id": …, "topics": [ids], "why": {id: [terms]}}``, flushed at once so a
    program can feed items one by one. A malformed line is reported on ``errors`` with its number
    and skipped; blank lines are ignored. Returns 1 if any line was malformed, else 0.
    """
    bad = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            key, item = _jsonl_item(line)
        except ValueError as error:
            bad += 1
            print(f"wirewatch match: line {number}: {error}", file=errors, flush=True)
            continue
        matches = matcher.match(item)
        answer = {
            "id": key,
            "topics": [match.topic_id for match in matches],
            "why": {match.topic_id: list(match.terms) for match in matches},
        }
        out.write(json.dumps(answer, ensure_ascii=False).encode() + b"\n")
        out.flush()
    return 1 if bad else 0


def _jsonl_item(line: bytes) -> tuple[str | int | float, Item]:
    """The item of one JSON line, or ``ValueError`` saying what is wrong with it."""
    try:
        value = json.loads(line)
    except RecursionError:
        raise ValueError("not valid JSON: nested too deeply") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON: {error.msg} at column {error.colno}") from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    if not isinstance(value, dict):
        raise ValueError('expected an object like {"id": "1", "title": "…"}')
    key = value.get("id")
    if isinstance(key, bool) or not isinstance(key, str | int | float):
        raise ValueError('"id" must be a string or a number')
    fields = {name: value.get(name) for name in ("title", "summary", "language")}
    if not isinstance(fields["title"], str):
        raise ValueError('"title" must be a string')
    for name in ("summary", "language"):
        if fields[name] is not None and not isinstance(fields[name], str):
            raise ValueError(f'"{name}" must be a string')
    item = Item(
        feed_url="",
        key=str(key),
        title=fields["title"],
        summary=fields["summary"] or "",
        language=fields["language"] or None,
    )
    return key, item


def _known_topic(topics: Mapping[str, Topic], topic_id: str) -> Topic:
    topic = topics.get(topic_id)
    if topic is not None:
        return topic
    close = difflib.get_close_matches(topic_id, list(topics), n=3, cutoff=0.5)
    if close:
        hint = f"; did you mean {' or '.join(close)}?"
    elif len(topics) <= MAX_IDS_LISTED:
        hint = f" (known: {', '.join(topics)})"
    else:
        hint = ""
    raise WirewatchError(f"unknown topic '{topic_id}'{hint}")


def _fetch_limits(settings: Settings) -> FetchLimits:
    """The app's fetch limits, imported on use: ``bot.app`` pulls in the whole bot (~1 s)."""
    from bot.app import fetch_limits

    return fetch_limits(settings, frozenset())
