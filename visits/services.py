"""Every write of the visit system: generating tasks from the policies (set-based, idempotent by the
database's unique constraints), cancelling and welcoming after tier changes, care visits after
consumption drops, overdue marking, reminders and digests, reports, and the runs that record it all.

Generation is one `INSERT ... SELECT ... ON CONFLICT DO NOTHING` per policy, period and primary-key
chunk: PostgreSQL and SQLite (3.24+) both speak it, the partial unique constraints
(target, kind, period) make a second run create nothing, and no row passes through Python."""

# ruff: noqa: S608  (the SQL is built from model table names only; every value is a parameter)

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import (
    Community,
    ConsumptionRecord,
    Customer,
    Status,
    Tier,
    TierChange,
    TransformerDistrict,
)
from managers.models import Assignment
from visits.models import (
    OPEN_STATUSES,
    Department,
    FollowUp,
    FollowUpStatus,
    Kind,
    Target,
    TaskStatus,
    VisitPolicy,
    VisitReport,
    VisitRun,
    VisitTask,
)

CUSTOMER_TIERS = (Tier.VIP, Tier.KEY_ACCOUNT)


# ---------------------------------------------------------------- settings
def chunk_size() -> int:
    return int(getattr(settings, "VISIT_GENERATION_CHUNK_SIZE", 100_000))


def care_thresholds() -> tuple[Decimal, Decimal]:
    """Month-on-month and year-on-year drops (percent) a care visit needs to exceed."""
    return (
        Decimal(str(getattr(settings, "VISIT_CARE_MOM_DROP_PCT", 20))),
        Decimal(str(getattr(settings, "VISIT_CARE_YOY_DROP_PCT", 20))),
    )


def _days(name: str, default: int) -> dt.timedelta:
    return dt.timedelta(days=int(getattr(settings, name, default)))


# ---------------------------------------------------------------- periods
def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def cycle_due_date(*, period: dt.date, frequency_months: int) -> dt.date:
    """A cycle's task is due on its last day."""
    return add_months(period, frequency_months) - dt.timedelta(days=1)


def due_periods(*, policy: VisitPolicy, day: dt.date) -> list[dt.date]:
    """The cycles a policy has tasks for on `day`: the one under way and, `lead_days` before it starts,
    the next. Cycles are aligned on January (quarterly: January, April, July, October)."""
    index = day.year * 12 + day.month - 1
    start = index - (index % policy.frequency_months)
    current = dt.date(start // 12, start % 12 + 1, 1)
    periods = [current]
    upcoming = add_months(current, policy.frequency_months)
    if upcoming - dt.timedelta(days=policy.lead_days) <= day:
        periods.append(upcoming)
    return periods


# ---------------------------------------------------------------- generation
_TASK_COLUMNS = (
    "created_at, updated_at, kind, {target}, manager_id, period, due_date, status, cancel_reason, note"
)


def _insert_sql(*, target: str) -> str:
    """The generation statement for one target kind, over a primary-key range of the target table."""
    task_table = VisitTask._meta.db_table
    if target == Target.CUSTOMER:
        source, column, extra = Customer._meta.db_table, "customer_id", " AND s.tier = %s AND s.status = %s"
    elif target == Target.COMMUNITY:
        source, column, extra = Community._meta.db_table, "community_id", ""
    else:
        source, column, extra = TransformerDistrict._meta.db_table, "transformer_district_id", ""
    return (
        f"INSERT INTO {task_table} ({_TASK_COLUMNS.format(target=column)}) "
        f"SELECT %s, %s, %s, s.id, s.manager_id, %s, %s, %s, '', '' FROM {source} s "
        f"WHERE s.id >= %s AND s.id < %s AND s.manager_id IS NOT NULL{extra} "
        "ON CONFLICT DO NOTHING"  # model tables, bound values  # nosec B608
    )


def _source_model(target: str):
    return {Target.CUSTOMER: Customer, Target.COMMUNITY: Community}.get(target, TransformerDistrict)


def _generate_for(*, policy: VisitPolicy, period: dt.date, now: dt.datetime, size: int) -> int:
    model = _source_model(policy.target)
    bounds = model.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return 0
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    sql = _insert_sql(target=policy.target)
    due = cycle_due_date(period=period, frequency_months=policy.frequency_months)
    head = [stamp, stamp, Kind.SCHEDULED.value, ops.adapt_datefield_value(period)]
    head += [ops.adapt_datefield_value(due), TaskStatus.PLANNED.value]
    tail = [policy.tier, Status.ACTIVE.value] if policy.target == Target.CUSTOMER else []
    created = 0
    lo = bounds["lo"]
    while lo <= bounds["hi"]:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [*head, lo, lo + size, *tail])
            created += max(cursor.rowcount, 0)
        lo += size
    return created


