"""The SLA state as of now (service/sla.py): one clock's state, the same rule in SQL for lists, and
how a clock reads (time left or how late) in its own unit."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from service.clock import Calendar, calendar_for
from service.models import RequestStage, SlaState, StageStatus
from service.services import request_open
from service.sla import board_calendar, due_label, reading, sla_now_q, sla_state_now, with_sla_now

LOCAL = ZoneInfo("Asia/Shanghai")
WARN = dt.datetime(2026, 11, 10, 12, tzinfo=LOCAL)
DUE = dt.datetime(2026, 11, 11, 0, tzinfo=LOCAL)
NO_HOLIDAYS = Calendar(frozenset(), frozenset(), frozenset({2026}))


def state(now, *, done_at=None, waiting_since=None):
    return sla_state_now(warn_at=WARN, due_at=DUE, done_at=done_at, waiting_since=waiting_since, now=now)


def test_a_running_clock_before_its_warning_instant_is_ok():
    assert state(WARN - dt.timedelta(minutes=1)) == SlaState.OK


def test_a_running_clock_at_80_percent_is_at_warning():
    assert state(WARN) == SlaState.WARNING


def test_a_running_clock_at_its_due_instant_is_breached():
    assert state(DUE) == SlaState.BREACHED


def test_a_done_clock_reads_at_the_moment_it_stopped():
    # given a clock done before its warning instant, read long after its due instant
    # then it stays on time
    assert state(DUE + dt.timedelta(days=9), done_at=WARN - dt.timedelta(hours=1)) == SlaState.OK


def test_a_waiting_clock_is_frozen_where_its_waiting_began():
    # given a clock paused at warning, read after its (not yet moved) due instant
    # then it is still at warning: the customer's time does not count
    assert state(DUE + dt.timedelta(days=3), waiting_since=WARN + dt.timedelta(hours=1)) == SlaState.WARNING


@pytest.fixture
def stages(world):
    """One stage per case: (stage, now, the state sla_state_now gives)."""
    request = request_open(
        kind="meter_fault", source="manager", by=world.manager_a.user, customer=world.customer_a
    )
    stage = request.stages.get()
    now = DUE + dt.timedelta(hours=2)
    cases = {
        "running, breached": {},
        "running, at warning": {
            "warn_at": now - dt.timedelta(hours=1),
            "due_at": now + dt.timedelta(hours=1),
        },
        "running, ok": {"warn_at": now + dt.timedelta(hours=1), "due_at": now + dt.timedelta(hours=2)},
        "done on time": {"done_at": WARN - dt.timedelta(hours=1)},
        "done at warning": {"done_at": WARN + dt.timedelta(hours=1)},
        "waiting at warning": {"waiting_since": WARN + dt.timedelta(hours=1)},
    }
    rows = []
    for n, (name, columns) in enumerate(cases.items()):
        row = RequestStage.objects.create(
            request=request,
            position=10 + n,
            code=f"case{n}",
            name=name,
            department_kind="metering",
            limit=1,
            unit=stage.unit,
            status=StageStatus.ACTIVE,
            started_at=WARN - dt.timedelta(days=1),
            **({"warn_at": WARN, "due_at": DUE} | columns),
        )
        rows.append(row)
    return rows, now


def test_the_sql_state_as_of_now_is_the_state_of_each_clock(stages):
    # given clocks running, done and waiting around their instants
    rows, now = stages
    # when the list annotates the state as of now
    annotated = dict(
        with_sla_now(RequestStage.objects.filter(pk__in=[r.pk for r in rows]), now).values_list(
            "pk", "sla_now"
        )
    )
    # then each row says what sla_state_now says of it
    expected = {
        r.pk: sla_state_now(
            warn_at=r.warn_at, due_at=r.due_at, done_at=r.done_at, waiting_since=r.waiting_since, now=now
        )
        for r in rows
    }
    assert annotated == expected
    assert set(expected.values()) == {SlaState.OK, SlaState.WARNING, SlaState.BREACHED}


@pytest.mark.parametrize("wanted", [SlaState.OK, SlaState.WARNING, SlaState.BREACHED])
def test_the_filter_on_the_state_as_of_now_keeps_the_clocks_in_that_state(stages, wanted):
    rows, now = stages
    ids = [r.pk for r in rows]
    # when the list filters on a state as of now
    kept = set(
        RequestStage.objects.filter(pk__in=ids).filter(sla_now_q(wanted, now)).values_list("pk", flat=True)
    )
    # then it keeps the rows annotated in that state, and only those
    annotated = with_sla_now(RequestStage.objects.filter(pk__in=ids), now)
    assert kept == {pk for pk, s in annotated.values_list("pk", "sla_now") if s == wanted}


def test_a_breached_working_days_clock_reads_how_late_in_working_time_skipping_the_weekend():
    # given a clock due at the end of Friday 2026-11-13, read at noon on Monday the 16th
    due = dt.datetime(2026, 11, 14, 0, tzinfo=LOCAL)
    now = dt.datetime(2026, 11, 16, 12, tzinfo=LOCAL)
    # when it is read
    read = reading(NO_HOLIDAYS, unit="working_days", warn_at=due - dt.timedelta(hours=5), due_at=due, now=now)
    # then it is half a working day late: Saturday and Sunday do not count
    assert (read.state, read.late, read.minutes) == (SlaState.BREACHED, True, 12 * 60)


def test_a_clock_at_warning_reads_the_working_hours_left():
    # given a working-hours clock due at 10:30 on Tuesday, read at 16:30 on Monday
    due = dt.datetime(2026, 11, 17, 10, 30, tzinfo=LOCAL)
    now = dt.datetime(2026, 11, 16, 16, 30, tzinfo=LOCAL)
    # when it is read
    read = reading(NO_HOLIDAYS, unit="working_hours", warn_at=now, due_at=due, now=now)
    # then 3 working hours are left (16:30-17:30 and 08:30-10:30)
    assert (read.state, read.late, read.minutes) == (SlaState.WARNING, False, 180)


def test_a_minutes_clock_says_how_late_in_hours_and_minutes():
    # given a fault repair's arrival clock 75 minutes past due
    now = DUE + dt.timedelta(minutes=75)
    # when it is read, in English
    read = reading(NO_HOLIDAYS, unit="minutes", warn_at=WARN, due_at=DUE, now=now)
    # then it says 1 h 15 min late
    with translation.override("en"):
        assert read.text == "1 h 15 min late"


def test_a_working_days_due_instant_reads_as_24_00_of_the_due_day():
    assert due_label(DUE, "working_days") == "2026-11-10 24:00"
    assert due_label(DUE, "minutes") == "2026-11-11 00:00"


def test_the_boards_one_query_calendar_is_the_work_calendar(db):
    # given the work calendar seeded by the data migration (2026's National Day and its make-up days)
    now = dt.datetime(2026, 12, 1, 10, tzinfo=LOCAL)
    # when the board reads it in one query
    with CaptureQueriesContext(connection) as queries:
        calendar = board_calendar(now)
    # then it is the calendar of service.clock, for the same years
    assert len(queries) == 1
    assert calendar == calendar_for(range(2024, 2028))
    assert calendar.is_working_day(dt.date(2026, 10, 10))  # a make-up Saturday
