"""The visit pages: a manager's week, the calendar, the quick report on a phone, the supervisors' team
page and the customer page's visit history. Each page's query count stays fixed whatever the data size."""

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from crm.common import pages
from customers.models import Tier
from tests.factories import CustomerFactory, FollowUpFactory, VisitReportFactory, VisitTaskFactory
from tests.visits.report_forms import quick_report_form
from visits.models import Kind, TaskStatus, VisitReport

TODAY = timezone.localdate()
PERIOD = TODAY.replace(day=1)


def _tasks(world, n: int, **extra):
    customers = [CustomerFactory(tier=Tier.VIP, manager=world.manager_a.user) for _ in range(n)]
    return [VisitTaskFactory(customer=c, period=PERIOD, due_date=TODAY, **extra) for c in customers]


def test_week_shows_the_managers_tasks_with_care_first(client, world):
    planned = VisitTaskFactory(customer=world.customer_a, period=PERIOD, due_date=TODAY)
    care = VisitTaskFactory(customer=world.customer_a, kind=Kind.CARE, period=PERIOD, due_date=TODAY)
    VisitTaskFactory(customer=world.customer_b, period=PERIOD, due_date=TODAY)
    client.force_login(world.manager_a.user)
    response = client.get(reverse("visits:week"))
    assert response.status_code == 200
    assert [t.pk for t in response.context["tasks"]] == [care.pk, planned.pk]


def test_week_ignores_a_manager_outside_the_scope(client, world):
    VisitTaskFactory(customer=world.customer_b, period=PERIOD, due_date=TODAY)
    client.force_login(world.manager_a.user)
    response = client.get(reverse("visits:week"), {"manager": world.manager_b.pk})
    assert response.context["tasks"] == []


@pytest.mark.parametrize("size", [2, 20])
def test_week_runs_a_fixed_number_of_queries(client, world, size, django_assert_max_num_queries):
    _tasks(world, size)
    client.force_login(world.manager_a.user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("visits:week"))
    assert len(response.context["tasks"]) == size


@pytest.mark.parametrize("size", [2, 20])
def test_calendar_runs_a_fixed_number_of_queries(client, world, size, django_assert_max_num_queries):
    _tasks(world, size)
    client.force_login(world.manager_a.user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("visits:calendar"), {"month": f"{PERIOD:%Y-%m}"})
    assert response.context["count"] == size


@pytest.mark.parametrize("size", [2, 20])
def test_team_page_runs_a_fixed_number_of_queries(client, world, size, django_assert_max_num_queries):
    for task in _tasks(world, size, status=TaskStatus.DONE):
        FollowUpFactory(report=VisitReportFactory(task=task, visited_on=TODAY))
    _tasks(world, size, kind=Kind.CARE, status=TaskStatus.OVERDUE)
    client.force_login(world.supervisor)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("visits:team"))
    assert response.status_code == 200
    assert len(response.context["overdue"]) == size
    assert response.context["departments"][0]["count"] == size


def test_quick_report_marks_the_visit_done(client, world):
    task = VisitTaskFactory(customer=world.customer_a, period=PERIOD, due_date=TODAY)
    client.force_login(world.manager_a.user)
    follow_ups = {
        "fu-TOTAL_FORMS": "2",
        "fu-0-department": "billing",
        "fu-0-action": "核对电价",
        "fu-0-status": "open",
        "fu-1-department": "",
        "fu-1-action": "",
        "fu-1-status": "open",
    }
    data = quick_report_form(TODAY, channel="on_site", forecast_kwh_12m="50000", **follow_ups)
    response = client.post(reverse("visits:report", args=[task.pk]), data)
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert [f.action for f in VisitReport.objects.get().follow_ups.all()] == ["核对电价"]


def test_quick_report_shows_a_future_date_on_its_field(client, world):
    task = VisitTaskFactory(customer=world.customer_a, period=PERIOD, due_date=TODAY)
    client.force_login(world.manager_a.user)
    data = quick_report_form(TODAY + dt.timedelta(days=2))
    response = client.post(reverse("visits:report", args=[task.pk]), data)
    assert response.status_code == 200
    assert "visited_on" in response.context["form"].errors
    assert not VisitReport.objects.exists()


def test_report_form_of_another_managers_task_answers_404(client, world):
    task = VisitTaskFactory(customer=world.customer_b, period=PERIOD, due_date=TODAY)
    client.force_login(world.manager_a.user)
    assert client.get(reverse("visits:report", args=[task.pk])).status_code == 404


def test_report_form_is_made_for_a_phone(client, world):
    task = VisitTaskFactory(customer=world.customer_a, period=PERIOD, due_date=TODAY)
    client.force_login(world.manager_a.user)
    html = client.get(reverse("visits:report", args=[task.pk])).content.decode()
    assert 'type="date"' in html
    assert 'inputmode="decimal"' in html
    assert 'name="viewport"' in html


def test_visit_history_tag_lists_the_customers_visits_with_their_reports(world):
    task = VisitTaskFactory(customer=world.customer_a, status=TaskStatus.DONE)
    VisitReportFactory(task=task, needs="需要增容")
    request = RequestFactory().get("/")
    request.user = world.manager_a.user
    html = _visit_history_html(request, world.customer_a)
    assert "需要增容" in html


def test_visit_history_tag_hides_visits_outside_the_scope(world):
    VisitReportFactory(task=VisitTaskFactory(customer=world.customer_b, status=TaskStatus.DONE), needs="保密")
    request = RequestFactory().get("/")
    request.user = world.manager_a.user
    html = _visit_history_html(request, world.customer_b)
    assert "保密" not in html


def _visit_history_html(request, customer) -> str:
    """The visits as the customer page includes them: from its parts (crm/pages.py), rendered by
    templates/visits/_history.html."""
    part = pages.parts("customer_detail", request=request, customer=customer)["visit_history"]
    return render_to_string("visits/_history.html", {"customer": customer, **part}, request=request)


def test_supervisors_week_shows_a_team_members_visits_and_a_picker(client, world):
    task = VisitTaskFactory(customer=world.customer_a, period=PERIOD, due_date=TODAY)
    client.force_login(world.supervisor)
    response = client.get(reverse("visits:week"))
    assert [t.pk for t in response.context["tasks"]] == [task.pk]
    assert [m.pk for m in response.context["managers"]] == [world.manager_a.pk]
