"""The clusterer of a running bot: in step with the store across restarts and instances.

``StoryClusterer`` is pure and in memory. The tracker feeds it what the store knows: on start
the items of the last window that carry a story (``load``), and before each use what other
instances clustered since (``sync``), so every instance gives a new report the story id the
others already gave its event. ``sync`` reads the items stored after the newest one it has seen;
on PostgreSQL, where a transaction may commit after one that took a later id, it also looks
again at the last minutes now and then (``SWEEP_EVERY``). SQLite has one writer at a time, so
its ids become visible in order. Instances can still race: two reports of one event clustered at
the same moment by two instances may start two stories — each chat then gets two alerts, never
none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import Item
from bot.store.stories import StoryMember, story_members
from bot.stories.cluster import StoryClusterer

__all__ = ["StoryTracker"]

# How far back a sweep looks: a transaction that committed late (its rows were invisible at the
# last sweep) is still seen, however ids and commit order interleave.
SYNC_OVERLAP = timedelta(minutes=2)
SWEEP_EVERY = timedelta(seconds=30)


class StoryTracker:
    def __init__(self, window: timedelta = timedelta(hours=48)) -> None:
        self._window = window
        self._clusterer = StoryClusterer(window)
        self._known: dict[int, datetime] = {}  # item id → when it was seen, oldest first
        self._newest = 0  # the highest item id read or assigned
        self._swept_at: datetime | None = None

    async def load(self, conn: AsyncConnection, *, now: datetime) -> int:
        """Rebuild the stories of the last window from the store; how many items were read."""
        read = await self._read(conn, after_id=0, since=now - self._window, now=now)
        self._swept_at = now
        return read

    async def sync(self, conn: AsyncConnection, *, now: datetime) -> int:
        """Take in the items other instances clustered since the last sync."""
        if self._swept_at is None:
            return await self.load(conn, now=now)
        since = now - self._window
        read = await self._read(conn, after_id=self._newest, since=since, now=now)
        if conn.dialect.name != "sqlite" and now - self._swept_at >= SWEEP_EVERY:
            since = max(since, self._swept_at - SYNC_OVERLAP)
            read += await self._read(conn, after_id=0, since=since, now=now)
            self._swept_at = now
        return read

    def assign(self, feed_id: int, item: Item) -> str:
        """The story id of a new item of feed ``feed_id``; it is stored with it (``stored``)."""
        return self._clusterer.assign(item, key=identity(feed_id, item))

    def stored(self, item_ids: Sequence[int], *, now: datetime) -> None:
        """The items just assigned were stored with these ids: ``sync`` must not read them back."""
        for item_id in item_ids:
            self._known[item_id] = now
        self._newest = max([self._newest, *item_ids])

    async def _read(
        self, conn: AsyncConnection, *, after_id: int, since: datetime, now: datetime
    ) -> int:
        read = 0
        while page := await story_members(conn, after_id=after_id, since=since):
            self._observe([member for member in page if member.item_id not in self._known], now)
            read += len(page)
            after_id = page[-1].item_id
            self._newest = max(self._newest, after_id)
        self._forget(now - self._window - SYNC_OVERLAP)
        return read

    def _observe(self, members: Sequence[StoryMember], now: datetime) -> None:
        for member in sorted(members, key=_time_order):
            self._clusterer.observe(
                member.item, member.story_id, key=identity(member.feed_id, member.item)
            )
            self._known[member.item_id] = now

    def _forget(self, cutoff: datetime) -> None:
        known = self._known
        while known and next(iter(known.values())) < cutoff:
            del known[next(iter(known))]


def identity(feed_id: int, item: Item) -> str:
    """An item's identity across feeds: guids are only unique within one feed."""
    return f"{feed_id}:{item.key}"


def _time_order(member: StoryMember) -> tuple[float, int]:
    published = member.item.published
    return (published.timestamp() if published else 0.0, member.item_id)
