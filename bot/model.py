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
    "AlertKind",
    "ChatRef",
    "Digest",
    "DigestEntry",
    "DigestSection",
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


class AlertKind(StrEnum):
    """What an outbox message is. A renderer that meets a kind it does not know shows the
    message as plain text: ``title`` on the first line, then ``summary`` as written."""

    ALERT = "alert"
    DIGEST = "digest"


@dataclass(frozen=True, slots=True)
class Alert:
    """What a chat is told about one item for one topic; rendered per platform at send time.

    ``kind`` is ``"alert"`` for a story; a digest message has ``kind="digest"``, its content in
    ``digest``, and its plain-text rendering in ``summary`` for renderers that do not know it.
    """

    chat: ChatRef
    topic_id: str
    topic_name: str
    title: str
    summary: str
    links: tuple[str, ...]
    published: datetime | None
    why: tuple[str, ...] = field(default=())
    source_titles: tuple[str, ...] = field(default=())
    kind: str = AlertKind.ALERT
    digest: Digest | None = None


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One story in a digest: its headline, a one-line summary, links and independent sources."""

    rank: int
    title: str
    summary: str
    links: tuple[str, ...]
    sources: tuple[str, ...]  # names to show (a few)
    source_count: int = 1  # independent sources: distinct feeds
    published: datetime | None = None


@dataclass(frozen=True, slots=True)
class DigestSection:
    """The top stories of one topic; ``total`` counts every story found, shown or not.

    ``continued`` marks the rest of a section that began in the previous message."""

    topic_id: str
    topic_name: str
    total: int
    entries: tuple[DigestEntry, ...]
    continued: bool = False


@dataclass(frozen=True, slots=True)
class Digest:
    """One message of a digest: the stories matched in [``period_start``, ``period_end``).

    ``zone`` is the chat's IANA time zone, for showing times; ``late`` says it went out after
    downtime. A long digest is several messages, ``part`` of ``parts``, each under the platform's
    limits; ``stories`` and ``topics`` count the whole digest, not the part.
    """

    title: str
    period_start: datetime
    period_end: datetime
    zone: str
    stories: int
    topics: int
    sections: tuple[DigestSection, ...]
    late: bool = False
    part: int = 1
    parts: int = 1
