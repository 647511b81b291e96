"""Digest schedules as pure functions of time: when a digest is due, and which period it covers.

A schedule is a rule in a chat's time zone:

======================  ====================================================================
``daily 08:00``         every day at 08:00 local time
``weekdays 18:30``      Monday to Friday at 18:30
``weekly mon 09:00``    once a week
``every 6h``            at local midnight and every 6 hours after it (00:00, 06:00, 12:00,
                        18:00); the hours divide 24, so runs fall at the same times each day
======================  ====================================================================

Each run closes a **period**: from the previous run of the same schedule to this one, so periods
tile time with no gap and no overlap, whatever the clocks did (a daily period is 23 hours on the
spring-forward day and 25 on the fall-back day). Wall-clock times become instants through
``local_instant``: a skipped time runs at the end of the gap, a repeated time runs once, at its
first occurrence.

``next_run(schedule, after)`` and ``due_periods(schedule, since, until)`` are the whole truth; the
APScheduler trigger (``bot/digest/scheduler.py``) only asks ``next_run`` when to wake up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from bot.digest.localtime import format_clock, local_instant, parse_clock, zone
from bot.errors import WirewatchError

__all__ = [
    "EVERY_HOURS",
    "WEEKDAYS",
    "Cadence",
    "Period",
    "Schedule",
    "ScheduleError",
    "due_periods",
    "next_run",
    "parse_schedule",
    "previous_run",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
EVERY_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)
# Local days looked at around an instant: a weekly rule has a run within any 7 of them, and one
# more on each side covers offsets of up to a day between the zone and UTC.
_SEARCH_DAYS = 9


class ScheduleError(WirewatchError):
    """A schedule a chat typed cannot be understood; the message says how to write it."""


class Cadence(StrEnum):
    DAILY = "daily"
    WEEKDAYS = "weekdays"
    WEEKLY = "weekly"
    EVERY = "every"


@dataclass(frozen=True, slots=True)
class Schedule:
    """A digest rule and the IANA zone its wall-clock times are read in."""

    cadence: Cadence
    zone: str = "UTC"
    at: time = time(0, 0)  # daily, weekdays, weekly
    weekday: int = 0  # weekly: 0 is Monday
    hours: int = 24  # every

    @property
    def rule(self) -> str:
        """The canonical text, as stored: ``parse_schedule(s.rule, s.zone) == s``."""
        if self.cadence is Cadence.EVERY:
            return f"every {self.hours}h"
        if self.cadence is Cadence.WEEKLY:
            return f"weekly {WEEKDAYS[self.weekday]} {format_clock(self.at)}"
        return f"{self.cadence} {format_clock(self.at)}"

    def describe(self) -> str:
        """For people: "daily at 08:00", "every 6 hours (00:00, 06:00, 12:00, 18:00)"."""
        if self.cadence is Cadence.EVERY:
            if self.hours == 24:
                return "every day at 00:00"
            times = [f"{hour:02d}:00" for hour in range(0, 24, self.hours)]
            shown = ", ".join(times[:4]) + (", …" if len(times) > 4 else "")
            unit = "hour" if self.hours == 1 else f"{self.hours} hours"
            return f"every {unit} ({shown})"
        if self.cadence is Cadence.WEEKLY:
            return f"every {DAY_NAMES[self.weekday]} at {format_clock(self.at)}"
        if self.cadence is Cadence.WEEKDAYS:
            return f"on weekdays at {format_clock(self.at)}"
        return f"daily at {format_clock(self.at)}"

    @property
    def title(self) -> str:
        """The digest's name in its header."""
        if self.cadence is Cadence.EVERY:
            return "Daily digest" if self.hours == 24 else f"{self.hours}-hourly digest"
        return {
            Cadence.DAILY: "Daily digest",
            Cadence.WEEKDAYS: "Daily digest",
            Cadence.WEEKLY: "Weekly digest",
        }[self.cadence]

    def wall_times(self, day: date) -> list[time]:
        """The local times this schedule runs at on ``day`` (maybe none)."""
        if self.cadence is Cadence.EVERY:
            return [time(hour, 0) for hour in range(0, 24, self.hours)]
        if self.cadence is Cadence.WEEKDAYS and day.weekday() >= 5:
            return []
        if self.cadence is Cadence.WEEKLY and day.weekday() != self.weekday:
            return []
        return [self.at]


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """[start, end): what one run covers; ``end`` is the run's instant."""

    start: datetime
    end: datetime


