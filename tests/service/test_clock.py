"""The regulated clock (service/clock.py): working days on the work calendar (调休 included), working
hours, clock minutes, the warning at 80 %, customer waiting, and `calendar_missing`.

Most tests run on the real 2026 calendar of the pinned chinesecalendar package, built in memory;
the last ones read it from the database as the services do."""

import datetime as dt

import pytest

from service import clock
from service.calendar import calendar_seed_from_package, package_days
from service.clock import Calendar, advance, calendar_for, clock_start, counted, deadlines, years_touched
from service.models import CalendarDay, CalendarYear, DayKind

LOCAL = clock.LOCAL


def at(y, m, d, hh=0, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=LOCAL)


def end_of(y, m, d) -> dt.datetime:
    """24:00 of a day, as the clock stores it: 00:00 of the next."""
    return at(y, m, d) + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def cal2026() -> Calendar:
    days = package_days({2026})
    return Calendar(
        holidays=frozenset(d.date for d in days if d.kind == DayKind.HOLIDAY),
        makeup_workdays=frozenset(d.date for d in days if d.kind == DayKind.MAKEUP_WORKDAY),
        years=frozenset({2026}),
    )


# ---------------------------------------------------------------- working days
def test_five_working_days_from_national_day_eve_end_on_tuesday_13_october(cal2026):
    # given a request accepted on Wednesday 2026-09-30 with a limit of 5 working days
    # when its deadline is computed
    due = deadlines(cal2026, started_at=at(2026, 9, 30, 10, 15), limit=5, unit="working_days")
    # then it is the end of Tuesday 13 October (8, 9, Saturday 10 worked, 12, 13), not 7 or 14 October
    assert due.due_at == end_of(2026, 10, 13)
    assert not due.calendar_missing


def test_the_make_up_saturday_counts_as_a_working_day(cal2026):
    # given a clock of 2 working days started on Thursday 8 October 2026
    due = deadlines(cal2026, started_at=at(2026, 10, 8, 9), limit=2, unit="working_days")
    # then Friday 9 and Saturday 10 (调休上班) are its two days
    assert due.due_at == end_of(2026, 10, 10)


def test_a_weekday_holiday_is_not_a_working_day(cal2026):
    # given one working day started on Wednesday 30 September
    due = deadlines(cal2026, started_at=at(2026, 9, 30, 16), limit=1, unit="working_days")
    # then 1-7 October are skipped: the day is Thursday 8 October
    assert due.due_at == end_of(2026, 10, 8)


def test_an_ordinary_sunday_is_not_a_working_day(cal2026):
    # given one working day started on Friday 13 November 2026
    due = deadlines(cal2026, started_at=at(2026, 11, 13, 11), limit=1, unit="working_days")
    # then the weekend is skipped: Monday 16 November
    assert due.due_at == end_of(2026, 11, 16)


def test_the_day_a_clock_starts_is_not_counted_however_late(cal2026):
    # given one working day started one minute before midnight on Monday 30 November
    due = deadlines(cal2026, started_at=at(2026, 11, 30, 23, 59), limit=1, unit="working_days")
    # then the day counted is Tuesday 1 December
    assert due.due_at == end_of(2026, 12, 1)


def test_a_clock_started_on_a_holiday_counts_from_the_next_working_day(cal2026):
    # given a 95598 ticket received on National Day itself
    due = deadlines(cal2026, started_at=at(2026, 10, 1, 9), limit=1, unit="working_days")
    assert due.due_at == end_of(2026, 10, 8)


def test_clock_start_for_working_days_is_the_next_midnight_and_the_instant_otherwise():
    started = at(2026, 5, 6, 15, 20)
    assert clock_start(started, "working_days") == at(2026, 5, 7)
    assert clock_start(started, "working_hours") == started
    assert clock_start(started, "minutes") == started


def test_a_clock_started_as_utc_is_counted_on_the_shanghai_day(cal2026):
    # given 2026-09-30 17:00 UTC, which is 1 October 01:00 in Shanghai (a holiday)
    started = dt.datetime(2026, 9, 30, 17, 0, tzinfo=dt.UTC)
    # then the clock starts at the end of 1 October, Shanghai time
    due = deadlines(cal2026, started_at=started, limit=1, unit="working_days")
    assert due.due_at == end_of(2026, 10, 8)


# ---------------------------------------------------------------- working hours
def test_working_hours_skip_the_lunch_break(cal2026):
    # given 2 working hours started at 11:00 on Wednesday 2 December
    due = deadlines(cal2026, started_at=at(2026, 12, 2, 11), limit=2, unit="working_hours")
    # then one hour before 12:00 and one after 14:00
    assert due.due_at == at(2026, 12, 2, 15)


def test_working_hours_started_in_the_lunch_break_begin_at_two(cal2026):
    due = deadlines(cal2026, started_at=at(2026, 12, 2, 12, 40), limit=1, unit="working_hours")
    assert due.due_at == at(2026, 12, 2, 15)


