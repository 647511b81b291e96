"""The schema: every durable fact Wirewatch keeps, as SQLAlchemy Core tables.

Uniqueness constraints carry the guarantees, so they hold across restarts and across instances:
an item is stored once per (feed, key); an alert exists once per (chat, story); a chat subscribes
to a topic once. Times are stored as timezone-aware UTC on every backend.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

__all__ = [
    "alerts",
    "articles",
    "chats",
    "digest_runs",
    "digest_schedules",
    "feeds",
    "items",
    "matches",
    "metadata",
    "subscriptions",
    "topics",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

feeds = Table(
    "feeds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("title", Text),
    Column("interval", Integer),
    Column("fulltext", Boolean, nullable=False, default=False),
    Column("origin", String(16), nullable=False, default="config"),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("next_check_at", UTCDateTime, nullable=False),
    Column("last_checked_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_new_item_at", UTCDateTime),
    Column("last_status", Integer),
    Column("error_count", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("failure_notified", Boolean, nullable=False, default=False),
    Column("added_by", Integer, ForeignKey("chats.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_feeds_next_check_at", "next_check_at"),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("key", Text, nullable=False),
    Column("url", Text),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("published", UTCDateTime),
    Column("language", String(16)),
    Column("author", Text),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("story_id", Text),  # the story cluster (bot/stories), set when the item matched a topic
    UniqueConstraint("feed_id", "key", name="uq_items_feed_key"),
    Index("ix_items_feed_url", "feed_id", "url"),
    Index("ix_items_fetched_at", "fetched_at"),
    Index("ix_items_story_id", "story_id"),
)

# Article pages fetched for full text (feeds with ``fulltext``), cached per canonical URL so a
# page is fetched once however many feeds and items link it. ``text`` is null when it failed.
articles = Table(
    "articles",
    metadata,
    Column("url", Text, primary_key=True),
    Column("text", Text),
    Column("error", Text),
    Column("fetched_at", UTCDateTime, nullable=False),
    Index("ix_articles_fetched_at", "fetched_at"),
)

topics = Table(
    "topics",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("query", Text, nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("languages", JSON, nullable=False, default=list),
    Column("sources", JSON, nullable=False, default=list),
    Column("min_score", Float, nullable=False, default=0.0),
    Column("builtin", Boolean, nullable=False, default=False),
    Column("owner_chat_id", Integer, ForeignKey("chats.id", ondelete="CASCADE")),
    Column("created_at", UTCDateTime, nullable=False),
)

chats = Table(
    "chats",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("chat_id", String(64), nullable=False),
    Column("title", Text),
    Column("kind", String(16), nullable=False, default="private"),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("paused", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Quiet hours, minutes after local midnight in ``timezone``; both null when there are none.
    Column("quiet_start", Integer),
    Column("quiet_end", Integer),
    UniqueConstraint("platform", "chat_id", name="uq_chats_platform_chat"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", Integer, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("topic_id", String(64), nullable=False),
    Column("delivery", String(16), nullable=False, default="instant"),
    Column("muted_until", UTCDateTime),
    Column("urgent", Boolean, nullable=False, default=False),  # goes through quiet hours
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("chat_id", "topic_id", name="uq_subscriptions_chat_topic"),
    Index("ix_subscriptions_topic", "topic_id"),
)

# Every (item, topic) match, kept for digests and story ranking.
matches = Table(
    "matches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("topic_id", String(64), nullable=False),
    Column("score", Float, nullable=False, default=1.0),
    Column("terms", JSON, nullable=False, default=list),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("item_id", "topic_id", name="uq_matches_item_topic"),
    Index("ix_matches_topic_created", "topic_id", "created_at"),
)

# The outbox. A row is written in the same transaction that records its item, before any send;
# ``story_key`` (canonical URL or item key) is unique per chat so a story reaches a chat once.
# Notices (a feed that keeps failing) travel the same way, with no item.
alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", Integer, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE")),
    Column("topic_id", String(64), nullable=False),
    Column("story_key", Text, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("message_id", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    # An edit of the message sent for alert ``edit_of`` (more sources joined its story); its
    # ``story_key`` is the original's plus "#edit", so a story has at most one edit waiting.
    Column("edit_of", Integer, ForeignKey("alerts.id", ondelete="CASCADE")),
    UniqueConstraint("chat_id", "story_key", name="uq_alerts_chat_story"),
    Index("ix_alerts_status_next", "status", "next_attempt_at"),
)

# A chat's digest schedule. A row never changes: a new rule or time zone is a new row with a new
# id, never one used before (AUTOINCREMENT on SQLite, which would otherwise reuse the id of a
# deleted last row), so a (schedule, period start) pair names one digest for good.
digest_schedules = Table(
    "digest_schedules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", Integer, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("rule", String(64), nullable=False),  # "daily 08:00", "weekly mon 09:00", "every 6h"
    Column("timezone", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("chat_id", name="uq_digest_schedules_chat"),
    sqlite_autoincrement=True,
)

# Every digest period dealt with: claimed in the transaction that queues its messages, so a
# period is sent once. ``schedule_id`` is null for "digest now"; it has no foreign key because a
# run outlives the schedule it came from. ``status``: sent, empty, skipped.
digest_runs = Table(
    "digest_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chat_id", Integer, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("schedule_id", Integer),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("late", Boolean, nullable=False, default=False),
    Column("stories", Integer, nullable=False, default=0),
    Column("messages", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("schedule_id", "period_start", name="uq_digest_runs_schedule_period"),
    Index("ix_digest_runs_chat_end", "chat_id", "period_end"),
)
