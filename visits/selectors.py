"""Reads of the visit system that need more than one chained filter: a manager's week, the
supervisors' completion and follow-up tables, the forecast error of visit reports and a manager's
home (their day's visits)."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DateField,
    F,
    Min,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    Window,
    prefetch_related_objects,
)
from django.db.models.functions import RowNumber, TruncMonth
from django.utils import timezone

from crm.common.months import add_months, month_start
from customers.models import ConsumptionRecord
from visits.models import (
    Department,
    FollowUp,
    Kind,
    TaskStatus,
    VisitReport,
    VisitTask,
    _live_status_q,  # the one rule of "overdue as of a day", for a count's filter
)


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
        # the report's photos counted in the same query (the page links to them)
        .annotate(photo_count=Count("report__photos"))
        .order_by("-due_date", "-id")[:limit]
    )
    reports = [t.report for t in tasks if hasattr(t, "report")]
    prefetch_related_objects(reports, Prefetch("follow_ups", queryset=FollowUp.objects.order_by("id")))
    for task in tasks:
        task.report_full = getattr(task, "report", None)
    return tasks


# ---------------------------------------------------------------- supervisors
class CompletionRate:
    """Done of due in percent, one decimal; None when nothing was due (every completion figure)."""

    due: int
    done: int

    @property
    def rate(self) -> float | None:
        return round(100 * self.done / self.due, 1) if self.due else None


@dataclass
class CompletionRow(CompletionRate):
    manager_id: int
    name: str
    month: dt.date
    due: int
    done: int
    on_time: int


def _due_between(*, user, since: dt.date, until: dt.date) -> QuerySet[VisitTask]:
    """Tasks in scope due in [since, until) that count for completion: not cancelled, with a manager."""
    return (
        VisitTask.objects.visible_to(user)
        .filter(due_date__gte=since, due_date__lt=until, manager__isnull=False)
        .exclude(status=TaskStatus.CANCELLED)
    )


def _completion_counts(among: Q | None = None) -> dict:
    """Tasks due, done, and done with a report dated by the due date: the three counts of every
    completion figure (`among` narrows them, for a query that also counts other tasks)."""
    among = among or Q()
    return {
        "due": Count("id", filter=among),
        "done": Count("id", filter=among & Q(status=TaskStatus.DONE)),
        "on_time": Count(
            "id", filter=among & Q(status=TaskStatus.DONE, report__visited_on__lte=F("due_date"))
        ),
    }


def _as_date(value) -> dt.date:
    """A TruncMonth value: a date, or a datetime on backends that truncate to one."""
    return value.date() if isinstance(value, dt.datetime) else value


def completion_by_manager_and_month(*, user, since: dt.date, until: dt.date) -> list[CompletionRow]:
    """Per manager in scope and month of due date: tasks due (not cancelled), done, done on time."""
    rows = (
        _due_between(user=user, since=since, until=until)
        .annotate(month=TruncMonth("due_date"))
        .values("manager_id", "manager__full_name", "manager__username", "month")
        .annotate(**_completion_counts())
        .order_by("manager__full_name", "manager_id", "month")
    )
    return [
        CompletionRow(
            manager_id=row["manager_id"],
            name=row["manager__full_name"] or row["manager__username"],
            month=_as_date(row["month"]),
            due=row["due"],
            done=row["done"],
            on_time=row["on_time"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class MonthCompletion(CompletionRate):
    """The tasks of everyone in scope due in a month: how many, done, done on time."""

    month: dt.date
    due: int
    done: int
    on_time: int


def completion_by_month(*, user, since: dt.date, until: dt.date) -> list[MonthCompletion]:
    """Every month from `since` (a first day) up to `until`, oldest first, with the tasks in scope due
    in it (a month with none reads 0 due): the team's completion chart. One aggregate query."""
    counted = {
        _as_date(row["month"]): row
        for row in _due_between(user=user, since=since, until=until)
        .annotate(month=TruncMonth("due_date"))
        .values("month")
        .annotate(**_completion_counts())
        .order_by("month")
    }
    result, month = [], since
    while month < until:
        row = counted.get(month, {})
        result.append(MonthCompletion(month, row.get("due", 0), row.get("done", 0), row.get("on_time", 0)))
        month = add_months(month, 1)
    return result


