"""The plan pages: a manager's month grid and week list, the supervisors' team plan, and the form on
each task that sets or clears its planned day. Scoped, Chinese, a fixed number of queries."""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.common.months import add_months, month_start
from customers.models import Tier
from tests.crm.test_translations import english_words_on
from tests.factories import CustomerFactory, VisitReportFactory, VisitTaskFactory
from visits.models import Kind, TaskStatus, VisitTask
from visits.plan import week_start

TODAY = timezone.localdate()
MONTH = month_start(TODAY)
NEXT = add_months(MONTH, 1)
NEXT_END = add_months(NEXT, 1) - dt.timedelta(days=1)
MONDAY = week_start(TODAY)


def _grid_tasks(response) -> dict[dt.date, list[int]]:
    return {
        cell["day"]: [t.pk for t in cell["tasks"]]
        for week in response.context["grid"]
        for cell in week
        if cell["tasks"]
    }


def _week_tasks(response) -> dict[dt.date, list[int]]:
    return {day: [t.pk for t in items] for day, items in response.context["days"] if items}


def _plan(client, task, **data):
    return client.post(reverse("visits:plan-set"), {"task": task.pk, "next": "/visits/plan/", **data})


def _many(world, n: int, *, manager=None, **extra):
    manager = manager or world.manager_a.user
    customers = [CustomerFactory(tier=Tier.VIP, manager=manager) for _ in range(n)]
    return [
        VisitTaskFactory(
            customer=c, period=MONTH, due_date=add_months(MONTH, 1) - dt.timedelta(days=1), **extra
        )
        for c in customers
    ]


# ---------------------------------------------------------------- the month grid
def test_month_grid_shows_a_task_on_its_planned_day_and_an_unplanned_one_on_its_due_day(client, world):
    planned = VisitTaskFactory(
        customer=world.customer_a, period=NEXT, due_date=NEXT_END, planned_on=NEXT + dt.timedelta(days=4)
    )
    unplanned = VisitTaskFactory(customer=world.customer_a, kind=Kind.AD_HOC, period=NEXT, due_date=NEXT_END)
    client.force_login(world.manager_a.user)

    response = client.get(reverse("visits:calendar"), {"month": f"{NEXT:%Y-%m}"})

    assert response.status_code == 200
    grid = _grid_tasks(response)
    assert grid[NEXT + dt.timedelta(days=4)] == [planned.pk]
    assert grid[NEXT_END] == [unplanned.pk]
    assert response.context["unplanned"] == 1


def test_month_grid_is_a_grid_of_whole_weeks_from_monday(client, world):
    client.force_login(world.manager_a.user)

    response = client.get(reverse("visits:calendar"), {"month": f"{NEXT:%Y-%m}"})

    weeks = response.context["grid"]
    assert all(len(week) == 7 and week[0]["day"].weekday() == 0 for week in weeks)
    assert weeks[0][0]["day"] <= NEXT
    assert weeks[-1][-1]["day"] >= NEXT_END
    assert 'class="plan-grid month"' in response.content.decode()


def test_month_grid_leaves_out_another_managers_tasks(client, world):
    VisitTaskFactory(customer=world.customer_b, period=NEXT, due_date=NEXT_END, planned_on=NEXT)
    client.force_login(world.manager_a.user)

    response = client.get(
        reverse("visits:calendar"), {"month": f"{NEXT:%Y-%m}", "manager": world.manager_b.pk}
    )

    assert _grid_tasks(response) == {}
    assert world.customer_b.name not in response.content.decode()


def test_month_grid_marks_a_task_past_its_due_date_as_overdue_before_the_nightly_job(client, world):
    period = month_start(add_months(TODAY, -1))
    late = VisitTaskFactory(customer=world.customer_a, period=period, due_date=TODAY - dt.timedelta(days=1))
    client.force_login(world.manager_a.user)

    response = client.get(reverse("visits:calendar"))

    assert [t.pk for t in response.context["overdue_tasks"]] == [late.pk]
    assert response.context["overdue_tasks"][0].live_status == TaskStatus.OVERDUE
    assert 'class="badge no"' in response.content.decode()


def test_month_grid_shows_a_done_visit_on_the_day_it_was_made(client, world):
    task = VisitTaskFactory(
        customer=world.customer_a, period=NEXT, due_date=NEXT_END, planned_on=NEXT_END, status=TaskStatus.DONE
    )
    VisitReportFactory(task=task, visited_on=NEXT + dt.timedelta(days=1))
    client.force_login(world.manager_a.user)

    response = client.get(reverse("visits:calendar"), {"month": f"{NEXT:%Y-%m}"})

    assert _grid_tasks(response) == {NEXT + dt.timedelta(days=1): [task.pk]}


# ---------------------------------------------------------------- the week list
def test_week_list_puts_each_visit_under_its_day(client, world):
    day = MONDAY + dt.timedelta(days=9)  # next week's Wednesday
    task = VisitTaskFactory(
        customer=world.customer_a,
        period=month_start(day),
        due_date=add_months(month_start(day), 1),
        planned_on=day,
    )
    client.force_login(world.manager_a.user)

    response = client.get(reverse("visits:plan-week"), {"week": f"{day:%Y-%m-%d}"})

    assert response.context["monday"] == MONDAY + dt.timedelta(days=7)
    assert _week_tasks(response) == {day: [task.pk]}
    assert len(response.context["days"]) == 7


