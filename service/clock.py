"""The regulated clock (service.md): when a limit of N working days, working hours or minutes that
started at an instant ends, and how much of it a span of time used.

Each unit counts some minutes and not others:
- `working_days`: every minute of a working day (00:00-24:00, Asia/Shanghai), and the clock starts
  at the end of the day it started on (自受理之日起: that day is not counted), so N working days
  started on day D end at 24:00 of the Nth working day after D;
- `working_hours`: 08:30-12:00 and 14:00-17:30 of working days;
- `minutes`: every minute, day and night.

A working day is a weekday that is not a holiday, or a weekend day marked `makeup_workday` in the
work calendar (调休). A date in a year the calendar has not loaded falls back to Monday to Friday,
and whatever it touched says `calendar_missing`.

Everything here is pure: the calendar is read once (`calendar_for`) and passed in."""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Shanghai")
DAY_MINUTES = 24 * 60
# 08:30-12:00 and 14:00-17:30, as minutes of the day
WORKING_HOURS = ((8 * 60 + 30, 12 * 60), (14 * 60, 17 * 60 + 30))
MINUTES_PER_UNIT = {"working_days": DAY_MINUTES, "working_hours": 60, "minutes": 1}
WARNING_SHARE = 0.8  # a clock is at warning once 80 % of its limit is used


@dataclass(frozen=True)
class Calendar:
    holidays: frozenset[dt.date]
    makeup_workdays: frozenset[dt.date]
    years: frozenset[int]  # the years loaded

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.makeup_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def knows(self, day: dt.date) -> bool:
        return day.year in self.years


def calendar_for(years=None) -> Calendar:
    """The work calendar of `years` (every year when None) in two queries."""
    from service.models import CalendarDay, CalendarYear, DayKind

    days = CalendarDay.objects.all()
    loaded = CalendarYear.objects.all()
    if years is not None:
        years = sorted(set(years))
        if not years:
            return Calendar(frozenset(), frozenset(), frozenset())
        # a range of dates uses the date's unique index; `date__year__in` would extract per row
        days = days.filter(date__range=(dt.date(years[0], 1, 1), dt.date(years[-1], 12, 31)))
        loaded = loaded.filter(year__in=years)
    holidays, makeup = set(), set()
    for date, kind in days.values_list("date", "kind"):
        (makeup if kind == DayKind.MAKEUP_WORKDAY else holidays).add(date)
    return Calendar(frozenset(holidays), frozenset(makeup), frozenset(loaded.values_list("year", flat=True)))


def _windows(calendar: Calendar, day: dt.date, unit: str) -> tuple[tuple[int, int], ...]:
    """The counted minutes of `day` as (from, to) minutes of the day."""
    if unit == "minutes":
        return ((0, DAY_MINUTES),)
    if not calendar.is_working_day(day):
        return ()
    return ((0, DAY_MINUTES),) if unit == "working_days" else WORKING_HOURS


def _local(at: dt.datetime) -> dt.datetime:
    return at.astimezone(LOCAL)


def _at(day: dt.date, minute: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=LOCAL) + dt.timedelta(minutes=minute)


def clock_start(at: dt.datetime, unit: str) -> dt.datetime:
    """Where counting begins for a clock started at `at`: the next midnight for working days (the
    day itself is not counted), `at` itself otherwise."""
    if unit != "working_days":
        return at
    return _at(_local(at).date() + dt.timedelta(days=1), 0)


@dataclass(frozen=True)
class Reach:
    at: dt.datetime
    calendar_missing: bool


def advance(calendar: Calendar, start: dt.datetime, minutes: float, unit: str) -> Reach:
    """The instant at which `minutes` counted minutes after `start` have passed."""
    if unit == "minutes":
        end = start + dt.timedelta(minutes=minutes)
        return Reach(end, False)
    local = _local(start)
    day, offset = local.date(), local.hour * 60 + local.minute + local.second / 60
    remaining, missing = minutes, False
    # a limit of working days is bounded by holidays of at most a few weeks; this bound only stops
    # a corrupt calendar (every day a holiday) from looping for ever
    for _ in range(3700):
        missing = missing or not calendar.knows(day)
        for lo, hi in _windows(calendar, day, unit):
            lo = max(lo, offset)
            if hi <= lo:
                continue
            if remaining <= hi - lo:
                return Reach(_at(day, 0) + dt.timedelta(minutes=lo + remaining), missing)
            remaining -= hi - lo
        day, offset = day + dt.timedelta(days=1), 0
    raise ValueError("the work calendar has no working day in ten years")


def counted(
    calendar: Calendar,
    start: dt.datetime,
    end: dt.datetime,
    unit: str,
    *,
    clock_started_at: dt.datetime | None = None,
) -> int:
    """Counted minutes between `start` and `end` (whole minutes, rounded down). With
    `clock_started_at`, only those the clock started then counts: a customer's waiting on the day a
    working-days clock started is outside its limit, so it must not move the due date."""
    if clock_started_at is not None:
        start = max(start, clock_start(clock_started_at, unit))
    if end <= start:
        return 0
    if unit == "minutes":
        return int((end - start).total_seconds() // 60)
    a, b = _local(start), _local(end)
    total = 0.0
    day = a.date()
    while day <= b.date():
        lo_day = a.hour * 60 + a.minute + a.second / 60 if day == a.date() else 0
        hi_day = b.hour * 60 + b.minute + b.second / 60 if day == b.date() else DAY_MINUTES
        for lo, hi in _windows(calendar, day, unit):
            total += max(0.0, min(hi, hi_day) - max(lo, lo_day))
        day += dt.timedelta(days=1)
    return int(total)


@dataclass(frozen=True)
class Deadlines:
    warn_at: dt.datetime
    due_at: dt.datetime
    calendar_missing: bool


def deadlines(
    calendar: Calendar, *, started_at: dt.datetime, limit: int, unit: str, waited_minutes: int = 0
) -> Deadlines:
    """When a clock of `limit` `unit`s started at `started_at` reaches warning and is due, moved
    later by the counted minutes the customer made it wait."""
    start = clock_start(started_at, unit)
    budget = limit * MINUTES_PER_UNIT[unit]
    warn = advance(calendar, start, budget * WARNING_SHARE + waited_minutes, unit)
    due = advance(calendar, start, budget + waited_minutes, unit)
    return Deadlines(warn.at, due.at, warn.calendar_missing or due.calendar_missing)


def years_touched(started_at: dt.datetime, limit: int, unit: str) -> range:
    """The years a clock can reach, to read the calendar for: its start's and the next one (no
    template's limit spans more than a year of holidays)."""
    year = _local(started_at).year
    return range(year, year + 2)
