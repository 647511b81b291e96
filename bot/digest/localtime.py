"""Wall-clock times in a chat's time zone, made into instants the same way everywhere.

Chats say "08:00" and mean their own clock; the store and the scheduler deal in UTC instants.
Two days a year a wall-clock time is not one instant, and the rules are:

- **Skipped** (spring forward: 02:30 in New York on the second Sunday of March does not exist):
  the first instant after the gap, i.e. 03:00 EDT. Several skipped times collapse onto that one
  instant, so a run due in the gap happens once, as soon as the clock allows.
- **Repeated** (fall back: 03:30 in Kyiv on the last Sunday of October happens twice): the first
  occurrence only (PEP 495 ``fold=0``); the repeat is not a new run.

Zones with 30- and 45-minute offsets (Asia/Kolkata, Asia/Kathmandu) need nothing special: the
arithmetic is on instants, never on hour numbers. Time zone names are IANA names, validated
against the tz database with a "did you mean" for near misses.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

__all__ = [
    "QuietHours",
    "format_clock",
    "format_local",
    "local_instant",
    "parse_clock",
    "resolve_zone",
    "suggest_zones",
    "zone",
]


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo of a name already validated (by ``resolve_zone``); cached by zoneinfo."""
    return ZoneInfo(name)


def local_instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """The UTC instant a chat means by ``wall`` on ``day``, by the rules in the module docstring."""
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz).astimezone(UTC)  # fold=0: the first of two repeated instants
    if (
        first.astimezone(tz).replace(tzinfo=None) == naive
    ):  # via UTC: a same-zone astimezone is a no-op
        return first
    return _end_of_gap(naive, tz)


def _end_of_gap(naive: datetime, tz: ZoneInfo) -> datetime:
    """The first instant after the gap that swallowed ``naive``.

    Read with the offset after the gap (fold=1) the wall time lands before the transition, read
    with the offset before it (fold=0) after it; the transition is found between them to the
    second (tz transitions fall on whole seconds).
    """
    before = int(naive.replace(tzinfo=tz, fold=1).timestamp())
    after = int(naive.replace(tzinfo=tz, fold=0).timestamp())
    new_offset = datetime.fromtimestamp(after, tz).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == new_offset:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def parse_clock(text: str) -> time | None:
    """``"08:00"`` or ``"8:00"`` → 08:00; None for anything else (24-hour clock, minutes)."""
    hours, colon, minutes = text.strip().partition(":")
    if not colon or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        return None
    if len(hours) > 2 or not (0 <= int(hours) <= 23 and 0 <= int(minutes) <= 59):
        return None
    return time(int(hours), int(minutes))


def format_clock(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def format_local(moment: datetime, zone_name: str) -> str:
    """``Tue 3 Mar 08:00``: an instant on the chat's clock."""
    local = moment.astimezone(zone(zone_name))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


@cache
def _zone_names() -> dict[str, str]:
    """Every IANA name, keyed by its lowercase form."""
    return {name.lower(): name for name in available_timezones()}


@cache
def _cities() -> dict[str, list[str]]:
    """Zone names keyed by their last part, lowercase: "kyiv" → ["Europe/Kyiv"]."""
    found: dict[str, list[str]] = {}
    for name in sorted(available_timezones()):
        found.setdefault(name.rsplit("/", 1)[-1].lower(), []).append(name)
    return found


def resolve_zone(text: str) -> str | None:
    """The IANA name ``text`` spells (any case, spaces for underscores), or None."""
    wanted = "_".join(text.strip().split()).lower()
    return _zone_names().get(wanted)


def suggest_zones(text: str, limit: int = 3) -> list[str]:
    """Zone names close to ``text``: the same city, else close spellings of the name or city."""
    wanted = "_".join(text.strip().split()).lower()
    city = wanted.rsplit("/", 1)[-1]
    if city in _cities():
        return _cities()[city][:limit]
    names = _zone_names()
    close = difflib.get_close_matches(wanted, list(names), n=limit, cutoff=0.6)
    if not close:
        cities = difflib.get_close_matches(city, list(_cities()), n=limit, cutoff=0.6)
        close = [_cities()[name][0].lower() for name in cities]
    return [names[name] for name in close]


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily stretch of wall-clock time when instant alerts wait; may run past midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """``"22:00-07:00"`` → QuietHours; None when it is not two different HH:MM times."""
        first, dash, second = text.replace("–", "-").partition("-")
        start, end = parse_clock(first), parse_clock(second)
        if not dash or start is None or end is None or start == end:
            return None
        return cls(start, end)

    @classmethod
    def from_minutes(cls, start: int, end: int) -> QuietHours:
        return cls(time(start // 60, start % 60), time(end // 60, end % 60))

    @property
    def minutes(self) -> tuple[int, int]:
        return self.start.hour * 60 + self.start.minute, self.end.hour * 60 + self.end.minute

    def __str__(self) -> str:
        return f"{format_clock(self.start)}–{format_clock(self.end)}"

    def ends_after(self, now: datetime, tz: ZoneInfo) -> datetime | None:
        """When the quiet period ``now`` falls in ends (UTC), or None when ``now`` is not quiet."""
        local = now.astimezone(tz)
        wall = local.time().replace(tzinfo=None)
        today = local.date()
        if self.start < self.end:
            inside = self.start <= wall < self.end
            end_day = today
        else:  # past midnight: 22:00-07:00
            inside = wall >= self.start or wall < self.end
            end_day = today + timedelta(days=1) if wall >= self.start else today
        if not inside:
            return None
        end = local_instant(end_day, self.end, tz)
        return end if end > now else None
