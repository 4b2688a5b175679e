"""The visit plan: the day a manager means to go (`VisitTask.planned_on`), kept inside the task's
window (its period up to its due date, which stays the deadline).

- Spread: generation gives each new scheduled task a planned day, spread evenly over the working days
  of its cycle per manager (`tasks_spread`), so a quarter's visits are not all planned on its last day.
  One `UPDATE ... FROM (SELECT ... ROW_NUMBER() OVER ...)` per statement of generation; no row passes
  through Python.
- Rule and write: `planned_on_check` (what the API's PATCH and the pages both meet, through
  visits.services.visit_task_update and `visit_task_plan`).
- Reads for the plan pages: a manager's (or the team's) tasks by the day they fall on, the live
  overdue ones, and counts per day and per manager. Each is one query."""

# ruff: noqa: S608  (the SQL is built from the model's table name only; every value is a parameter)

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, DateField, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from crm.common.months import add_months
from visits.models import OPEN_STATUSES, TaskStatus, VisitTask


# ---------------------------------------------------------------- the spread at generation
def plan_days(*, start: dt.date, end: dt.date) -> list[dt.date]:
    """The days a cycle's visits are spread over: the working days (Monday to Friday) from `start` to
    `end`, both included; every day of it when it holds no working day; none when it is empty."""
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    return [d for d in days if d.weekday() < 5] or days


def _spread_sql(*, where: str, slots: int) -> str:
    """Each row matching `where` gets the planned day of its slot: the manager's rows in target order,
    the n-th of c falling in the middle of its share, slot (2n + 1) * slots // 2c. The CASE maps a
    slot to its day (bound values), so the statement needs no date arithmetic, which the two
    databases spell differently."""
    table = VisitTask._meta.db_table
    cases = " ".join(f"WHEN {n} THEN %s" for n in range(slots))
    return (
        f"UPDATE {table} SET planned_on = CASE s.slot {cases} END "
        "FROM (SELECT id, ((2 * (ROW_NUMBER() OVER (PARTITION BY manager_id "
        "ORDER BY COALESCE(customer_id, community_id, transformer_district_id), id) - 1) + 1) * %s) "
        "/ (2 * COUNT(*) OVER (PARTITION BY manager_id)) AS slot "
        f"FROM {table} WHERE {where}) s "
        f"WHERE {table}.id = s.id"  # nosec B608
    )


def tasks_spread(
    *,
    kind: str,
    period: dt.date,
    due_date: dt.date,
    start: dt.date,
    column: str | None = None,
    lo: int | None = None,
    hi: int | None = None,
) -> int:
    """Give the open, unplanned tasks of `kind`, `period` and `due_date` (with `column` in [lo, hi)
    when given: the chunk generation has just inserted) a planned day spread over `plan_days` from
    `start` (not before the period) to the due date. Tasks already planned are left; running it
    again changes nothing. Returns the tasks planned."""
    days = plan_days(start=max(start, period), end=due_date)
    if not days:
        return 0
    ops = connection.ops
    where = "kind = %s AND period = %s AND due_date = %s AND planned_on IS NULL AND status = %s"
    where += " AND manager_id IS NOT NULL"
    params = [kind, ops.adapt_datefield_value(period), ops.adapt_datefield_value(due_date)]
    params.append(TaskStatus.PLANNED.value)
    if column is not None:
        if column not in ("customer_id", "community_id", "transformer_district_id"):
            raise ValueError(column)
        where += f" AND {column} >= %s AND {column} < %s"
        params += [lo, hi]
    sql = _spread_sql(where=where, slots=len(days))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(ops.adapt_datefield_value(d) for d in days), len(days), *params])
        return max(cursor.rowcount, 0)


def open_tasks_spread(*, day: dt.date | None = None) -> int:
    """Plan the open scheduled tasks still without a planned day and not yet due (those made before
    there was a plan): each cycle over its days from `day` (today). The migration that added the
    planned day runs it once."""
    day = day or timezone.localdate()
    cycles = (
        VisitTask.objects.filter(
            kind="scheduled", status=TaskStatus.PLANNED, planned_on__isnull=True, due_date__gte=day
        )
        .values_list("period", "due_date")
        .distinct()
        .order_by("period", "due_date")
    )
    return sum(
        tasks_spread(kind="scheduled", period=period, due_date=due, start=day) for period, due in cycles
    )


