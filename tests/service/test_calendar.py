"""The work calendar's services (service/calendar.py), its seed migration and its command: seeding
from the package, loading a year from a file, entering and deleting days, the years' status, the
administrators' warning, and the running clocks a change moves."""

import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from service import calendar as work_calendar
from service.clock import LOCAL
from service.models import CalendarDay, CalendarYear, DayKind, RequestStatus, SlaState
from service.services import request_open

seed_migration = importlib.import_module("service.migrations.0002_seed_work_calendar")

GOOD_2027 = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-06,makeup_workday,春节\n"


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def days_of(year: int) -> list[tuple]:
    return list(
        CalendarDay.objects.filter(date__year=year).order_by("date").values_list("date", "kind", "name")
    )


@pytest.fixture
def seeded(db):
    work_calendar.calendar_seed_from_package(years=[2026])


# ---------------------------------------------------------------- the package and the migration
def test_package_days_of_2026_are_the_days_that_differ_from_the_week_with_chinese_names():
    days = {d.date: d for d in work_calendar.package_days({2026})}
    # the make-up Saturday of National Day, the weekday holidays, named in Chinese
    assert days[dt.date(2026, 10, 10)].kind == DayKind.MAKEUP_WORKDAY
    assert days[dt.date(2026, 10, 1)].name == "国庆节"
    assert days[dt.date(2026, 2, 16)].name == "春节"
    # and the Saturday and Sunday inside the holiday, which rest anyway, are not entries
    assert dt.date(2026, 10, 3) not in days
    assert all(work_calendar.changes_nothing(d.date, d.kind) is None for d in days.values())


def test_the_seed_migration_loads_every_year_the_package_knows_from_the_package(db):
    # given an empty calendar
    CalendarDay.objects.all().delete()
    CalendarYear.objects.all().delete()
    # when the data migration runs
    seed_migration.seed(django_apps, None)
    # then every year of the package is loaded, marked as from the package, with the package's days
    assert set(CalendarYear.objects.values_list("year", flat=True)) == work_calendar.package_years()
    assert set(CalendarYear.objects.values_list("source", flat=True)) == {CalendarYear.Source.PACKAGE}
    assert min(work_calendar.package_years()) == 2004
    assert max(work_calendar.package_years()) == 2026
    assert CalendarDay.objects.count() == len(work_calendar.package_days())
    assert days_of(2026) == [(d.date, d.kind, d.name) for d in work_calendar.package_days({2026})]


def test_the_seed_migration_reverses_the_package_years_only(db):
    # given the seeded calendar and 2027 loaded from a file
    work_calendar.calendar_seed_from_package()
    work_calendar.calendar_file_load(year=2027, data=csv_bytes(GOOD_2027), by=None)
    # when the migration is reversed
    seed_migration.unseed(django_apps, None)
    # then the package's years are gone and the file's year stays
    assert list(CalendarYear.objects.values_list("year", flat=True)) == [2027]
    assert [d for d, _k, _n in days_of(2027)] == [dt.date(2027, 1, 1), dt.date(2027, 2, 6)]
    assert not CalendarDay.objects.filter(date__year=2026).exists()


def test_seeding_from_the_package_leaves_a_year_the_company_corrected(seeded):
    # given 2026 reloaded from a file by the company
    work_calendar.calendar_file_load(
        year=2026, data=csv_bytes("date,kind,name\n2026-10-09,holiday,厂休\n"), by=None
    )
    # when the package seed runs again
    seeded_years = work_calendar.calendar_seed_from_package(years=[2026])
    # then it loads nothing and the company's day stays
    assert seeded_years == []
    assert days_of(2026) == [(dt.date(2026, 10, 9), DayKind.HOLIDAY, "厂休")]


