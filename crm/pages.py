"""Where the pages of the lower apps get what the apps above them hold (crm/common/pages.py says
why): each function here is named in settings.CRM_PAGE_PARTS and returns context for the page's
templates, which only render it. The pages' counterpart of crm/jobs.py; it may see every app."""

from django.urls import reverse
from django.utils import timezone

from crm.accounts.roles import DEPARTMENT_STAFF, roles_of
from managers.selectors import assignment_history, home_summary
from service.calendar import next_year_warning
from service.models import ServiceRequest
from service.people import staff_home
from service.sla import with_sla_now
from visits.models import Department, FollowUpStatus
from visits.selectors import visit_history

ASSIGNMENT_ROWS = 50
VISIT_ROWS = 12
REQUEST_ROWS = 20


def customer_detail(*, request, customer) -> dict:
    """The customer page's visits (templates/visits/_history.html), who served the customer
    (templates/managers/_assignment_history.html) and its service requests: four queries. The view
    has checked that the user may see the customer."""
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
    }


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
    return parts