# ---------------------------------------------------------------- the rule and the write
def _day(value: dt.date) -> str:
    return date_format(value, "Y-m-d")


def planned_on_check(*, task: VisitTask, previous: dt.date | None, today: dt.date | None = None) -> None:
    """`task.planned_on` (set, about to be saved; `previous` what it was) against its window: inside
    the period up to the due date, and, when it moved, on an open task and not on a day gone by.
    A due date moved before the planned day is refused on the due date (plan the visit first)."""
    planned = task.planned_on
    if planned is None:
        return
    changed = planned != previous
    if changed and task.status not in OPEN_STATUSES:
        raise ValidationError({"planned_on": [_("A visit that is done or cancelled cannot be planned.")]})
    if not changed and planned > task.due_date:
        message = _("The visit is planned for %(day)s, after this due date: plan it earlier first.")
        raise ValidationError({"due_date": [message % {"day": _day(planned)}]})
    today = today or timezone.localdate()
    if changed and task.due_date < today:
        message = _("This visit is past its due date (%(day)s): report it, or move its due date first.")
        raise ValidationError({"planned_on": [message % {"day": _day(task.due_date)}]})
    if not task.period <= planned <= task.due_date:
        message = _("Plan the visit between %(start)s and %(end)s: its period, up to its due date.")
        raise ValidationError(
            {"planned_on": [message % {"start": _day(task.period), "end": _day(task.due_date)}]}
        )
    if changed and planned < today:
        raise ValidationError({"planned_on": [_("A visit cannot be planned for a day that has passed.")]})


@transaction.atomic
def visit_task_plan(*, task: VisitTask, by, planned_on: dt.date | None) -> VisitTask:
    """Plan the visit for `planned_on`, or clear its plan with None (`by` in the caller's scope, the
    view's concern). The due date is not touched: it stays the deadline."""
    previous = task.planned_on
    task.planned_on = planned_on
    try:
        planned_on_check(task=task, previous=previous)
    except ValidationError:
        task.planned_on = previous
        raise
    if planned_on != previous:
        task.save(update_fields=["planned_on", "updated_at"])
    return task


# ---------------------------------------------------------------- reads for the pages
def week_start(day: dt.date) -> dt.date:
    """The Monday of `day`'s week (weeks start on Monday in China)."""
    return day - dt.timedelta(days=day.weekday())


def month_weeks(month: dt.date) -> list[list[dt.date]]:
    """The Monday-to-Sunday weeks that cover `month` (its first day given), as lists of seven days."""
    first, end = week_start(month), add_months(month, 1)
    weeks = []
    while first < end:
        weeks.append([first + dt.timedelta(days=n) for n in range(7)])
        first += dt.timedelta(days=7)
    return weeks


def _plan_day():
    """The day a task falls on in the plan: the day it was visited, else its planned day, else its
    due date (a task nobody planned is shown on its deadline)."""
    return Coalesce("report__visited_on", "planned_on", "due_date", output_field=DateField())


def _scoped(*, user, manager_id: int | None) -> QuerySet[VisitTask]:
    tasks = VisitTask.objects.visible_to(user).exclude(status=TaskStatus.CANCELLED)
    return tasks.for_manager(manager_id) if manager_id else tasks.filter(manager__isnull=False)


def plan_tasks(
    *, user, manager_id: int | None, start: dt.date, end: dt.date, today: dt.date | None = None
) -> list[VisitTask]:
    """The tasks (not cancelled) of the manager, or of every manager in scope with None, that fall on
    a day from `start` to `end` (`plan_day`), with their live status, each day's care visits first.
    One query."""
    tasks = (
        _scoped(user=user, manager_id=manager_id)
        .annotate(plan_day=_plan_day())
        .filter(plan_day__gte=start, plan_day__lte=end)
        .with_live_status(today)
        .select_related("customer", "community", "transformer_district", "manager")
        .order_by("plan_day", "due_date", "id")
    )
    return sorted(tasks, key=lambda t: (t.plan_day, t.kind != "care", t.due_date, t.pk))


