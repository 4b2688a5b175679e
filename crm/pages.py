"""Where the pages of the lower apps get what the apps above them hold (crm/common/pages.py says
why): each function here is named in settings.CRM_PAGE_PARTS and returns context for the page's
templates, which only render it. The pages' counterpart of crm/jobs.py; it may see every app."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from appraisal.selectors import current_cycle_progress
from crm.accounts.roles import DEPARTMENT_STAFF, roles_of
from crm.common.models import JobRun, RunState
from crm.common.months import add_months, month_start
from crm.common.progress import error_reason
from crm.common.templatetags.crm_format import grouped_number
from customers.charts import consumption_chart
from customers.imports.jobs import import_jobs_visible_to
from customers.models import ClassificationRun, ImportJob
from forecasts.parts import customer_forecast, forecast_beside_baseline, manager_scores, team_scores
from managers.selectors import assignment_history, home_summary, portfolio_changes, portfolio_consumption
from managers.services import RECONCILE_JOB
from managers.unassigned_views import RUNNING_AT_MOST
from notices.selectors import home_tasks_for, outages_for_customer
from service.calendar import next_year_warning
from service.models import ServiceRequest
from service.people import staff_home
from service.selectors import owned_requests_for, plain_follow_ups_for
from service.sla import board_calendar, with_sla_now
from service.views import clock_shown
from visits.charts import completion_chart
from visits.models import Department, FollowUpStatus, VisitRun
from visits.selectors import completion_by_month, manager_day, team_glance, visit_history

ASSIGNMENT_ROWS = 50
VISIT_ROWS = 12
REQUEST_ROWS = 20
HOME_ROWS = 10  # each list of the manager's home; its full count links to the page that has them all
CHANGE_DAYS = 30
CHART_MONTHS = 24


def customer_detail(*, request, customer, records=()) -> dict:
    """The customer page's visits (templates/visits/_history.html), who served the customer
    (templates/managers/_assignment_history.html), its service requests and its forecast beside the
    metered `records` the page read (templates/forecasts/_customer_forecast.html): five queries.
    The view has checked that the user may see the customer."""
    assignments = list(assignment_history(customer=customer)[: ASSIGNMENT_ROWS + 1])
    visits = visit_history(user=request.user, customer=customer, limit=VISIT_ROWS)
    requests = service_requests_part(request=request, customer=customer)
    return {
        "visit_history": {
            "tasks": follow_up_requests(request=request, tasks=visits, requests=requests["requests"])
        },
        "assignment_history": {
            "assignments": assignments[:ASSIGNMENT_ROWS],
            "truncated": len(assignments) > ASSIGNMENT_ROWS,
        },
        "service_requests": requests,
        **customer_forecast(customer=customer, records=records),
        # published outage notices covering the customer, current or upcoming: one query
        "upcoming_outages": list(outages_for_customer(customer_id=customer.pk)[:REQUEST_ROWS]),
    }


def manager_detail(*, request, manager) -> dict:
    """A manager's page: their forecast scores (forecasts.parts.manager_scores)."""
    return manager_scores(request=request, manager=manager)


def visit_reported(*, task, forecast) -> dict:
    """A visit report just saved: its forecast beside the baseline (forecasts.parts.visit_reported)."""
    return forecast_beside_baseline(task=task, forecast=forecast)


def visits_team(*, request) -> dict:
    """The supervisor's team page: the team's forecast scores (forecasts.parts.team_scores)."""
    return team_scores(request=request)


def follow_up_requests(*, request, tasks: list, requests: list) -> list:
    """Each follow-up of the visits shows its service request, found among the customer's latest
    requests the page lists already (no query of its own: a running follow-up's request is among a
    customer's newest); an open follow-up for "other", which opens none by itself, links to opening
    one."""
    by_follow_up = {r.follow_up_id: r for r in requests if r.follow_up_id is not None}
    may_open = request.user.has_perm("service.add_servicerequest")
    for task in tasks:
        for follow_up in task.report_full.follow_ups.all() if task.report_full else ():
            linked = by_follow_up.get(follow_up.pk)
            if linked is not None:
                follow_up.request_number = linked.number
                follow_up.request_url = reverse("service:request", args=[linked.pk])
            elif (
                may_open
                and follow_up.status == FollowUpStatus.OPEN
                and follow_up.department == Department.OTHER
            ):
                follow_up.new_request_url = f"{reverse('service:request-new')}?follow_up={follow_up.pk}"
    return tasks


