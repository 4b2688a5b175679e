"""The company's work calendar (service.md, "The work calendar"): the days that differ from the
week's pattern (a weekday holiday, a weekend make-up working day, 调休), and the years whose days
are known.

Every December the State Council's General Office publishes next year's arrangement
(国务院办公厅关于20XX年部分节假日安排的通知); an administrator loads it as a file or enters its days
(docs/work-calendar.md). Until a year is loaded, the clock counts its Mondays to Fridays and marks
what it touched `calendar_missing`; loading or editing a year moves the deadlines of the running
clocks it changes (`clocks_reclock`).

The writes here check no permission: the API and the pages hold `service.add_calendarday` /
`service.delete_calendarday` to the user first."""

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.common.text import fold_width
from service import clock
from service.models import (
    CalendarDay,
    CalendarYear,
    DayKind,
    RequestStage,
    RequestStatus,
    ServiceRequest,
    SlaState,
    StageStatus,
)

MIN_YEAR, MAX_YEAR = 2000, 2100  # CalendarYear.year's validators
MAX_FILE_BYTES = 64 * 1024  # a year is some 40 lines; anything near this is not a calendar
MAX_ERRORS = 20  # a file wrong throughout says so in its first lines, not in hundreds

# the package's English holiday names, as the company writes them (0002_seed_work_calendar too)
PACKAGE_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}

# what a file's `kind` column may say: the API's names, and the 休/班 of a Chinese wall calendar
FILE_KINDS = {
    "holiday": DayKind.HOLIDAY,
    "休": DayKind.HOLIDAY,
    "放假": DayKind.HOLIDAY,
    "节假日": DayKind.HOLIDAY,
    "makeup_workday": DayKind.MAKEUP_WORKDAY,
    "班": DayKind.MAKEUP_WORKDAY,
    "上班": DayKind.MAKEUP_WORKDAY,
    "调休上班": DayKind.MAKEUP_WORKDAY,
}
# a column's name in the header line, in English or in Chinese, in any order; `name` may be left out
FILE_COLUMNS = {
    "date": "date",
    "日期": "date",
    "kind": "kind",
    "类型": "kind",
    "name": "name",
    "名称": "name",
}

YEAR_RANGE = gettext_lazy("Enter a year from 2000 to 2100.")


@dataclass(frozen=True)
class Day:
    date: dt.date
    kind: str
    name: str = ""


@dataclass(frozen=True)
class Loaded:
    year: CalendarYear
    days: int
    skipped: int  # weekend holidays of the file: the weekend rests anyway


# ---------------------------------------------------------------- rules of a day
def changes_nothing(date: dt.date, kind: str) -> str | None:
    """Why a day of `kind` on `date` would change nothing (a make-up working day on a weekday, a
    holiday on a weekend), or None when it does change the week."""
    weekend = date.weekday() >= 5
    if kind == DayKind.MAKEUP_WORKDAY and not weekend:
        return _(
            "%(date)s is a weekday, a working day already: a make-up working day falls on a weekend."
        ) % {"date": date.isoformat()}
    if kind == DayKind.HOLIDAY and weekend:
        return _("%(date)s is a Saturday or Sunday, a rest day already: enter only holidays on weekdays.") % {
            "date": date.isoformat()
        }
    return None


def parse_year(raw, *, field: str = "year") -> int:
    """A year of the calendar from user input; ValidationError on `field` otherwise."""
    text = fold_width(str(raw)).strip()
    if not (text.isascii() and text.isdigit()) or not MIN_YEAR <= int(text) <= MAX_YEAR:
        raise ValidationError({field: [YEAR_RANGE]})
    return int(text)


# ---------------------------------------------------------------- the package
def package_days(years=None) -> list[Day]:
    """The days the `chinesecalendar` package knows that differ from the week's pattern, of
    `years` (all when None), with their Chinese names."""
    from chinese_calendar import constants

    days = {}
    for source, kind in ((constants.holidays, DayKind.HOLIDAY), (constants.workdays, DayKind.MAKEUP_WORKDAY)):
        for date, name in source.items():
            if (years is None or date.year in years) and changes_nothing(date, kind) is None:
                days[date] = Day(date, kind, PACKAGE_NAMES.get(str(name), str(name)))
    return [days[date] for date in sorted(days)]


def package_years() -> set[int]:
    from chinese_calendar import constants

    return {date.year for date in constants.holidays} | {date.year for date in constants.workdays}


