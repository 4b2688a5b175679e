"""The planned visit day (`planned_on`): spread over the cycle when generated, set and cleared by the
manager over the API inside the task's window, the due date kept as the deadline."""

import datetime as dt
from collections import Counter

import pytest
from django.utils import timezone

from crm.common.months import add_months, month_start
from customers.models import Tier
from tests.factories import CustomerFactory, ManagerFactory, VisitTaskFactory
from visits.generation import visit_tasks_generate
from visits.models import Kind, TaskStatus, VisitTask
from visits.plan import open_tasks_spread, plan_days

TODAY = timezone.localdate()
NEXT = add_months(month_start(TODAY), 1)  # a cycle wholly ahead: every day of it may be planned
NEXT_END = add_months(NEXT, 1) - dt.timedelta(days=1)


def _next_month_task(world, **extra):
    return VisitTaskFactory(customer=world.customer_a, period=NEXT, due_date=NEXT_END, **extra)


def _patch(api, user, task, **data):
    return api(user).patch(f"/api/v1/visit-tasks/{task.pk}/", data, format="json")


# ---------------------------------------------------------------- the spread at generation
def test_generation_spreads_a_managers_quarter_over_its_working_days(world):
    # given 24 key accounts of one manager (the demo's 24 visits of a quarter on 12-31)
    manager = ManagerFactory(station=world.station_a).user
    for _ in range(24):
        CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=manager)
    quarter = dt.date(2026, 10, 1)

    # when the quarter's tasks are generated before it starts
    visit_tasks_generate(day=dt.date(2026, 9, 25))

    # then each gets a planned working day of its own inside the quarter, the due date left at its end
    tasks = list(VisitTask.objects.filter(period=quarter, kind=Kind.SCHEDULED, manager=manager))
    days = Counter(t.planned_on for t in tasks)
    assert len(tasks) == 24
    assert max(days.values()) == 1
    assert all(quarter <= day <= dt.date(2026, 12, 31) and day.weekday() < 5 for day in days)
    assert {t.due_date for t in tasks} == {dt.date(2026, 12, 31)}
    assert min(days) < dt.date(2026, 10, 15)
    assert max(days) > dt.date(2026, 12, 15)


