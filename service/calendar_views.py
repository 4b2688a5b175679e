"""The work calendar page (service:calendar): a year at a glance, twelve small month grids with the
holidays and make-up working days coloured and named, the years loaded, and for administrators the
forms that enter or delete a day, load a year from a file, or declare a year's days complete.

Every signed-in user may look (the clocks of every role run on it); a POST needs the permission of
what it does (403 otherwise). The page reads three queries whatever the calendar holds: the year's
days, and the years with their counts (service.calendar.years_status)."""

import calendar as pycalendar
import csv
import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods

from service import calendar as work_calendar
from service.calendar_api import ADD, DELETE
from service.models import CalendarDay, DayKind

WEEKDAY_INITIALS = [
    pgettext_lazy("weekday initial", "Mo"),
    pgettext_lazy("weekday initial", "Tu"),
    pgettext_lazy("weekday initial", "We"),
    pgettext_lazy("weekday initial", "Th"),
    pgettext_lazy("weekday initial", "Fr"),
    pgettext_lazy("weekday initial", "Sa"),
    pgettext_lazy("weekday initial", "Su"),
]


class DayForm(forms.Form):
    date = forms.DateField(label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(label=gettext_lazy("Kind of day"), choices=DayKind.choices)
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("e.g. National Day")}),
    )