# ---------------------------------------------------------------- reading a file
def test_a_good_file_reads_its_days_in_date_order():
    days, skipped = work_calendar.read_calendar_file(
        csv_bytes("date,kind,name\n2027-02-06,makeup_workday,春节\n2027-01-01,holiday,元旦\n"), year=2027
    )
    assert [(d.date, d.kind, d.name) for d in days] == [
        (dt.date(2027, 1, 1), DayKind.HOLIDAY, "元旦"),
        (dt.date(2027, 2, 6), DayKind.MAKEUP_WORKDAY, "春节"),
    ]
    assert skipped == 0


def test_a_file_saved_by_chinese_excel_in_gbk_with_chinese_headers_and_kinds_reads():
    text = "日期,类型,名称\n2027/1/1,休,元旦\n2027年2月6日,班,春节\n"
    days, _skipped = work_calendar.read_calendar_file(csv_bytes(text, "gbk"), year=2027)
    assert [(d.date, d.kind, d.name) for d in days] == [
        (dt.date(2027, 1, 1), DayKind.HOLIDAY, "元旦"),
        (dt.date(2027, 2, 6), DayKind.MAKEUP_WORKDAY, "春节"),
    ]


def test_a_file_with_a_bom_comments_and_blank_lines_reads():
    text = "\ufeff# 2027年安排\ndate,kind,name\n\n2027-01-01,holiday,元旦\n"
    days, _skipped = work_calendar.read_calendar_file(csv_bytes(text), year=2027)
    assert [d.date for d in days] == [dt.date(2027, 1, 1)]


def test_the_header_may_order_the_columns_and_leave_out_the_name():
    days, _skipped = work_calendar.read_calendar_file(csv_bytes("kind,date\nholiday,2027-01-01\n"), year=2027)
    assert [(d.date, d.kind, d.name) for d in days] == [(dt.date(2027, 1, 1), DayKind.HOLIDAY, "")]


def test_trailing_empty_cells_left_by_excel_are_ignored():
    text = "date,kind,name,,\n2027-01-01,holiday,元旦,,\n2027-02-06,makeup_workday\n"
    days, _skipped = work_calendar.read_calendar_file(csv_bytes(text), year=2027)
    assert [(d.date, d.name) for d in days] == [(dt.date(2027, 1, 1), "元旦"), (dt.date(2027, 2, 6), "")]


def test_a_header_naming_an_unknown_column_is_refused():
    with pytest.raises(ValidationError) as refused:
        work_calendar.read_calendar_file(csv_bytes("date,kind,remark\n2027-01-01,holiday,x\n"), year=2027)
    assert refused.value.message_dict["file"][0].startswith("第1行")


def test_weekend_holidays_copied_from_the_notice_are_skipped_and_counted():
    # 2 and 3 January 2027 are a Saturday and a Sunday
    text = "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-02,holiday,元旦\n2027-01-03,holiday,元旦\n"
    days, skipped = work_calendar.read_calendar_file(csv_bytes(text), year=2027)
    assert [d.date for d in days] == [dt.date(2027, 1, 1)]
    assert skipped == 2


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("2027-13-01,holiday,x", "不是日期"),
        ("2026-12-31,holiday,x", "不在2027"),
        ("2027-01-04,makeup_workday,x", "工作日"),  # a Monday
        ("2027-01-01,vacation,x", "不是日期类型"),
        ("2027-01-01", "date,kind,name"),
    ],
)
def test_a_bad_line_is_refused_naming_its_line(line, words):
    text = f"date,kind,name\n2027-02-06,makeup_workday,春节\n{line}\n"
    with pytest.raises(ValidationError) as refused:
        work_calendar.read_calendar_file(csv_bytes(text), year=2027)
    messages = refused.value.message_dict["file"]
    assert any(m.startswith("第3行") and words in m for m in messages), messages


def test_a_date_listed_twice_names_both_lines():
    text = "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-01,holiday,元旦\n"
    with pytest.raises(ValidationError) as refused:
        work_calendar.read_calendar_file(csv_bytes(text), year=2027)
    assert refused.value.message_dict["file"] == ["第3行：2027-01-01 已在第2行。"]


def test_a_file_without_the_header_line_is_refused():
    with pytest.raises(ValidationError) as refused:
        work_calendar.read_calendar_file(csv_bytes("2027-01-01,holiday,元旦\n"), year=2027)
    assert "第1行" in refused.value.message_dict["file"][0]


