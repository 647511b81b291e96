"""Quiet hours: instant alerts queued while a chat sleeps wait until its quiet period ends.

Decided right after routing, in the ingest transaction, from what the subscriber query already
read (``Subscriber.quiet``, ``Subscriber.urgent``): an alert for a chat inside its quiet hours
(in the chat's time zone) is queued **held** until the period's end, unless one of the topics
the item matched for that chat is marked urgent. Digests are not touched: the chat chose their
time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.digest.localtime import QuietHours
from bot.route import MatchedItem
from bot.store.alerts import NewAlert
from bot.store.chats import Subscriber
from bot.store.quiet import QuietSetting

__all__ = ["hold_in_quiet_hours"]

log = logging.getLogger(__name__)


def hold_in_quiet_hours(
    new_alerts: Sequence[NewAlert],
    matched: Sequence[MatchedItem],
    subscribers: Mapping[str, Sequence[Subscriber]],
    *,
    now: datetime,
) -> list[NewAlert]:
    """The alerts, those that fall in their chat's quiet hours marked held until it ends."""
    quiet: dict[int, QuietSetting] = {}
    urgent: set[tuple[int, str]] = set()  # (chat, topic)
    for topic_id, chats in subscribers.items():
        for subscriber in chats:
            if subscriber.quiet is not None:
                quiet[subscriber.chat_pk] = subscriber.quiet
                if subscriber.urgent:
                    urgent.add((subscriber.chat_pk, topic_id))
    if not quiet:
        return list(new_alerts)
    topics_of = {entry.stored.id: [m.topic_id for m in entry.matches] for entry in matched}
    ends: dict[int, datetime | None] = {}
    held = []
    for new in new_alerts:
        setting = quiet.get(new.chat_pk)
        if setting is not None and new.chat_pk not in ends:
            ends[new.chat_pk] = QuietHours.from_minutes(setting.start, setting.end).ends_after(
                now, _zone(setting.timezone)
            )
        until = ends.get(new.chat_pk)
        topics = topics_of.get(new.item_id or -1, [new.alert.topic_id])
        if until is not None and not any((new.chat_pk, topic) in urgent for topic in topics):
            new = replace(new, held_until=until)
        held.append(new)
    return held


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r in the store; using UTC", name)
        return ZoneInfo("UTC")
