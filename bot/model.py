"""Domain types shared by every stage of the pipeline.

They are plain frozen dataclasses (``Match`` an immutable class of its own, whose hits are built
when first read): stages pass them along and never mutate them, so a stage can be tested with
literals and no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

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

E = TypeVar("E")  # what a deferred match builds its hits from


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


class Match:
    """A topic that matched an item, with the evidence, so alerts can say *why*.

    Immutable, compared and hashed by ``(topic_id, hits, score)`` like the other types here. The
    matcher hands its hits over unbuilt (``deferred``): most matches are only counted and stored,
    and making a ``Hit`` per occurrence cost as much as finding the topic. They are built on first
    access to ``hits`` or ``terms``, once.
    """

    __slots__ = ("_hits", "_pending", "score", "topic_id")
    __match_args__ = ("topic_id", "hits", "score")

    topic_id: str
    score: float
    _hits: tuple[Hit, ...] | None
    _pending: tuple[Callable[[Any], tuple[Hit, ...]], Any] | None  # (build, evidence)

    def __init__(self, topic_id: str, hits: tuple[Hit, ...] = (), score: float = 1.0) -> None:
        _set_topic_id(self, topic_id)
        _set_score(self, score)
        _set_hits(self, hits)
        _set_pending(self, None)

    @classmethod
    def deferred(
        cls, topic_id: str, score: float, build: Callable[[E], tuple[Hit, ...]], evidence: E
    ) -> Match:
        """A match whose hits are ``build(evidence)``, made when first asked for."""
        match = object.__new__(cls)
        _set_topic_id(match, topic_id)
        _set_score(match, score)
        _set_hits(match, None)
        _set_pending(match, (build, evidence))
        return match

    @property
    def hits(self) -> tuple[Hit, ...]:
        """Where each query term matched, in text order, title first."""
        hits = self._hits
        if hits is None:
            assert self._pending is not None
            build, evidence = self._pending
            hits = build(evidence)
            _set_hits(self, hits)
            _set_pending(self, None)  # lets go of the item's text
        return hits

    @property
    def terms(self) -> tuple[str, ...]:
        """Distinct matched terms in order of first appearance."""
        return tuple(dict.fromkeys(hit.term for hit in self.hits))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a Match is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a Match is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Match):
            return NotImplemented
        return (self.topic_id, self.hits, self.score) == (other.topic_id, other.hits, other.score)

    def __hash__(self) -> int:
        return hash((self.topic_id, self.hits, self.score))

    def __repr__(self) -> str:
        return f"Match(topic_id={self.topic_id!r}, hits={self.hits!r}, score={self.score!r})"

    def __reduce__(self) -> tuple[type[Match], tuple[str, tuple[Hit, ...], float]]:
        return (Match, (self.topic_id, self.hits, self.score))


def _slot_setter(name: str) -> Callable[[Match, Any], None]:
    """Sets a slot of a ``Match`` past its ``__setattr__``, for its own constructors."""
    setter: Callable[[Match, Any], None] = getattr(Match, name).__set__
    return setter


_set_topic_id = _slot_setter("topic_id")
_set_score = _slot_setter("score")
_set_hits = _slot_setter("_hits")
_set_pending = _slot_setter("_pending")


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
