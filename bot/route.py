"""Route: matches × subscriptions → one alert per (chat, story).

A pure function: it takes the new items with their matches and the subscribers of the matched
topics, and returns the alerts to write to the outbox. When one item matches several topics a chat
follows, the chat still gets one alert, naming every topic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.model import Alert, Delivery, Item, Match, Topic
from bot.store.alerts import NewAlert
from bot.store.chats import Subscriber
from bot.store.items import StoredItem

__all__ = ["MatchedItem", "route", "story_key", "with_summaries"]

Summarizer = Callable[[Item, Match | None], str]


@dataclass(frozen=True, slots=True)
class MatchedItem:
    stored: StoredItem
    matches: tuple[Match, ...]
    story_id: str | None = None  # set by the story tracker; None where stories are off
    started_story: bool = False  # the item began its story: no alert for it can exist yet


def story_key(item: Item, story_id: str | None = None) -> str:
    """What makes two items the same story for a chat: their story, else the canonical URL,
    else the item key."""
    if story_id is not None:
        return f"story:{story_id}"
    return f"url:{item.url}" if item.url else f"key:{item.feed_url}#{item.key}"


def route(
    matched: Sequence[MatchedItem],
    subscribers: Mapping[str, Sequence[Subscriber]],
    topics: Mapping[str, Topic],
) -> list[NewAlert]:
    """The alerts, without summaries yet (``with_summaries``: only those that will be queued)."""
    alerts: list[NewAlert] = []
    for entry in matched:
        by_chat: dict[int, tuple[Subscriber, list[Match]]] = {}
        for match in entry.matches:
            for subscriber in subscribers.get(match.topic_id, ()):
                if subscriber.delivery == Delivery.DIGEST:
                    continue
                by_chat.setdefault(subscriber.chat_pk, (subscriber, []))[1].append(match)
        for subscriber, chat_matches in by_chat.values():
            alert = _build_alert(entry.stored.item, subscriber, chat_matches, topics)
            alerts.append(
                NewAlert(
                    subscriber.chat_pk,
                    entry.stored.id,
                    story_key(entry.stored.item, entry.story_id),
                    alert,
                )
            )
    return alerts


def with_summaries(
    new_alerts: Sequence[NewAlert], matched: Sequence[MatchedItem], summarize: Summarizer
) -> list[NewAlert]:
    """The alerts with their summaries: of the item's match for the alert's first topic.

    Written after the story checks, for the alerts that will be queued only: a report that
    adds its source to an alert the chat already has needs no summary.
    """
    reports: dict[tuple[int | None, str], tuple[Item, Match]] = {
        (e.stored.id, m.topic_id): (e.stored.item, m) for e in matched for m in e.matches
    }
    summarized = []
    for new in new_alerts:
        item, match = reports[new.item_id, new.alert.topic_id]
        summarized.append(replace(new, alert=replace(new.alert, summary=summarize(item, match))))
    return summarized


def _build_alert(
    item: Item,
    subscriber: Subscriber,
    matches: Sequence[Match],
    topics: Mapping[str, Topic],
) -> Alert:
    first = matches[0]
    names = [topics[m.topic_id].name if m.topic_id in topics else m.topic_id for m in matches]
    why = tuple(dict.fromkeys(term for match in matches for term in match.terms))
    return Alert(
        chat=subscriber.chat,
        topic_id=first.topic_id,
        topic_name=", ".join(names),
        title=item.title,
        summary="",
        links=(item.url,) if item.url else (),
        published=item.published,
        why=why,
        source_titles=(item.source_title,) if item.source_title else (),
    )
