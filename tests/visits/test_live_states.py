"""Live states: a planned visit past its due date reads overdue everywhere before the nightly job
marks it, and a drop in the consumption that lands opens its care visit in the chain that follows
the landing, not the next night."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import ConsumptionFactory, VisitTaskFactory
from visits.generation import visit_run_now
from visits.models import Kind, TaskStatus, VisitRun, VisitTask

TODAY = timezone.localdate()
YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture
def late(world):
    """Manager A's visit to customer A, due yesterday, still stored as planned (no nightly job ran)."""
    return VisitTaskFactory(customer=world.customer_a, period=YESTERDAY.replace(day=1), due_date=YESTERDAY)


# ---------------------------------------------------------------- overdue as of now
def test_api_answers_a_planned_task_past_its_due_date_as_overdue(world, api, late):
    # given a planned task due yesterday and a planned one due today
    on_time = VisitTaskFactory(
        customer=world.customer_a, kind=Kind.AD_HOC, period=TODAY.replace(day=1), due_date=TODAY
    )
    client = api(world.manager_a.user)
    # when the tasks are read, then the late one reads overdue and the other planned
    assert client.get(f"/api/v1/visit-tasks/{late.pk}/").json()["status"] == TaskStatus.OVERDUE
    assert client.get(f"/api/v1/visit-tasks/{on_time.pk}/").json()["status"] == TaskStatus.PLANNED
    # and the filters answer the same
    overdue = client.get("/api/v1/visit-tasks/?status=overdue").json()["results"]
    planned = client.get("/api/v1/visit-tasks/?status=planned").json()["results"]
    assert [r["id"] for r in overdue] == [late.pk]
    assert [r["id"] for r in planned] == [on_time.pk]
    # and the stored status is still what was written
    assert VisitTask.objects.get(pk=late.pk).status == TaskStatus.PLANNED


def test_api_answers_the_live_status_after_a_write(world, api, late):
    # when a note is added to the late task, then its answer reads overdue, not planned
    response = api(world.manager_a.user).patch(
        f"/api/v1/visit-tasks/{late.pk}/", {"note": "电话约了下周"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == TaskStatus.OVERDUE


def test_week_and_calendar_show_a_planned_task_past_its_due_date_as_overdue(client, world, late):
    client.force_login(world.manager_a.user)
    # when the manager opens the week, then the late task reads overdue
    week = client.get(reverse("visits:week"))
    assert [t.live_status for t in week.context["tasks"]] == [TaskStatus.OVERDUE]
    assert str(TaskStatus.OVERDUE.label) in week.content.decode()
    # and on the calendar of its month
    calendar = client.get(reverse("visits:calendar"), {"month": f"{YESTERDAY:%Y-%m}"})
    [task] = [t for _day, items in calendar.context["days"] for t in items]
    assert task.get_live_status_display() == TaskStatus.OVERDUE.label


def test_team_page_lists_a_planned_task_past_its_due_date_as_overdue(client, world, late):
    client.force_login(world.supervisor)
    # when the supervisor opens the team page, then the late task is on the overdue list
    response = client.get(reverse("visits:team"))
    assert [t.pk for t in response.context["overdue"]] == [late.pk]


def test_nightly_marking_still_writes_overdue(world, late):
    # when the nightly job runs, then it stores what the pages already showed
    assert visit_run_now(job=VisitRun.Job.OVERDUE).counts == {"marked": 1}
    assert VisitTask.objects.get(pk=late.pk).status == TaskStatus.OVERDUE
    assert list(VisitTask.objects.overdue()) == [late]


# ---------------------------------------------------------------- care visits when consumption lands
def _drop_history(customer):
    """January 2026 and February 2025 on record; February 2026 will land 30 % lower than both."""
    ConsumptionFactory(customer=customer, period=dt.date(2026, 1, 1), kwh=Decimal("10000"))
    ConsumptionFactory(customer=customer, period=dt.date(2025, 2, 1), kwh=Decimal("10000"))
    customer.tier_pinned = True  # stays a key account whatever its annual figure becomes
    customer.save()


def _land(api, world, kwh="7000"):
    row = {"account_no": world.customer_a.account_no, "period": "2026-02", "kwh": kwh}
    response = api(world.integration).post("/api/v1/consumption/bulk/", [row], format="json")
    assert response.status_code == 200


def test_landing_a_drop_opens_the_care_visit_right_away(world, api, django_capture_on_commit_callbacks):
    # given customer A's history
    _drop_history(world.customer_a)
    # when a lower February lands through the bulk API (the chain runs eagerly once it commits)
    with django_capture_on_commit_callbacks(execute=True):
        _land(api, world)
    # then the care visit is open with the customer's manager, before any nightly job
    care = VisitTask.objects.get(kind=Kind.CARE)
    assert (care.customer_id, care.manager_id, care.period) == (
        world.customer_a.pk,
        world.manager_a.pk,
        dt.date(2026, 2, 1),
    )
    assert VisitRun.objects.filter(job=VisitRun.Job.CARE, status=VisitRun.State.DONE).count() == 1


def test_a_second_landing_and_the_nightly_job_open_no_second_care_visit(
    world, api, django_capture_on_commit_callbacks
):
    _drop_history(world.customer_a)
    with django_capture_on_commit_callbacks(execute=True):
        _land(api, world)
    # when the same month lands again (corrected) and the nightly detection runs
    with django_capture_on_commit_callbacks(execute=True):
        _land(api, world, kwh="6900")
    assert visit_run_now(job=VisitRun.Job.CARE).counts == {"created": 0}
    # then there is still one care visit
    assert VisitTask.objects.filter(kind=Kind.CARE).count() == 1


def test_nightly_detection_still_opens_a_care_visit_the_chain_missed(world):
    # given a drop on record that no landing chain saw
    _drop_history(world.customer_a)
    ConsumptionFactory(customer=world.customer_a, period=dt.date(2026, 2, 1), kwh=Decimal("7000"))
    world.customer_a.latest_period = dt.date(2026, 2, 1)
    world.customer_a.save()
    # when the nightly job runs, then it opens the care visit
    assert visit_run_now(job=VisitRun.Job.CARE).counts == {"created": 1}
    assert VisitTask.objects.filter(kind=Kind.CARE, customer=world.customer_a).count() == 1