def test_a_file_without_days_or_too_large_or_not_text_is_refused():
    for data in (b"date,kind,name\n", b"x" * (work_calendar.MAX_FILE_BYTES + 1), b"\xff\xfe\x00\x81\x00"):
        with pytest.raises(ValidationError):
            work_calendar.read_calendar_file(data, year=2027)


def test_a_file_wrong_throughout_reports_its_first_lines_only():
    text = "date,kind,name\n" + "".join(f"2027-01-{d:02d},nonsense,x\n" for d in range(1, 31))
    with pytest.raises(ValidationError) as refused:
        work_calendar.read_calendar_file(csv_bytes(text), year=2027)
    assert len(refused.value.message_dict["file"]) == work_calendar.MAX_ERRORS


# ---------------------------------------------------------------- loading a year
def test_loading_a_file_replaces_the_years_days_and_marks_it_loaded_from_a_file(world):
    # given 2027 with a day entered by hand
    CalendarDay.objects.create(date=dt.date(2027, 5, 3), kind=DayKind.HOLIDAY, name="旧")
    # when the file is loaded
    loaded = work_calendar.calendar_file_load(year=2027, data=csv_bytes(GOOD_2027), by=world.admin)
    # then the year holds exactly the file's days, loaded from a file by the administrator
    assert days_of(2027) == [
        (dt.date(2027, 1, 1), DayKind.HOLIDAY, "元旦"),
        (dt.date(2027, 2, 6), DayKind.MAKEUP_WORKDAY, "春节"),
    ]
    assert (loaded.year.source, loaded.year.loaded_by, loaded.days) == (
        CalendarYear.Source.FILE,
        world.admin,
        2,
    )


def test_a_file_with_a_bad_line_changes_nothing(world):
    # given 2027 with a day entered by hand
    CalendarDay.objects.create(date=dt.date(2027, 5, 3), kind=DayKind.HOLIDAY, name="旧")
    # when a file with one bad line is loaded
    with pytest.raises(ValidationError):
        work_calendar.calendar_file_load(
            year=2027, data=csv_bytes(GOOD_2027 + "2027-02-30,holiday,x\n"), by=None
        )
    # then the day entered is still the year's only day and the year is not loaded
    assert days_of(2027) == [(dt.date(2027, 5, 3), DayKind.HOLIDAY, "旧")]
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_a_year_out_of_range_is_refused_on_year(db):
    with pytest.raises(ValidationError) as refused:
        work_calendar.calendar_file_load(year=1999, data=csv_bytes(GOOD_2027), by=None)
    assert "year" in refused.value.message_dict


def test_days_entered_by_hand_are_declared_complete(world):
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), kind=DayKind.HOLIDAY, name="元旦")
    year = work_calendar.calendar_year_mark_entered(year=2027, by=world.admin)
    assert (year.year, year.source) == (2027, CalendarYear.Source.MANUAL)


def test_a_year_without_days_cannot_be_declared_complete(db):
    with pytest.raises(ValidationError) as refused:
        work_calendar.calendar_year_mark_entered(year=2031, by=None)
    assert "year" in refused.value.message_dict
    assert not CalendarYear.objects.filter(year=2031).exists()


# ---------------------------------------------------------------- a day
def test_a_day_is_entered(db):
    day = work_calendar.calendar_day_add(
        date=dt.date(2027, 10, 9), kind=DayKind.MAKEUP_WORKDAY, name="国庆节", by=None
    )
    assert (day.date, day.kind, day.name) == (dt.date(2027, 10, 9), DayKind.MAKEUP_WORKDAY, "国庆节")


def test_a_make_up_working_day_on_a_weekday_is_refused_as_changing_nothing(db):
    with pytest.raises(ValidationError) as refused:
        work_calendar.calendar_day_add(date=dt.date(2027, 10, 8), kind=DayKind.MAKEUP_WORKDAY, by=None)
    assert "本来就是工作日" in refused.value.message_dict["kind"][0]
    assert not CalendarDay.objects.filter(date=dt.date(2027, 10, 8)).exists()


