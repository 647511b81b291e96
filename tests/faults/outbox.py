"""Alerts for the fault tests: numbered, queued in the outbox the way the pipeline queues them.

Each alert's title is ``"Story <n> for <chat>"``, so what a fake recorded can be read back into
the queue order it came from (``story_numbers``) and checked for losses, duplicates and order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import utcnow
from bot.model import Alert, ChatRef, Platform
from bot.store import alerts as outbox
from bot.store import chats as chat_store

ARTICLE = "https://news.example/2026/03/01/story"
_NUMBER = re.compile(r"Story (\d+) for ")


def numbered_alert(chat: ChatRef, number: int) -> Alert:
    return Alert(
        chat=chat,
        topic_id="faults",
        topic_name="Faults",
        title=f"Story {number} for {chat.chat_id}",
        summary="Buses left the city at dawn.",
        links=(f"{ARTICLE}/{number}",),
        published=datetime(2026, 3, 1, 12, 5, tzinfo=UTC),
    )


def round_robin(chats: Sequence[ChatRef], total: int) -> list[Alert]:
    """``total`` alerts spread over ``chats`` in turn, numbered in queue order per chat."""
    return [numbered_alert(chats[n % len(chats)], n // len(chats)) for n in range(total)]


async def queue_alerts(engine: AsyncEngine, alerts: Iterable[Alert]) -> int:
    """Write the alerts to the outbox, one story each, as routing does; returns how many."""
    now = utcnow()
    async with engine.begin() as conn:
        new = [
            outbox.NewAlert(
                await chat_store.ensure_chat(conn, alert.chat, now=now),
                None,
                f"story-{alert.chat.chat_id}-{alert.title}",
                alert,
            )
            for alert in alerts
        ]
        return await outbox.enqueue_alerts(conn, new, now=now)


def story_numbers(texts: Iterable[str | None]) -> list[int]:
    """The story numbers in messages as a chat received them, in the order received."""
    return [int(match.group(1)) for text in texts if text and (match := _NUMBER.search(text))]


def telegram_chats(ids: Iterable[int]) -> list[ChatRef]:
    return [ChatRef(Platform.TELEGRAM, str(chat_id)) for chat_id in ids]