class UploadForm(forms.Form):
    year = forms.IntegerField(
        label=gettext_lazy("Year"), min_value=work_calendar.MIN_YEAR, max_value=work_calendar.MAX_YEAR
    )
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy("Columns date,kind,name; it replaces every day of the year."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


def _shown_year(request, today: dt.date) -> int:
    try:
        return work_calendar.parse_year(request.GET.get("year", ""))
    except ValidationError:
        return today.year


def _months(year: int, days: dict[dt.date, CalendarDay], today: dt.date) -> list[dict]:
    """Twelve months of weeks (Monday first), each cell a day with what it is, or None."""
    weeks_of = pycalendar.Calendar(firstweekday=0)
    months = []
    for month in range(1, 13):
        weeks = []
        for week in weeks_of.monthdatescalendar(year, month):
            cells = []
            for date in week:
                if date.month != month:
                    cells.append(None)
                    continue
                entered = days.get(date)
                weekday_kind = "rest" if date.weekday() >= 5 else "work"
                kind = entered.kind if entered is not None else weekday_kind
                cells.append(
                    {
                        "date": date,
                        "kind": kind,
                        "name": entered.name if entered else "",
                        "today": date == today,
                    }
                )
            weeks.append(cells)
        months.append(
            {"number": month, "name": MONTHS[month], "weeks": weeks, "notes": _notes(year, month, days)}
        )
    return months


def _notes(year: int, month: int, days: dict[dt.date, CalendarDay]) -> list[dict]:
    """The month's entered days as runs of consecutive days of one kind and name (1-7 国庆节), to
    read beside the grid, whose cells are too small for names on a phone."""
    notes: list[dict] = []
    for date in sorted(d for d in days if d.year == year and d.month == month):
        day = days[date]
        last = notes[-1] if notes else None
        if (
            last
            and last["kind"] == day.kind
            and last["name"] == day.name
            and _adjoins(last["last"], date, days)
        ):
            last["last"] = date
        else:
            notes.append({"first": date, "last": date, "kind": day.kind, "name": day.name})
    return notes


def _adjoins(before: dt.date, date: dt.date, days) -> bool:
    """`date` continues a run ending `before`: only weekend rest days lie between (a holiday's
    Saturday and Sunday are not entered, yet 1-7 October is one holiday)."""
    gap = (before + dt.timedelta(n) for n in range(1, (date - before).days))
    return all(d.weekday() >= 5 and d not in days for d in gap)


def _context(request, year: int, today: dt.date, **forms_) -> dict:
    days = list(CalendarDay.objects.filter(date__range=(dt.date(year, 1, 1), dt.date(year, 12, 31))))
    status = work_calendar.years_status(today=today)
    rows = {row["year"]: row for row in status["years"]}
    # beside a step back and forward, this year and next if they are not a step away; any other
    # year is in the list at the foot of the page
    picker = [y for y in (today.year, today.year + 1) if abs(y - year) > 1]
    return {
        "year": year,
        "today": today,
        "days": days,
        "months": _months(year, {d.date: d for d in days}, today),
        "weekdays": WEEKDAY_INITIALS,
        "status": status,
        "shown": rows.get(year),
        "picker": picker,
        "can_add": request.user.has_perm(ADD),
        "can_delete": request.user.has_perm(DELETE),
        "can_load": request.user.has_perm(ADD) and request.user.has_perm(DELETE),
        "day_form": forms_.get("day_form") or DayForm(),
        "upload_form": forms_.get("upload_form") or UploadForm(initial={"year": year}),
        "holiday": DayKind.HOLIDAY,
        "makeup": DayKind.MAKEUP_WORKDAY,
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def calendar_page(request):
    today = timezone.localdate()
    year = _shown_year(request, today)
    if request.method != "POST":
        if request.GET.get("export") == "csv":
            return _export(year)
        return render(request, "service/calendar.html", _context(request, year, today))
    action = request.POST.get("action", "")
    handler = {"add": _add, "delete": _delete, "upload": _upload, "entered": _entered}.get(action)
    if handler is None:
        messages.error(request, _("Unknown action."))
        return redirect(_back(year))
    return handler(request, year, today)


def _export(year: int) -> HttpResponse:
    """The year's days as the file that loads them (docs/work-calendar.md): last year's file, its
    dates changed, is the start of next year's."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="work-calendar-{year}.csv"'
    response.write("\ufeff")  # a BOM: Excel on a Chinese Windows reads UTF-8 only with one
    writer = csv.writer(response, lineterminator="\n")
    writer.writerow(["date", "kind", "name"])
    for day in CalendarDay.objects.filter(date__range=(dt.date(year, 1, 1), dt.date(year, 12, 31))):
        writer.writerow([day.date.isoformat(), day.kind, day.name])
    return response


def _back(year: int) -> str:
    return f"{reverse('service:calendar')}?year={year}"


def _require(request, *names: str) -> None:
    if not all(request.user.has_perm(name) for name in names):
        raise PermissionDenied(_("Only administrators may change the work calendar."))


def _put_back(form: forms.Form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _add(request, year: int, today: dt.date):
    _require(request, ADD)
    form = DayForm(request.POST)
    if form.is_valid():
        try:
            day = work_calendar.calendar_day_add(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _put_back(form, exc)
        else:
            messages.success(
                request,
                _("%(date)s entered as %(kind)s.")
                % {"date": day.date.isoformat(), "kind": day.get_kind_display()},
            )
            return redirect(_back(day.date.year))
    return render(request, "service/calendar.html", _context(request, year, today, day_form=form), status=400)


def _delete(request, year: int, today: dt.date):
    _require(request, DELETE)
    date = work_calendar.parse_date(request.POST.get("date", ""))
    day = CalendarDay.objects.filter(date=date).first() if date else None
    if day is None:
        messages.error(request, _("That day is not in the calendar (deleted already?)."))
        return redirect(_back(year))
    work_calendar.calendar_day_delete(day=day, by=request.user)
    messages.success(
        request, _("%(date)s deleted: it follows the week's pattern again.") % {"date": date.isoformat()}
    )
    return redirect(_back(date.year))


def _upload(request, year: int, today: dt.date):
    _require(request, ADD, DELETE)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            loaded = work_calendar.calendar_file_load(
                year=form.cleaned_data["year"],
                data=upload.read(work_calendar.MAX_FILE_BYTES + 1),
                by=request.user,
            )
        except ValidationError as exc:
            _put_back(form, exc)
        else:
            messages.success(
                request,
                _("%(year)d loaded from the file: %(days)d days.")
                % {"year": loaded.year.year, "days": loaded.days},
            )
            return redirect(_back(loaded.year.year))
    return render(
        request, "service/calendar.html", _context(request, year, today, upload_form=form), status=400
    )


def _entered(request, year: int, today: dt.date):
    _require(request, ADD, DELETE)
    try:
        loaded = work_calendar.calendar_year_mark_entered(year=request.POST.get("year", ""), by=request.user)
    except ValidationError as exc:
        for errors in exc.message_dict.values():
            for error in errors:
                messages.error(request, error)
        return redirect(_back(year))
    messages.success(request, _("%(year)d is loaded: its days as entered.") % {"year": loaded.year})
    return redirect(_back(loaded.year))
