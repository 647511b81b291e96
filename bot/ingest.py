"""Ingest one parsed poll: dedupe → match → summarize → route → outbox, in one transaction.

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
from bot.quiet import hold_quiet_alerts
from bot.route import MatchedItem, route
from bot.store import alerts as outbox
from bot.store.chats import subscribers_by_topic
from bot.store.items import StoredItem, insert_new_items
from bot.store.matches import record_matches

__all__ = ["IngestResult", "Ingestor", "TopicMatcher"]


class TopicMatcher(Protocol):
    def match(self, item: Item) -> list[Match]: ...


@dataclass(frozen=True, slots=True)
class IngestResult:
    new_items: int
    matched_items: int
    alerts: int


class Ingestor:
    def __init__(
        self,
        matcher: TopicMatcher,
        topics: Mapping[str, Topic],
        summarize: Callable[[Item, Match | None], str],
        *,
        first_fetch_max_age: timedelta,
        max_item_age: timedelta,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics
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
        stored = await insert_new_items(conn, feed_id, items, now=now)
        alertable = [entry for entry in stored if self._fresh(entry.item, now, first_fetch)]
        matched = self._match(alertable)
        if self._metrics is not None:
            for entry in matched:
                for match in entry.matches:
                    self._metrics.matches.labels(match.topic_id).inc()
        subscribers = await subscribers_by_topic(
            conn, {match.topic_id for entry in matched for match in entry.matches}, now=now
        )
        await record_matches(conn, [(e.stored.id, m) for e in matched for m in e.matches], now=now)
        new_alerts = route(matched, subscribers, self._topics, self._summarize)
        queued = await outbox.enqueue_alerts(conn, new_alerts, now=now)
        await hold_quiet_alerts(conn, new_alerts, matched, now=now)  # unless a topic is urgent
        return IngestResult(len(stored), len(matched), queued)

    def _fresh(self, item: Item, now: datetime, first_fetch: bool) -> bool:
        if item.published is None:
            return not first_fetch
        limit = self._first_fetch_max_age if first_fetch else self._max_item_age
        return now - item.published <= limit

    def _match(self, stored: Sequence[StoredItem]) -> list[MatchedItem]:
        matched = []
        for entry in stored:
            matches = tuple(self._matcher.match(entry.item))
            if matches:
                matched.append(MatchedItem(entry, matches))
        return matched