def test_week_list_shows_six_overdue_visits_and_folds_the_rest(client, world):
    # given eight of manager A's visits past their due date, still stored as planned
    late = [
        VisitTaskFactory(
            customer=CustomerFactory(tier=Tier.VIP, manager=world.manager_a.user),
            period=add_months(MONTH, -1),
            due_date=TODAY - dt.timedelta(days=n + 1),
        )
        for n in range(8)
    ]
    client.force_login(world.manager_a.user)
    # when they open the week, then six stand above the week and the other two are folded under a
    # summary that counts them (a team's hundred would push the week off a phone's screen)
    html = client.get(reverse("visits:plan-week"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    section = html[html.index('id="overdue"') : html.index("</section>", html.index('id="overdue"'))]
    shown, folded = section.split('<details class="plan-more">')
    assert sum(f'data-task="{t.pk}"' in shown for t in late) == 6
    assert sum(f'data-task="{t.pk}"' in folded for t in late) == 2
    assert "另有 2 项逾期走访" in folded


def test_week_list_with_a_bad_week_shows_this_week(client, world):
    client.force_login(world.manager_a.user)

    response = client.get(reverse("visits:plan-week"), {"week": "2026-02-30"})

    assert response.status_code == 200
    assert response.context["monday"] == MONDAY


def test_week_list_carries_a_plan_form_bounded_by_the_tasks_window(client, world):
    task = VisitTaskFactory(customer=world.customer_a, period=NEXT, due_date=NEXT_END, planned_on=NEXT)
    client.force_login(world.manager_a.user)

    html = client.get(reverse("visits:plan-week"), {"week": f"{NEXT:%Y-%m-%d}"}).content.decode()

    assert f'name="task" value="{task.pk}"' in html
    assert f'min="{NEXT:%Y-%m-%d}" max="{NEXT_END:%Y-%m-%d}"' in html
    assert 'name="clear"' in html


def test_supervisor_sees_the_whole_teams_week_with_the_managers_names(client, world):
    day = MONDAY + dt.timedelta(days=8)
    task = VisitTaskFactory(
        customer=world.customer_a,
        period=month_start(day),
        due_date=add_months(month_start(day), 1),
        planned_on=day,
    )
    VisitTaskFactory(customer=world.customer_b, period=month_start(day), due_date=day, planned_on=day)
    client.force_login(world.supervisor)

    response = client.get(reverse("visits:plan-week"), {"week": f"{day:%Y-%m-%d}", "manager": "all"})

    assert _week_tasks(response) == {day: [task.pk]}
    assert world.manager_a.user.display_name in response.content.decode()


# ---------------------------------------------------------------- the form on each task
def test_the_form_plans_a_task_and_goes_back_to_its_page(client, world):
    task = VisitTaskFactory(customer=world.customer_a, period=NEXT, due_date=NEXT_END)
    client.force_login(world.manager_a.user)

    response = _plan(client, task, planned_on=f"{NEXT + dt.timedelta(days=6):%Y-%m-%d}")

    assert response.status_code == 302
    assert response.url == "/visits/plan/"
    task.refresh_from_db()
    assert (task.planned_on, task.due_date) == (NEXT + dt.timedelta(days=6), NEXT_END)


def test_the_form_clears_a_plan(client, world):
    task = VisitTaskFactory(customer=world.customer_a, period=NEXT, due_date=NEXT_END, planned_on=NEXT)
    client.force_login(world.manager_a.user)

    _plan(client, task, clear="1")

    task.refresh_from_db()
    assert task.planned_on is None


def test_the_form_refuses_a_day_after_the_due_date_in_chinese_and_writes_nothing(client, world):
    task = VisitTaskFactory(customer=world.customer_a, period=NEXT, due_date=NEXT_END)
    client.force_login(world.manager_a.user)

    response = _plan(client, task, planned_on=f"{NEXT_END + dt.timedelta(days=1):%Y-%m-%d}")

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"请在 {NEXT:%Y-%m-%d} 至 {NEXT_END:%Y-%m-%d} 之间排期：即走访周期内、截止日期之前。"
    ]
    task.refresh_from_db()
    assert task.planned_on is None


@pytest.mark.parametrize("value", ["", "明天", "2026-02-30"])
def test_the_form_refuses_what_is_not_a_day_and_writes_nothing(client, world, value):
    task = VisitTaskFactory(customer=world.customer_a, period=NEXT, due_date=NEXT_END, planned_on=NEXT)
    client.force_login(world.manager_a.user)

    response = _plan(client, task, planned_on=value)

    assert response.status_code == 302
    assert len(list(get_messages(response.wsgi_request))) == 1
    task.refresh_from_db()
    assert task.planned_on == NEXT


def test_the_form_cannot_plan_another_managers_task(client, world):
    task = VisitTaskFactory(customer=world.customer_b, period=NEXT, due_date=NEXT_END)
    client.force_login(world.manager_a.user)

    response = _plan(client, task, planned_on=f"{NEXT:%Y-%m-%d}")

    assert response.status_code == 404
    task.refresh_from_db()
    assert task.planned_on is None


def test_the_form_goes_back_only_to_this_site(client, world):
    task = VisitTaskFactory(customer=world.customer_a, period=NEXT, due_date=NEXT_END)
    client.force_login(world.manager_a.user)

    response = client.post(
        reverse("visits:plan-set"),
        {"task": task.pk, "planned_on": f"{NEXT:%Y-%m-%d}", "next": "https://evil.example/"},
    )

    assert response.url == reverse("visits:plan-week")


def test_the_form_answers_only_a_post(client, world):
    client.force_login(world.manager_a.user)

    assert client.get(reverse("visits:plan-set")).status_code == 405


def test_the_form_keeps_csrf_protection(world):
    from django.test import Client

    task = VisitTaskFactory(customer=world.customer_a, period=NEXT, due_date=NEXT_END)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.manager_a.user)

    response = client.post(reverse("visits:plan-set"), {"task": task.pk, "planned_on": f"{NEXT:%Y-%m-%d}"})

    assert response.status_code == 403
    task.refresh_from_db()
    assert task.planned_on is None


