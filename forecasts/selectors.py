"""Reads of the baselines: a customer's (the API, the customer page's chart) and the industry and
station trends (24 months metered, 12 forecast by the baselines and by the managers)."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, When
from django.db.models.functions import Substr, Upper
from django.utils import timezone

from crm.common.months import add_months, month_start
from customers.models import ConsumptionRecord, Customer
from forecasts.industries import section_key
from forecasts.models import HORIZON, MONTH_FIELDS, Baseline, Method
from visits.models import VisitReport

METERED_MONTHS = 24
KWH = DecimalField(max_digits=20, decimal_places=2)


def baselines_of(*, user, customer_id: int) -> QuerySet[Baseline]:
    """The customer's baselines, newest first (the model before the seasonal naive of a month);
    none for a customer outside the user's scope."""
    return Baseline.objects.visible_to(user).filter(customer_id=customer_id).best_first()


def latest_baseline(*, customer, today: dt.date | None = None) -> Baseline | None:
    """The baseline standing now for the customer: the latest made for this month or before, the
    model's where it was made. One query."""
    month = month_start(today or timezone.localdate())
    return Baseline.objects.filter(customer=customer, made_for__lte=month).best_first().first()


def latest_forecast(*, customer, today: dt.date | None = None) -> VisitReport | None:
    """The manager's latest 12-month forecast of the customer made in the last 12 months. One query."""
    month = month_start(today or timezone.localdate())
    return (
        VisitReport.objects.filter(
            task__customer=customer, forecast_kwh_12m__isnull=False, visited_on__gte=add_months(month, -12)
        )
        .select_related("task__manager")
        .order_by("-visited_on", "-pk")
        .first()
    )


def standing(made_for: dt.date) -> Q:
    """Of a month's baselines, the one that stands for each customer: the model's, else the naive."""
    theta = Baseline.objects.filter(
        customer_id=OuterRef("customer_id"), made_for=made_for, method=Method.THETA
    )
    return Q(made_for=made_for) & (
        Q(method=Method.THETA) | (Q(method=Method.SEASONAL_NAIVE) & ~Exists(theta))
    )


# ---------------------------------------------------------------- industry and station trends
@dataclass
class Trend:
    """One industry section (C by division) at one station, or all of them (`station_id` None)."""

    key: str
    station_id: int | None
    metered: list[Decimal] = field(default_factory=lambda: [Decimal(0)] * METERED_MONTHS)
    baseline: list[Decimal] = field(default_factory=lambda: [Decimal(0)] * HORIZON)
    # the baseline with the months of customers a manager forecast replaced by that forecast
    managers: list[Decimal] = field(default_factory=lambda: [Decimal(0)] * HORIZON)
    forecast_customers: int = 0

    def add(self, other: "Trend") -> None:
        for name in ("metered", "baseline", "managers"):
            setattr(
                self, name, [a + b for a, b in zip(getattr(self, name), getattr(other, name), strict=True)]
            )
        self.forecast_customers += other.forecast_customers

    @property
    def metered_12m(self) -> Decimal:
        return sum(self.metered[-12:], Decimal(0))

    @property
    def baseline_12m(self) -> Decimal:
        return sum(self.baseline, Decimal(0))

    @property
    def managers_12m(self) -> Decimal:
        return sum(self.managers, Decimal(0))

    @property
    def change_pct(self) -> Decimal | None:
        """The baseline's next 12 months against the last 12 metered."""
        if self.metered_12m <= 0:
            return None
        return ((self.baseline_12m - self.metered_12m) / self.metered_12m * 100).quantize(Decimal("0.1"))


@dataclass
class Trends:
    made_for: dt.date  # the first forecast month
    first_metered: dt.date
    rows: list[Trend]  # per section and station
    sections: list[Trend]  # per section, all stations in scope
    total: Trend

    @property
    def metered_months(self) -> list[dt.date]:
        return [add_months(self.first_metered, n) for n in range(METERED_MONTHS)]

    @property
    def forecast_months(self) -> list[dt.date]:
        return [add_months(self.made_for, n) for n in range(HORIZON)]