def visit_tasks_generate(*, day: dt.date | None = None, size: int | None = None) -> dict[str, int]:
    """Create the scheduled tasks every policy has due on `day` (default today), chunk by chunk.
    Idempotent: what exists is skipped by the database. Returns the tasks created per tier."""
    day = day or timezone.localdate()
    size = size or chunk_size()
    now = timezone.now()
    counts: dict[str, int] = {}
    for policy in VisitPolicy.objects.order_by("tier"):
        if policy.target == Target.CUSTOMER and policy.tier not in CUSTOMER_TIERS:
            # Community and transformer-district customers are visited through their territory.
            continue
        counts[policy.tier] = sum(
            _generate_for(policy=policy, period=period, now=now, size=size)
            for period in due_periods(policy=policy, day=day)
        )
    counts["created"] = sum(counts.values())
    return counts


# ---------------------------------------------------------------- tier changes
def _welcome_sql() -> str:
    task_table = VisitTask._meta.db_table
    change_table = TierChange._meta.db_table
    assignment_table = Assignment._meta.db_table
    return (
        f"INSERT INTO {task_table} ({_TASK_COLUMNS.format(target='customer_id')}) "
        f"SELECT %s, %s, %s, ch.customer_id, a.manager_id, %s, %s, %s, '', '' "
        f"FROM {change_table} ch JOIN {assignment_table} a "
        "ON a.customer_id = ch.customer_id AND a.ended_at IS NULL AND a.manager_id IS NOT NULL "
        "WHERE ch.id IN ({ids}) "
        "ON CONFLICT DO NOTHING"  # model tables, bound values  # nosec B608
    )


@transaction.atomic
def tier_changes_handle(*, changes, day: dt.date | None = None) -> dict[str, int]:
    """For each TierChange of `changes` (a queryset) that moved a customer between tiers: cancel the
    customer's open scheduled tasks of the old tier with the reason, and open a `tier_change` welcome
    visit with the manager now assigned (after reassignment). Running it again changes nothing."""
    day = day or timezone.localdate()
    rows = list(changes.exclude(old_tier="").values_list("pk", "customer_id", "old_tier", "new_tier"))
    rows = [row for row in rows if row[2] != row[3]]
    if not rows:
        return {"cancelled": 0, "welcomed": 0}
    by_transition: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    for _pk, customer_id, old, new in rows:
        by_transition[(old, new)].append(customer_id)
    now = timezone.now()
    cancelled = 0
    for (old, new), customer_ids in by_transition.items():
        reason = _("Tier changed from %(old)s to %(new)s") % {"old": Tier(old).label, "new": Tier(new).label}
        cancelled += VisitTask.objects.filter(
            kind=Kind.SCHEDULED, status__in=OPEN_STATUSES, customer_id__in=customer_ids
        ).update(status=TaskStatus.CANCELLED, cancel_reason=reason[:300], updated_at=now)
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    due = day + _days("VISIT_WELCOME_DUE_DAYS", 14)
    ids = [row[0] for row in rows]
    welcomed = 0
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            sql = _welcome_sql().format(ids=", ".join(["%s"] * len(part)))
            params = [stamp, stamp, Kind.TIER_CHANGE.value, ops.adapt_datefield_value(month_start(day))]
            params += [ops.adapt_datefield_value(due), TaskStatus.PLANNED.value, *part]
            cursor.execute(sql, params)
            welcomed += max(cursor.rowcount, 0)
    return {"cancelled": cancelled, "welcomed": welcomed}


def tier_changes_handle_for_run(*, run_id: int) -> dict[str, int]:
    return tier_changes_handle(changes=TierChange.objects.filter(run_id=run_id))


def tier_changes_handle_for_customers(*, customer_ids: list[int]) -> dict[str, int]:
    """Tier changes outside a run (a pin): each customer's latest change."""
    latest = (
        TierChange.objects.filter(customer_id__in=customer_ids)
        .order_by("customer_id", "-at", "-id")
        .values_list("customer_id", "pk")
    )
    seen: dict[int, int] = {}
    for customer_id, pk in latest:
        seen.setdefault(customer_id, pk)
    return tier_changes_handle(changes=TierChange.objects.filter(pk__in=seen.values()))