# ---------------------------------------------------------------- the team plan
def test_team_plan_counts_each_day_for_the_team(client, world):
    day = NEXT + dt.timedelta(days=2)
    VisitTaskFactory(customer=world.customer_a, period=NEXT, due_date=NEXT_END, planned_on=day)
    VisitTaskFactory(customer=world.customer_a, kind=Kind.AD_HOC, period=NEXT, due_date=day)
    VisitTaskFactory(
        customer=world.customer_b, period=NEXT, due_date=NEXT_END, planned_on=day
    )  # not the team's
    client.force_login(world.supervisor)

    response = client.get(reverse("visits:plan-team"), {"month": f"{NEXT:%Y-%m}"})

    cells = {c["day"]: c["counts"] for week in response.context["grid"] for c in week if c["counts"]}
    assert (cells[day].planned, cells[day].due) == (2, 1)
    assert cells[NEXT_END].due == 1
    assert [(p.name, p.planned, p.unplanned) for p in response.context["people"]] == [
        (world.manager_a.user.display_name, 2, 1)
    ]


def test_team_plan_counts_every_visit_overdue_now_whatever_its_month(client, world):
    period = month_start(add_months(TODAY, -3))
    VisitTaskFactory(customer=world.customer_a, period=period, due_date=period + dt.timedelta(days=20))
    client.force_login(world.supervisor)

    response = client.get(reverse("visits:plan-team"), {"month": f"{NEXT:%Y-%m}"})

    assert [(p.planned, p.overdue) for p in response.context["people"]] == [(0, 1)]


def test_team_plan_filters_by_manager(client, world, django_user_model):
    other = _many(world, 1, manager=world.manager_b.user)[0]
    other.manager.supervisor = world.supervisor
    other.manager.save()
    mine = _many(world, 1)[0]
    client.force_login(world.supervisor)

    response = client.get(reverse("visits:plan-team"), {"manager": world.manager_a.pk})

    assert response.context["manager_id"] == world.manager_a.pk
    assert [p.manager_id for p in response.context["people"]] == [mine.manager_id]


def test_team_plan_is_for_those_who_lead_a_team(client, world):
    client.force_login(world.manager_a.user)

    assert client.get(reverse("visits:plan-team")).status_code == 403


def test_department_staff_cannot_open_the_plan(client, world):
    client.force_login(world.staff)

    assert client.get(reverse("visits:plan-week")).status_code == 403


# ---------------------------------------------------------------- queries and language
def _grow(world, size: int) -> None:
    for i, task in enumerate(_many(world, size)):
        VisitTask.objects.filter(pk=task.pk).update(planned_on=max(TODAY, MONTH) + dt.timedelta(days=i % 3))
    _many(world, size, kind=Kind.CARE, status=TaskStatus.OVERDUE)
    for task in _many(world, size, status=TaskStatus.DONE):
        VisitReportFactory(task=task, visited_on=TODAY)


@pytest.mark.parametrize(
    ("name", "who"),
    [("visits:calendar", "manager"), ("visits:plan-week", "manager"), ("visits:plan-team", "supervisor")],
)
def test_plan_pages_take_the_same_few_queries_at_two_sizes(client, world, name, who):
    client.force_login(world.manager_a.user if who == "manager" else world.supervisor)
    query = {"manager": "all"} if who == "supervisor" else {}
    counts = []
    for size in (2, 40):
        _grow(world, size)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse(name), query)
        assert response.status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]
    assert counts[1] <= 9


@pytest.mark.parametrize("name", ["visits:calendar", "visits:plan-week", "visits:plan-team"])
def test_plan_pages_in_chinese_have_no_english_ui_words(client, world, name):
    _many(world, 2)
    client.force_login(world.supervisor)

    response = client.get(reverse(name), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 200
    assert english_words_on(response) == []
    assert "走访计划" in response.content.decode()
