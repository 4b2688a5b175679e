"""The visit plan's pages: a manager's month grid and week list of the visits they plan and have due,
the supervisors' team plan (counts per day, per manager), and the small form each task carries to set
or clear its planned day. Tasks are read through `VisitTask.objects.visible_to(user)` (visits.plan):
another manager's task is neither listed nor plannable (404). Each page issues a fixed number of
queries whatever the number of tasks."""

import datetime as dt
from collections import defaultdict

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from crm.accounts.roles import leads_a_team
from crm.common.months import add_months, month_start
from crm.common.scopes import scope_for
from managers.models import Manager
from visits.forms import parse_month
from visits.models import TaskStatus, VisitTask
from visits.plan import (
    DayCounts,
    month_weeks,
    plan_by_manager,
    plan_counts_by_day,
    plan_overdue,
    plan_tasks,
    visit_task_plan,
    week_start,
)

VIEW = "visits.view_visittask"
CHANGE = "visits.change_visittask"
TEAM = "all"  # the manager picker's value for the whole team


def _chosen_manager(request, *, team: bool) -> tuple[int | None, list[Manager]]:
    """The manager whose plan to show: `?manager=` among those in scope (`all`, None, for the whole
    team where `team` allows it), else the user; a supervisor without visits of their own gets the
    whole team (`team`) or the first of it. Managers to pick from only for those who see others."""
    managers = list(
        Manager.objects.visible_to(request.user).select_related("user").order_by("user__full_name")
    )
    others = [m for m in managers if m.pk != request.user.pk]
    shown = managers if others else []
    wanted = request.GET.get("manager", "")
    if others and team and wanted == TEAM:
        return None, shown
    if wanted.isdigit() and scope_for(request.user).includes(int(wanted)):
        return int(wanted), shown
    if others and not any(m.pk == request.user.pk for m in managers):
        return (None if team else others[0].pk), shown
    return request.user.pk, shown


def _parse_day(value: str | None, *, default: dt.date) -> dt.date:
    try:
        day = dt.date.fromisoformat(value or "")
    except ValueError:
        return default
    return day if 2000 <= day.year <= 2100 else default


def _manager_query(manager_id: int | None, managers) -> str:
    """The `manager=` part of the links between plan pages, kept when the user picked one."""
    if not managers:
        return ""
    return f"&manager={TEAM if manager_id is None else manager_id}"


# ---------------------------------------------------------------- a manager's month
@login_required
@permission_required(VIEW, raise_exception=True)
@require_safe
def plan_month(request):
    """The month grid (Monday to Sunday): each day's visits, planned there, done there or, when
    nobody planned them, due there; deadlines counted per day; the overdue ones above the grid."""
    today = timezone.localdate()
    month = parse_month(request.GET.get("month"), default=month_start(today))
    manager_id, managers = _chosen_manager(request, team=False)
    weeks = month_weeks(month)
    first, last = weeks[0][0], weeks[-1][-1]
    tasks = plan_tasks(user=request.user, manager_id=manager_id, start=first, end=last, today=today)
    counts = plan_counts_by_day(user=request.user, manager_id=manager_id, start=first, end=last, today=today)
    by_day: defaultdict[dt.date, list[VisitTask]] = defaultdict(list)
    for task in tasks:
        by_day[task.plan_day].append(task)
    end = add_months(month, 1)
    grid = [
        [
            {
                "day": day,
                "in_month": month <= day < end,
                "tasks": by_day.get(day, []),
                "due": counts.get(day, DayCounts()).due,
            }
            for day in week
        ]
        for week in weeks
    ]
    in_month = [t for t in tasks if month <= t.plan_day < end]
    return render(
        request,
        "visits/plan_month.html",
        {
            "month": month,
            "previous": add_months(month, -1),
            "next": end,
            "weekdays": weeks[0],
            "grid": grid,
            "days": [(d, by_day[d]) for d in sorted(by_day) if month <= d < end],
            "count": len(in_month),
            "unplanned": sum(1 for t in in_month if t.is_open and t.planned_on is None),
            "overdue_tasks": plan_overdue(user=request.user, manager_id=manager_id, today=today),
            "today": today,
            "managers": managers,
            "manager_id": manager_id,
            "manager_query": _manager_query(manager_id, managers),
            "overdue": TaskStatus.OVERDUE,
            "can_plan": request.user.has_perm(CHANGE),
            "leads_a_team": leads_a_team(request.user),
        },
    )