@dataclass
class ManagerGlance(CompletionRate):
    """A manager's line on the supervisor's home: this month's tasks due, done and done on time, and
    the manager's tasks overdue as of now, whatever month they were due in."""

    manager_id: int
    name: str
    due: int
    done: int
    on_time: int
    overdue: int


def team_glance(*, user, month: dt.date, day: dt.date | None = None) -> list[ManagerGlance]:
    """One line per manager in scope with a task due in `month` (its first day) or overdue on `day`
    (today; as of now, whatever the nightly job has written), by name. One aggregate query, however
    many tasks: the callers sort and cap it (worst completion first, most overdue first)."""
    day = day or timezone.localdate()
    in_month = Q(due_date__gte=month, due_date__lt=add_months(month, 1)) & ~Q(status=TaskStatus.CANCELLED)
    late = _live_status_q(TaskStatus.OVERDUE, day)
    rows = (
        VisitTask.objects.visible_to(user)
        .filter(in_month | late, manager__isnull=False)
        .values("manager_id", "manager__full_name", "manager__username")
        .annotate(**_completion_counts(in_month), overdue=Count("id", filter=late))
        .order_by("manager__full_name", "manager_id")
    )
    return [
        ManagerGlance(
            manager_id=row["manager_id"],
            name=row["manager__full_name"] or row["manager__username"],
            due=row["due"],
            done=row["done"],
            on_time=row["on_time"],
            overdue=row["overdue"],
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


# ---------------------------------------------------------------- a manager's home
@dataclass
class ManagerDay:
    """The visits on a manager's home: what is due (today or before, live overdue included) with the
    open care visits first, and the rest of the week's plan; each capped, with its full count."""

    due: list[VisitTask] = field(default_factory=list)
    due_total: int = 0
    week: list[VisitTask] = field(default_factory=list)
    week_total: int = 0


def manager_day(*, user, manager_id: int, rows: int, day: dt.date | None = None) -> ManagerDay:
    """The manager's open visits for the home, in one query whatever their number: group 0, open
    care visits and those due by `day` (today; overdue as of now, whatever the nightly job wrote),
    care first, then by due date; group 1, the others planned for a day of this week (Monday to
    Sunday), by planned day. Each group's first `rows`, numbered and counted by window functions."""
    day = day or timezone.localdate()
    monday = day - dt.timedelta(days=day.weekday())
    now_due = Q(kind=Kind.CARE) | Q(due_date__lte=day) | Q(status=TaskStatus.OVERDUE)
    planned_this_week = Q(planned_on__gte=monday, planned_on__lte=monday + dt.timedelta(days=6))
    group = Case(When(now_due, then=Value(0)), default=Value(1))
    care_first = Case(When(kind=Kind.CARE, then=Value(0)), default=Value(1))
    # the due group's order is care, due date; the week's is planned day first (constant in group 0)
    plan_day = Case(When(now_due, then=Value(day)), default=F("planned_on"), output_field=DateField())
    tasks = (
        VisitTask.objects.visible_to(user)
        .for_manager(manager_id)
        .open()
        .filter(now_due | planned_this_week)
        .with_live_status(day)
        .annotate(
            group=group,
            rank=Window(RowNumber(), partition_by=[group], order_by=[plan_day, care_first, "due_date", "id"]),
            group_total=Window(Count("id"), partition_by=[group]),
        )
        .filter(rank__lte=rows)
        .select_related("customer", "community", "transformer_district")
        .order_by("group", "rank")
    )
    result = ManagerDay()
    for task in tasks:
        if task.group == 0:
            result.due.append(task)
            result.due_total = task.group_total
        else:
            result.week.append(task)
            result.week_total = task.group_total
    return result
