"""visit-policies/, visit-tasks/ (with its report) and visit-runs/: scope, filters, validation."""

import datetime as dt

import pytest
from django.utils import timezone

from customers.models import Tier
from tests.factories import CustomerFactory, FollowUpFactory, VisitReportFactory, VisitTaskFactory
from visits.models import TaskStatus, VisitReport, VisitRun, VisitTask

TODAY = timezone.localdate()
PERIOD = TODAY.replace(day=1)


@pytest.fixture
def task_a(world):
    return VisitTaskFactory(customer=world.customer_a, period=PERIOD, due_date=PERIOD + dt.timedelta(days=27))


@pytest.fixture
def task_b(world):
    return VisitTaskFactory(customer=world.customer_b, period=PERIOD, due_date=PERIOD + dt.timedelta(days=27))


def _report(**changes):
    payload = {
        "visited_on": f"{TODAY:%Y-%m-%d}",
        "channel": "on_site",
        "people_met": "王厂长",
        "business_trend": "growing",
        "needs": "扩建二期，需增容",
        "satisfaction": 5,
        "forecast_kwh_12m": "1200000",
        "follow_ups": [{"department": "new_connection", "action": "受理增容申请"}],
    }
    payload.update(changes)
    return payload


def _ad_hoc_task_of_manager_a(client, world, **target):
    """POST visit-tasks/: a task for manager A due today, on `target` (none: no target at all)."""
    payload = {"manager": world.manager_a.pk, "due_date": f"{TODAY:%Y-%m-%d}", **target}
    return client.post("/api/v1/visit-tasks/", payload)


