"""Demo forecasts: visits of a year and a half ago whose forecasts have their 12 months metered, made
by managers who forecast differently (some know their customers and beat the baseline, some guess,
one is optimistic), and the baselines current at those visits and now, computed by the same job
the month's consumption starts. So the scores pages show a spread of value added, the appraisal
evidence the same figures, and the customer pages the next 12 months.

A forecast made in month M is scored when M+12 is metered, so the scored visits fall a year or more
before the last metered month, and the baselines current at them were made from the months before
them (fewer than 12: their mean, the job's rule; the model where 24 were metered). The demo's 36
months (seed_demo --months) put scored visits in the year before the last full year too, which
that year's appraisal reads. Deterministic for a given seed; a second run adds nothing."""

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from crm.common.months import add_months, month_start
from customers.models import ConsumptionRecord, Customer, Status, Tier
from forecasts.baselines import baseline_run_execute, baseline_run_start
from forecasts.models import Baseline, BaselineRun
from visits.models import Channel, Kind, TaskStatus, Trend, VisitReport, VisitTask

DEFAULT_SEED = 20260101
SCORED_MONTHS = 6  # visit months whose forecasts are scored: M+12 metered by `until`
MIN_HISTORY = 6  # months metered before a scored visit, for a baseline worth beating
# how managers forecast a customer's next year: (share of them, relative spread, bias)
STYLES = (
    (0.35, 0.04, 0.0),  # they know their customers: a few percent off
    (0.35, 0.14, 0.0),  # they guess around the right level
    (0.15, 0.10, 0.25),  # optimistic: a quarter over, give or take
    (0.15, 0.35, 0.0),  # careless
)
OTHER_SHARE = 0.15  # customers of the lower tiers visited with a forecast in those months


def _style(rng: random.Random) -> tuple[float, float]:
    pick, running = rng.random(), 0.0
    for share, spread, bias in STYLES:
        running += share
        if pick < running:
            return spread, bias
    return STYLES[-1][1], STYLES[-1][2]


def scored_visit_months(until: dt.date) -> list[dt.date]:
    """The months whose visits' forecasts are scored by `until` (M+12 metered) with at least
    MIN_HISTORY months metered before them: the last SCORED_MONTHS of those, and as many in the year
    before the last full year (what the appraisal of that year reads: appraisal.evidence)."""
    first_metered = ConsumptionRecord.objects.order_by("period").values_list("period", flat=True).first()
    if first_metered is None:
        return []
    earliest, latest = add_months(first_metered, MIN_HISTORY), add_months(until, -12)
    months = {add_months(latest, -n) for n in range(SCORED_MONTHS)}
    year = (until.year if until.month == 12 else until.year - 1) - 1
    months |= {add_months(dt.date(year, 12, 1), -n) for n in range(SCORED_MONTHS)}
    return sorted(m for m in months if earliest <= m <= latest)


@transaction.atomic
def seed_forecasts_demo(*, seed: int = DEFAULT_SEED, until: dt.date) -> dict[str, int]:
    until = month_start(until)
    if Baseline.objects.exists():
        return {"reports": 0, "baselines": 0, "runs": 0}
    rng = random.Random(seed + 20)  # noqa: S311 - demo data, not secrets  # nosec B311
    visit_months = scored_visit_months(until)
    if not visit_months:
        return {"reports": 0, "baselines": 0, "runs": 0}
    first_visit = visit_months[0]
    customers = list(
        Customer.objects.filter(status=Status.ACTIVE, manager__isnull=False)
        .order_by("pk")
        .values_list("pk", "manager_id", "tier")
    )
    chosen = [
        (pk, manager_id)
        for pk, manager_id, tier in customers
        if tier in (Tier.VIP, Tier.KEY_ACCOUNT) or rng.random() < OTHER_SHARE
    ]
    metered: defaultdict[int, dict[dt.date, Decimal]] = defaultdict(dict)
    for customer_id, period, kwh in ConsumptionRecord.objects.filter(
        customer_id__in=[pk for pk, _m in chosen], period__gt=first_visit
    ).values_list("customer_id", "period", "kwh"):
        metered[customer_id][period] = kwh
    # the visit cycles' own tasks of those months (one per customer, kind and period): not twice
    taken = set(
        VisitTask.objects.filter(kind=Kind.SCHEDULED, period__in=visit_months).values_list(
            "customer_id", "period"
        )
    )
    styles: dict[int, tuple[float, float]] = {}
    tasks, forecasts = [], []
    for customer_id, manager_id in chosen:
        free = [m for m in visit_months if (customer_id, m) not in taken]
        if not free:
            continue
        month = rng.choice(free)
        year = [metered[customer_id].get(add_months(month, n)) for n in range(1, 13)]
        if any(v is None for v in year):
            continue
        spread, bias = styles.setdefault(manager_id, _style(rng))
        factor = max(0.0, 1 + bias + rng.gauss(0, spread))
        forecasts.append((sum(year, Decimal(0)) * Decimal(str(round(factor, 3)))).quantize(Decimal(1)))
        due = add_months(month, 1) - dt.timedelta(days=1)
        tasks.append(
            VisitTask(
                kind=Kind.SCHEDULED,
                customer_id=customer_id,
                manager_id=manager_id,
                period=month,
                due_date=due,
                status=TaskStatus.DONE,
            )
        )
    VisitTask.objects.bulk_create(tasks, batch_size=2000)
    reports = [
        VisitReport(
            task=task,
            visited_on=task.period + dt.timedelta(days=rng.randint(0, 20)),
            channel=rng.choices(Channel.values, weights=[6, 3, 1])[0],
            business_trend=rng.choice(Trend.values),
            satisfaction=rng.choice([4, 5]),
            forecast_kwh_12m=forecast,
        )
        for task, forecast in zip(tasks, forecasts, strict=True)
    ]
    VisitReport.objects.bulk_create(reports, batch_size=2000)
    # the baselines current at those visits, and the one of the month after the last metered
    made = 0
    for made_for in [*visit_months, add_months(until, 1)]:
        run, _created = baseline_run_start(made_for=made_for, trigger=BaselineRun.Trigger.SEED)
        run = baseline_run_execute(run_id=run.pk)
        made += run.seasonal_naive + run.theta
    return {"reports": len(reports), "baselines": made, "runs": len(visit_months) + 1}


def seed_demo(*, seed: int, until: dt.date | None = None) -> str:
    """The entry point `manage.py seed_demo` calls: what it made, in a line."""
    until = until or add_months(month_start(dt.date.today()), -1)  # noqa: DTZ011 - a month, not an instant
    return _("Forecasts: %(reports)s scored visit reports, %(baselines)s baselines in %(runs)s runs.") % (
        seed_forecasts_demo(seed=seed, until=until)
    )