def test_generation_spreads_a_few_visits_across_the_month_not_at_its_start(world):
    # given three VIP customers of one manager
    for _ in range(3):
        CustomerFactory(station=world.station_a, tier=Tier.VIP, manager=world.manager_a.user)

    # when March is generated
    visit_tasks_generate(day=dt.date(2026, 3, 1))

    # then one falls in each third of the month's working days
    days = sorted(VisitTask.objects.filter(period=dt.date(2026, 3, 1)).values_list("planned_on", flat=True))
    assert [d.day // 11 for d in days] == [0, 1, 2]


def test_generation_in_the_middle_of_a_cycle_plans_nothing_before_the_day_it_runs(world):
    # given a VIP customer and a first run on March 20
    CustomerFactory(station=world.station_a, tier=Tier.VIP, manager=world.manager_a.user)

    # when March is generated that day
    visit_tasks_generate(day=dt.date(2026, 3, 20))

    # then its task is planned from that day on
    [planned] = VisitTask.objects.filter(period=dt.date(2026, 3, 1)).values_list("planned_on", flat=True)
    assert dt.date(2026, 3, 20) <= planned <= dt.date(2026, 3, 31)


def test_generating_again_keeps_the_days_already_planned(world):
    # given generated tasks, one moved by its manager
    for _ in range(4):
        CustomerFactory(station=world.station_a, tier=Tier.VIP, manager=world.manager_a.user)
    visit_tasks_generate(day=dt.date(2026, 3, 1))
    moved = VisitTask.objects.order_by("pk").first()
    VisitTask.objects.filter(pk=moved.pk).update(planned_on=dt.date(2026, 3, 2))
    before = dict(VisitTask.objects.values_list("pk", "planned_on"))

    # when the job runs again
    visit_tasks_generate(day=dt.date(2026, 3, 2))

    # then no planned day changed
    assert dict(VisitTask.objects.values_list("pk", "planned_on")) == before


def test_spreading_open_tasks_plans_those_made_before_the_plan_from_today(world):
    # given an open task of a cycle under way and made without a planned day, and a done one
    period = month_start(TODAY)
    due = add_months(period, 3) - dt.timedelta(days=1)
    waiting = VisitTaskFactory(customer=world.customer_a, period=period, due_date=due)
    done = VisitTaskFactory(customer=world.customer_b, period=period, due_date=due, status=TaskStatus.DONE)

    # when the migration's spread runs
    open_tasks_spread(day=TODAY)

    # then the open one is planned on a day still ahead in its window; the done one is left alone
    waiting.refresh_from_db()
    done.refresh_from_db()
    assert TODAY <= waiting.planned_on <= due
    assert done.planned_on is None


def test_plan_days_are_the_working_days_or_every_day_of_a_weekend():
    assert plan_days(start=dt.date(2026, 12, 4), end=dt.date(2026, 12, 8)) == [
        dt.date(2026, 12, 4),
        dt.date(2026, 12, 7),
        dt.date(2026, 12, 8),
    ]
    assert plan_days(start=dt.date(2026, 12, 5), end=dt.date(2026, 12, 6)) == [
        dt.date(2026, 12, 5),
        dt.date(2026, 12, 6),
    ]


# ---------------------------------------------------------------- the API
def test_manager_plans_a_task_over_the_api_and_the_due_date_stays(world, api):
    task = _next_month_task(world)
    day = NEXT + dt.timedelta(days=9)

    response = _patch(api, world.manager_a.user, task, planned_on=f"{day:%Y-%m-%d}")

    assert response.status_code == 200
    assert response.json()["planned_on"] == f"{day:%Y-%m-%d}"
    task.refresh_from_db()
    assert (task.planned_on, task.due_date) == (day, NEXT_END)


def test_planning_a_day_after_the_due_date_answers_400_and_writes_nothing(world, api):
    task = _next_month_task(world)

    response = _patch(
        api, world.manager_a.user, task, planned_on=f"{NEXT_END + dt.timedelta(days=1):%Y-%m-%d}"
    )

    assert response.status_code == 400
    assert "planned_on" in response.json()
    task.refresh_from_db()
    assert task.planned_on is None


def test_planning_a_day_before_the_period_answers_400(world, api):
    task = _next_month_task(world)

    response = _patch(api, world.manager_a.user, task, planned_on=f"{NEXT - dt.timedelta(days=1):%Y-%m-%d}")

    assert response.status_code == 400
    assert "planned_on" in response.json()


def test_planning_a_day_gone_by_answers_400(world, api):
    period = month_start(TODAY - dt.timedelta(days=1))
    task = VisitTaskFactory(customer=world.customer_a, period=period, due_date=add_months(period, 2))

    response = _patch(api, world.manager_a.user, task, planned_on=f"{TODAY - dt.timedelta(days=1):%Y-%m-%d}")

    assert response.status_code == 400
    assert "planned_on" in response.json()


def test_an_overdue_task_cannot_be_planned_and_says_why(world, api):
    period = month_start(add_months(TODAY, -2))
    task = VisitTaskFactory(customer=world.customer_a, period=period, due_date=TODAY - dt.timedelta(days=3))

    response = _patch(api, world.manager_a.user, task, planned_on=f"{TODAY:%Y-%m-%d}")

    assert response.status_code == 400
    assert f"{task.due_date:%Y-%m-%d}" in response.json()["planned_on"][0]


def test_null_clears_the_plan(world, api):
    task = _next_month_task(world, planned_on=NEXT + dt.timedelta(days=3))

    response = _patch(api, world.manager_a.user, task, planned_on=None)

    assert response.status_code == 200
    task.refresh_from_db()
    assert task.planned_on is None


def test_a_reported_visit_cannot_be_planned(world, api):
    task = _next_month_task(world, status=TaskStatus.DONE)

    response = _patch(api, world.manager_a.user, task, planned_on=f"{NEXT:%Y-%m-%d}")

    assert response.status_code == 400
    task.refresh_from_db()
    assert task.planned_on is None


def test_moving_the_due_date_before_the_planned_day_answers_400_and_writes_nothing(world, api):
    task = _next_month_task(world, planned_on=NEXT + dt.timedelta(days=20))

    response = _patch(api, world.manager_a.user, task, due_date=f"{NEXT + dt.timedelta(days=10):%Y-%m-%d}")

    assert response.status_code == 400
    assert "due_date" in response.json()
    task.refresh_from_db()
    assert task.due_date == NEXT_END


def test_the_due_date_and_the_planned_day_move_together_in_one_patch(world, api):
    task = _next_month_task(world, planned_on=NEXT + dt.timedelta(days=20))
    due, day = NEXT + dt.timedelta(days=10), NEXT + dt.timedelta(days=5)

    response = _patch(
        api, world.manager_a.user, task, due_date=f"{due:%Y-%m-%d}", planned_on=f"{day:%Y-%m-%d}"
    )

    assert response.status_code == 200
    task.refresh_from_db()
    assert (task.due_date, task.planned_on) == (due, day)


def test_another_managers_task_cannot_be_planned(world, api):
    task = VisitTaskFactory(customer=world.customer_b, period=NEXT, due_date=NEXT_END)

    response = _patch(api, world.manager_a.user, task, planned_on=f"{NEXT:%Y-%m-%d}")

    assert response.status_code == 404
    task.refresh_from_db()
    assert task.planned_on is None


def test_an_ad_hoc_task_is_made_with_its_planned_day(world, api):
    day = NEXT + dt.timedelta(days=2)
    data = {
        "customer": world.customer_a.pk,
        "manager": world.manager_a.pk,
        "due_date": f"{NEXT_END:%Y-%m-%d}",
        "planned_on": f"{day:%Y-%m-%d}",
    }

    response = api(world.manager_a.user).post("/api/v1/visit-tasks/", data, format="json")

    assert response.status_code == 201
    assert VisitTask.objects.get(pk=response.json()["id"]).planned_on == day


def test_an_ad_hoc_task_planned_after_its_due_date_is_refused(world, api):
    data = {
        "customer": world.customer_a.pk,
        "manager": world.manager_a.pk,
        "due_date": f"{NEXT + dt.timedelta(days=3):%Y-%m-%d}",
        "planned_on": f"{NEXT + dt.timedelta(days=4):%Y-%m-%d}",
    }

    response = api(world.manager_a.user).post("/api/v1/visit-tasks/", data, format="json")

    assert response.status_code == 400
    assert not VisitTask.objects.exists()


def test_tasks_filter_by_planned_day(world, api):
    early = _next_month_task(world, kind=Kind.AD_HOC, planned_on=NEXT + dt.timedelta(days=1))
    _next_month_task(world, kind=Kind.AD_HOC, planned_on=NEXT + dt.timedelta(days=20))
    query = f"planned_after={NEXT:%Y-%m-%d}&planned_before={NEXT + dt.timedelta(days=5):%Y-%m-%d}"

    rows = api(world.manager_a.user).get(f"/api/v1/visit-tasks/?{query}").json()["results"]

    assert [r["id"] for r in rows] == [early.pk]


@pytest.mark.parametrize("value", ["2026-13-01", "明天", "12/01/2026"])
def test_a_planned_day_that_is_not_a_date_answers_400(world, api, value):
    task = _next_month_task(world)

    response = _patch(api, world.manager_a.user, task, planned_on=value)

    assert response.status_code == 400
    assert "planned_on" in response.json()