def calendar_seed_from_package(*, years=None, by=None) -> list[int]:
    """Load the package's years (of `years`, all when None) that the calendar has not loaded yet.
    A year already loaded, from the package or otherwise, is left as it is: the company may have
    corrected it. Returns the years loaded."""
    wanted = package_years() if years is None else package_years() & set(years)
    with transaction.atomic():
        new = sorted(
            wanted - set(CalendarYear.objects.filter(year__in=wanted).values_list("year", flat=True))
        )
        by_year: dict[int, list[Day]] = {year: [] for year in new}
        for day in package_days(set(new)):
            by_year[day.date.year].append(day)
        for year in new:
            calendar_year_load(year=year, days=by_year[year], by=by, source=CalendarYear.Source.PACKAGE)
    return new


# ---------------------------------------------------------------- a file
def read_calendar_file(data: bytes, *, year: int) -> tuple[list[Day], int]:
    """The days of a CSV file of `year` (columns date,kind,name; docs/work-calendar.md), and how
    many weekend holidays it listed (skipped: the weekend rests anyway). ValidationError on `file`
    naming every bad line; nothing is read from a file with one."""
    if len(data) > MAX_FILE_BYTES:
        raise ValidationError({"file": [_("The file is larger than 64 KB: it is not a work calendar.")]})
    text = _decode(data)
    errors: list[str] = []
    days: dict[dt.date, tuple[int, Day]] = {}
    skipped = 0
    reader = csv.reader(io.StringIO(text))
    columns: dict[str, int] | None = None
    try:
        for cells in reader:
            line = reader.line_num
            cells = [fold_width(cell).strip() for cell in cells]
            if not any(cells) or cells[0].startswith("#"):
                continue  # blank lines and comments (the example file explains itself in them)
            if columns is None:
                columns = _columns(cells)
                if columns is None:
                    errors.append(
                        _("Line %(line)d: the first line must name the columns date,kind,name.")
                        % {"line": line}
                    )
                    break
                continue
            day, problem = _read_line(cells, columns, year=year)
            if problem:
                errors.append(_("Line %(line)d: %(problem)s") % {"line": line, "problem": problem})
            elif day is None:
                skipped += 1
            elif day.date in days:
                errors.append(
                    _("Line %(line)d: %(date)s is already on line %(first)d.")
                    % {"line": line, "date": day.date.isoformat(), "first": days[day.date][0]}
                )
            else:
                days[day.date] = (line, day)
            if len(errors) > MAX_ERRORS:
                break
    except csv.Error as exc:
        errors.append(_("Line %(line)d: %(problem)s") % {"line": reader.line_num, "problem": str(exc)})
    if not errors and not days:
        errors.append(_("The file lists no days of %(year)d.") % {"year": year})
    if errors:
        raise ValidationError({"file": errors[:MAX_ERRORS]})
    return [day for _line, day in sorted(days.values(), key=lambda pair: pair[1].date)], skipped


def _decode(data: bytes) -> str:
    # Excel on a Chinese Windows saves CSV in GB18030 (GBK), elsewhere in UTF-8 with or without BOM
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError({"file": [_("The file is not text in UTF-8 or GBK: save it as CSV.")]})


# 2026-10-01, as Excel may rewrite it (2026/10/1), or as the State Council's notice writes it
_DATE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")


def parse_date(raw: str) -> dt.date | None:
    """A date as YYYY-MM-DD (or 2026/10/1, 2026年10月1日), None when it is not one."""
    match = _DATE.fullmatch(raw)
    if match is None:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _columns(cells: list[str]) -> dict[str, int] | None:
    """Where each column is, from the header line; None unless it names date and kind, each once,
    and nothing else."""
    names = [FILE_COLUMNS.get(cell.lower()) for cell in cells]
    while names and names[-1] is None and not cells[len(names) - 1]:
        names.pop()  # Excel leaves trailing empty cells
    if None in names or len(set(names)) != len(names) or not {"date", "kind"} <= set(names):
        return None
    return {name: index for index, name in enumerate(names)}


