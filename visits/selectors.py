"""Reads of the visit system that need more than one chained filter: a manager's week, the
supervisors' completion and follow-up tables, and the forecast error of visit reports."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, Min, Prefetch, Q, QuerySet, prefetch_related_objects
from django.db.models.functions import TruncMonth
from django.utils import timezone

from crm.common.months import add_months, month_start
from customers.models import ConsumptionRecord
from visits.models import Department, FollowUp, Kind, TaskStatus, VisitReport, VisitTask


# ---------------------------------------------------------------- a manager's week
def week_tasks_for(*, user, manager_id: int, day: dt.date | None = None) -> list[VisitTask]:
    """The manager's open tasks to show this week: care visits first, then overdue ones, then those
    due by the end of the week (Sunday), each group by due date."""
    day = day or timezone.localdate()
    week_end = day + dt.timedelta(days=6 - day.weekday())
    tasks = (
        VisitTask.objects.visible_to(user)
        .for_manager(manager_id)
        .open()
        .filter(Q(kind=Kind.CARE) | Q(status=TaskStatus.OVERDUE) | Q(due_date__lte=week_end))
        .with_live_status(day)
        .select_related("customer", "community", "transformer_district")
    )

    def rank(task: VisitTask) -> tuple:
        group = 0 if task.kind == Kind.CARE else 1 if task.live_status == TaskStatus.OVERDUE else 2
        return (group, task.due_date, task.pk)

    return sorted(tasks, key=rank)


def month_tasks_for(*, user, manager_id: int | None, month: dt.date) -> QuerySet[VisitTask]:
    """Tasks due in a month (not cancelled), for the calendar."""
    tasks = (
        VisitTask.objects.visible_to(user)
        .filter(due_date__gte=month, due_date__lt=add_months(month, 1))
        .exclude(status=TaskStatus.CANCELLED)
        .with_live_status()
    )
    if manager_id:
        tasks = tasks.for_manager(manager_id)
    return tasks.select_related("customer", "community", "transformer_district").order_by("due_date", "id")


# ---------------------------------------------------------------- a customer's visits
def visit_history(*, user, customer, limit: int) -> list[VisitTask]:
    """The customer's latest `limit` visits that `user` may see, newest first, each with its report
    as `report_full` (None without one) and the report's follow-ups: two queries, the tasks with
    their reports, then the follow-ups of all of them."""
    tasks = list(
        VisitTask.objects.visible_to(user)
        .filter(customer=customer)
        .with_live_status()
        .select_related("report", "manager")
        .order_by("-due_date", "-id")[:limit]
    )
    reports = [t.report for t in tasks if hasattr(t, "report")]
    prefetch_related_objects(reports, Prefetch("follow_ups", queryset=FollowUp.objects.order_by("id")))
    for task in tasks:
        task.report_full = getattr(task, "report", None)
    return tasks


# ---------------------------------------------------------------- supervisors
@dataclass
class CompletionRow:
    manager_id: int
    name: str
    month: dt.date
    due: int
    done: int
    on_time: int

    @property
    def rate(self) -> float | None:
        return round(100 * self.done / self.due, 1) if self.due else None


def completion_by_manager_and_month(*, user, since: dt.date, until: dt.date) -> list[CompletionRow]:
    """Per manager in scope and month of due date: tasks due (not cancelled), done, done on time."""
    rows = (
        VisitTask.objects.visible_to(user)
        .filter(due_date__gte=since, due_date__lt=until, manager__isnull=False)
        .exclude(status=TaskStatus.CANCELLED)
        .annotate(month=TruncMonth("due_date"))
        .values("manager_id", "manager__full_name", "manager__username", "month")
        .annotate(
            due=Count("id"),
            done=Count("id", filter=Q(status=TaskStatus.DONE)),
            on_time=Count("id", filter=Q(status=TaskStatus.DONE, report__visited_on__lte=F("due_date"))),
        )
        .order_by("manager__full_name", "manager_id", "month")
    )
    return [
        CompletionRow(
            manager_id=row["manager_id"],
            name=row["manager__full_name"] or row["manager__username"],
            month=row["month"].date() if isinstance(row["month"], dt.datetime) else row["month"],
            due=row["due"],
            done=row["done"],
            on_time=row["on_time"],
        )
        for row in rows
    ]


def overdue_for(*, user) -> QuerySet[VisitTask]:
    return (
        VisitTask.objects.visible_to(user)
        .overdue()
        .select_related("customer", "community", "transformer_district", "manager")
        .order_by("due_date", "id")
    )


def follow_ups_waiting_by_department(*, user) -> list[dict]:
    """Open follow-up actions per department (in scope), with the oldest visit date."""
    rows = list(
        FollowUp.objects.visible_to(user)
        .waiting()
        .values("department")
        .annotate(count=Count("id"), oldest=Min("report__visited_on"))
        .order_by("department")
    )
    for row in rows:
        row["label"] = Department(row["department"]).label
    return rows


def follow_ups_waiting(*, user) -> QuerySet[FollowUp]:
    return (
        FollowUp.objects.visible_to(user)
        .waiting()
        .select_related(
            "report__task__customer", "report__task__community", "report__task__transformer_district"
        )
        .order_by("department", "report__visited_on", "id")
    )


# ---------------------------------------------------------------- forecast error
@dataclass
class ForecastRow:
    report_id: int
    customer_id: int
    customer_name: str
    manager_id: int | None
    visit_month: dt.date
    forecast: Decimal
    actual: Decimal

    @property
    def ape(self) -> Decimal:
        """Absolute percentage error of the forecast against the metered 12 months."""
        return abs(self.forecast - self.actual) / self.actual * 100


@dataclass
class ForecastSummary:
    rows: list[ForecastRow] = field(default_factory=list)

    @staticmethod
    def _mape(rows) -> Decimal | None:
        rows = list(rows)
        return (sum(r.ape for r in rows) / len(rows)).quantize(Decimal("0.1")) if rows else None

    @property
    def overall(self) -> Decimal | None:
        return self._mape(self.rows)

    def by_manager(self) -> dict[int | None, Decimal]:
        groups: defaultdict[int | None, list[ForecastRow]] = defaultdict(list)
        for row in self.rows:
            groups[row.manager_id].append(row)
        return {key: self._mape(items) for key, items in groups.items()}

    def by_customer(self) -> dict[int, Decimal]:
        groups: defaultdict[int, list[ForecastRow]] = defaultdict(list)
        for row in self.rows:
            groups[row.customer_id].append(row)
        return {key: self._mape(items) for key, items in groups.items()}


def forecast_errors(*, user, today: dt.date | None = None) -> ForecastSummary:
    """Reports (in scope) on customers with a forecast whose 12 months after the visit month have all
    passed and been metered: the forecast against the sum of those 12 months' consumption. A report
    whose months are not all metered yet, or that metered nothing, is left out."""
    today = today or timezone.localdate()
    latest_visit_month = add_months(month_start(today), -13)  # its 12th month ended before this month
    reports = (
        VisitReport.objects.visible_to(user)
        .filter(
            task__customer__isnull=False,
            forecast_kwh_12m__isnull=False,
            visited_on__lt=add_months(latest_visit_month, 1),
        )
        .values_list(*FORECAST_COLUMNS)
        .order_by("visited_on", "pk")
    )
    return ForecastSummary(rows=forecasts_against_metered(list(reports)))


# What `forecasts_against_metered` reads of each report, in its order: a VisitReport queryset's
# `.values_list(*FORECAST_COLUMNS)`.
FORECAST_COLUMNS = (
    "pk",
    "task__customer_id",
    "task__customer__name",
    "task__manager_id",
    "visited_on",
    "forecast_kwh_12m",
)


def forecasts_against_metered(reports) -> list[ForecastRow]:
    """`reports` as (pk, customer id, customer name, manager id, visited on, forecast), the
    FORECAST_COLUMNS of each, against the 12 months metered after each visit month (one query for
    all). A report whose months are not all metered, or that metered nothing, is left out."""
    if not reports:
        return []
    first = add_months(month_start(min(r[4] for r in reports)), 1)
    last = add_months(month_start(max(r[4] for r in reports)), 12)
    metered: defaultdict[int, dict[dt.date, Decimal]] = defaultdict(dict)
    for customer_id, period, kwh in ConsumptionRecord.objects.filter(
        customer_id__in={r[1] for r in reports}, period__gte=first, period__lte=last
    ).values_list("customer_id", "period", "kwh"):
        metered[customer_id][period] = kwh
    rows = []
    for pk, customer_id, name, manager, visited_on, forecast in reports:
        month = month_start(visited_on)
        months = [add_months(month, n) for n in range(1, 13)]
        values = [metered[customer_id].get(m) for m in months]
        if any(v is None for v in values):
            continue
        actual = sum(values, Decimal(0))
        if actual <= 0:
            continue
        rows.append(ForecastRow(pk, customer_id, name, manager, month, Decimal(forecast), actual))
    return rows


# ---------------------------------------------------------------- beside the report's forecast
def consumption_beside_forecast(*, customer, today: dt.date | None = None) -> dict | None:
    """What the report form shows beside the 12-month forecast it asks for: the customer's 12 months
    ending with the latest metered month before this one, each beside the same month a year before,
    with both totals; None when nothing was metered in the last two years. One query."""
    this_month = month_start(today or timezone.localdate())
    metered = dict(
        ConsumptionRecord.objects.filter(
            customer=customer, period__gte=add_months(this_month, -36), period__lt=this_month
        ).values_list("period", "kwh")
    )
    recent = [period for period in metered if period >= add_months(this_month, -24)]
    if not recent:
        return None
    last = max(recent)
    rows = []
    for n in range(11, -1, -1):
        month = add_months(last, -n)
        kwh, before = metered.get(month), metered.get(add_months(month, -12))
        change = (kwh - before) / before * 100 if kwh is not None and before else None
        rows.append({"month": month, "kwh": kwh, "year_before": before, "change": change})
    return {
        "rows": rows,
        "first": rows[0]["month"],
        "last": last,
        "total": sum((r["kwh"] for r in rows if r["kwh"] is not None), Decimal(0)),
        "total_year_before": sum(
            (r["year_before"] for r in rows if r["year_before"] is not None), Decimal(0)
        ),
        "metered": sum(r["kwh"] is not None for r in rows),
    }