# ---------------------------------------------------------------- care visits
def _care_sql() -> str:
    task_table = VisitTask._meta.db_table
    customer_table = Customer._meta.db_table
    record_table = ConsumptionRecord._meta.db_table
    return (
        f"INSERT INTO {task_table} ({_TASK_COLUMNS.format(target='customer_id')}) "
        "SELECT %s, %s, %s, c.id, c.manager_id, %s, %s, %s, '', '' "
        f"FROM {customer_table} c "
        f"JOIN {record_table} cur ON cur.customer_id = c.id AND cur.period = %s "
        f"JOIN {record_table} prev ON prev.customer_id = c.id AND prev.period = %s "
        f"JOIN {record_table} ly ON ly.customer_id = c.id AND ly.period = %s "
        "WHERE c.latest_period = %s AND c.status = %s AND c.tier IN (%s, %s) AND c.manager_id IS NOT NULL "
        "AND cur.kwh * 100 < prev.kwh * (100 - %s) AND cur.kwh * 100 < ly.kwh * (100 - %s) "
        "ON CONFLICT DO NOTHING"  # model tables, bound values  # nosec B608
    )


@transaction.atomic
def care_visits_detect(*, day: dt.date | None = None) -> dict[str, int]:
    """Open a `care` task for every active vip or key-account customer whose latest month fell by
    more than the set percentages both month-on-month and year-on-year. The task's period is that
    month, so one drop opens one care visit however often this runs."""
    day = day or timezone.localdate()
    mom, yoy = care_thresholds()
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(timezone.now())
    due = ops.adapt_datefield_value(day + _days("VISIT_CARE_DUE_DAYS", 7))
    latest_periods = (
        Customer.objects.filter(tier__in=CUSTOMER_TIERS, status=Status.ACTIVE, latest_period__isnull=False)
        .values_list("latest_period", flat=True)
        .order_by()  # without the model's ordering, or DISTINCT keeps one row per account number
        .distinct()
    )
    created = 0
    with connection.cursor() as cursor:
        for period in sorted(latest_periods):
            p = ops.adapt_datefield_value
            params = [stamp, stamp, Kind.CARE.value, p(period), due, TaskStatus.PLANNED.value]
            params += [p(period), p(add_months(period, -1)), p(add_months(period, -12))]
            params += [p(period), Status.ACTIVE.value, Tier.VIP.value, Tier.KEY_ACCOUNT.value]
            params += [float(mom), float(yoy)]
            cursor.execute(_care_sql(), params)
            created += max(cursor.rowcount, 0)
    return {"created": created}


# ---------------------------------------------------------------- overdue, reminders, digest
@transaction.atomic
def visit_tasks_mark_overdue(*, day: dt.date | None = None) -> dict[str, int]:
    """Planned tasks whose due date has passed become overdue."""
    day = day or timezone.localdate()
    changed = VisitTask.objects.filter(status=TaskStatus.PLANNED, due_date__lt=day).update(
        status=TaskStatus.OVERDUE, updated_at=timezone.now()
    )
    return {"marked": changed}


def _task_line(task: VisitTask) -> str:
    return f"- {task.due_date:%Y-%m-%d} {task.get_kind_display()}: {task.target}"


def visit_reminders_send(*, day: dt.date | None = None) -> dict[str, int]:
    """E-mail each manager once about their planned tasks due within the set number of days; a task is
    reminded once (`reminded_on`)."""
    day = day or timezone.localdate()
    horizon = day + _days("VISIT_REMIND_DAYS_BEFORE", 3)
    tasks = (
        VisitTask.objects.filter(
            status=TaskStatus.PLANNED, due_date__gte=day, due_date__lte=horizon, reminded_on__isnull=True
        )
        .exclude(manager__isnull=True)
        .select_related("manager", "customer", "community", "transformer_district")
        .order_by("manager_id", "due_date", "id")
    )
    per_manager: defaultdict[int, list[VisitTask]] = defaultdict(list)
    for task in tasks:
        per_manager[task.manager_id].append(task)
    sent = 0
    for items in per_manager.values():
        manager = items[0].manager
        with transaction.atomic():
            if manager.email:
                body = "\n".join([_("These visits are due soon:"), "", *[_task_line(t) for t in items]])
                send_mail(
                    _("Visits due by %(date)s") % {"date": f"{horizon:%Y-%m-%d}"},
                    body,
                    None,
                    [manager.email],
                )
                sent += 1
            VisitTask.objects.filter(pk__in=[t.pk for t in items]).update(reminded_on=day)
    return {"emails": sent, "tasks": sum(len(items) for items in per_manager.values())}


