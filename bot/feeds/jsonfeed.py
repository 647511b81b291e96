"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) → plain entry records.

This module only reads the format: it decodes the JSON, checks the ``version``, and lifts each
item's fields into a ``JsonFeedEntry`` with dates already parsed to aware UTC datetimes. Turning
entries into ``Item``s (keys, canonical URLs, plain text, language codes) is ``parse.py``'s job,
the same for every feed format.

Lenient where the spec is commonly bent: an ``id`` given as a number is used as text, a field of the
wrong type is ignored rather than fatal, items that are not objects are skipped, both 1.0's
``author`` and 1.1's ``authors`` are read. Strict where it matters: bytes that are not JSON, or JSON
whose ``version`` does not name jsonfeed.org, raise ``FeedError``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.errors import FeedError

__all__ = ["JsonFeed", "JsonFeedEntry", "parse_json_feed"]


@dataclass(frozen=True, slots=True)
class JsonFeedEntry:
    id: str | None
    url: str | None
    external_url: str | None
    title: str | None
    content_html: str | None
    content_text: str | None
    summary: str | None
    published: datetime | None
    language: str | None
    author: str | None


@dataclass(frozen=True, slots=True)
class JsonFeed:
    title: str | None
    home_page_url: str | None
    language: str | None
    author: str | None
    entries: tuple[JsonFeedEntry, ...]


def parse_json_feed(content: bytes) -> JsonFeed:
    """Decode a JSON Feed document; raise ``FeedError`` when it is not one."""
    try:
        document = json.loads(content)  # detects UTF-8 (with or without BOM), UTF-16, UTF-32
    except json.JSONDecodeError as error:
        raise FeedError(
            f"not a feed: invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}"
        ) from error
    except (UnicodeDecodeError, RecursionError) as error:
        raise FeedError(f"not a feed: unreadable JSON ({type(error).__name__})") from error
    if not isinstance(document, dict):
        raise FeedError("not a feed: the JSON document is not an object")
    version = _text(document, "version")
    if version is None or "jsonfeed.org" not in version:
        raise FeedError("not a feed: JSON without a jsonfeed.org version is not a JSON Feed")
    raw_items = document.get("items")
    items = raw_items if isinstance(raw_items, list) else []
    return JsonFeed(
        title=_text(document, "title"),
        home_page_url=_text(document, "home_page_url"),
        language=_text(document, "language"),
        author=_author(document),
        entries=tuple(_entry(item) for item in items if isinstance(item, dict)),
    )


def _entry(item: dict[str, Any]) -> JsonFeedEntry:
    raw_id = item.get("id")
    # 1.0 feeds in the wild use numeric ids; booleans are not ids.
    if isinstance(raw_id, int | float) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    return JsonFeedEntry(
        id=raw_id if isinstance(raw_id, str) else None,
        url=_text(item, "url"),
        external_url=_text(item, "external_url"),
        title=_text(item, "title"),
        content_html=_text(item, "content_html"),
        content_text=_text(item, "content_text"),
        summary=_text(item, "summary"),
        published=_date(item, "date_published") or _date(item, "date_modified"),
        language=_text(item, "language"),
        author=_author(item),
    )


def _text(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _author(obj: dict[str, Any]) -> str | None:
    """Names of 1.1 ``authors`` joined by commas, else the 1.0 ``author`` name."""
    authors = obj.get("authors")
    candidates = authors if isinstance(authors, list) else [obj.get("author")]
    names = [a["name"].strip() for a in candidates if isinstance(a, dict) and _text(a, "name")]
    return ", ".join(name for name in names if name) or None


def _date(obj: dict[str, Any], key: str) -> datetime | None:
    """RFC 3339 → aware UTC; a date without offset is taken as UTC; nonsense is ignored."""
    value = _text(obj, key)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        return None
