"""Chats, their subscriptions, and the topics they can subscribe to."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import ChatRef, Delivery, Platform, Topic
from bot.store.quiet import QuietSetting
from bot.store.tables import chats, subscriptions, topics

__all__ = [
    "ChatRow",
    "Subscriber",
    "SubscriptionRow",
    "count_subscriptions",
    "delete_custom_topic",
    "ensure_chat",
    "get_chat",
    "list_subscriptions",
    "load_custom_topics",
    "migrate_chat",
    "mute",
    "save_custom_topic",
    "set_chat_flags",
    "subscribe",
    "subscribers_by_topic",
    "sync_builtin_topics",
    "unsubscribe",
]


@dataclass(frozen=True, slots=True)
class Subscriber:
    chat_pk: int
    chat: ChatRef
    delivery: Delivery
    urgent: bool = False  # the chat marked this topic urgent: it breaks through quiet hours
    quiet: QuietSetting | None = None  # the chat's quiet hours, if it has some


async def ensure_chat(
    conn: AsyncConnection,
    chat: ChatRef,
    *,
    now: datetime,
    title: str | None = None,
    kind: str = "private",
) -> int:
    """The chat's row id, creating the row on first contact."""
    query = select(chats.c.id).where(
        chats.c.platform == str(chat.platform), chats.c.chat_id == chat.chat_id
    )
    existing = (await conn.execute(query)).scalar()
    if existing is not None:
        return int(existing)
    result = await conn.execute(
        chats.insert()
        .values(
            platform=str(chat.platform),
            chat_id=chat.chat_id,
            title=title,
            kind=kind,
            timezone="UTC",
            paused=False,
            active=True,
            created_at=now,
        )
        .returning(chats.c.id)
    )
    return int(result.scalar_one())


async def subscribe(
    conn: AsyncConnection,
    chat_pk: int,
    topic_id: str,
    *,
    now: datetime,
    delivery: Delivery = Delivery.INSTANT,
) -> bool:
    """Subscribe (or change the delivery mode); True when the subscription is new."""
    query = select(subscriptions.c.id).where(
        subscriptions.c.chat_id == chat_pk, subscriptions.c.topic_id == topic_id
    )
    existing = (await conn.execute(query)).scalar()
    if existing is not None:
        await conn.execute(
            update(subscriptions)
            .where(subscriptions.c.id == existing)
            .values(delivery=str(delivery))
        )
        return False
    await conn.execute(
        subscriptions.insert().values(
            chat_id=chat_pk, topic_id=topic_id, delivery=str(delivery), created_at=now
        )
    )
    return True


async def mute(
    conn: AsyncConnection, chat_pk: int, topic_id: str, *, until: datetime | None
) -> bool:
    """Silence (or, with ``until=None``, unsilence) a subscription; False if there is none."""
    result = await conn.execute(
        update(subscriptions)
        .where(subscriptions.c.chat_id == chat_pk, subscriptions.c.topic_id == topic_id)
        .values(muted_until=until)
    )
    return bool(result.rowcount)


async def unsubscribe(conn: AsyncConnection, chat_pk: int, topic_id: str) -> bool:
    result = await conn.execute(
        delete(subscriptions).where(
            subscriptions.c.chat_id == chat_pk, subscriptions.c.topic_id == topic_id
        )
    )
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    topic_id: str
    delivery: Delivery
    muted_until: datetime | None


async def list_subscriptions(conn: AsyncConnection, chat_pk: int) -> list[SubscriptionRow]:
    rows = await conn.execute(
        select(subscriptions.c.topic_id, subscriptions.c.delivery, subscriptions.c.muted_until)
        .where(subscriptions.c.chat_id == chat_pk)
        .order_by(subscriptions.c.topic_id)
    )
    return [SubscriptionRow(row.topic_id, Delivery(row.delivery), row.muted_until) for row in rows]


_SUBSCRIBERS = (
    select(
        subscriptions.c.topic_id,
        subscriptions.c.delivery,
        subscriptions.c.urgent,
        chats.c.id,
        chats.c.platform,
        chats.c.chat_id,
        chats.c.timezone,
        chats.c.quiet_start,
        chats.c.quiet_end,
    )
    .join(chats, chats.c.id == subscriptions.c.chat_id)
    .where(
        subscriptions.c.topic_id.in_(bindparam("topics", expanding=True)),
        chats.c.active,
        ~chats.c.paused,
    )
    .order_by(chats.c.id)
)
# Built once, not per call: on the ingest path, building a statement cost as much as running it.
_UNMUTED_SUBSCRIBERS = _SUBSCRIBERS.where(
    or_(subscriptions.c.muted_until.is_(None), subscriptions.c.muted_until <= bindparam("now"))
)


async def subscribers_by_topic(
    conn: AsyncConnection, topic_ids: Iterable[str], *, now: datetime | None = None
) -> dict[str, list[Subscriber]]:
    """Active, unpaused chats subscribed to each topic (and, given ``now``, not muting it).

    Each comes with what routing needs to know of the chat: its quiet hours and whether it
    marked the topic urgent, so one query serves the whole ingest.
    """
    wanted = list(set(topic_ids))
    if not wanted:
        return {}
    if now is None:
        rows = await conn.execute(_SUBSCRIBERS, {"topics": wanted})
    else:
        rows = await conn.execute(_UNMUTED_SUBSCRIBERS, {"topics": wanted, "now": now})
    found: dict[str, list[Subscriber]] = defaultdict(list)
    chat_refs: dict[int, ChatRef] = {}
    for row in rows:
        chat = chat_refs.get(row.id)
        if chat is None:
            chat = chat_refs[row.id] = ChatRef(Platform(row.platform), row.chat_id)
        quiet = (
            QuietSetting(row.id, row.timezone, row.quiet_start, row.quiet_end)
            if row.quiet_start is not None and row.quiet_end is not None
            else None
        )
        found[row.topic_id].append(
            Subscriber(row.id, chat, Delivery(row.delivery), bool(row.urgent), quiet)
        )
    return found


