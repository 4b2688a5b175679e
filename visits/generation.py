"""Periodic visit generation and the runs that record every scheduled visit job.

- Generation: the scheduled tasks each policy has due (`visit_tasks_generate`), one
  `INSERT ... SELECT ... ON CONFLICT DO NOTHING` per policy, period and primary-key chunk. PostgreSQL
  and SQLite (3.24+) both speak it, the partial unique constraints (target, kind, period) make a
  second run create nothing, and no row passes through Python.
- Tier changes: after a classification run or a pin, the old tier's open scheduled tasks are
  cancelled and a welcome visit is opened with the manager now assigned (`tier_changes_handle*`).
- Runs: a VisitRun records each job (generation, overdue marking, care detection, reminders, digest)
  with its counts, duration and error (`visit_run_start`, `visit_run_execute`, `visit_run_now`)."""

# ruff: noqa: S608  (the SQL is built from model table names only; every value is a parameter)

import datetime as dt
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.common import hooks
from crm.common.chunks import chunk_transaction
from crm.common.months import add_months, month_start
from customers.models import Community, Customer, Status, Tier, TierChange, TransformerDistrict
from managers.models import Assignment
from visits.care import care_visits_detect
from visits.models import OPEN_STATUSES, Kind, Target, TaskStatus, VisitPolicy, VisitRun, VisitTask
from visits.plan import tasks_spread
from visits.reminders import visit_digest_send, visit_reminders_send, visit_tasks_mark_overdue
from visits.services import CUSTOMER_TIERS, setting_days, tasks_insert_sql


def chunk_size() -> int:
    return int(getattr(settings, "VISIT_GENERATION_CHUNK_SIZE", 100_000))


# ---------------------------------------------------------------- periods
def cycle_due_date(*, period: dt.date, frequency_months: int) -> dt.date:
    """A cycle's task is due on its last day."""
    return add_months(period, frequency_months) - dt.timedelta(days=1)


def due_periods(*, policy: VisitPolicy, day: dt.date) -> list[dt.date]:
    """The cycles a policy has tasks for on `day`: the one under way and, `lead_days` before it starts,
    the next. Cycles are aligned on January (quarterly: January, April, July, October)."""
    # Counted from January of year 0, so that a frequency that does not divide 12 (5 months) runs on
    # across years instead of restarting each January.
    current = add_months(day, -((day.year * 12 + day.month - 1) % policy.frequency_months))
    periods = [current]
    upcoming = add_months(current, policy.frequency_months)
    if upcoming - dt.timedelta(days=policy.lead_days) <= day:
        periods.append(upcoming)
    return periods


# ---------------------------------------------------------------- generation
def _insert_sql(*, target: str) -> str:
    """The generation statement for one target kind, over a primary-key range of the target table."""
    if target == Target.CUSTOMER:
        source, column, extra = Customer._meta.db_table, "customer_id", " AND s.tier = %s AND s.status = %s"
    elif target == Target.COMMUNITY:
        source, column, extra = Community._meta.db_table, "community_id", ""
    else:
        source, column, extra = TransformerDistrict._meta.db_table, "transformer_district_id", ""
    return tasks_insert_sql(
        column=column,
        target="s.id",
        manager="s.manager_id",
        source=f"FROM {source} s WHERE s.id >= %s AND s.id < %s AND s.manager_id IS NOT NULL{extra}",
    )


def _source_model(target: str):
    return {Target.CUSTOMER: Customer, Target.COMMUNITY: Community}.get(target, TransformerDistrict)


def _bounds(model) -> tuple[int, int] | None:
    """The primary-key range a generation walks over a target table (None: the table is empty)."""
    bounds = model.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    return None if bounds["lo"] is None else (bounds["lo"], bounds["hi"])


def _chunks(bounds: tuple[int, int] | None, size: int) -> range:
    """The start of each chunk of a range: what a generation step is."""
    return range(bounds[0], bounds[1] + 1, size) if bounds else range(0)


def _generate_for(
    *, policy: VisitPolicy, period: dt.date, day: dt.date, now: dt.datetime, size: int, bounds, step
) -> int:
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    sql = _insert_sql(target=policy.target)
    due = cycle_due_date(period=period, frequency_months=policy.frequency_months)
    head = [stamp, stamp, Kind.SCHEDULED.value, ops.adapt_datefield_value(period)]
    head += [ops.adapt_datefield_value(due), TaskStatus.PLANNED.value]
    tail = [policy.tier, Status.ACTIVE.value] if policy.target == Target.CUSTOMER else []
    column = {Target.CUSTOMER: "customer_id", Target.COMMUNITY: "community_id"}.get(
        policy.target, "transformer_district_id"
    )
    created = 0
    for lo in _chunks(bounds, size):
        with chunk_transaction(), connection.cursor() as cursor:
            cursor.execute(sql, [*head, lo, lo + size, *tail])
            made = max(cursor.rowcount, 0)
            created += made
            # The chunk's new tasks get their planned days in the same transaction (visits.plan).
            tasks_spread(
                kind=Kind.SCHEDULED,
                period=period,
                due_date=due,
                start=day,
                column=column,
                lo=lo,
                hi=lo + size,
            )
            # In the chunk's transaction: the run's counts hold exactly what committed, so a run
            # resumed after a kill adds to them (its chunks done before find their tasks made).
            step(made, policy.tier)
    return created


