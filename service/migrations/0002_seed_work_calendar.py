"""Seed the work calendar with every year the pinned `chinesecalendar` package knows (2004-2026 in
1.11): its weekday holidays and weekend make-up working days (调休), with their Chinese names.

Self-contained on purpose (a migration must give the same result however the app's code changes):
only the days that differ from the week's pattern are written, as service.calendar does. The
reverse removes the package's years only, never a year an administrator loaded or entered."""

from django.db import migrations

# the package's English holiday names, as the company writes them
NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def _package_days():
    from chinese_calendar import constants

    days = {}
    for date, name in constants.holidays.items():
        if date.weekday() < 5:  # a weekend holiday changes nothing: the weekend rests anyway
            days[date] = ("holiday", NAMES.get(str(name), str(name)))
    for date, name in constants.workdays.items():
        if date.weekday() >= 5:
            days[date] = ("makeup_workday", NAMES.get(str(name), str(name)))
    years = {date.year for date in constants.holidays} | {date.year for date in constants.workdays}
    return days, years


def seed(apps, schema_editor):
    CalendarDay = apps.get_model("service", "CalendarDay")
    CalendarYear = apps.get_model("service", "CalendarYear")
    days, years = _package_days()
    loaded = set(CalendarYear.objects.values_list("year", flat=True))
    CalendarDay.objects.bulk_create(
        [
            CalendarDay(date=date, kind=kind, name=name)
            for date, (kind, name) in sorted(days.items())
            if date.year not in loaded
        ]
    )
    CalendarYear.objects.bulk_create(
        [CalendarYear(year=year, source="package") for year in sorted(years - loaded)]
    )


def unseed(apps, schema_editor):
    CalendarDay = apps.get_model("service", "CalendarDay")
    CalendarYear = apps.get_model("service", "CalendarYear")
    years = list(CalendarYear.objects.filter(source="package").values_list("year", flat=True))
    CalendarDay.objects.filter(date__year__in=years).delete()
    CalendarYear.objects.filter(year__in=years).delete()


class Migration(migrations.Migration):
    dependencies = [("service", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