USAGE = "daily HH:MM, weekdays HH:MM, weekly DAY HH:MM or every Nh"


def parse_schedule(text: str, zone_name: str = "UTC") -> Schedule:
    """``"weekly mon 09:00"`` → Schedule; raises ``ScheduleError`` saying what is wrong."""
    words = text.lower().split()
    if not words:
        raise ScheduleError(f"Say when: {USAGE}.")
    cadence, arguments = words[0], words[1:]
    if cadence in ("daily", "weekdays"):
        if len(arguments) != 1:
            raise ScheduleError(f"Write {cadence} HH:MM, e.g. {cadence} 08:00.")
        return Schedule(Cadence(cadence), zone_name, at=_clock(arguments[0]))
    if cadence == "weekly":
        if len(arguments) != 2:
            raise ScheduleError("Write weekly DAY HH:MM, e.g. weekly mon 09:00.")
        return Schedule(
            Cadence.WEEKLY, zone_name, at=_clock(arguments[1]), weekday=_weekday(arguments[0])
        )
    if cadence == "every":
        if len(arguments) != 1:
            raise ScheduleError("Write every Nh, e.g. every 6h.")
        return Schedule(Cadence.EVERY, zone_name, hours=_hours(arguments[0]))
    raise ScheduleError(f"'{words[0]}' is not a schedule: use {USAGE}.")


def _clock(text: str) -> time:
    parsed = parse_clock(text)
    if parsed is None:
        raise ScheduleError(f"'{text}' is not a time: use HH:MM on a 24-hour clock, e.g. 08:00.")
    return parsed


def _weekday(text: str) -> int:
    for index, name in enumerate(WEEKDAYS):
        if text[:3] == name and DAY_NAMES[index].lower().startswith(text):
            return index
    raise ScheduleError(f"'{text}' is not a day: use {', '.join(WEEKDAYS)}.")


def _hours(text: str) -> int:
    number = text.removesuffix("hours").removesuffix("hour").removesuffix("h")
    if number.isdigit() and int(number) in EVERY_HOURS:
        return int(number)
    allowed = ", ".join(map(str, EVERY_HOURS[:-1])) + f" or {EVERY_HOURS[-1]}"
    raise ScheduleError(
        f"'{text}' does not work: every takes {allowed} hours, so runs fall at the same"
        " times each day (e.g. every 6h)."
    )


def next_run(schedule: Schedule, after: datetime) -> datetime:
    """The first run strictly after ``after`` (aware; the result is UTC)."""
    return min(instant for instant in _instants_near(schedule, after) if instant > after)


def previous_run(schedule: Schedule, before: datetime) -> datetime:
    """The last run strictly before ``before``."""
    return max(instant for instant in _instants_near(schedule, before) if instant < before)


def due_periods(schedule: Schedule, since: datetime, until: datetime) -> list[Period]:
    """Every run in (``since``, ``until``], oldest first, each with the period it closes."""
    if until <= since:
        return []
    tz = zone(schedule.zone)
    first_day = since.astimezone(tz).date() - timedelta(days=_SEARCH_DAYS)
    last_day = until.astimezone(tz).date() + timedelta(days=1)
    instants = _instants(schedule, first_day, last_day)
    return [
        Period(instants[index - 1], instant)
        for index, instant in enumerate(instants)
        if index > 0 and since < instant <= until
    ]


def _instants_near(schedule: Schedule, moment: datetime) -> list[datetime]:
    day = moment.astimezone(zone(schedule.zone)).date()
    span = timedelta(days=_SEARCH_DAYS)
    return _instants(schedule, day - span, day + span)


def _instants(schedule: Schedule, first_day: date, last_day: date) -> list[datetime]:
    """Every run on the local days from ``first_day`` to ``last_day``, sorted, each once."""
    tz = zone(schedule.zone)
    found: set[datetime] = set()
    day = first_day
    while day <= last_day:
        found.update(local_instant(day, wall, tz) for wall in schedule.wall_times(day))
        day += timedelta(days=1)
    return sorted(found)
