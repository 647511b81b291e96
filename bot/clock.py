"""The one source of "now": aware UTC, replaceable in tests."""

from datetime import UTC, datetime

__all__ = ["utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)
