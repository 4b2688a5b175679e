"""What follows a task's due date: marking planned tasks overdue once it has passed, reminding each
manager of the tasks due within the next days, and the supervisors' daily digest of their team's
overdue tasks (read live, VisitTaskQuerySet.overdue, so it does not wait for the marking)."""

import datetime as dt
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from visits.models import TaskStatus, VisitTask
from visits.services import setting_days


@transaction.atomic
def visit_tasks_mark_overdue(*, day: dt.date | None = None) -> dict[str, int]:
    """Planned tasks whose due date has passed become overdue."""
    day = day or timezone.localdate()
    changed = (
        VisitTask.objects.filter(status=TaskStatus.PLANNED)
        .overdue(day)
        .update(status=TaskStatus.OVERDUE, updated_at=timezone.now())
    )
    return {"marked": changed}


def _task_line(task: VisitTask) -> str:
    return f"- {task.due_date:%Y-%m-%d} {task.get_kind_display()}: {task.target}"


def visit_reminders_send(*, day: dt.date | None = None) -> dict[str, int]:
    """E-mail each manager once about their planned tasks due within the set number of days; a task is
    reminded once (`reminded_on`)."""
    day = day or timezone.localdate()
    horizon = day + setting_days("VISIT_REMIND_DAYS_BEFORE", 3)
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
        VisitTask.objects.overdue(day)
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
