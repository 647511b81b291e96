"""When a failing feed is retired: only for failures that will not heal by waiting.

The same 410 Gone or guard refusal 3 times in a row, or 404 Not Found 30 times in a row with no
success for 7 days. Transient failures (5xx, 429, timeouts, connection errors, unparsable
documents) back off in the poller and never retire a feed. A streak is the same reason poll
after poll: the reason leads the feed's ``last_error`` (``failure_message``), which is how the
next failure knows it repeats (``repeats``); anything else in between starts a new streak.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.errors import FeedError
from bot.feeds.fetch import HTTPStatusError
from bot.store.feeds import FeedRow

__all__ = ["Retirement", "failure_message", "repeats", "retirement_for"]


@dataclass(frozen=True, slots=True)
class Retirement:
    """When a repeated failure retires a feed: ``after`` times in a row, and no successful poll
    for at least ``lasting`` (so a short poll interval cannot retire a feed within minutes)."""

    after: int
    lasting: timedelta = timedelta(0)

    def reached(self, times: int, *, last_success: datetime, now: datetime) -> bool:
        return times >= self.after and now - last_success >= self.lasting


GONE = Retirement(after=3)  # 410 Gone, a refused address: the publisher's (or the guard's) word
NOT_FOUND = Retirement(after=30, lasting=timedelta(days=7))  # a 404 may be a botched deploy


def retirement_for(error: FeedError) -> Retirement | None:
    """The rule that retires a feed failing this way, or ``None``: transient, never retired."""
    if error.permanent:
        return GONE
    if isinstance(error, HTTPStatusError) and error.status == 404:
        return NOT_FOUND
    return None


def repeats(feed: FeedRow, reason: str) -> bool:
    """True when the feed's previous poll failed for this same reason.

    ``failure_message`` writes the reason first, so the previous record begins with it exactly
    when the previous poll failed the same way; anything else in between starts a new streak.
    """
    return bool(feed.error_count) and (feed.last_error or "").startswith(reason)


def failure_message(
    reason: str, errors: int, retirement: Retirement | None, *, retire: bool
) -> str:
    """The feed's ``last_error``: "HTTP 410 Gone (3 times): feed retired" once it is retired.

    A failure that can retire the feed says how close it is; fetch's own ": feed retired" (a
    410 read on its own, as ``wirewatch check-feed`` shows it) is dropped by the caller, since
    until the last time the feed is still polled.
    """
    if retirement is None:
        return reason
    if retire:
        return f"{reason} ({errors} times): feed retired"
    if errors < retirement.after:
        return f"{reason} ({errors} of {retirement.after} before the feed is retired)"
    days = retirement.lasting.days
    return f"{reason} ({errors} times; the feed is retired once it has failed for {days} days)"