def plan_overdue(*, user, manager_id: int | None, today: dt.date | None = None) -> list[VisitTask]:
    """The open tasks past their due date as of `today`, whatever the nightly job has written: the
    first to plan. One query; at most 200 (the oldest first)."""
    tasks = (
        _scoped(user=user, manager_id=manager_id)
        .overdue(today)
        .with_live_status(today)
        .select_related("customer", "community", "transformer_district", "manager")
        .order_by("due_date", "id")
    )
    return list(tasks[:200])


@dataclass
class DayCounts:
    """What falls on a day of the team's plan."""

    planned: int = 0  # open tasks planned (or, unplanned, due) that day
    done: int = 0  # visited that day
    overdue: int = 0  # of `planned`, past their due date
    due: int = 0  # deadlines that day (not cancelled)

    @property
    def total(self) -> int:
        return self.planned + self.done


def _live_overdue(today: dt.date) -> Q:
    return Q(status=TaskStatus.OVERDUE) | Q(status=TaskStatus.PLANNED, due_date__lt=today)


def plan_counts_by_day(
    *, user, manager_id: int | None, start: dt.date, end: dt.date, today: dt.date | None = None
) -> dict[dt.date, DayCounts]:
    """Per day from `start` to `end`: the tasks falling on it (open, done, overdue as of `today`) and
    the deadlines on it, for the manager or every manager in scope. Two grouped queries."""
    today = today or timezone.localdate()
    counts: dict[dt.date, DayCounts] = {}
    rows = (
        _scoped(user=user, manager_id=manager_id)
        .annotate(plan_day=_plan_day())
        .filter(plan_day__gte=start, plan_day__lte=end)
        .values("plan_day")
        .annotate(
            planned=Count("id", filter=Q(status__in=OPEN_STATUSES)),
            done=Count("id", filter=Q(status=TaskStatus.DONE)),
            overdue=Count("id", filter=_live_overdue(today)),
        )
        .order_by("plan_day")
    )
    for row in rows:
        counts[row["plan_day"]] = DayCounts(row["planned"], row["done"], row["overdue"])
    deadlines = (
        _scoped(user=user, manager_id=manager_id)
        .filter(due_date__gte=start, due_date__lte=end)
        .values("due_date")
        .annotate(n=Count("id"))
        .order_by("due_date")
    )
    for row in deadlines:
        counts.setdefault(row["due_date"], DayCounts()).due = row["n"]
    return counts


@dataclass
class ManagerPlan:
    """A manager's month in the team plan."""

    manager_id: int
    name: str
    planned: int = 0
    done: int = 0
    overdue: int = 0
    unplanned: int = 0  # open, with no planned day


def plan_by_manager(*, user, start: dt.date, end: dt.date, today: dt.date | None = None) -> list[ManagerPlan]:
    """Per manager in scope with tasks falling from `start` to `end` or overdue: of those falling then,
    the open, done and unplanned ones; and every task overdue as of `today`, whatever its month (the
    supervisor's worry does not end with the month). One grouped query, by name."""
    today = today or timezone.localdate()
    then = Q(plan_day__gte=start, plan_day__lte=end)
    rows = (
        _scoped(user=user, manager_id=None)
        .annotate(plan_day=_plan_day())
        .filter(then | _live_overdue(today))
        .values("manager_id", "manager__full_name", "manager__username")
        .annotate(
            planned=Count("id", filter=then & Q(status__in=OPEN_STATUSES)),
            done=Count("id", filter=then & Q(status=TaskStatus.DONE)),
            overdue=Count("id", filter=_live_overdue(today)),
            unplanned=Count("id", filter=then & Q(status__in=OPEN_STATUSES, planned_on__isnull=True)),
        )
        .order_by("manager__full_name", "manager__username", "manager_id")
    )
    return [
        ManagerPlan(
            manager_id=row["manager_id"],
            name=row["manager__full_name"] or row["manager__username"],
            planned=row["planned"],
            done=row["done"],
            overdue=row["overdue"],
            unplanned=row["unplanned"],
        )
        for row in rows
    ]