def _section_expression():
    """industry_code -> its section letter, or for manufacturing (C) the letter and division: "C34"."""
    code = Upper("customer__industry_code")
    return Case(
        When(customer__industry_code__istartswith="C", then=Substr(code, 1, 3)),
        default=Substr(code, 1, 1),
    )


def industry_trends(
    *, user, station_id: int | None = None, industry: str = "", today: dt.date | None = None
) -> Trends:
    """The customers `user` may see, by industry section and station: 24 months metered, the next
    12 by the baselines and by the managers' forecasts. Two queries whatever the customers."""
    made_for = month_start(today or timezone.localdate())
    first = add_months(made_for, -METERED_MONTHS)
    customers = Customer.objects.visible_to(user)
    if station_id is not None:
        customers = customers.filter(station_id=station_id)
    section = _section_expression()
    trends: dict[tuple[str, int], Trend] = {}

    def trend(key: str, station: int) -> Trend:
        return trends.setdefault((key, station), Trend(key=key, station_id=station))

    metered = (
        ConsumptionRecord.objects.filter(customer__in=customers, period__gte=first, period__lt=made_for)
        .annotate(section=section)
        .values("section", "customer__station_id", "period")
        .annotate(kwh=Sum("kwh"))
        .order_by()
    )
    if industry:
        metered = metered.filter(section__startswith=industry.upper())
    for row in metered:
        months = (row["period"].year - first.year) * 12 + row["period"].month - first.month
        trend(section_key(row["section"]), row["customer__station_id"]).metered[months] += row["kwh"] or 0
    # the latest forecast each customer's manager made in the last 12 months (None: no forecast)
    forecast = Subquery(
        VisitReport.objects.filter(
            task__customer_id=OuterRef("customer_id"),
            forecast_kwh_12m__isnull=False,
            visited_on__gte=add_months(made_for, -12),
        )
        .order_by("-visited_on", "-pk")
        .values("forecast_kwh_12m")[:1]
    )
    baselines = Baseline.objects.filter(standing(made_for), customer__in=customers).annotate(
        section=section, forecast=forecast
    )
    if industry:
        baselines = baselines.filter(section__startswith=industry.upper())
    # (named apart from the columns: an aggregate named `m01` would hide the column from F("m01"))
    sums = {f"s_{name}": Sum(name) for name in MONTH_FIELDS}
    # a forecast customer's months as the manager said: their total spread by the baseline's shape
    with_forecast = Q(forecast__isnull=False, total_kwh_12m__gt=0)
    sums.update(
        {
            f"f_{name}": Sum(
                F(name) * F("forecast") / F("total_kwh_12m"), filter=with_forecast, output_field=KWH
            )
            for name in MONTH_FIELDS
        }
    )
    sums.update({f"b_{name}": Sum(name, filter=with_forecast) for name in MONTH_FIELDS})
    sums["forecast_customers"] = Count("pk", filter=with_forecast)
    for row in baselines.values("section", "customer__station_id").annotate(**sums).order_by():
        item = trend(section_key(row["section"]), row["customer__station_id"])
        item.baseline = [Decimal(row[f"s_{name}"] or 0) for name in MONTH_FIELDS]
        item.managers = [
            Decimal(row[f"s_{name}"] or 0) - Decimal(row[f"b_{name}"] or 0) + Decimal(row[f"f_{name}"] or 0)
            for name in MONTH_FIELDS
        ]
        item.forecast_customers = row["forecast_customers"]
    for item in trends.values():
        item.metered = [Decimal(v).quantize(Decimal(1)) for v in item.metered]
        item.baseline = [Decimal(v).quantize(Decimal(1)) for v in item.baseline]
        item.managers = [Decimal(v).quantize(Decimal(1)) for v in item.managers]
    rows = sorted(trends.values(), key=lambda t: (t.key, t.station_id))
    sections: dict[str, Trend] = {}
    total = Trend(key="", station_id=None)
    for item in rows:
        sections.setdefault(item.key, Trend(key=item.key, station_id=None)).add(item)
        total.add(item)
    return Trends(
        made_for=made_for, first_metered=first, rows=rows, sections=list(sections.values()), total=total
    )