def test_a_holiday_on_a_weekend_is_refused_as_changing_nothing(db):
    with pytest.raises(ValidationError) as refused:
        work_calendar.calendar_day_add(date=dt.date(2027, 10, 2), kind=DayKind.HOLIDAY, by=None)
    assert "本来就休息" in refused.value.message_dict["kind"][0]


def test_a_date_entered_twice_is_refused_on_date(seeded):
    with pytest.raises(ValidationError) as refused:
        work_calendar.calendar_day_add(date=dt.date(2026, 10, 1), kind=DayKind.HOLIDAY, by=None)
    assert "已在日历中" in refused.value.message_dict["date"][0]


# ---------------------------------------------------------------- status and warning
def test_years_status_lists_loaded_years_and_years_with_days_only(seeded):
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), kind=DayKind.HOLIDAY, name="元旦")
    status = work_calendar.years_status(today=dt.date(2026, 12, 1))
    rows = {row["year"]: row for row in status["years"]}
    assert rows[2026]["loaded"]
    assert rows[2026]["source"] == CalendarYear.Source.PACKAGE
    assert rows[2026]["days"] == len(work_calendar.package_days({2026}))
    assert rows[2027] | {"loaded_at": None} == {
        "year": 2027,
        "loaded": False,
        "source": None,
        "source_display": "",
        "loaded_by": None,
        "loaded_at": None,
        "days": 1,
    }
    assert (status["next_year"], status["next_year_loaded"]) == (2027, False)


def test_the_warning_is_given_from_1_december_when_next_year_is_not_loaded(seeded):
    assert work_calendar.next_year_warning(dt.date(2026, 12, 1)) == {"year": 2027, "this_year": False}


def test_no_warning_on_30_november(seeded):
    assert work_calendar.next_year_warning(dt.date(2026, 11, 30)) is None


def test_no_warning_once_next_year_is_loaded(seeded):
    work_calendar.calendar_file_load(year=2027, data=csv_bytes(GOOD_2027), by=None)
    assert work_calendar.next_year_warning(dt.date(2026, 12, 31)) is None


def test_the_warning_names_this_year_when_this_year_is_not_loaded(seeded):
    assert work_calendar.next_year_warning(dt.date(2027, 3, 1)) == {"year": 2027, "this_year": True}


# ---------------------------------------------------------------- running clocks
def _meter_fault(world, received_at):
    return request_open(
        kind="meter_fault",
        source="manager",
        by=world.manager_a.user,
        customer=world.customer_a,
        received_at=received_at,
    )


def test_loading_next_year_moves_running_deadlines_and_clears_calendar_missing(world, seeded):
    # given a metering fault (4 working days) received on Monday 28 December 2026, 2027 not loaded
    request = _meter_fault(world, dt.datetime(2026, 12, 28, 10, tzinfo=LOCAL))
    stage = request.stages.get(position=1)
    # 29, 30, 31 December and Friday 1 January (counted Monday to Friday)
    assert (stage.due_at, stage.calendar_missing) == (dt.datetime(2027, 1, 2, tzinfo=LOCAL), True)
    # when 2027 is loaded with New Year's Day a holiday
    work_calendar.calendar_file_load(year=2027, data=csv_bytes(GOOD_2027), by=world.admin)
    # then the stage and the request are due a working day later, on a known calendar
    stage.refresh_from_db()
    request.refresh_from_db()
    assert (stage.due_at, stage.calendar_missing) == (dt.datetime(2027, 1, 5, tzinfo=LOCAL), False)
    assert not request.calendar_missing
    assert request.due_at >= stage.due_at