def service_requests_part(*, request, customer) -> dict:
    """The customer's service requests (templates/service/_customer_requests.html), newest first,
    with their state as of now, and whether the user may open one: one query."""
    requests = with_sla_now(ServiceRequest.objects.visible_to(request.user).filter(customer=customer))
    rows = list(requests.select_related("owner").order_by("-received_at", "-id")[: REQUEST_ROWS + 1])
    return {
        "requests": rows[:REQUEST_ROWS],
        "truncated": len(rows) > REQUEST_ROWS,
        "may_open": request.user.has_perm("service.add_servicerequest"),
    }


def home(*, request) -> dict:
    """The home page's figures for the signed-in user (templates/home_summary.html); for department
    staff, their department's queue (templates/service/_home_staff.html)."""
    staff = staff_home(request.user)
    parts = {} if staff is None else {"staff_home": staff}
    if staff is None or roles_of(request.user) - {DEPARTMENT_STAFF}:  # staff who also hold another role
        parts["summary"] = home_summary(request.user)
    if request.user.has_perm("service.add_calendarday"):  # those who load the work calendar
        parts["calendar_warning"] = next_year_warning(timezone.localdate())
    parts.update(manager_today(request=request, summary=parts.get("summary")))
    parts.update(outage_calls(request=request, summary=parts.get("summary")))
    parts.update(team_at_a_glance(request=request, summary=parts.get("summary")))
    parts.update(runs_and_imports(request=request, summary=parts.get("summary")))
    return parts


def manager_today(*, request, summary) -> dict:
    """An account manager's working day on the home (templates/home_manager.html), for those whose
    summary is their own portfolio: the visits due and overdue (care first) and the week's plan, the
    follow-ups and requests they carry with the requests' clocks as of now, what changed in their
    portfolio in the last 30 days and its consumption by month. Six queries, each list capped at
    HOME_ROWS with its full count; the work calendar is read only when a request is listed."""
    if summary is None or summary.kind != "mine":
        return {}
    user, now = request.user, timezone.now()
    today = timezone.localdate(now)
    requests, requests_total = owned_requests_for(user=user, owner_id=user.pk, rows=HOME_ROWS, now=now)
    calendar = board_calendar(now) if requests else None
    for row in requests:
        row.clock = clock_shown(row, calendar, now)
    follow_ups, follow_ups_total = plain_follow_ups_for(user=user, manager_id=user.pk, rows=HOME_ROWS)
    since = now - dt.timedelta(days=CHANGE_DAYS)
    changes = portfolio_changes(user=user, manager_id=user.pk, since=since, rows=HOME_ROWS + 1)
    months = portfolio_consumption(user=user, manager_id=user.pk, months=CHART_MONTHS, today=today)
    return {
        "manager_today": {
            "today": today,
            "visits": manager_day(user=user, manager_id=user.pk, rows=HOME_ROWS, day=today),
            "requests": requests,
            "requests_total": requests_total,
            "follow_ups": follow_ups,
            "follow_ups_total": follow_ups_total,
            "may_open": user.has_perm("service.add_servicerequest"),
            "changes": changes[:HOME_ROWS],
            "changes_more": len(changes) > HOME_ROWS,
            "change_days": CHANGE_DAYS,
            "chart": consumption_chart(months),
            "chart_months": months,
            "chart_span": CHART_MONTHS,
        }
    }