def _read_line(cells: list[str], columns: dict[str, int], *, year: int) -> tuple[Day | None, str | None]:
    """One line's day, or None for a weekend holiday, or the problem with it."""
    while len(cells) > len(columns) and not cells[-1]:
        cells = cells[:-1]
    name_last_left_out = len(cells) == len(columns) - 1 and columns.get("name") == len(columns) - 1
    if len(cells) != len(columns) and not name_last_left_out:
        return None, _("expected date,kind,name.")
    raw_date, raw_kind = cells[columns["date"]], cells[columns["kind"]]
    at = columns.get("name")
    name = cells[at] if at is not None and at < len(cells) else ""
    date = parse_date(raw_date)
    if date is None:
        return None, _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": raw_date[:20]}
    if date.year != year:
        return None, _("%(date)s is not in %(year)d.") % {"date": date.isoformat(), "year": year}
    kind = FILE_KINDS.get(raw_kind.lower())
    if kind is None:
        return None, _("“%(value)s” is not a kind: write holiday or makeup_workday.") % {
            "value": raw_kind[:20]
        }
    if len(name) > 100:
        return None, _("the name is longer than 100 characters.")
    if kind == DayKind.HOLIDAY and date.weekday() >= 5:
        return None, None
    problem = changes_nothing(date, kind)
    return (None, problem) if problem else (Day(date, kind, name), None)


# ---------------------------------------------------------------- writes
@transaction.atomic
def calendar_year_load(
    *, year: int, days: list[Day], by, source: str = CalendarYear.Source.FILE
) -> CalendarYear:
    """Replace `year`'s days with `days` and mark the year loaded from `source`, in one
    transaction; then move the running clocks it changes."""
    if any(day.date.year != year for day in days):
        raise ValidationError({"file": [_("Every day must be in %(year)d.") % {"year": year}]})
    CalendarDay.objects.filter(date__range=_year_range(year)).delete()
    CalendarDay.objects.bulk_create([CalendarDay(date=d.date, kind=d.kind, name=d.name) for d in days])
    loaded, _created = CalendarYear.objects.update_or_create(
        year=year, defaults={"source": source, "loaded_by": by}
    )
    clocks_reclock(first=dt.date(year, 1, 1), last=dt.date(year, 12, 31))
    return loaded


def calendar_file_load(*, year: int, data: bytes, by) -> Loaded:
    """Load `year` from a CSV file's bytes (ValidationError on `file` naming its bad lines)."""
    year = parse_year(year)
    days, skipped = read_calendar_file(data, year=year)
    loaded = calendar_year_load(year=year, days=days, by=by, source=CalendarYear.Source.FILE)
    return Loaded(loaded, len(days), skipped)


@transaction.atomic
def calendar_year_mark_entered(*, year: int, by) -> CalendarYear:
    """Say that the days entered by hand for `year` are all of them: the year is loaded."""
    year = parse_year(year)
    if CalendarYear.objects.filter(year=year).exists():
        raise ValidationError({"year": [_("%(year)d is loaded already.") % {"year": year}]})
    if not CalendarDay.objects.filter(date__range=_year_range(year)).exists():
        raise ValidationError(
            {
                "year": [
                    _("No days of %(year)d are entered: enter its holidays first, or load a file.")
                    % {"year": year}
                ]
            }
        )
    loaded = CalendarYear.objects.create(year=year, source=CalendarYear.Source.MANUAL, loaded_by=by)
    clocks_reclock(first=dt.date(year, 1, 1), last=dt.date(year, 12, 31))
    return loaded


@transaction.atomic
def calendar_day_add(*, date: dt.date, kind: str, name: str = "", by) -> CalendarDay:
    """Enter one day. One that changes nothing, or a date entered already: ValidationError."""
    if kind not in DayKind.values:
        raise ValidationError({"kind": [_("Choose holiday or makeup_workday.")]})
    problem = changes_nothing(date, kind)
    if problem:
        raise ValidationError({"kind": [problem]})
    existing = CalendarDay.objects.filter(date=date).first()
    if existing is not None:
        raise ValidationError(
            {
                "date": [
                    _("%(date)s is in the calendar already (%(kind)s): delete it first to change it.")
                    % {"date": date.isoformat(), "kind": existing.get_kind_display()}
                ]
            }
        )
    day = CalendarDay.objects.create(date=date, kind=kind, name=name.strip())
    clocks_reclock(first=date, last=date)
    return day


@transaction.atomic
def calendar_day_delete(*, day: CalendarDay, by) -> None:
    date = day.date
    day.delete()
    clocks_reclock(first=date, last=date)


