"""Domain types shared by every stage of the pipeline.

They are plain frozen dataclasses: stages pass them along and never mutate them, so a stage can be
tested with literals and no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = [
    "Alert",
    "ChatRef",
    "Feed",
    "Hit",
    "Item",
    "Match",
    "Subscription",
    "Topic",
]


@dataclass(frozen=True, slots=True)
class Feed:
    """A source we poll. ``interval`` overrides the polling default when set (seconds)."""

    url: str
    title: str | None = None
    interval: int | None = None
    fulltext: bool = False


@dataclass(frozen=True, slots=True)
class Item:
    """One normalized feed entry.

    ``key`` is stable across polls: the entry's guid when it has one, else its canonical link,
    else a hash of title and summary. ``url`` is the canonical link (tracking parameters removed).
    ``title`` and ``summary`` are plain text; ``published`` is timezone-aware UTC.
    """

    feed_url: str
    key: str
    title: str
    summary: str = ""
    url: str | None = None
    published: datetime | None = None
    language: str | None = None
    author: str | None = None
    source_title: str | None = None


@dataclass(frozen=True, slots=True)
class Topic:
    """A tracked subject: a boolean query over item text.

    ``chat`` is ``None`` for built-in topics and names the owning chat for custom ones.
    """

    id: str
    name: str
    query: str
    description: str = ""
    languages: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    min_score: float = 0.0
    chat: ChatRef | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """Where one query term matched: the field, character offsets in the original text, the term."""

    field: str
    start: int
    end: int
    term: str


@dataclass(frozen=True, slots=True)
class Match:
    """A topic that matched an item, with the evidence, so alerts can say *why*."""

    topic_id: str
    hits: tuple[Hit, ...] = ()
    score: float = 1.0

    @property
    def terms(self) -> tuple[str, ...]:
        """Distinct matched terms in order of first appearance."""
        return tuple(dict.fromkeys(hit.term for hit in self.hits))


class Platform(StrEnum):
    CONSOLE = "console"
    TELEGRAM = "telegram"
    SLACK = "slack"


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A chat on one platform: Telegram chat id, Slack channel id, or the console."""

    platform: Platform
    chat_id: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.chat_id}"


class Delivery(StrEnum):
    INSTANT = "instant"
    DIGEST = "digest"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class Subscription:
    chat: ChatRef
    topic_id: str
    delivery: Delivery = Delivery.INSTANT


@dataclass(frozen=True, slots=True)
class Alert:
    """What a chat is told about one item for one topic; rendered per platform at send time."""

    chat: ChatRef
    topic_id: str
    topic_name: str
    title: str
    summary: str
    links: tuple[str, ...]
    published: datetime | None
    why: tuple[str, ...] = field(default=())
    source_titles: tuple[str, ...] = field(default=())