def test_working_hours_carry_over_the_evening_to_half_past_eight(cal2026):
    # given one working hour started at 17:00 on Wednesday 2 December
    due = deadlines(cal2026, started_at=at(2026, 12, 2, 17), limit=1, unit="working_hours")
    # then 30 minutes to 17:30, the other 30 from 08:30 the next morning
    assert due.due_at == at(2026, 12, 3, 9)


def test_working_hours_skip_a_holiday_and_count_the_make_up_saturday(cal2026):
    # given 8 working hours (more than a day's 7) started at 17:00 on 30 September
    due = deadlines(cal2026, started_at=at(2026, 9, 30, 17), limit=8, unit="working_hours")
    # then 0:30 on 30 September, 7:00 on Thursday 8 October, the last 0:30 on Friday 9 October
    assert due.due_at == at(2026, 10, 9, 9)


def test_working_hours_ending_exactly_at_noon_end_at_noon(cal2026):
    due = deadlines(cal2026, started_at=at(2026, 12, 2, 8, 30), limit=7, unit="working_hours")
    assert due.due_at == at(2026, 12, 2, 17, 30)
    assert advance(cal2026, at(2026, 12, 2, 8, 30), 210, "working_hours").at == at(2026, 12, 2, 12)


# ---------------------------------------------------------------- minutes
def test_minutes_count_every_minute_across_night_and_holiday(cal2026):
    # given a fault repair arrival of 45 minutes reported at 23:40 on National Day
    due = deadlines(cal2026, started_at=at(2026, 10, 1, 23, 40), limit=45, unit="minutes")
    # then it is due 45 minutes later, on the next (holiday) day
    assert due.due_at == at(2026, 10, 2, 0, 25)
    assert due.warn_at == at(2026, 10, 2, 0, 16)


def test_minutes_never_say_the_calendar_is_missing(cal2026):
    due = deadlines(cal2026, started_at=at(2027, 3, 1, 10), limit=180, unit="minutes")
    assert not due.calendar_missing


# ---------------------------------------------------------------- warning
def test_the_warning_comes_at_80_percent_of_working_days(cal2026):
    # given 5 working days from 30 September: 80 % is 4 working days
    due = deadlines(cal2026, started_at=at(2026, 9, 30, 10), limit=5, unit="working_days")
    # then the warning is at the end of the 4th (Monday 12 October)
    assert due.warn_at == end_of(2026, 10, 12)


def test_the_warning_comes_at_80_percent_of_working_hours(cal2026):
    # given 10 working hours from 08:30 on Wednesday 2 December: 80 % is 8 hours
    due = deadlines(cal2026, started_at=at(2026, 12, 2, 8, 30), limit=10, unit="working_hours")
    # then 7 hours on the 2nd and one more from 08:30 on the 3rd
    assert due.warn_at == at(2026, 12, 3, 9, 30)
    assert due.due_at == at(2026, 12, 3, 11, 30)


# ---------------------------------------------------------------- customer waiting
def test_waited_minutes_move_the_due_date_later_by_counted_time(cal2026):
    # given 5 working days from 30 September, with one working day (1440 counted minutes) waited
    due = deadlines(
        cal2026, started_at=at(2026, 9, 30, 10), limit=5, unit="working_days", waited_minutes=1440
    )
    # then it is due one working day later: the end of Wednesday 14 October
    assert due.due_at == end_of(2026, 10, 14)
    assert due.warn_at == end_of(2026, 10, 13)


def test_waiting_through_a_holiday_counts_nothing(cal2026):
    # given the customer made a working-days clock wait from 1 to 7 October (all holidays)
    waited = counted(cal2026, at(2026, 10, 1), end_of(2026, 10, 7), "working_days")
    # then no counted minute passed: the due date does not move
    assert waited == 0


def test_waiting_on_the_day_the_clock_started_does_not_count(cal2026):
    # given a working-days clock started at 10:00 on Wednesday 2 December, waiting until 10:00 the next day
    started = at(2026, 12, 2, 10)
    waited = counted(cal2026, started, at(2026, 12, 3, 10), "working_days", clock_started_at=started)
    # then only the 10 hours of the 3rd count (the 2nd is outside the limit)
    assert waited == 600


def test_waited_working_hours_move_the_due_date_across_lunch(cal2026):
    # given 2 working hours from 08:30, with 3 working hours waited
    due = deadlines(
        cal2026, started_at=at(2026, 12, 2, 8, 30), limit=2, unit="working_hours", waited_minutes=180
    )
    # then 5 working hours from 08:30: 3:30 to noon, 1:30 after 14:00
    assert due.due_at == at(2026, 12, 2, 15, 30)