def _year_range(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


# ---------------------------------------------------------------- running clocks
_RANK = {SlaState.OK: 0, SlaState.WARNING: 1, SlaState.BREACHED: 2}


def clocks_reclock(*, first: dt.date, last: dt.date, now: dt.datetime | None = None) -> int:
    """Recompute `warn_at`, `due_at` and `calendar_missing` of every running clock of working days
    or hours that the days `first`..`last` can move: started before the last of them ends, due
    after the first begins (a day outside a clock's span moves nothing). With the calendar as it is
    now. A clock whose deadline moved later steps its `sla_state` down as of `now`; a step up is the
    SLA job's, which tells the people concerned. Returns the clocks moved.

    About a millisecond a clock (bench: 22 working days); a day's edit touches the clocks running
    across it, a year loaded in December those running into it."""
    since = dt.datetime.combine(first, dt.time(), tzinfo=clock.LOCAL)
    until = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=clock.LOCAL)
    now = now or timezone.now()
    calendar = clock.calendar_for()
    units = ["working_days", "working_hours"]
    fields = ["warn_at", "due_at", "calendar_missing", "sla_state"]
    running = (
        (RequestStage, {"status__in": [StageStatus.ACTIVE, StageStatus.WAITING_CUSTOMER]}),
        (ServiceRequest, {"status__in": [RequestStatus.OPEN, RequestStatus.WAITING_CUSTOMER]}),
    )
    moved = 0
    for model, running_filter in running:
        clocks = model.objects.filter(
            **running_filter,
            unit__in=units,
            started_at__isnull=False,
            done_at__isnull=True,
            started_at__lt=until,
            due_at__gt=since,
        ).only("pk", "limit", "unit", "started_at", "waited_minutes", *fields)
        batch = []
        for item in clocks.iterator(chunk_size=2000):
            if _reclock(calendar, item, now):
                batch.append(item)
            if len(batch) >= 1000:
                moved += len(batch)
                model.objects.bulk_update(batch, fields)
                batch = []
        moved += len(batch)
        model.objects.bulk_update(batch, fields)
    return moved


def _reclock(calendar, item, now) -> bool:
    new = clock.deadlines(
        calendar,
        started_at=item.started_at,
        limit=item.limit,
        unit=item.unit,
        waited_minutes=item.waited_minutes,
    )
    if (new.warn_at, new.due_at, new.calendar_missing) == (item.warn_at, item.due_at, item.calendar_missing):
        return False
    item.warn_at, item.due_at, item.calendar_missing = new.warn_at, new.due_at, new.calendar_missing
    state = SlaState.OK if now < new.warn_at else SlaState.WARNING if now < new.due_at else SlaState.BREACHED
    if _RANK[state] < _RANK.get(item.sla_state, 0):
        item.sla_state = state
    return True


# ---------------------------------------------------------------- reads
def years_status(*, today: dt.date) -> dict:
    """The years the calendar holds (loaded, or with days entered but not declared complete), with
    their days; and whether next year is loaded. Two queries."""
    counts = dict(
        CalendarDay.objects.annotate(year=ExtractYear("date"))
        .values("year")
        .annotate(days=Count("id"))
        .values_list("year", "days")
    )
    loaded = {row.year: row for row in CalendarYear.objects.select_related("loaded_by")}
    rows = [
        {
            "year": year,
            "loaded": year in loaded,
            "source": loaded[year].source if year in loaded else None,
            "source_display": loaded[year].get_source_display() if year in loaded else "",
            "loaded_by": getattr(loaded[year].loaded_by, "display_name", None) if year in loaded else None,
            "loaded_at": loaded[year].updated_at if year in loaded else None,
            "days": counts.get(year, 0),
        }
        for year in sorted(set(counts) | set(loaded))
    ]
    next_year = today.year + 1
    return {
        "years": rows,
        "this_year": today.year,
        "this_year_loaded": today.year in loaded,
        "next_year": next_year,
        "next_year_loaded": next_year in loaded,
    }


def next_year_warning(today: dt.date) -> dict | None:
    """What the administrators' home page must say about the calendar on `today`, or None: this
    year not loaded, at any time; next year not loaded, from 1 December. One query."""
    wanted = [today.year] + ([today.year + 1] if today.month == 12 else [])
    loaded = set(CalendarYear.objects.filter(year__in=wanted).values_list("year", flat=True))
    missing = [year for year in wanted if year not in loaded]
    if not missing:
        return None
    return {"year": missing[0], "this_year": missing[0] == today.year}