def test_a_day_entered_steps_a_breached_clock_back_and_never_up(world, seeded):
    # given a request whose stage the SLA job found breached
    request = _meter_fault(world, dt.datetime(2026, 12, 28, 10, tzinfo=LOCAL))
    stage = request.stages.get(position=1)
    type(stage).objects.filter(pk=stage.pk).update(sla_state=SlaState.BREACHED)
    # when New Year's Day 2027 is entered, as of 06:00 on Monday 4 January (past 80 %, before due)
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), kind=DayKind.HOLIDAY, name="元旦")
    moved = work_calendar.clocks_reclock(
        first=dt.date(2027, 1, 1), last=dt.date(2027, 1, 1), now=dt.datetime(2027, 1, 4, 6, tzinfo=LOCAL)
    )
    # then its deadline moved and it steps back to warning
    stage.refresh_from_db()
    assert moved >= 1
    assert stage.due_at == dt.datetime(2027, 1, 5, tzinfo=LOCAL)
    assert stage.sla_state == SlaState.WARNING


def test_a_day_outside_a_clocks_span_moves_nothing(world, seeded):
    # given a metering fault received on 28 December 2026, due early in January 2027
    _meter_fault(world, dt.datetime(2026, 12, 28, 10, tzinfo=LOCAL))
    # when a holiday is entered after its due date
    CalendarDay.objects.create(date=dt.date(2027, 2, 10), kind=DayKind.HOLIDAY, name="春节")
    # then no clock is read to be moved
    assert work_calendar.clocks_reclock(first=dt.date(2027, 2, 10), last=dt.date(2027, 2, 10)) == 0


def test_deleting_a_day_moves_the_clocks_across_it_back(world, seeded):
    # given New Year's Day 2027 entered, and a request running across it
    work_calendar.calendar_day_add(date=dt.date(2027, 1, 1), kind=DayKind.HOLIDAY, name="元旦", by=None)
    stage = _meter_fault(world, dt.datetime(2026, 12, 28, 10, tzinfo=LOCAL)).stages.get(position=1)
    assert stage.due_at == dt.datetime(2027, 1, 5, tzinfo=LOCAL)
    # when the day is deleted
    work_calendar.calendar_day_delete(day=CalendarDay.objects.get(date=dt.date(2027, 1, 1)), by=None)
    # then the stage is due on Friday 1 January again
    stage.refresh_from_db()
    assert stage.due_at == dt.datetime(2027, 1, 2, tzinfo=LOCAL)


def test_clocks_of_closed_requests_are_left_alone(world, seeded):
    request = _meter_fault(world, dt.datetime(2026, 12, 28, 10, tzinfo=LOCAL))
    type(request).objects.filter(pk=request.pk).update(status=RequestStatus.CANCELLED)
    request.stages.update(status="done", done_at=dt.datetime(2026, 12, 29, tzinfo=LOCAL))
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), kind=DayKind.HOLIDAY, name="元旦")
    assert work_calendar.clocks_reclock(first=dt.date(2027, 1, 1), last=dt.date(2027, 1, 1)) == 0


# ---------------------------------------------------------------- the command
def test_the_command_loads_a_file(db, tmp_path, capsys):
    path = tmp_path / "2027.csv"
    path.write_text(GOOD_2027, encoding="utf-8")
    call_command("load_work_calendar", str(path), "--year", "2027")
    assert "2027 loaded" in capsys.readouterr().out
    assert CalendarYear.objects.get(year=2027).source == CalendarYear.Source.FILE


def test_the_command_refuses_a_bad_file_naming_the_line_and_writes_nothing(db, tmp_path):
    path = tmp_path / "2027.csv"
    path.write_text(GOOD_2027 + "2027-01-04,makeup_workday,x\n", encoding="utf-8")
    with pytest.raises(CommandError, match="4"):
        call_command("load_work_calendar", str(path), "--year", "2027")
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_the_command_status_says_next_year_is_not_loaded(seeded, capsys):
    next_year = timezone.localdate().year + 1
    CalendarYear.objects.filter(year=next_year).delete()
    call_command("load_work_calendar", "--status")
    out = capsys.readouterr().out
    assert "2026  package" in out
    assert out.splitlines()[-1] == f"next year {next_year}: NOT LOADED"
