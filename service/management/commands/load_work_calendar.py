"""Load a year of the work calendar from a CSV file, or the years the chinesecalendar package knows.

    manage.py load_work_calendar --year 2027 holidays-2027.csv
    manage.py load_work_calendar --package            # every year the package knows and the calendar lacks
    manage.py load_work_calendar --status             # the years loaded, and whether next year is

The file format is in docs/work-calendar.md; a bad line stops the load with nothing written."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from service import calendar as work_calendar


class Command(BaseCommand):
    help = "Load a year of the work calendar from a CSV file (date,kind,name), or seed from the package."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="CSV file of the year's days")
        parser.add_argument("--year", type=int, help="the year the file holds")
        parser.add_argument("--package", action="store_true", help="seed the years the package knows")
        parser.add_argument("--status", action="store_true", help="list the years and stop")

    def handle(self, *args, file=None, year=None, package=False, status=False, **options):
        if status:
            return self._status()
        if package:
            seeded = work_calendar.calendar_seed_from_package(years=[year] if year else None)
            self.stdout.write(f"seeded from the package: {', '.join(map(str, seeded)) or 'nothing new'}")
            return None
        if not file or not year:
            raise CommandError("give a FILE and --year, or --package, or --status")
        try:
            data = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc}") from exc
        try:
            loaded = work_calendar.calendar_file_load(year=year, data=data, by=None)
        except ValidationError as exc:
            raise CommandError("nothing loaded:\n" + "\n".join(exc.messages)) from exc
        self.stdout.write(
            f"{loaded.year.year} loaded from {file}: {loaded.days} days"
            + (f" ({loaded.skipped} weekend holidays skipped)" if loaded.skipped else "")
        )
        return None

    def _status(self):
        status = work_calendar.years_status(today=timezone.localdate())
        for row in status["years"]:
            source = row["source"] or "NOT LOADED"
            self.stdout.write(f"{row['year']}  {source:<8} {row['days']:>3} days")
        state = "loaded" if status["next_year_loaded"] else "NOT LOADED"
        self.stdout.write(f"next year {status['next_year']}: {state}")