def visit_tasks_generate(
    *, day: dt.date | None = None, size: int | None = None, progress=None
) -> dict[str, int]:
    """Create the scheduled tasks every policy has due on `day` (default today), chunk by chunk.
    Idempotent: what exists is skipped by the database. Returns the tasks created per tier.

    `progress(done=, total=, added=)` is called before the first chunk and inside each chunk's
    transaction: the steps (one policy, period and primary-key chunk each) done of all the run has,
    known from the start, and the tasks the chunk created, by tier."""
    day = day or timezone.localdate()
    size = size or chunk_size()
    now = timezone.now()
    # Community and transformer-district customers are visited through their territory.
    policies = [
        p
        for p in VisitPolicy.objects.order_by("tier")
        if p.target != Target.CUSTOMER or p.tier in CUSTOMER_TIERS
    ]
    bounds = {}
    for policy in policies:
        model = _source_model(policy.target)
        if model not in bounds:
            bounds[model] = _bounds(model)
    plan = [(policy, period) for policy in policies for period in due_periods(policy=policy, day=day)]
    total = sum(len(_chunks(bounds[_source_model(policy.target)], size)) for policy, _period in plan)
    done = {"steps": 0}

    def step(made: int, tier: str) -> None:
        done["steps"] += 1
        if progress is not None:
            progress(done=done["steps"], total=total, added={tier: made})

    counts: dict[str, int] = {policy.tier: 0 for policy in policies}
    if progress is not None:
        progress(done=0, total=total, added=dict(counts))
    for policy, period in plan:
        counts[policy.tier] += _generate_for(
            policy=policy,
            period=period,
            day=day,
            now=now,
            size=size,
            bounds=bounds[_source_model(policy.target)],
            step=step,
        )
    counts["created"] = sum(counts.values())
    return counts


# ---------------------------------------------------------------- tier changes
def _welcome_sql() -> str:
    change_table = TierChange._meta.db_table
    assignment_table = Assignment._meta.db_table
    return tasks_insert_sql(
        column="customer_id",
        target="ch.customer_id",
        manager="a.manager_id",
        source=f"FROM {change_table} ch JOIN {assignment_table} a "
        "ON a.customer_id = ch.customer_id AND a.ended_at IS NULL AND a.manager_id IS NOT NULL "
        "WHERE ch.id IN ({ids})",
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
    due = day + setting_days("VISIT_WELCOME_DUE_DAYS", 14)
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
    from visits.tasks import visit_run_task  # here: visits.tasks imports this module

    run = VisitRun.objects.create(job=job, day=day or timezone.localdate(), started_by=by)
    hooks.send_after_commit(visit_run_task, run.pk)
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
    # Generation reports each chunk's commit on the run (its counts while it runs: steps done of all
    # and tasks so far, replaced by the result at the end); the other jobs are a few statements.
    is_generation = run.job == VisitRun.Job.GENERATE
    extra = {"progress": _progress_saver(run.pk)} if is_generation else {}
    try:
        counts = JOBS[run.job](day=run.day, **extra)
        if is_generation:  # what every attempt's committed chunks added (_progress_saver)
            recorded = VisitRun.objects.values_list("counts", flat=True).get(pk=run.pk)
            counts = {key: n for key, n in recorded.items() if not key.startswith("steps_")}
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


def _progress_saver(run_id: int):
    """Adds each chunk's tasks to the run's counts (by tier and `created`), in the chunk's
    transaction; the steps done are this attempt's (a resumed run walks every chunk again)."""

    def save(*, done: int, total: int, added: dict[str, int]) -> None:
        with transaction.atomic():
            counts = VisitRun.objects.select_for_update().values_list("counts", flat=True).get(pk=run_id)
            counts = dict(counts or {})
            for tier, made in added.items():
                counts[tier] = counts.get(tier, 0) + made
                counts["created"] = counts.get("created", 0) + made
            counts.update(steps_done=done, steps_total=total)
            VisitRun.objects.filter(pk=run_id).update(counts=counts, updated_at=timezone.now())

    return save


def care_visits_run() -> VisitRun:
    """A recorded care detection now: a step of a consumption-triggered chain (crm/jobs.py)."""
    return visit_run_now(job=VisitRun.Job.CARE)


def visit_run_now(*, job: str, day: dt.date | None = None) -> VisitRun:
    """The scheduled form: record a run and execute it in this process (beat's task calls this)."""
    run = VisitRun.objects.create(job=job, day=day or timezone.localdate())
    return visit_run_execute(run_id=run.pk)
