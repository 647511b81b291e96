"""``wirewatch stories --jsonl``: items as JSON lines in, their story ids out, one line each.

Contract: each input line is a JSON object ``{"id", "title", "summary"?, "url"?, "published"?,
"language"?}`` (``published`` in ISO 8601; a time without an offset is UTC). For each valid line,
in input order and as soon as it is read, one line ``{"id": …, "story": …}`` is written and
flushed, so the command can sit in a pipe. A line that is not such an object is reported on
stderr with its line number and skipped; the exit status is then 1 once the input ends (0
otherwise). Blank lines are ignored.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.model import Item
from bot.stories.cluster import StoryClusterer

__all__ = ["parse_item_line", "run_stories_jsonl"]

_OPTIONAL_TEXT = ("summary", "url", "language")


class BadLine(ValueError):
    """A line that is not an item; the message says why."""


def run_stories_jsonl(
    lines: TextIO, out: TextIO, err: TextIO, clusterer: StoryClusterer | None = None
) -> int:
    clusterer = clusterer or StoryClusterer()
    bad_lines = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = parse_item_line(line)
        except BadLine as error:
            print(f"wirewatch stories: line {number}: {error}; skipped", file=err, flush=True)
            bad_lines += 1
            continue
        story = clusterer.assign(item, key=item.key)
        out.write(json.dumps({"id": item.key, "story": story}, ensure_ascii=False) + "\n")
        out.flush()
    if bad_lines:
        print(f"wirewatch stories: {bad_lines} line(s) skipped", file=err)
    return 1 if bad_lines else 0


def parse_item_line(line: str) -> Item:
    """The ``Item`` of one input line (its ``key`` is the line's ``id``), or ``BadLine``."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise BadLine(f"not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(record, dict):
        raise BadLine(f"expected a JSON object, got {type(record).__name__}")
    key = record.get("id")
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)
    if not isinstance(key, str) or not key:
        raise BadLine('"id" must be a non-empty string')
    title = record.get("title")
    if not isinstance(title, str):
        raise BadLine('"title" must be a string')
    texts = {name: _optional_text(record, name) for name in _OPTIONAL_TEXT}
    return Item(
        feed_url="",
        key=key,
        title=title,
        summary=texts["summary"] or "",
        url=texts["url"],
        published=_published(record.get("published")),
        language=texts["language"],
    )


def _optional_text(record: dict[str, Any], name: str) -> str | None:
    value = record.get(name)
    if value is not None and not isinstance(value, str):
        raise BadLine(f'"{name}" must be a string')
    return value


def _published(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadLine('"published" must be an ISO 8601 time string')
    try:
        published = datetime.fromisoformat(value)
    except ValueError:
        raise BadLine(f'"published" is not an ISO 8601 time: {value!r}') from None
    return published if published.tzinfo else published.replace(tzinfo=UTC)