def visit_digest_send(*, day: dt.date | None = None) -> dict[str, int]:
    """One e-mail per supervisor listing their team's overdue tasks (the team: everyone below them)."""
    from crm.common.scopes import team_user_ids

    day = day or timezone.localdate()
    overdue = list(
        VisitTask.objects.filter(status=TaskStatus.OVERDUE)
        .exclude(manager__isnull=True)
        .select_related("manager", "customer", "community", "transformer_district")
        .order_by("due_date", "id")
    )
    if not overdue:
        return {"emails": 0}
    user_model = get_user_model()
    supervisors = user_model.objects.filter(
        pk__in=user_model.objects.filter(supervisor__isnull=False).values("supervisor_id"), is_active=True
    ).exclude(email="")
    sent = 0
    for supervisor in supervisors:
        team = team_user_ids(supervisor.pk) - {supervisor.pk}
        items = [t for t in overdue if t.manager_id in team]
        if not items:
            continue
        lines = [f"{t.manager.display_name} {_task_line(t)}" for t in items]
        send_mail(
            _("%(count)s overdue visits in your team on %(date)s")
            % {"count": len(items), "date": f"{day:%Y-%m-%d}"},
            "\n".join(lines),
            None,
            [supervisor.email],
        )
        sent += 1
    return {"emails": sent}


# ---------------------------------------------------------------- runs
JOBS = {
    VisitRun.Job.GENERATE: visit_tasks_generate,
    VisitRun.Job.OVERDUE: visit_tasks_mark_overdue,
    VisitRun.Job.CARE: care_visits_detect,
    VisitRun.Job.REMINDERS: visit_reminders_send,
    VisitRun.Job.DIGEST: visit_digest_send,
}


@transaction.atomic
def visit_run_start(*, job: str = VisitRun.Job.GENERATE, by=None, day: dt.date | None = None) -> VisitRun:
    """Record a queued run and hand it to the worker once the transaction commits."""
    from visits.tasks import visit_run_task

    run = VisitRun.objects.create(job=job, day=day or timezone.localdate(), started_by=by)
    transaction.on_commit(lambda: visit_run_task.delay(run.pk))
    return run


def visit_run_execute(*, run_id: int) -> VisitRun:
    """Run a recorded job, recording its counts, duration and any error. A run already done is left
    alone (a redelivered message does nothing); the digest is sent once a day."""
    with transaction.atomic():
        run = VisitRun.objects.select_for_update().get(pk=run_id)
        if run.status == VisitRun.State.DONE:
            return run
        if (
            run.job == VisitRun.Job.DIGEST
            and VisitRun.objects.filter(job=run.job, day=run.day, status=VisitRun.State.DONE).exists()
        ):
            run.status, run.counts = VisitRun.State.DONE, {"emails": 0, "skipped": 1}
            run.started_at = run.finished_at = timezone.now()
            run.save()
            return run
        run.status, run.started_at, run.error = VisitRun.State.RUNNING, timezone.now(), ""
        run.save(update_fields=["status", "started_at", "error", "updated_at"])
    try:
        counts = JOBS[run.job](day=run.day)
    except Exception as exc:
        VisitRun.objects.filter(pk=run.pk).update(
            status=VisitRun.State.FAILED, finished_at=timezone.now(), error=repr(exc)[:2000]
        )
        raise
    VisitRun.objects.filter(pk=run.pk).update(
        status=VisitRun.State.DONE, finished_at=timezone.now(), counts=counts, updated_at=timezone.now()
    )
    run.refresh_from_db()
    return run


def visit_run_now(*, job: str, day: dt.date | None = None) -> VisitRun:
    """The scheduled form: record a run and execute it in this process (beat's task calls this)."""
    run = VisitRun.objects.create(job=job, day=day or timezone.localdate())
    return visit_run_execute(run_id=run.pk)


# ---------------------------------------------------------------- tasks by hand
@transaction.atomic
def visit_task_create(
    *,
    by,
    manager,
    due_date: dt.date,
    customer=None,
    community=None,
    transformer_district=None,
    kind: str = Kind.AD_HOC,
    period: dt.date | None = None,
    note: str = "",
) -> VisitTask:
    targets = [t for t in (customer, community, transformer_district) if t is not None]
    if len(targets) != 1:
        raise ValidationError(_("Give exactly one of customer, community or transformer district."))
    period = month_start(period or due_date)
    if due_date < period:
        raise ValidationError({"due_date": [_("The due date cannot be before the period.")]})
    task = VisitTask(
        kind=kind,
        customer=customer,
        community=community,
        transformer_district=transformer_district,
        manager=manager,
        period=period,
        due_date=due_date,
        note=note,
    )
    if (
        kind != Kind.AD_HOC
        and VisitTask.objects.filter(
            kind=kind,
            period=period,
            customer=customer,
            community=community,
            transformer_district=transformer_district,
        ).exists()
    ):
        raise ValidationError(_("This target already has a task of this kind for the period."))
    task.save()
    return task


