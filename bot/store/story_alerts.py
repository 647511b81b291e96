"""One alert per story per chat: a later source updates the alert already queued or sent.

When a new report joins a story a chat was already alerted about, the chat gets no new message.
Its alert gains the source (its feed's title and link): an alert not sent yet simply goes out
with it; a sent one gets an edit queued — a row of its own in the outbox, ``edit_of`` the
original, keyed ``<story key>#edit`` so a story has at most one edit waiting, which takes in every
source that joins before it goes. An edit waits ``EDIT_DELAY`` (several outlets tend to report
within minutes: one edit instead of five) and is not made to a message older than
``EDIT_WINDOW``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import product
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.alerts import NewAlert
from bot.store.tables import alerts

__all__ = [
    "EDIT_DELAY",
    "EDIT_WINDOW",
    "MAX_SOURCES",
    "KnownStory",
    "add_sources",
    "combine_same_story",
    "known_stories",
]

EDIT_DELAY = timedelta(seconds=30)
EDIT_WINDOW = timedelta(hours=48)
MAX_SOURCES = 20
EDIT_SUFFIX = "#edit"

_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class KnownStory:
    """The alert a chat already has for a story."""

    id: int
    status: str
    payload: dict[str, Any]
    sent_at: datetime | None


def combine_same_story(new_alerts: Sequence[NewAlert]) -> list[NewAlert]:
    """One alert per (chat, story) in a batch, naming the sources of all of them."""
    combined: dict[tuple[int, str], NewAlert] = {}
    for new in new_alerts:
        key = (new.chat_pk, new.story_key)
        first = combined.get(key)
        if first is None:
            combined[key] = new
            continue
        links, sources = _merged(
            list(first.alert.links),
            list(first.alert.source_titles),
            new.alert.links,
            new.alert.source_titles,
        )
        if links is not None and sources is not None:
            alert = replace(first.alert, links=tuple(links), source_titles=tuple(sources))
            combined[key] = replace(first, alert=alert)
    return list(combined.values())


_KNOWN = select(
    alerts.c.id,
    alerts.c.chat_id,
    alerts.c.story_key,
    alerts.c.status,
    alerts.c.payload,
    alerts.c.sent_at,
).where(
    alerts.c.story_key.in_(bindparam("keys", expanding=True)),
    alerts.c.chat_id.in_(bindparam("chats", expanding=True)),
)
_SET_PAYLOAD = (
    update(alerts)
    .where(alerts.c.id == bindparam("alert_id"))
    .values(payload=bindparam("payload", type_=alerts.c.payload.type))
)


async def known_stories(
    conn: AsyncConnection, new_alerts: Sequence[NewAlert]
) -> dict[tuple[int, str], KnownStory]:
    """The alerts already queued or sent for these (chat, story) pairs."""
    wanted = {(new.chat_pk, new.story_key) for new in new_alerts}
    keys = sorted({key for _, key in wanted})
    chats = sorted({chat for chat, _ in wanted})
    found: dict[tuple[int, str], KnownStory] = {}
    # Two IN lists, not one of pairs: both use the (chat, story) index on every backend; the
    # few pairs the cross product adds are dropped below.
    for key_chunk, chat_chunk in product(_chunks(keys, 400), _chunks(chats, 2000)):
        rows = await conn.execute(_KNOWN, {"keys": key_chunk, "chats": chat_chunk})
        for row in rows:
            if (row.chat_id, row.story_key) in wanted:
                found[(row.chat_id, row.story_key)] = KnownStory(
                    row.id, row.status, dict(row.payload), row.sent_at
                )
    return found


async def add_sources(
    conn: AsyncConnection, reports: Sequence[tuple[KnownStory, NewAlert]], *, now: datetime
) -> int:
    """Add each new report's source to the chat's alert for its story; how many gained one.

    At most one report per alert (``combine_same_story`` first). A failed alert is left alone:
    the chat never saw the story, and the failure is on record. Written in two statements
    whatever the count: the payloads, then the edits of alerts already delivered.
    """
    payloads: list[dict[str, Any]] = []
    edits: list[dict[str, Any]] = []
    for known, new in reports:
        if known.status == "failed":
            continue
        links, sources = _merged(
            list(known.payload.get("links", ())),
            list(known.payload.get("source_titles", ())),
            new.alert.links,
            new.alert.source_titles,
        )
        if links is None or sources is None:
            continue
        payload = {**known.payload, "links": links, "source_titles": sources}
        payloads.append({"alert_id": known.id, "payload": payload})
        delivered = known.status in ("sending", "sent")
        if delivered and (known.sent_at is None or now - known.sent_at < EDIT_WINDOW):
            edits.append(_edit_row(known, new, payload, now=now))
    if payloads:
        await conn.execute(_SET_PAYLOAD, payloads)
    if edits:
        await conn.execute(_QUEUE_EDIT[conn.dialect.name], edits)
    return len(payloads)


def _edit_row(
    known: KnownStory, new: NewAlert, payload: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    return {
        "chat_id": new.chat_pk,
        "item_id": new.item_id,
        "topic_id": new.alert.topic_id,
        "story_key": new.story_key + EDIT_SUFFIX,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now + EDIT_DELAY,
        "created_at": now,
        "edit_of": known.id,
    }


def _queue_edit_statement(dialect: Any) -> Any:
    """Insert an edit, or update the one already waiting for the story, unless it failed."""
    statement = dialect.insert(alerts)
    waiting = alerts.c.status == "pending"
    return statement.on_conflict_do_update(
        index_elements=["chat_id", "story_key"],
        set_={
            "payload": statement.excluded.payload,
            "status": "pending",
            "attempts": 0,
            "last_error": None,
            # an edit already waiting keeps its time: later sources ride along with it
            "next_attempt_at": case(
                (waiting, alerts.c.next_attempt_at), else_=statement.excluded.next_attempt_at
            ),
        },
        where=alerts.c.status != "failed",
    )


_QUEUE_EDIT = {
    "postgresql": _queue_edit_statement(postgresql),
    "sqlite": _queue_edit_statement(sqlite),
}


def _merged(
    links: list[str],
    sources: list[str],
    new_links: Sequence[str],
    new_sources: Sequence[str],
) -> tuple[list[str], list[str]] | tuple[None, None]:
    """Links and source names with the new report's added; (None, None) when it adds no source.

    A source is its feed's title, or the host of its link for a feed without a title.
    """
    known = set(sources) | {_host(link) for link in links}
    fresh_sources = [name for name in new_sources if name not in known]
    fresh_links = [link for link in new_links if link not in links]
    if not fresh_sources and not any(_host(link) not in known for link in fresh_links):
        return None, None
    return (links + fresh_links[:1])[:MAX_SOURCES], (sources + fresh_sources)[:MAX_SOURCES]


def _chunks(values: Sequence[_V], size: int) -> list[Sequence[_V]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def _host(link: str) -> str:
    return urlsplit(link).hostname or link