async def sync_builtin_topics(
    conn: AsyncConnection, builtins: Iterable[Topic], *, now: datetime
) -> None:
    """Store the configured topics so chats and other instances see the same set."""
    wanted = {topic.id: topic for topic in builtins}
    present = set((await conn.execute(select(topics.c.id).where(topics.c.builtin))).scalars())
    for topic in wanted.values():
        values = {
            "name": topic.name,
            "query": topic.query,
            "description": topic.description,
            "languages": list(topic.languages),
            "sources": list(topic.sources),
            "min_score": topic.min_score,
        }
        if topic.id in present:
            await conn.execute(update(topics).where(topics.c.id == topic.id).values(**values))
        else:
            await conn.execute(
                topics.insert().values(id=topic.id, builtin=True, created_at=now, **values)
            )
    stale = present - set(wanted)
    if stale:
        await conn.execute(delete(topics).where(topics.c.id.in_(stale)))


@dataclass(frozen=True, slots=True)
class ChatRow:
    id: int
    chat: ChatRef
    title: str | None
    kind: str
    timezone: str
    paused: bool
    active: bool


async def get_chat(conn: AsyncConnection, chat: ChatRef) -> ChatRow | None:
    row = (
        await conn.execute(
            select(chats).where(
                chats.c.platform == str(chat.platform), chats.c.chat_id == chat.chat_id
            )
        )
    ).first()
    if row is None:
        return None
    return ChatRow(
        row.id, chat, row.title, row.kind, row.timezone, bool(row.paused), bool(row.active)
    )


async def set_chat_flags(
    conn: AsyncConnection, chat_pk: int, *, paused: bool | None = None, active: bool | None = None
) -> None:
    values = {
        name: value for name, value in (("paused", paused), ("active", active)) if value is not None
    }
    if values:
        await conn.execute(update(chats).where(chats.c.id == chat_pk).values(**values))


async def migrate_chat(conn: AsyncConnection, old: ChatRef, new: ChatRef) -> bool:
    """The chat now has another id (a Telegram group became a supergroup): its row follows.

    Subscriptions, settings, custom topics and queued alerts hang on the row, so they all move
    with it. Should the new id have a row already (the bot was used there first), the old row's
    subscriptions and custom topics move to it and the old row goes. False: nothing to move.
    """
    moving = await get_chat(conn, old)
    if moving is None:
        return False
    existing = await get_chat(conn, new)
    if existing is None:
        await conn.execute(update(chats).where(chats.c.id == moving.id).values(chat_id=new.chat_id))
        return True
    taken = select(subscriptions.c.topic_id).where(subscriptions.c.chat_id == existing.id)
    await conn.execute(
        update(subscriptions)
        .where(subscriptions.c.chat_id == moving.id, subscriptions.c.topic_id.not_in(taken))
        .values(chat_id=existing.id)
    )
    await conn.execute(
        update(topics).where(topics.c.owner_chat_id == moving.id).values(owner_chat_id=existing.id)
    )
    await conn.execute(delete(chats).where(chats.c.id == moving.id))
    return True


async def count_subscriptions(conn: AsyncConnection, chat_pk: int) -> int:
    query = (
        select(func.count()).select_from(subscriptions).where(subscriptions.c.chat_id == chat_pk)
    )
    return int((await conn.execute(query)).scalar_one())


async def load_custom_topics(conn: AsyncConnection) -> list[Topic]:
    """Topics that chats created with /track, each with its owning chat."""
    rows = await conn.execute(
        select(topics, chats.c.platform, chats.c.chat_id.label("owner"))
        .join(chats, chats.c.id == topics.c.owner_chat_id)
        .where(~topics.c.builtin)
        .order_by(topics.c.created_at)
    )
    return [
        Topic(
            id=row.id,
            name=row.name,
            query=row.query,
            description=row.description,
            languages=tuple(row.languages),
            sources=tuple(row.sources),
            min_score=row.min_score,
            chat=ChatRef(Platform(row.platform), row.owner),
        )
        for row in rows
    ]


async def save_custom_topic(
    conn: AsyncConnection, topic: Topic, *, owner_chat_pk: int, now: datetime
) -> None:
    await conn.execute(
        topics.insert().values(
            id=topic.id,
            name=topic.name,
            query=topic.query,
            description=topic.description,
            languages=list(topic.languages),
            sources=list(topic.sources),
            min_score=topic.min_score,
            builtin=False,
            owner_chat_id=owner_chat_pk,
            created_at=now,
        )
    )


async def delete_custom_topic(conn: AsyncConnection, topic_id: str) -> None:
    await conn.execute(delete(subscriptions).where(subscriptions.c.topic_id == topic_id))
    await conn.execute(delete(topics).where(topics.c.id == topic_id, ~topics.c.builtin))
