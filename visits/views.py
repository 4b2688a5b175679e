"""Browser pages of the visit system: a manager's week, the month calendar, the quick report form
(made for a phone) and the supervisors' team page. Every page reads tasks through
`VisitTask.objects.visible_to(user)`: a task outside the scope answers 404. Each page issues a fixed
number of queries whatever the number of tasks."""

import datetime as dt
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from crm.accounts.roles import leads_a_team
from crm.common import pages
from crm.common.errors import Conflict
from crm.common.months import add_months, month_start
from crm.common.scopes import scope_for
from managers.models import Manager
from visits.charts import completion_chart
from visits.forms import FollowUpFormSet, ReportForm, follow_up_rows, parse_month
from visits.models import TaskStatus, VisitTask
from visits.reports import visit_report_submit
from visits.selectors import (
    completion_by_manager_and_month,
    completion_by_month,
    consumption_beside_forecast,
    follow_ups_waiting,
    follow_ups_waiting_by_department,
    forecast_errors,
    month_tasks_for,
    overdue_for,
    week_tasks_for,
)

VIEW = "visits.view_visittask"
TABLE_MONTHS, CHART_MONTHS = 6, 12  # the team page's completion: by manager, and the team's drawn


def _chosen_manager(request) -> tuple[int, list[Manager]]:
    """The manager whose tasks to show: `?manager=` among those in scope, else the user."""
    managers = list(
        Manager.objects.visible_to(request.user).select_related("user").order_by("user__full_name")
    )
    wanted = request.GET.get("manager", "")
    scope = scope_for(request.user)
    others = [m for m in managers if m.pk != request.user.pk]
    shown = managers if others else []  # a picker only for those who see someone else's visits
    if wanted.isdigit() and scope.includes(int(wanted)):
        return int(wanted), shown
    if others and not any(m.pk == request.user.pk for m in managers):
        return others[0].pk, shown  # a supervisor without visits of their own: the first of the team
    return request.user.pk, shown


@login_required
@permission_required(VIEW, raise_exception=True)
@require_safe
def week(request):
    today = timezone.localdate()
    manager_id, managers = _chosen_manager(request)
    tasks = week_tasks_for(user=request.user, manager_id=manager_id, day=today)
    return render(
        request,
        "visits/week.html",
        {
            "tasks": tasks,
            "today": today,
            "week_end": today + dt.timedelta(days=6 - today.weekday()),
            "managers": managers,
            "manager_id": manager_id,
            "overdue": TaskStatus.OVERDUE,
            "leads_a_team": leads_a_team(request.user),
        },
    )


@login_required
@permission_required(VIEW, raise_exception=True)
@require_safe
def calendar(request):
    today = timezone.localdate()
    month = parse_month(request.GET.get("month"), default=month_start(today))
    manager_id, managers = _chosen_manager(request)
    by_day: defaultdict[dt.date, list[VisitTask]] = defaultdict(list)
    for task in month_tasks_for(user=request.user, manager_id=manager_id, month=month):
        by_day[task.due_date].append(task)
    days = []
    day = month
    while day < add_months(month, 1):
        days.append((day, by_day.get(day, [])))
        day += dt.timedelta(days=1)
    return render(
        request,
        "visits/calendar.html",
        {
            "month": month,
            "previous": add_months(month, -1),
            "next": add_months(month, 1),
            "days": [(d, items) for d, items in days if items or d == today],
            "count": sum(len(items) for _d, items in days),
            "today": today,
            "managers": managers,
            "manager_id": manager_id,
        },
    )


@login_required
@permission_required("visits.add_visitreport", raise_exception=True)
@require_http_methods(["GET", "POST"])
def report(request, pk: int):
    task = get_object_or_404(
        VisitTask.objects.visible_to(request.user).select_related(
            "customer", "community", "transformer_district"
        ),
        pk=pk,
    )
    if task.status in (TaskStatus.DONE, TaskStatus.CANCELLED):
        messages.info(request, _("This visit is closed."))
        return redirect("visits:week")
    form = ReportForm(request.POST or None)
    follow_ups = FollowUpFormSet(request.POST or None, prefix="fu")
    if "add_follow_up" in request.POST:
        # Without JavaScript, "add" posts the form back: drawn again unbound (no errors for a report
        # not yet finished) with what was typed, and one more empty follow-up row.
        form = ReportForm(initial=request.POST.dict())
        follow_ups = FollowUpFormSet(prefix="fu", initial=follow_up_rows(follow_ups))
        follow_ups.extra = 1
    elif request.method == "POST" and form.is_valid() and follow_ups.is_valid():
        kept = [f for f in follow_ups.forms if f not in follow_ups.deleted_forms]
        items = [f.cleaned_data for f in kept if f.cleaned_data.get("action")]
        try:
            visit_report_submit(task=task, by=request.user, follow_ups=items, **form.cleaned_data)
        except Conflict as exc:  # cancelled between the page's check and the write
            form.add_error(None, str(exc.detail))
        except ValidationError as exc:
            for field, errors in (
                exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]
            ):
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            # the manager forecast first, unanchored; now that it is saved, the baseline beside it
            # (forecasts, above visits, says it: crm/pages.py)
            forecast = form.cleaned_data.get("forecast_kwh_12m")
            beside = pages.parts("visit_reported", task=task, forecast=forecast)
            messages.success(request, " ".join([_("Visit reported."), *beside.get("messages", [])]))
            return redirect("visits:week")
    consumption = task.customer and consumption_beside_forecast(customer=task.customer)
    return render(
        request,
        "visits/report.html",
        {"task": task, "form": form, "follow_ups": follow_ups, "consumption": consumption},
    )


@login_required
@permission_required(VIEW, raise_exception=True)
@require_safe
def team(request):
    """Supervisors: completion by manager and month (six months, the team's below them) and the
    team's by month over twelve, drawn; the overdue list, follow-ups waiting on each department, and
    each manager's forecast error."""
    today = timezone.localdate()
    until = add_months(month_start(today), 1)
    since = add_months(until, -TABLE_MONTHS)
    rows = completion_by_manager_and_month(user=request.user, since=since, until=until)
    by_month = completion_by_month(user=request.user, since=add_months(until, -CHART_MONTHS), until=until)
    months = [add_months(since, n) for n in range(TABLE_MONTHS)]
    table: dict[int, dict] = {}
    for row in rows:
        entry = table.setdefault(row.manager_id, {"name": row.name, "cells": {}})
        entry["cells"][row.month] = row
    completion = [
        {"name": entry["name"], "cells": [entry["cells"].get(m) for m in months]} for entry in table.values()
    ]
    errors = forecast_errors(user=request.user, today=today)
    names = {
        m.pk: m.user.display_name for m in Manager.objects.visible_to(request.user).select_related("user")
    }
    mape = sorted(((names.get(pk, "—"), value) for pk, value in errors.by_manager().items()), key=str)
    return render(
        request,
        "visits/team.html",
        {
            "months": months,
            "completion": completion,
            "team_months": by_month[-TABLE_MONTHS:],
            "chart": completion_chart(by_month),
            "chart_months": CHART_MONTHS,
            # one read: the template shows the first 20 and counts the rest
            "overdue": list(overdue_for(user=request.user)[:200]),
            "departments": follow_ups_waiting_by_department(user=request.user),
            "waiting": follow_ups_waiting(user=request.user)[:200],
            "mape": mape,
            "mape_overall": errors.overall,
            # the team's forecasts against the baseline, which forecasts (above visits) holds
            **pages.parts("visits_team", request=request),
        },
    )
