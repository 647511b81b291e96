"""Ingest one parsed poll: dedupe → match → story → store → route → outbox, in one transaction.

A matched item joins a story (``bot/stories``); a chat gets one alert per story, and a report
that joins a story the chat already has adds its source to that alert instead
(``bot/store/story_alerts``).

An item is clustered before it is stored, so it is written once, with its story id.
Alerts for a chat in its quiet hours are queued held until the quiet period ends (``bot/quiet``).
Items are recorded and their alerts queued together, so a crash leaves either both or neither:
the next poll then finds the items new again and nothing is lost. Items that are too old (a
feed's backlog on first fetch, or a re-surfaced archive entry) are stored but never alerted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.metrics import Metrics
from bot.model import Item, Match, Topic
from bot.quiet import hold_in_quiet_hours
from bot.route import MatchedItem, route, story_key, with_summaries
from bot.store import alerts as outbox
from bot.store.chats import subscribers_by_topic
from bot.store.items import StoredItem, insert_items, unique_within_batch, unstored_items
from bot.store.matches import record_matches
from bot.store.story_alerts import add_sources, combine_same_story, known_stories
from bot.stories.tracker import StoryTracker, identity

__all__ = ["IngestResult", "Ingestor", "TopicMatcher"]


class TopicMatcher(Protocol):
    def match(self, item: Item) -> list[Match]: ...


@dataclass(frozen=True, slots=True)
class IngestResult:
    new_items: int
    matched_items: int
    alerts: int
    updated_alerts: int = 0  # alerts that gained a source instead of a new alert being queued


class Ingestor:
    def __init__(
        self,
        matcher: TopicMatcher,
        topics: Mapping[str, Topic],
        summarize: Callable[[Item, Match | None], str],
        *,
        first_fetch_max_age: timedelta,
        max_item_age: timedelta,
        stories: StoryTracker | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """``stories``: one alert per story across feeds; None: one per canonical URL."""
        self._metrics = metrics
        self._stories = stories
        self._matcher = matcher
        self._topics = topics
        self._summarize = summarize
        self._first_fetch_max_age = first_fetch_max_age
        self._max_item_age = max_item_age

    async def ingest(
        self,
        conn: AsyncConnection,
        feed_id: int,
        items: Sequence[Item],
        *,
        now: datetime,
        first_fetch: bool,
    ) -> IngestResult:
        # Dedupe, match and cluster first, so each new item is written once, with its story.
        unstored = await unstored_items(conn, feed_id, unique_within_batch(items))
        found = self._match([item for item in unstored if self._fresh(item, now, first_fetch)])
        stories = await self._cluster(conn, feed_id, found, now) if found else {}
        stored = await insert_items(
            conn, feed_id, unstored, now=now, story_ids={k: s.id for k, s in stories.items()}
        )
        if self._stories is not None and stored:
            self._stories.stored([entry.id for entry in stored], now=now)
        matched = _matched(stored, found, stories)
        await record_matches(conn, [(e.stored.id, m) for e in matched for m in e.matches], now=now)
        if self._metrics is not None:
            for entry in matched:
                for match in entry.matches:
                    self._metrics.matches.labels(match.topic_id).inc()
        queued, updated = await self._queue_alerts(conn, matched, now=now)
        return IngestResult(len(stored), len(matched), queued, updated)

    async def _queue_alerts(
        self, conn: AsyncConnection, matched: Sequence[MatchedItem], *, now: datetime
    ) -> tuple[int, int]:
        """Route the matched items; (alerts queued, alerts that gained a source instead)."""
        subscribers = await subscribers_by_topic(
            conn, {match.topic_id for entry in matched for match in entry.matches}, now=now
        )
        new_alerts = combine_same_story(route(matched, subscribers, self._topics))
        started = {story_key(e.stored.item, e.story_id) for e in matched if e.started_story}
        maybe_known = [new for new in new_alerts if new.story_key not in started]
        known = await known_stories(conn, maybe_known) if maybe_known else {}
        joined = [
            (known[n.chat_pk, n.story_key], n)
            for n in new_alerts
            if (n.chat_pk, n.story_key) in known
        ]
        updated = await add_sources(conn, joined, now=now)
        fresh = [new for new in new_alerts if (new.chat_pk, new.story_key) not in known]
        fresh = with_summaries(fresh, matched, self._summarize)
        fresh = hold_in_quiet_hours(fresh, matched, subscribers, now=now)  # unless urgent
        return await outbox.enqueue_alerts(conn, fresh, now=now), updated

    async def _cluster(
        self, conn: AsyncConnection, feed_id: int, found: Sequence[Found], now: datetime
    ) -> dict[str, _Story]:
        """Each matched item's story, by item key, decided before the item is stored with it."""
        if self._stories is None:
            return {}
        await self._stories.sync(conn, now=now)
        stories = {}
        for item, _ in found:
            story = self._stories.assign(feed_id, item)
            # an item whose story is named after itself started it: no chat has heard of it
            stories[item.key] = _Story(story, started=story == identity(feed_id, item))
        return stories

    def _fresh(self, item: Item, now: datetime, first_fetch: bool) -> bool:
        if item.published is None:
            return not first_fetch
        limit = self._first_fetch_max_age if first_fetch else self._max_item_age
        return now - item.published <= limit

    def _match(self, items: Sequence[Item]) -> list[Found]:
        """The items that match some topic, with their matches, in feed order."""
        found = []
        for item in items:
            matches = tuple(self._matcher.match(item))
            if matches:
                found.append((item, matches))
        return found


Found = tuple[Item, tuple[Match, ...]]


@dataclass(frozen=True, slots=True)
class _Story:
    id: str
    started: bool


def _matched(
    stored: Sequence[StoredItem], found: Sequence[Found], stories: Mapping[str, _Story]
) -> list[MatchedItem]:
    """The matched items that were stored here (not by another instance meanwhile)."""
    ids = {entry.item.key: entry.id for entry in stored}
    matched = []
    for item, matches in found:
        item_id = ids.get(item.key)
        if item_id is None:
            continue
        story = stories.get(item.key)
        matched.append(
            MatchedItem(
                StoredItem(item_id, item),
                matches,
                story_id=story.id if story else None,
                started_story=story.started if story else False,
            )
        )
    return matched
