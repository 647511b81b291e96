"""Digest schedules in every time zone: when they run, once, across DST; quiet hours; zones."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.digest.localtime import QuietHours, local_instant, resolve_zone, suggest_zones
from bot.digest.schedule import (
    Cadence,
    Schedule,
    ScheduleError,
    due_periods,
    next_run,
    parse_schedule,
    previous_run,
)
from bot.digest.scheduler import ScheduleTrigger

KYIV, NEW_YORK = "Europe/Kyiv", "America/New_York"
KOLKATA, KATHMANDU = "Asia/Kolkata", "Asia/Kathmandu"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily 08:00", Schedule(Cadence.DAILY, at=time(8, 0))),
        ("Daily 8:05", Schedule(Cadence.DAILY, at=time(8, 5))),
        ("weekdays 18:30", Schedule(Cadence.WEEKDAYS, at=time(18, 30))),
        ("weekly mon 09:00", Schedule(Cadence.WEEKLY, at=time(9, 0), weekday=0)),
        ("weekly Sunday 21:15", Schedule(Cadence.WEEKLY, at=time(21, 15), weekday=6)),
        ("every 6h", Schedule(Cadence.EVERY, hours=6)),
        ("every 1hour", Schedule(Cadence.EVERY, hours=1)),
    ],
)
def test_schedules_read_as_written_and_store_canonically(text: str, expected: Schedule) -> None:
    parsed = parse_schedule(text)
    assert parsed == expected
    assert parse_schedule(parsed.rule) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("daily", "Write daily HH:MM"),
        ("daily 25:00", "'25:00' is not a time"),
        ("daily 8am", "'8am' is not a time"),
        ("weekly funday 09:00", "'funday' is not a day"),
        ("weekly mon", "Write weekly DAY HH:MM"),
        ("every 5h", "every takes 1, 2, 3, 4, 6, 8, 12 or 24 hours"),
        ("hourly", "'hourly' is not a schedule"),
    ],
)
def test_a_bad_schedule_says_how_to_write_it(text: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(text)


# (rule, zone, after, the next run in UTC, what the chat's clock says then)
NEXT_RUNS = [
    # An ordinary day, and zones with 30- and 45-minute offsets.
    ("daily 08:00", KYIV, utc(2026, 3, 2, 0), utc(2026, 3, 2, 6), "08:00+02:00"),
    ("daily 08:00", KOLKATA, utc(2026, 3, 2, 0), utc(2026, 3, 2, 2, 30), "08:00+05:30"),
    ("daily 08:00", KATHMANDU, utc(2026, 3, 2, 0), utc(2026, 3, 2, 2, 15), "08:00+05:45"),
    ("daily 00:00", KATHMANDU, utc(2026, 3, 2, 0), utc(2026, 3, 2, 18, 15), "00:00+05:45"),
    # Kyiv, last Sunday of March (29 Mar 2026, 03:00 → 04:00): 08:00 is 05:00 UTC from that day.
    ("daily 08:00", KYIV, utc(2026, 3, 28, 6), utc(2026, 3, 29, 5), "08:00+03:00"),
    ("daily 08:00", KYIV, utc(2026, 3, 29, 5), utc(2026, 3, 30, 5), "08:00+03:00"),
    # Kyiv, last Sunday of October (25 Oct 2026, 04:00 → 03:00): back to 06:00 UTC.
    ("daily 08:00", KYIV, utc(2026, 10, 24, 5), utc(2026, 10, 25, 6), "08:00+02:00"),
    # 03:30 happens twice on 25 Oct in Kyiv: the first one, and not again.
    ("daily 03:30", KYIV, utc(2026, 10, 24, 12), utc(2026, 10, 25, 0, 30), "03:30+03:00"),
    ("daily 03:30", KYIV, utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30), "03:30+02:00"),
    # New York springs forward on 8 Mar 2026 (02:00 → 03:00): 02:30 does not exist that day and
    # runs when the gap ends, at 03:00 EDT; the next day it is 02:30 again.
    ("daily 02:30", NEW_YORK, utc(2026, 3, 7, 12), utc(2026, 3, 8, 7), "03:00-04:00"),
    ("daily 02:30", NEW_YORK, utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30), "02:30-04:00"),
    # New York falls back on 1 Nov 2026: 01:30 twice, run once at the first.
    ("daily 01:30", NEW_YORK, utc(2026, 10, 31, 12), utc(2026, 11, 1, 5, 30), "01:30-04:00"),
    ("daily 01:30", NEW_YORK, utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30), "01:30-05:00"),
    # Weekdays skip the weekend; weekly waits for its day.
    ("weekdays 18:30", NEW_YORK, utc(2026, 3, 6, 23, 31), utc(2026, 3, 9, 22, 30), "18:30-04:00"),
    ("weekly mon 09:00", KOLKATA, utc(2026, 3, 3), utc(2026, 3, 9, 3, 30), "09:00+05:30"),
    # Every 6 hours from local midnight, on a 45-minute offset.
    ("every 6h", KATHMANDU, utc(2026, 3, 2, 0), utc(2026, 3, 2, 0, 15), "06:00+05:45"),
    # Every hour through Kyiv's spring-forward: 03:00 does not exist, 04:00 follows 02:00 once.
    ("every 1h", KYIV, utc(2026, 3, 29, 0), utc(2026, 3, 29, 1), "04:00+03:00"),
    ("every 1h", KYIV, utc(2026, 3, 29, 1), utc(2026, 3, 29, 2), "05:00+03:00"),
    # … and through fall-back: 03:00 once, then 04:00 two hours later.
    ("every 1h", KYIV, utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 0), "03:00+03:00"),
    ("every 1h", KYIV, utc(2026, 10, 25, 0), utc(2026, 10, 25, 2), "04:00+02:00"),
]


@pytest.mark.parametrize(("rule", "zone", "after", "expected", "local"), NEXT_RUNS)
def test_next_run_on_the_chats_clock(
    rule: str, zone: str, after: datetime, expected: datetime, local: str
) -> None:
    schedule = parse_schedule(rule, zone)
    found = next_run(schedule, after)
    assert found == expected
    assert found.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")[11:] == local
    assert previous_run(schedule, found + timedelta(seconds=1)) == found


# Local days of DST changes: the daily period that ends that day is an hour short or long.
DST_DAYS = [
    (KYIV, date(2026, 3, 29), timedelta(hours=23)),
    (KYIV, date(2026, 10, 25), timedelta(hours=25)),
    (NEW_YORK, date(2026, 3, 8), timedelta(hours=23)),
    (NEW_YORK, date(2026, 11, 1), timedelta(hours=25)),
]


@pytest.mark.parametrize(("zone", "day", "length"), DST_DAYS)
def test_the_daily_period_of_a_dst_day_is_an_hour_short_or_long(
    zone: str, day: date, length: timedelta
) -> None:
    schedule = parse_schedule("daily 08:00", zone)
    midnight = local_instant(day, time(0, 0), ZoneInfo(zone))
    [period] = due_periods(schedule, midnight, midnight + timedelta(hours=20))
    assert period.end - period.start == length
    assert period.end.astimezone(ZoneInfo(zone)).hour == 8


RULES = ["daily 08:00", "daily 02:30", "daily 03:30", "weekdays 18:30", "weekly sun 03:00"]
RULES += ["every 1h", "every 6h", "every 24h"]
ZONES = [KYIV, NEW_YORK, KOLKATA, KATHMANDU, "UTC", "Australia/Lord_Howe"]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("rule", RULES)
def test_a_year_of_periods_tiles_time_with_each_run_once(rule: str, zone: str) -> None:
    schedule = parse_schedule(rule, zone)
    start, end = utc(2026, 1, 1), utc(2027, 1, 1)
    periods = due_periods(schedule, start, end)
    ends = [period.end for period in periods]
    assert ends == sorted(set(ends))  # strictly increasing: no run twice
    assert all(a.end == b.start for a, b in itertools.pairwise(periods))
    assert periods[0].start <= start < periods[0].end
    # Each whole local day has its runs, but for a wall time a clock change merged into another.
    tz = ZoneInfo(zone)
    per_day: dict[date, int] = {}
    for instant in ends:
        day = instant.astimezone(tz).date()
        per_day[day] = per_day.get(day, 0) + 1
    whole_days = sorted(per_day)[1:-1]
    missing = [len(schedule.wall_times(day)) - per_day[day] for day in whole_days]
    assert all(count >= 0 for count in missing)
    assert sum(missing) <= 1  # "every 1h": the hour that spring-forward skips


@pytest.mark.parametrize("zone", [KYIV, NEW_YORK, KOLKATA, KATHMANDU])
@pytest.mark.parametrize("rule", ["daily 08:00", "daily 02:30", "weekdays 18:30", "every 6h"])
def test_next_run_agrees_with_a_cron_trigger_except_on_clock_changes(rule: str, zone: str) -> None:
    """APScheduler's CronTrigger as an independent check on ordinary days; on clock-change days
    it fires a skipped time an hour late and a repeated time twice, which we do not."""
    schedule = parse_schedule(rule, zone)
    cron = _cron(schedule)
    tz = ZoneInfo(zone)
    moment = utc(2026, 1, 1)
    disagreements = []
    for _ in range(800):
        ours = next_run(schedule, moment)
        theirs = cron.get_next_fire_time(None, moment + timedelta(microseconds=1))
        if ours != theirs:
            disagreements.append(ours.astimezone(tz).date())
        moment = ours
    changes = {day for day in disagreements if _clock_changes(tz, day)}
    assert set(disagreements) == changes


def _cron(schedule: Schedule) -> CronTrigger:
    if schedule.cadence is Cadence.EVERY:
        return CronTrigger(hour=f"*/{schedule.hours}", minute=0, timezone=schedule.zone)
    days = "mon-fri" if schedule.cadence is Cadence.WEEKDAYS else None
    return CronTrigger(
        day_of_week=days, hour=schedule.at.hour, minute=schedule.at.minute, timezone=schedule.zone
    )


def _clock_changes(tz: ZoneInfo, day: date) -> bool:
    start = datetime.combine(day, time(0), tz)
    return start.utcoffset() != (start + timedelta(days=1)).astimezone(tz).utcoffset()


def test_due_periods_after_downtime_are_every_missed_run_oldest_first() -> None:
    schedule = parse_schedule("every 6h", KOLKATA)
    periods = due_periods(schedule, utc(2026, 3, 2, 0, 30), utc(2026, 3, 3, 1))
    assert [p.end for p in periods] == [
        utc(2026, 3, 2, 6, 30),
        utc(2026, 3, 2, 12, 30),
        utc(2026, 3, 2, 18, 30),
        utc(2026, 3, 3, 0, 30),
    ]
    assert due_periods(schedule, utc(2026, 3, 3, 0, 30), utc(2026, 3, 3, 1)) == []


def test_the_apscheduler_trigger_fires_at_the_schedules_runs_once_they_settle() -> None:
    trigger = ScheduleTrigger(parse_schedule("daily 02:30", NEW_YORK))
    settle = timedelta(seconds=30)
    first = trigger.get_next_fire_time(None, utc(2026, 3, 7, 12))
    assert first is not None
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    assert (first, second) == (utc(2026, 3, 8, 7) + settle, utc(2026, 3, 9, 6, 30) + settle)
    just_due = trigger.get_next_fire_time(None, utc(2026, 3, 9, 6, 30, 10))
    assert just_due == utc(2026, 3, 9, 6, 30) + settle  # started within the settle time


# -- quiet hours -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "zone", "now", "ends"),
    [
        ("22:00-07:00", KYIV, utc(2026, 3, 2, 21, 0), utc(2026, 3, 3, 5, 0)),  # 23:00 local
        ("22:00-07:00", KYIV, utc(2026, 3, 3, 2, 0), utc(2026, 3, 3, 5, 0)),  # 04:00 local
        ("22:00-07:00", KYIV, utc(2026, 3, 3, 5, 0), None),  # 07:00: over
        ("22:00-07:00", KYIV, utc(2026, 3, 2, 12, 0), None),  # 14:00
        ("13:00-14:00", KOLKATA, utc(2026, 3, 2, 7, 45), utc(2026, 3, 2, 8, 30)),
        # The night of Kyiv's spring-forward ends at 07:00 EEST, an hour "earlier" in UTC.
        ("22:00-07:00", KYIV, utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 4, 0)),
        # Quiet until 02:30 on New York's spring-forward night: ends when the gap does.
        ("23:00-02:30", NEW_YORK, utc(2026, 3, 8, 5, 0), utc(2026, 3, 8, 7, 0)),
    ],
)
def test_quiet_hours_end_on_the_chats_clock(
    hours: str, zone: str, now: datetime, ends: datetime | None
) -> None:
    quiet = QuietHours.parse(hours)
    assert quiet is not None
    assert quiet.ends_after(now, ZoneInfo(zone)) == ends


@pytest.mark.parametrize("text", ["22:00", "22:00-22:00", "25:00-07:00", "night"])
def test_quiet_hours_need_two_different_times(text: str) -> None:
    assert QuietHours.parse(text) is None


# -- time zones --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("Europe/Kyiv", KYIV),
        ("europe/kyiv", KYIV),
        ("America/New York", NEW_YORK),
        ("utc", "UTC"),
        ("Kyiv", None),
        ("Europe/Kiyv", None),
        ("+03:00", None),
    ],
)
def test_time_zones_are_iana_names_in_any_case(text: str, zone: str | None) -> None:
    assert resolve_zone(text) == zone


@pytest.mark.parametrize(
    ("text", "suggested"),
    [
        ("Kyiv", "Europe/Kyiv"),
        ("Europe/Kiyv", "Europe/Kyiv"),
        ("Kathmandoo", "Asia/Kathmandu"),
        ("America/NewYork", NEW_YORK),
    ],
)
def test_a_misspelt_zone_gets_a_did_you_mean(text: str, suggested: str) -> None:
    assert suggested in suggest_zones(text)