def outage_calls(*, request, summary) -> dict:
    """For a manager whose summary is their own portfolio: the outage notices to call their
    important customers about, with one-tap acknowledgement, and the unreachable customers whose
    contact is to fix (templates/notices/_home_calls.html). One query, each list capped at
    HOME_ROWS with its full count."""
    if summary is None or summary.kind != "mine" or not request.user.has_perm("notices.change_delivery"):
        return {}
    calls, calls_total, fixes, fixes_total = home_tasks_for(
        user=request.user, manager_id=request.user.pk, rows=HOME_ROWS
    )
    return {
        "outage_calls": {
            "calls": calls,
            "calls_total": calls_total,
            "fixes": fixes,
            "fixes_total": fixes_total,
        }
    }


# ---------------------------------------------------------------- the supervisor's home
GLANCE_ROWS = 8  # managers in each list of the supervisor's home; all of them on the team page
GLANCE_MONTHS = 12  # the completion chart's span, this month included


def team_at_a_glance(*, request, summary) -> dict:
    """A supervisor's team at a glance (templates/home_team.html), for those whose summary is a team:
    this month's visit completion by manager, worst first, and the visits overdue as of now by
    manager, most first (each capped at GLANCE_ROWS, the team's totals beside them); the appraisal
    progress of the current cycle; the team's completion by month over the last 12 months, drawn.
    Three queries (the unassigned customers are the summary's)."""
    if summary is None or summary.kind != "team":
        return {}
    user, today = request.user, timezone.localdate()
    month = month_start(today)
    rows = team_glance(user=user, month=month, day=today)
    completion = sorted((r for r in rows if r.due), key=lambda r: (r.rate, -r.due, r.name))
    overdue = sorted((r for r in rows if r.overdue), key=lambda r: (-r.overdue, r.name))
    by_month = completion_by_month(
        user=user, since=add_months(month, 1 - GLANCE_MONTHS), until=add_months(month, 1)
    )
    return {
        "team_glance": {
            "month": month,
            "this_month": by_month[-1],  # the team's total: the chart's last bar
            "completion": completion[:GLANCE_ROWS],
            "completion_more": max(0, len(completion) - GLANCE_ROWS),
            "overdue": overdue[:GLANCE_ROWS],
            "overdue_more": max(0, len(overdue) - GLANCE_ROWS),
            "overdue_total": sum(r.overdue for r in rows),
            "unassigned": summary.unassigned,
            "appraisal": current_cycle_progress(user=user),
            "chart": completion_chart(by_month),
            "chart_months": GLANCE_MONTHS,
        }
    }


# ---------------------------------------------------------------- the administrator's home
RUN_ROWS = 5  # the latest runs of each kind on the administrator's home; the rest on their pages


@dataclass(frozen=True)
class RunLine:
    """One run or import on the administrator's home, whatever its table: its state, what it was,
    when it started (or was queued), what it counted, why it failed, and its page."""

    state: str
    state_label: str
    what: str
    at: dt.datetime | None
    duration: dt.timedelta | None
    counts: str
    reason: str
    url: str


@dataclass(frozen=True)
class RunGroup:
    title: str
    url: str  # the page listing them all ("" when the user has none)
    lines: list[RunLine]


def runs_and_imports(*, request, summary) -> dict:
    """The administrator's home (templates/home_admin.html), for those whose summary is the whole
    company: the latest RUN_ROWS reclassification runs, imports, assignment runs (the reconcile) and
    visit generation runs (with any failed visit job), each kind for those who may read it: one query
    a kind."""
    if summary is None or summary.kind != "company":
        return {}
    user = request.user
    groups = []
    if user.has_perm("customers.view_classificationrun"):
        runs = ClassificationRun.objects.select_related("policy").order_by("-created_at", "-id")
        lines = [_classification_line(run) for run in runs[:RUN_ROWS]]
        groups.append(RunGroup(_("Reclassification runs"), reverse("customers:tier-runs"), lines))
    if user.has_perm("customers.view_importjob"):
        jobs = import_jobs_visible_to(user).order_by("-created_at", "-pk")
        lines = [_import_line(job) for job in jobs[:RUN_ROWS]]
        groups.append(RunGroup(_("Imports"), reverse("customers:import"), lines))
    if user.has_perm("common.view_jobrun"):
        runs = JobRun.objects.filter(job=RECONCILE_JOB).order_by("-started_at", "-pk")
        lines = [_reconcile_line(run, user) for run in runs[:RUN_ROWS]]
        listed = reverse("admin:common_jobrun_changelist") if user.is_staff else ""
        groups.append(RunGroup(_("Assignment runs"), listed, lines))
    if user.has_perm("visits.view_visitrun"):
        # generation, and whichever other visit job failed: a failure is what the home is for
        runs = VisitRun.objects.filter(Q(job=VisitRun.Job.GENERATE) | Q(status=VisitRun.State.FAILED))
        lines = [_visit_line(run) for run in runs.order_by("-created_at", "-id")[:RUN_ROWS]]
        listed = reverse("admin:visits_visitrun_changelist") if user.is_staff else ""
        groups.append(RunGroup(_("Visit generation runs"), listed, lines))
    return {"runs_home": groups}


