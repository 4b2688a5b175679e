"""`manage.py seed_demo`: a believable county to try the product on, or to benchmark it with.

manage.py seed_demo                          # ~5,000 customers, 24 months
manage.py seed_demo --if-empty               # what `make run` does: nothing when customers exist
manage.py seed_demo --customers 1000000 --months 12   # a benchmark county (COPY on PostgreSQL)
"""

import datetime as dt
import importlib
import random
import time

from django.contrib.auth.password_validation import validate_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import User

# `months` is the command's option (how many): the module's functions are imported by name.
from crm.common.months import add_months, month_start
from crm.common.months import label as month_label
from crm.common.months import parse as parse_month
from crm.demo import builders, writing
from crm.demo.logins import DEMO_LOGINS, DEMO_PASSWORD, logins_table
from crm.demo.org import STATIONS, build_org
from customers.models import Customer, Station, Tier

DEFAULT_SEED = 20260101
# Apps above managers may add their own demo data (courses, visits, appraisals) by providing
# `<app>/demo.py` with `seed_demo(*, seed: int, until: datetime.date) -> str`, which answers a line
# saying what it made; each runs after the customers exist, in this order, inside the same transaction.
# One-stop service's is crm.demo.service, after the visits: it turns their follow-ups into requests.
# Forecasts' is crm.demo.forecasts, before the appraisals: their evidence reads its scored forecasts.
EXTRA_DEMO_MODULES = (
    "training.demo",
    "visits.demo",
    "crm.demo.visit_checkins",
    "crm.demo.service",
    "crm.demo.forecasts",
    "appraisal.demo",
    "crm.demo.notices",  # after the service's departments: committee needs become requests
    "crm.demo.webhooks",
)


def _month(value: str) -> dt.date:
    try:
        return parse_month(value, strict=False)
    except ValueError:
        raise CommandError(_("Give the month as YYYY-MM, e.g. 2026-09.")) from None


class Command(BaseCommand):
    help = (
        "Build a demo county: one branch, 3 supply stations, communities and transformer districts, "
        "staff of every role, customers with Chinese names and monthly consumption, each with its tier "
        "and manager. Deterministic for a given --seed and --until."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=5000, help="number of customers (default 5000)")
        # 36: a forecast made at a visit is scored a year later, against the baseline made from the
        # year before the visit; the last full year's appraisal reads forecasts made the year before it
        parser.add_argument(
            "--months", type=int, default=36, help="months of consumption per customer (default 36)"
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same data)"
        )
        parser.add_argument(
            "--until",
            type=_month,
            default=None,
            help="the last month of consumption, YYYY-MM (default: last month)",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the database already has customers"
        )
        parser.add_argument(
            "--chunk", type=int, default=5000, help="customers generated and written per batch (default 5000)"
        )

    def handle(self, *args, customers, months, seed, until, if_empty, chunk, verbosity, **options):
        if customers < 0 or not 1 <= months <= 120 or chunk < 1:
            raise CommandError(_("--customers must be >= 0, --months between 1 and 120, --chunk >= 1."))
        if Customer.objects.exists():
            if if_empty:
                if verbosity:
                    self.stdout.write(_("The database already has customers: demo data left as it is."))
                return
            raise CommandError(
                _(
                    "The database already has customers. Use --if-empty to keep them, or empty the database "
                    "first (manage.py flush)."
                )
            )
        demo_usernames = {username for _label, username in DEMO_LOGINS}
        if Station.objects.filter(code__in=[s.code for s in STATIONS]).exists() or (
            User.objects.filter(username__in=demo_usernames).exists()
        ):
            raise CommandError(
                _("Part of the demo data is already there. Empty the database first (manage.py flush).")
            )
        validate_password(DEMO_PASSWORD)

        if isinstance(until, str):  # call_command passes keyword options through unparsed
            until = _month(until)
        until = month_start(until or add_months(timezone.localdate(), -1))
        periods = builders.months_back(until, months)
        rng = random.Random(seed)  # noqa: S311 - demo data, not secrets  # nosec B311
        started = time.monotonic()
        with transaction.atomic():
            org = build_org(rng=rng, customers=customers)
            stream = builders.CustomerStream(
                rng=rng,
                org=org,
                customers=customers,
                periods=periods,
                first_id=writing.next_customer_id(),
                chunk=chunk,
            )
            tally = writing.write_stream(stream=stream, progress=self._progress(customers, verbosity))
            writing.write_contacts(rng=rng)
            for path in EXTRA_DEMO_MODULES:
                try:
                    module = importlib.import_module(path)
                except ModuleNotFoundError as exc:
                    if exc.name != path:
                        raise
                    continue
                self.stdout.write(module.seed_demo(seed=seed, until=until))
        elapsed = time.monotonic() - started

        if verbosity:
            self.stdout.write(
                _(
                    "Demo county built in %(s).1f s: %(stations)s supply stations, %(communities)s "
                    "communities, %(districts)s transformer districts, %(managers)s managers, "
                    "%(customers)s customers, %(records)s consumption records (%(first)s to %(last)s)."
                )
                % {
                    "s": elapsed,
                    "stations": len(org.stations),
                    "communities": sum(len(s.communities) for s in org.stations),
                    "districts": sum(len(s.districts) for s in org.stations),
                    "managers": org.manager_count,
                    "customers": tally.customers,
                    "records": tally.consumption,
                    "first": month_label(periods[0]),
                    "last": month_label(periods[-1]),
                }
            )
            tiers = ", ".join(f"{label} {tally.tiers.get(code, 0)}" for code, label in Tier.choices)
            self.stdout.write(_("Tiers: %(tiers)s") % {"tiers": tiers})
            self.stdout.write(_("Demo logins:"))
            self.stdout.write(logins_table())

    def _progress(self, total: int, verbosity: int):
        if verbosity < 2 or total < 50000:
            return None
        started = time.monotonic()

        def report(tally):
            self.stdout.write(
                f"  {tally.customers:,}/{total:,} customers, {tally.consumption:,} records, "
                f"{time.monotonic() - started:.0f} s"
            )

        return report
