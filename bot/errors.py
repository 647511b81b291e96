"""One small exception hierarchy whose messages a person can act on.

Every error the bot shows to a user or writes to a feed's ``last_error`` is one of these; the
message is the whole explanation ("HTTP 410 Gone: feed retired"), never a traceback.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DeliveryError",
    "FeedError",
    "QueryError",
    "UnsafeURLError",
    "WirewatchError",
]


class WirewatchError(Exception):
    """Base of every error Wirewatch raises on purpose."""


class ConfigError(WirewatchError):
    """A setting, topic or feed in the configuration is invalid."""


class FeedError(WirewatchError):
    """A feed could not be fetched or parsed; the message is stored on the feed.

    ``retry_after`` (seconds) is set when the server asked us to come back later.
    ``permanent`` marks answers such as 410 Gone that will not heal by retrying.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class UnsafeURLError(FeedError):
    """A URL points at a private, loopback, link-local or otherwise forbidden address or scheme."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


class QueryError(WirewatchError):
    """A topic query is malformed; ``position`` is the 1-based column of the problem."""

    def __init__(self, message: str, position: int | None = None) -> None:
        where = f" at column {position}" if position is not None else ""
        super().__init__(f"{message}{where}")
        self.position = position


class DeliveryError(WirewatchError):
    """A chat platform refused or failed a send.

    ``permanent`` failures stop retries; ``chat_gone`` (bot blocked or removed, chat deleted or
    archived) also stops the chat's subscriptions until it comes back; ``retry_after`` honours
    the platform's rate-limit answer.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        chat_gone: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent or chat_gone
        self.retry_after = retry_after
        self.chat_gone = chat_gone