# ---------------------------------------------------------------- counted()
def test_counted_working_hours_leave_out_lunch_and_night(cal2026):
    assert counted(cal2026, at(2026, 12, 2, 11), at(2026, 12, 2, 15), "working_hours") == 120
    assert counted(cal2026, at(2026, 12, 2, 17), at(2026, 12, 3, 9), "working_hours") == 60


def test_counted_working_days_count_whole_working_days_only(cal2026):
    # Friday 17:00 to Monday 10:00 in an ordinary week: Friday's 7 hours, Monday's 10
    assert counted(cal2026, at(2026, 11, 13, 17), at(2026, 11, 16, 10), "working_days") == 420 + 600


def test_counted_includes_the_make_up_saturday(cal2026):
    assert counted(cal2026, at(2026, 10, 10), at(2026, 10, 11), "working_days") == 24 * 60
    assert counted(cal2026, at(2026, 10, 10), at(2026, 10, 11), "working_hours") == 7 * 60


def test_counted_minutes_are_whole_minutes_and_nothing_backwards(cal2026):
    assert (
        counted(cal2026, at(2026, 10, 1), at(2026, 10, 1, 1, 30) + dt.timedelta(seconds=59), "minutes") == 90
    )
    assert counted(cal2026, at(2026, 10, 2), at(2026, 10, 1), "working_hours") == 0


def test_counted_agrees_with_advance(cal2026):
    # what advance() spends is what counted() finds between the start and the end it returns
    start = at(2026, 9, 29, 15, 10)
    for unit, minutes in (("working_hours", 1234), ("working_days", 5 * 1440)):
        end = advance(cal2026, start, minutes, unit).at
        assert counted(cal2026, start, end, unit) == minutes


# ---------------------------------------------------------------- a year not loaded
def test_a_due_date_in_a_year_not_loaded_is_counted_monday_to_friday_and_marked(cal2026):
    # given 5 working days from Monday 28 December 2026, and 2027 not loaded
    due = deadlines(cal2026, started_at=at(2026, 12, 28, 10), limit=5, unit="working_days")
    # then 29, 30, 31 December and Friday 1, Monday 4 January count (New Year's Day unknown)
    assert due.due_at == end_of(2027, 1, 4)
    # and the deadline says its calendar is missing
    assert due.calendar_missing


def test_a_due_date_on_the_last_day_of_a_loaded_year_is_not_marked(cal2026):
    due = deadlines(cal2026, started_at=at(2026, 12, 30, 10), limit=1, unit="working_days")
    assert due.due_at == end_of(2026, 12, 31)
    assert not due.calendar_missing


def test_a_warning_in_the_loaded_year_and_a_due_date_beyond_it_is_marked(cal2026):
    # given 5 working days from Friday 25 December: 28-31 December, then Friday 1 January 2027
    due = deadlines(cal2026, started_at=at(2026, 12, 25, 10), limit=5, unit="working_days")
    # then the warning (end of 31 December) is sure, the due date is not, and the deadline says so
    assert due.warn_at == end_of(2026, 12, 31)
    assert due.due_at == end_of(2027, 1, 1)
    assert due.calendar_missing


def test_years_touched_are_the_start_year_and_the_next():
    assert list(years_touched(at(2026, 12, 28), 5, "working_days")) == [2026, 2027]


# ---------------------------------------------------------------- the calendar from the database
@pytest.fixture
def seeded(db):
    calendar_seed_from_package(years=[2026])  # a transactional test before may have flushed it


def test_calendar_for_reads_the_seeded_days_in_two_queries(seeded, django_assert_num_queries):
    with django_assert_num_queries(2):
        calendar = calendar_for(years_touched(at(2026, 9, 30), 5, "working_days"))
    assert calendar.years == {2026}
    assert dt.date(2026, 10, 10) in calendar.makeup_workdays
    assert dt.date(2026, 10, 1) in calendar.holidays
    assert calendar.is_working_day(dt.date(2026, 10, 10))
    assert not calendar.is_working_day(dt.date(2026, 10, 7))


def test_the_database_calendar_gives_the_national_day_example(seeded):
    calendar = calendar_for([2026, 2027])
    due = deadlines(calendar, started_at=at(2026, 9, 30, 10), limit=5, unit="working_days")
    assert due.due_at == end_of(2026, 10, 13)


def test_days_entered_for_a_year_not_loaded_count_but_the_year_stays_missing(seeded):
    # given New Year's Day 2027 entered by hand, the year not yet declared complete
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), kind=DayKind.HOLIDAY, name="元旦")
    assert not CalendarYear.objects.filter(year=2027).exists()
    calendar = calendar_for([2026, 2027])
    # when a clock runs into it
    due = deadlines(calendar, started_at=at(2026, 12, 28, 10), limit=5, unit="working_days")
    # then the holiday is skipped, and the deadline is still marked
    assert due.due_at == end_of(2027, 1, 5)
    assert due.calendar_missing


def test_calendar_for_no_years_is_empty_without_a_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        calendar = calendar_for([])
    assert calendar.years == frozenset()