def _line(run, *, what: str, counts: str, url: str, state: str = "", label: str = "") -> RunLine:
    """A RunLine of a run table's row (RunRecord: its status; a JobRun gives its own state)."""
    state = state or run.status
    return RunLine(
        state=state,
        state_label=label or run.get_status_display(),
        what=what,
        at=run.started_at or getattr(run, "created_at", None),
        duration=run.duration,
        counts="" if state == RunState.QUEUED else counts,
        reason=error_reason(run.error) if state == RunState.FAILED else "",
        url=url,
    )


def _classification_line(run: ClassificationRun) -> RunLine:
    what = run.get_trigger_display()
    if run.policy_id:
        what = f"{what} · v{run.policy.version}"
    counts = _("%(examined)s customers examined, %(changed)s tiers changed") % {
        "examined": grouped_number(run.examined),
        "changed": grouped_number(run.changed),
    }
    return _line(run, what=what, counts=counts, url=reverse("customers:tier-run", args=[run.pk]))


def _import_line(job: ImportJob) -> RunLine:
    counts = _("%(rows)s rows: %(created)s created, %(updated)s updated, %(rejected)s rejected") % {
        "rows": grouped_number(job.total_rows),
        "created": grouped_number(job.created_count),
        "updated": grouped_number(job.updated_count),
        "rejected": grouped_number(job.rejected_count),
    }
    what = f"{job.get_kind_display()} · {job.original_name}"
    return _line(job, what=what, counts=counts, url=reverse("customers:import-detail", args=[job.pk]))


def _reconcile_line(run: JobRun, user) -> RunLine:
    """A JobRun has no status: it failed with an error, runs until it finishes, and one left
    unfinished past RUNNING_AT_MOST (its worker died) did not finish."""
    if run.error:
        state, label = RunState.FAILED, RunState.FAILED.label
    elif run.finished_at is not None:
        state, label = RunState.DONE, RunState.DONE.label
    elif run.started_at >= timezone.now() - RUNNING_AT_MOST:
        state, label = RunState.RUNNING, RunState.RUNNING.label
    else:
        state, label = RunState.FAILED, _("Did not finish")
    counts = run.counts or {}
    text = _("%(assigned)s assigned, %(followed)s to their territory's manager, %(left)s left unassigned") % {
        "assigned": grouped_number(counts.get("assigned", 0)),
        "followed": grouped_number(counts.get("followed_territory", 0)),
        "left": grouped_number(counts.get("unassigned", 0)),
    }
    url = reverse("admin:common_jobrun_change", args=[run.pk]) if user.is_staff else ""
    text = text if counts else ""  # a run that failed before its first chunk counted nothing
    return _line(run, what=_("Customers to managers"), counts=text, url=url, state=state, label=label)


def _visit_line(run: VisitRun) -> RunLine:
    what = f"{run.get_job_display()} · {run.day:%Y-%m-%d}"
    counts = ""
    if run.job == VisitRun.Job.GENERATE:
        counts = _("%(created)s visit tasks created") % {
            "created": grouped_number((run.counts or {}).get("created", 0))
        }
    return _line(run, what=what, counts=counts, url=reverse("visits:run", args=[run.pk]))
