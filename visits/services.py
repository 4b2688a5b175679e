"""Visit tasks made by hand (ad hoc only, to targets in the maker's scope) and their edits, and the
small pieces the other visit writes share: the customer tiers visited one by one, the INSERT every
generated task is made by and the day settings (months are crm.common.months).

The rest of the visit writes live by what they do: `visits.generation` (scheduled tasks, tier
changes, the runs of every job), `visits.care` (care visits after a consumption drop),
`visits.reminders` (overdue marking, reminders, the supervisors' digest) and `visits.reports`
(visit reports and follow-ups)."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.common.months import month_start
from crm.common.scopes import scope_for
from customers.models import Customer, Tier
from managers.models import Manager
from visits.models import OPEN_STATUSES, Kind, TaskStatus, VisitTask
from visits.plan import planned_on_check

# The tiers whose customers have visits of their own; the others' are visited through their territory.
CUSTOMER_TIERS = (Tier.VIP, Tier.KEY_ACCOUNT)


def tasks_insert_sql(*, column: str, target: str, manager: str, source: str) -> str:
    """The one statement generation, welcome and care visits are made by: `INSERT ... SELECT` of
    tasks from `source` (its FROM and WHERE), a task a row, `target` and `manager` the row's target id
    (into `column`) and manager id. Its parameters: created_at, updated_at, kind, period, due_date and
    status, then those of `source`. A task already there for its target, kind and period is left."""
    return (
        f"INSERT INTO {VisitTask._meta.db_table} (created_at, updated_at, kind, {column}, manager_id, "
        "period, due_date, status, cancel_reason, note) "
        f"SELECT %s, %s, %s, {target}, {manager}, %s, %s, %s, '', '' {source} "
        "ON CONFLICT DO NOTHING"  # model tables, bound values  # nosec B608
    )


def setting_days(name: str, default: int) -> dt.timedelta:
    return dt.timedelta(days=int(getattr(settings, name, default)))


# ---------------------------------------------------------------- tasks by hand
def _check_target_in_scope(*, by, customer, community, transformer_district) -> None:
    """The target of a task made by `by`: a customer they see, or a community or transformer district
    of a station where they (or a manager of their team) work, or that they (or their team) serve."""
    scope = scope_for(by)
    if scope.sees_all:
        return
    if customer is not None and not Customer.objects.visible_to(by).filter(pk=customer.pk).exists():
        raise ValidationError({"customer": [_("Choose a customer of your own portfolio or team.")]})
    for field, territory in (("community", community), ("transformer_district", transformer_district)):
        if territory is None:
            continue
        stations = Manager.objects.visible_to(by).values("station_id")
        served = (
            type(territory)
            .objects.filter(pk=territory.pk)
            .filter(Q(station__in=stations) | Q(manager_id__in=scope.user_ids))
        )
        if not served.exists():
            message = _(
                "Choose a community or transformer district of your own supply station, or one you serve."
            )
            raise ValidationError({field: [message]})


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
    planned_on: dt.date | None = None,
) -> VisitTask:
    """An ad hoc visit. Scheduled, care and welcome visits are the jobs' (visits.generation,
    visits.care): they are what the appraisal counts as work the manager did not arrange, so no one
    makes them by hand."""
    if kind != Kind.AD_HOC:
        message = _(
            "Only ad hoc visits are made by hand: scheduled, care and welcome visits come from the jobs."
        )
        raise ValidationError({"kind": [message]})
    targets = [t for t in (customer, community, transformer_district) if t is not None]
    if len(targets) != 1:
        raise ValidationError(_("Give exactly one of customer, community or transformer district."))
    _check_target_in_scope(
        by=by, customer=customer, community=community, transformer_district=transformer_district
    )
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
        planned_on=planned_on,
    )
    planned_on_check(task=task, previous=None)
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
    previous_plan = task.planned_on
    for field in ("manager", "due_date", "status", "cancel_reason", "note", "planned_on"):
        if field in data:
            setattr(task, field, data[field])
    if task.due_date < task.period:
        raise ValidationError({"due_date": [_("The due date cannot be before the period.")]})
    planned_on_check(task=task, previous=previous_plan)
    if task.status in OPEN_STATUSES:
        task.status = TaskStatus.OVERDUE if task.due_date < timezone.localdate() else TaskStatus.PLANNED
    task.save()
    return task
