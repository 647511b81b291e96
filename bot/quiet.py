"""Quiet hours: instant alerts queued while a chat sleeps wait until its quiet period ends.

Runs right after routing, in the ingest transaction: of the alerts just queued, those for a chat
inside its quiet hours (in the chat's time zone) are held until the period's end, unless one of
the topics the item matched for that chat is marked urgent. Digests are not touched: the chat
chose their time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.digest.localtime import QuietHours
from bot.route import MatchedItem
from bot.store import quiet as quiet_store
from bot.store.alerts import NewAlert

__all__ = ["hold_quiet_alerts"]

log = logging.getLogger(__name__)


async def hold_quiet_alerts(
    conn: AsyncConnection,
    queued: Sequence[NewAlert],
    matched: Sequence[MatchedItem],
    *,
    now: datetime,
) -> int:
    """Hold the just-queued alerts that fall in their chat's quiet hours; how many were held."""
    if not queued:
        return 0
    settings = await quiet_store.quiet_settings(conn, {new.chat_pk for new in queued})
    if not settings:
        return 0
    urgent = await quiet_store.urgent_topics_by_chat(conn, settings)
    topics_of = {entry.stored.id: {m.topic_id for m in entry.matches} for entry in matched}
    holds = []
    for new in queued:
        setting = settings.get(new.chat_pk)
        if setting is None:
            continue
        until = QuietHours.from_minutes(setting.start, setting.end).ends_after(
            now, _zone(setting.timezone)
        )
        topics = topics_of.get(new.item_id or -1, {new.alert.topic_id})
        if until is not None and not topics & urgent.get(new.chat_pk, set()):
            holds.append(quiet_store.Hold(new.chat_pk, new.story_key, until))
    return await quiet_store.hold_alerts(conn, holds, now=now)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r in the store; using UTC", name)
        return ZoneInfo("UTC")