# ---------------------------------------------------------------- a week, day by day
@login_required
@permission_required(VIEW, raise_exception=True)
@require_safe
def plan_week(request):
    """The week (`?week=` any day of it) as a list of days, phone first: each day's visits with the
    form to move or clear their planned day; the overdue ones first. Supervisors may pick the team."""
    today = timezone.localdate()
    monday = week_start(_parse_day(request.GET.get("week"), default=today))
    sunday = monday + dt.timedelta(days=6)
    manager_id, managers = _chosen_manager(request, team=True)
    tasks = plan_tasks(user=request.user, manager_id=manager_id, start=monday, end=sunday, today=today)
    by_day: defaultdict[dt.date, list[VisitTask]] = defaultdict(list)
    for task in tasks:
        by_day[task.plan_day].append(task)
    days = [monday + dt.timedelta(days=n) for n in range(7)]
    return render(
        request,
        "visits/plan_week.html",
        {
            "monday": monday,
            "sunday": sunday,
            "previous": monday - dt.timedelta(days=7),
            "next": monday + dt.timedelta(days=7),
            "days": [(day, by_day.get(day, [])) for day in days],
            "count": len(tasks),
            "overdue_tasks": plan_overdue(user=request.user, manager_id=manager_id, today=today),
            "today": today,
            "managers": managers,
            "manager_id": manager_id,
            "manager_query": _manager_query(manager_id, managers),
            "team_option": True,
            "team_view": manager_id is None,
            "overdue": TaskStatus.OVERDUE,
            "can_plan": request.user.has_perm(CHANGE),
            "leads_a_team": leads_a_team(request.user),
        },
    )


# ---------------------------------------------------------------- the team
@login_required
@permission_required(VIEW, raise_exception=True)
@require_safe
def plan_team(request):
    """Supervisors: the team's month, each day's counts (planned, done, overdue, deadlines) for the
    whole team or one manager, and each manager's month in a line."""
    if not leads_a_team(request.user):
        raise PermissionDenied
    today = timezone.localdate()
    month = parse_month(request.GET.get("month"), default=month_start(today))
    manager_id, managers = _chosen_manager(request, team=True)
    if request.GET.get("manager") is None:
        manager_id = None  # the team first; a manager is picked
    weeks = month_weeks(month)
    first, last = weeks[0][0], weeks[-1][-1]
    counts = plan_counts_by_day(user=request.user, manager_id=manager_id, start=first, end=last, today=today)
    end = add_months(month, 1)
    grid = [
        [{"day": day, "in_month": month <= day < end, "counts": counts.get(day)} for day in week]
        for week in weeks
    ]
    people = plan_by_manager(user=request.user, start=month, end=end - dt.timedelta(days=1), today=today)
    if manager_id is not None:
        people = [p for p in people if p.manager_id == manager_id]
    return render(
        request,
        "visits/plan_team.html",
        {
            "month": month,
            "previous": add_months(month, -1),
            "next": end,
            "weekdays": weeks[0],
            "grid": grid,
            "people": people,
            "today": today,
            "managers": managers,
            "manager_id": manager_id,
            "manager_query": _manager_query(manager_id, managers),
            "team_option": True,
            "leads_a_team": True,
        },
    )


# ---------------------------------------------------------------- the form on each task
class PlanForm(forms.Form):
    task = forms.IntegerField(min_value=1)
    planned_on = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": gettext_lazy("Enter the day as YYYY-MM-DD.")},
    )
    clear = forms.BooleanField(required=False)


def _back(request):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return redirect(target)
    return redirect("visits:plan-week")


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def plan_set(request):
    """Set the planned day of a task in scope (`task`, `planned_on`), or clear it (`clear`); back to
    the page the form was on, with what was done or why nothing was."""
    form = PlanForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back(request)
    task = get_object_or_404(
        VisitTask.objects.visible_to(request.user).select_related(
            "customer", "community", "transformer_district"
        ),
        pk=form.cleaned_data["task"],
    )
    planned_on = None if form.cleaned_data["clear"] else form.cleaned_data["planned_on"]
    if planned_on is None and not form.cleaned_data["clear"]:
        messages.error(request, _("Choose the day you will visit, or clear the plan."))
        return _back(request)
    try:
        visit_task_plan(task=task, by=request.user, planned_on=planned_on)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return _back(request)
    if planned_on is None:
        messages.success(request, _("Plan cleared: %(target)s.") % {"target": task.target})
    else:
        messages.success(
            request,
            _("%(target)s planned for %(day)s.") % {"target": task.target, "day": f"{planned_on:%Y-%m-%d}"},
        )
    return _back(request)
