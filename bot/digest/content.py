"""What goes into a digest: a period's matches → the top stories per topic. Pure.

In order:

1. Matches are grouped per topic into **stories**: items of the same story cluster (``story_id``,
   once items carry one), else with the same canonical URL; an item without either is a story
   of its own.
2. A story belongs to the period its first match fell in, so it appears in one digest only; its
   later matches still count as sources. (The store hands in matches from a little before the
   period, ``STORY_LOOKBACK``, to know which stories are not new.)
3. Stories are ranked by independent sources (distinct feeds) first, then by recency (the newest
   publication or match time), and the first ``max_per_topic`` of each topic are kept.
4. Each entry gets the headline and a one-line summary of the first item reported, its links
   (first item's first, at most ``MAX_LINKS``) and the names of its sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.model import Digest, DigestEntry, DigestSection
from bot.sentences import split_sentences
from bot.store.digests import StoryRow

__all__ = ["MAX_LINKS", "STORY_LOOKBACK", "DigestTopic", "build_digest", "one_line_summary"]

STORY_LOOKBACK = timedelta(days=2)
MAX_LINKS = 3
MAX_SOURCES = 6
SUMMARY_LIMIT = 200
TITLE_LIMIT = 200
ELLIPSIS = "…"

_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class DigestTopic:
    id: str
    name: str


@dataclass(slots=True)
class _Story:
    rows: list[StoryRow] = field(default_factory=list)

    @property
    def first(self) -> StoryRow:
        return min(self.rows, key=lambda row: (row.matched_at, row.item_id))

    @property
    def sources(self) -> int:
        return len({row.feed_id for row in self.rows})

    @property
    def latest(self) -> datetime:
        return max(row.published or row.matched_at for row in self.rows)


def build_digest(
    rows: Iterable[StoryRow],
    topics: Sequence[DigestTopic],
    *,
    title: str,
    since: datetime,
    until: datetime,
    zone: str,
    max_per_topic: int,
    late: bool = False,
) -> Digest:
    """The digest of [``since``, ``until``) over ``topics``, in their order, empty ones left out."""
    stories = _group(rows)
    sections = []
    for topic in topics:
        found = [
            story
            for story in stories.get(topic.id, {}).values()
            if since <= story.first.matched_at < until
        ]
        if not found:
            continue
        found.sort(key=lambda story: (-story.sources, -story.latest.timestamp(), story.first.title))
        entries = tuple(_entry(rank, story) for rank, story in enumerate(found[:max_per_topic], 1))
        sections.append(DigestSection(topic.id, topic.name, len(found), entries))
    return Digest(
        title=title,
        period_start=since,
        period_end=until,
        zone=zone,
        stories=sum(section.total for section in sections),
        topics=len(sections),
        sections=tuple(sections),
        late=late,
    )


def _group(rows: Iterable[StoryRow]) -> dict[str, dict[str, _Story]]:
    """topic id → story key → story."""
    grouped: dict[str, dict[str, _Story]] = {}
    for row in rows:
        stories = grouped.setdefault(row.topic_id, {})
        stories.setdefault(_story_key(row), _Story()).rows.append(row)
    return grouped


def _story_key(row: StoryRow) -> str:
    if row.story_id is not None:
        return f"story:{row.story_id}"
    if row.url:
        return f"url:{row.url}"
    return f"item:{row.item_id}"


def _entry(rank: int, story: _Story) -> DigestEntry:
    first = story.first
    ordered = sorted(story.rows, key=lambda row: (row.matched_at, row.item_id))
    links = list(dict.fromkeys(row.url for row in [first, *ordered] if row.url))
    sources = list(dict.fromkeys(row.source for row in ordered if row.source))
    title = _shorten(_line(first.title), TITLE_LIMIT) or "(untitled)"
    return DigestEntry(
        rank=rank,
        title=title,
        summary=one_line_summary(first.summary, title),
        links=tuple(links[:MAX_LINKS]),
        sources=tuple(sources[:MAX_SOURCES]),
        source_count=story.sources,
        published=max((row.published for row in ordered if row.published), default=None),
    )


def one_line_summary(summary: str, title: str) -> str:
    """The first sentence of ``summary`` on one line, at most ``SUMMARY_LIMIT`` characters;
    empty when it only repeats the title."""
    text = _line(summary)
    if not text or text.rstrip(".") == title.rstrip("." + ELLIPSIS):
        return ""
    spans = split_sentences(text)  # "Mr. Smith" or "4.5" do not end a sentence
    first = text[spans[0][0] : spans[0][1]] if spans else text
    return _shorten(first, SUMMARY_LIMIT)


def _line(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + ELLIPSIS