@transaction.atomic
def visit_task_update(*, task: VisitTask, by, **data) -> VisitTask:
    """Reschedule, hand over, note or cancel a task. A done task is closed; cancelling needs a reason."""
    if task.status == TaskStatus.DONE:
        raise ValidationError(_("A visit that has been reported cannot be changed."))
    status = data.get("status", task.status)
    if status == TaskStatus.DONE:
        raise ValidationError({"status": [_("Post the visit report to mark a visit done.")]})
    if status == TaskStatus.CANCELLED and not (data.get("cancel_reason") or task.cancel_reason):
        raise ValidationError({"cancel_reason": [_("Give the reason for cancelling.")]})
    for field in ("manager", "due_date", "status", "cancel_reason", "note"):
        if field in data:
            setattr(task, field, data[field])
    if task.due_date < task.period:
        raise ValidationError({"due_date": [_("The due date cannot be before the period.")]})
    if task.status in OPEN_STATUSES:
        task.status = TaskStatus.OVERDUE if task.due_date < timezone.localdate() else TaskStatus.PLANNED
    task.save()
    return task


# ---------------------------------------------------------------- reports
def _check_report(*, task: VisitTask, visited_on, satisfaction, forecast_kwh_12m, follow_ups) -> None:
    errors: dict[str, list[str]] = {}
    if visited_on > timezone.localdate():
        errors["visited_on"] = [_("A visit cannot be reported before it took place.")]
    elif visited_on < task.period:
        errors["visited_on"] = [_("The visit date is before the task's period.")]
    if not 1 <= int(satisfaction) <= 5:
        errors["satisfaction"] = [_("Satisfaction runs from 1 to 5.")]
    if forecast_kwh_12m is not None and Decimal(forecast_kwh_12m) < 0:
        errors["forecast_kwh_12m"] = [_("The forecast cannot be negative.")]
    for item in follow_ups:
        if item.get("department") not in Department.values or not (item.get("action") or "").strip():
            errors["follow_ups"] = [_("Each follow-up needs a department and an action.")]
            break
        if item.get("closed_on") and item["closed_on"] > timezone.localdate():
            errors["follow_ups"] = [_("A follow-up cannot be closed in the future.")]
            break
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def visit_report_submit(
    *,
    task: VisitTask,
    by,
    visited_on: dt.date,
    channel: str,
    business_trend: str,
    satisfaction: int,
    people_met: str = "",
    needs: str = "",
    forecast_kwh_12m: Decimal | None = None,
    follow_ups: list[dict] | None = None,
) -> VisitReport:
    """Record the report of a visit and mark its task done."""
    task = VisitTask.objects.select_for_update().get(pk=task.pk)
    follow_ups = follow_ups or []
    if task.status == TaskStatus.CANCELLED:
        raise ValidationError(_("This visit was cancelled."))
    if VisitReport.objects.filter(task=task).exists():
        raise ValidationError(_("This visit has already been reported."))
    _check_report(
        task=task,
        visited_on=visited_on,
        satisfaction=satisfaction,
        forecast_kwh_12m=forecast_kwh_12m,
        follow_ups=follow_ups,
    )
    report = VisitReport.objects.create(
        task=task,
        by=by,
        visited_on=visited_on,
        channel=channel,
        people_met=people_met,
        business_trend=business_trend,
        needs=needs,
        satisfaction=satisfaction,
        forecast_kwh_12m=forecast_kwh_12m,
    )
    FollowUp.objects.bulk_create(
        [
            FollowUp(
                report=report,
                department=item["department"],
                action=item["action"].strip(),
                status=item.get("status") or FollowUpStatus.OPEN,
                closed_on=item.get("closed_on")
                or (visited_on if item.get("status") == FollowUpStatus.CLOSED else None),
            )
            for item in follow_ups
        ]
    )
    task.status = TaskStatus.DONE
    task.save(update_fields=["status", "updated_at"])
    return report


@transaction.atomic
def follow_up_close(*, follow_up: FollowUp, by, closed_on: dt.date | None = None) -> FollowUp:
    follow_up.status = FollowUpStatus.CLOSED
    follow_up.closed_on = closed_on or timezone.localdate()
    follow_up.save(update_fields=["status", "closed_on", "updated_at"])
    return follow_up