# ---------------------------------------------------------------- scope
def test_manager_lists_only_own_tasks(world, api, task_a, task_b):
    response = api(world.manager_a.user).get("/api/v1/visit-tasks/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [task_a.pk]


def test_supervisor_lists_the_teams_tasks(world, api, task_a, task_b):
    response = api(world.supervisor).get("/api/v1/visit-tasks/")
    assert [row["id"] for row in response.json()["results"]] == [task_a.pk]


def test_another_managers_task_answers_404(world, api, task_b):
    response = api(world.manager_a.user).get(f"/api/v1/visit-tasks/{task_b.pk}/")
    assert response.status_code == 404


def test_another_managers_task_report_answers_404(world, api, task_b):
    response = api(world.manager_a.user).post(
        f"/api/v1/visit-tasks/{task_b.pk}/report/", _report(), format="json"
    )
    assert response.status_code == 404
    assert not VisitReport.objects.exists()


def test_another_managers_task_cannot_be_patched(world, api, task_b):
    response = api(world.manager_a.user).patch(f"/api/v1/visit-tasks/{task_b.pk}/", {"note": "x"})
    assert response.status_code == 404


# ---------------------------------------------------------------- filters
def test_tasks_filter_by_status_kind_and_due_dates(world, api, task_a):
    overdue = VisitTaskFactory(
        customer=world.customer_a,
        kind="care",
        period=dt.date(2026, 1, 1),
        due_date=dt.date(2026, 1, 20),
        status=TaskStatus.OVERDUE,
    )
    client = api(world.admin)
    assert [r["id"] for r in client.get("/api/v1/visit-tasks/?status=overdue").json()["results"]] == [
        overdue.pk
    ]
    assert [r["id"] for r in client.get("/api/v1/visit-tasks/?kind=scheduled").json()["results"]] == [
        task_a.pk
    ]
    before = client.get("/api/v1/visit-tasks/?due_before=2026-01-31").json()["results"]
    assert [r["id"] for r in before] == [overdue.pk]
    after = client.get(f"/api/v1/visit-tasks/?due_after={PERIOD:%Y-%m-%d}").json()["results"]
    assert [r["id"] for r in after] == [task_a.pk]


def test_tasks_filter_by_manager(world, api, task_a, task_b):
    response = api(world.admin).get(f"/api/v1/visit-tasks/?manager={world.manager_b.pk}")
    assert [r["id"] for r in response.json()["results"]] == [task_b.pk]


# ---------------------------------------------------------------- writes
def test_manager_creates_an_ad_hoc_task_for_own_customer(world, api):
    response = _ad_hoc_task_of_manager_a(api(world.manager_a.user), world, customer=world.customer_a.pk)
    assert response.status_code == 201, response.json()
    task = VisitTask.objects.get()
    assert (task.kind, task.period, task.status) == ("ad_hoc", PERIOD, TaskStatus.PLANNED)


def test_manager_cannot_create_a_task_for_another_managers_customer(world, api):
    response = _ad_hoc_task_of_manager_a(api(world.manager_a.user), world, customer=world.customer_b.pk)
    assert response.status_code == 400
    assert "customer" in response.json()


def test_task_needs_exactly_one_target(world, api):
    response = _ad_hoc_task_of_manager_a(api(world.manager_a.user), world)
    assert response.status_code == 400
    assert not VisitTask.objects.exists()


def test_cancelling_a_task_needs_a_reason(world, api, task_a):
    response = api(world.manager_a.user).patch(f"/api/v1/visit-tasks/{task_a.pk}/", {"status": "cancelled"})
    assert response.status_code == 400
    assert "cancel_reason" in response.json()


def test_cancelling_a_task_with_a_reason(world, api, task_a):
    response = api(world.manager_a.user).patch(
        f"/api/v1/visit-tasks/{task_a.pk}/", {"status": "cancelled", "cancel_reason": "客户停产"}
    )
    assert response.status_code == 200
    task_a.refresh_from_db()
    assert (task_a.status, task_a.cancel_reason) == (TaskStatus.CANCELLED, "客户停产")


def test_rescheduling_an_overdue_task_into_the_future_plans_it_again(world, api, task_a):
    VisitTask.objects.filter(pk=task_a.pk).update(status=TaskStatus.OVERDUE)
    due = TODAY + dt.timedelta(days=3)
    response = api(world.manager_a.user).patch(
        f"/api/v1/visit-tasks/{task_a.pk}/", {"due_date": f"{due:%Y-%m-%d}"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == TaskStatus.PLANNED


# ---------------------------------------------------------------- reports
def test_posting_the_report_marks_the_task_done(world, api, task_a):
    response = api(world.manager_a.user).post(
        f"/api/v1/visit-tasks/{task_a.pk}/report/", _report(), format="json"
    )
    assert response.status_code == 201, response.json()
    task_a.refresh_from_db()
    assert task_a.status == TaskStatus.DONE
    report = VisitReport.objects.get()
    assert [(f.department, f.status) for f in report.follow_ups.all()] == [("new_connection", "open")]


def test_report_reads_back_with_its_follow_ups(world, api, task_a):
    api(world.manager_a.user).post(f"/api/v1/visit-tasks/{task_a.pk}/report/", _report(), format="json")
    response = api(world.supervisor).get(f"/api/v1/visit-tasks/{task_a.pk}/report/")
    assert response.status_code == 200
    body = response.json()
    assert (body["satisfaction"], body["forecast_kwh_12m"]) == (5, 1200000.0)
    assert body["follow_ups"][0]["action"] == "受理增容申请"


@pytest.mark.parametrize("satisfaction", [0, 6])
def test_report_refuses_satisfaction_outside_1_to_5(world, api, task_a, satisfaction):
    response = api(world.manager_a.user).post(
        f"/api/v1/visit-tasks/{task_a.pk}/report/", _report(satisfaction=satisfaction), format="json"
    )
    assert response.status_code == 400
    assert "satisfaction" in response.json()


def test_report_refuses_a_negative_forecast(world, api, task_a):
    response = api(world.manager_a.user).post(
        f"/api/v1/visit-tasks/{task_a.pk}/report/", _report(forecast_kwh_12m="-1"), format="json"
    )
    assert response.status_code == 400
    assert "forecast_kwh_12m" in response.json()


def test_report_refuses_a_visit_date_in_the_future(world, api, task_a):
    tomorrow = TODAY + dt.timedelta(days=1)
    response = api(world.manager_a.user).post(
        f"/api/v1/visit-tasks/{task_a.pk}/report/", _report(visited_on=f"{tomorrow:%Y-%m-%d}"), format="json"
    )
    assert response.status_code == 400
    assert "visited_on" in response.json()
    task_a.refresh_from_db()
    assert task_a.status == TaskStatus.PLANNED


def test_report_refuses_a_visit_date_before_the_tasks_period(world, api, task_a):
    before = PERIOD - dt.timedelta(days=1)
    response = api(world.manager_a.user).post(
        f"/api/v1/visit-tasks/{task_a.pk}/report/", _report(visited_on=f"{before:%Y-%m-%d}"), format="json"
    )
    assert response.status_code == 400
    assert "visited_on" in response.json()


def test_a_task_is_reported_once(world, api, task_a):
    client = api(world.manager_a.user)
    client.post(f"/api/v1/visit-tasks/{task_a.pk}/report/", _report(), format="json")
    response = client.post(f"/api/v1/visit-tasks/{task_a.pk}/report/", _report(), format="json")
    assert response.status_code == 400
    assert VisitReport.objects.count() == 1


def test_report_of_an_unreported_task_answers_404(world, api, task_a):
    response = api(world.manager_a.user).get(f"/api/v1/visit-tasks/{task_a.pk}/report/")
    assert response.status_code == 404


def test_integration_client_reads_reports_but_cannot_post_them(world, api, task_a):
    VisitReportFactory(task=task_a)
    client = api(world.integration)
    assert client.get(f"/api/v1/visit-tasks/{task_a.pk}/report/").status_code == 200
    other = VisitTaskFactory(customer=CustomerFactory(tier=Tier.VIP, manager=world.manager_a.user))
    assert client.post(f"/api/v1/visit-tasks/{other.pk}/report/", _report(), format="json").status_code == 403


# ---------------------------------------------------------------- policies and runs
def test_manager_reads_policies_but_cannot_change_them(world, api):
    client = api(world.manager_a.user)
    rows = client.get("/api/v1/visit-policies/").json()["results"]
    assert {row["tier"] for row in rows} == set(Tier.values)
    assert client.patch(f"/api/v1/visit-policies/{rows[0]['id']}/", {"lead_days": 3}).status_code == 403


def test_administrator_changes_a_policy(world, api):
    policy_id = api(world.admin).get("/api/v1/visit-policies/?tier=vip").json()["results"][0]["id"]
    response = api(world.admin).patch(f"/api/v1/visit-policies/{policy_id}/", {"frequency_months": 2})
    assert response.status_code == 200
    assert response.json()["frequency_months"] == 2


def test_posting_a_visit_run_answers_202_and_generates(world, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(world.admin).post("/api/v1/visit-runs/")
    assert response.status_code == 202
    run = VisitRun.objects.get(pk=response.json()["id"])
    assert run.status == VisitRun.State.DONE
    assert run.counts["created"] == VisitTask.objects.count() > 0
    listed = api(world.supervisor).get("/api/v1/visit-runs/").json()["results"]
    assert [row["id"] for row in listed] == [run.pk]


def test_manager_cannot_start_a_visit_run(world, api):
    response = api(world.manager_a.user).post("/api/v1/visit-runs/")
    assert response.status_code == 403
    assert not VisitRun.objects.exists()


# ---------------------------------------------------------------- bounded queries
@pytest.mark.parametrize("size", [3, 30])
def test_task_list_runs_a_fixed_number_of_queries(world, api, size, django_assert_max_num_queries):
    customers = [CustomerFactory(tier=Tier.VIP, manager=world.manager_a.user) for _ in range(size)]
    for customer in customers:
        VisitTaskFactory(customer=customer, period=PERIOD, due_date=PERIOD + dt.timedelta(days=27))
    client = api(world.supervisor)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/visit-tasks/")
    assert len(response.json()["results"]) == size


@pytest.mark.parametrize("size", [3, 30])
def test_report_read_runs_a_fixed_number_of_queries(world, api, task_a, size, django_assert_max_num_queries):
    report = VisitReportFactory(task=task_a)
    for _ in range(size):
        FollowUpFactory(report=report)
    client = api(world.supervisor)
    with django_assert_max_num_queries(8):
        response = client.get(f"/api/v1/visit-tasks/{task_a.pk}/report/")
    assert len(response.json()["follow_ups"]) == size


def test_the_schema_says_a_report_is_created_with_201_sent_again_with_200_and_read_with_200(db, api):
    # api.md: the same client_id posted again answers 200 with the report already made
    schema = api().get("/api/v1/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/visit-tasks/{id}/report/"]
    assert "201" in operation["post"]["responses"]
    assert "200" in operation["post"]["responses"]
    assert "200" in operation["get"]["responses"]
