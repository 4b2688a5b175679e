"""The supervisor's home, the team at a glance (crm.pages.team_at_a_glance): completion by manager this
month worst first, overdue as of now by manager, unassigned customers, the current appraisal cycle's
progress and the team's completion by month, in the user's scope and at a fixed number of queries."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.accounts import roles
from crm.common.months import add_months, month_start
from crm.pages import GLANCE_MONTHS, GLANCE_ROWS
from customers.models import Tier
from tests.factories import (
    AppraisalCycleFactory,
    AppraisalFactory,
    CustomerFactory,
    ManagerFactory,
    UserFactory,
    VisitReportFactory,
    VisitTaskFactory,
)
from visits.models import Kind, TaskStatus

HOME = reverse("home")
TODAY = timezone.localdate()
MONTH = month_start(TODAY)
MONTH_END = add_months(MONTH, 1) - dt.timedelta(days=1)  # due this month, never overdue before its end
LAST_MONTH = add_months(MONTH, -1)


def _team_manager(world, name: str):
    return ManagerFactory(
        user=UserFactory(full_name=name, supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER),
        station=world.station_a,
    )


def _due_this_month(manager_user, n: int, *, done: int = 0, **extra):
    """`n` visits of the manager due at the end of this month, the first `done` of them reported."""
    customer = CustomerFactory(
        station=manager_user.manager_profile.station, tier=Tier.VIP, manager=manager_user
    )
    tasks = [
        VisitTaskFactory(
            customer=customer,
            manager=manager_user,
            kind=Kind.AD_HOC,
            period=MONTH,
            due_date=MONTH_END,
            **extra,
        )
        for _ in range(n)
    ]
    for task in tasks[:done]:
        VisitReportFactory(task=task, visited_on=TODAY)
        task.status = TaskStatus.DONE
        task.save(update_fields=["status"])
    return tasks


def _late(manager_user, n: int, status=TaskStatus.PLANNED):
    """`n` visits due last month and not done: overdue now, whether or not the nightly job wrote it."""
    customer = CustomerFactory(
        station=manager_user.manager_profile.station, tier=Tier.VIP, manager=manager_user
    )
    return [
        VisitTaskFactory(
            customer=customer,
            manager=manager_user,
            kind=Kind.AD_HOC,
            period=LAST_MONTH,
            due_date=MONTH - dt.timedelta(days=1),
            status=status,
        )
        for _ in range(n)
    ]


def _glance(client, user):
    client.force_login(user)
    response = client.get(HOME)
    assert response.status_code == 200
    return response, response.context["team_glance"]


# ---------------------------------------------------------------- completion this month
def test_completion_lists_the_managers_worst_first_with_their_figures(client, world):
    colleague = _team_manager(world, "钱经理").user
    _due_this_month(world.manager_a.user, 4, done=3)
    _due_this_month(colleague, 2)

    _response, glance = _glance(client, world.supervisor)

    assert [(r.name, r.rate, r.done, r.due) for r in glance["completion"]] == [
        ("钱经理", 0.0, 0, 2),
        ("张经理", 75.0, 3, 4),
    ]
    assert (glance["this_month"].done, glance["this_month"].due) == (3, 6)


def test_completion_leaves_cancelled_visits_out(client, world):
    _due_this_month(world.manager_a.user, 2, done=1)
    _due_this_month(world.manager_a.user, 3, status=TaskStatus.CANCELLED)

    _response, glance = _glance(client, world.supervisor)

    assert [(r.done, r.due) for r in glance["completion"]] == [(1, 2)]


def test_completion_is_capped_with_a_link_to_the_team_page(client, world):
    for i in range(GLANCE_ROWS + 2):
        _due_this_month(_team_manager(world, f"经理{i:02d}").user, 1)

    response, glance = _glance(client, world.supervisor)

    assert len(glance["completion"]) == GLANCE_ROWS
    assert glance["completion_more"] == 2
    assert f'href="{reverse("visits:team")}#completion"' in response.content.decode()


def test_completion_shows_no_manager_of_another_team(client, world):
    _due_this_month(world.manager_a.user, 1)
    _due_this_month(world.manager_b.user, 1)
    _late(world.manager_b.user, 2)

    response, glance = _glance(client, world.supervisor)

    assert [r.name for r in glance["completion"]] == ["张经理"]
    assert glance["overdue"] == []
    assert "赵经理" not in response.content.decode()


# ---------------------------------------------------------------- overdue as of now
def test_overdue_counts_visits_past_due_as_of_now_whatever_the_nightly_job_wrote(client, world):
    colleague = _team_manager(world, "钱经理").user
    _late(world.manager_a.user, 1)  # still stored as planned: the job has not run yet
    _late(colleague, 2, status=TaskStatus.OVERDUE)
    _late(colleague, 1, status=TaskStatus.CANCELLED)
    _due_this_month(colleague, 1)  # not due yet

    _response, glance = _glance(client, world.supervisor)

    assert [(r.name, r.overdue) for r in glance["overdue"]] == [("钱经理", 2), ("张经理", 1)]
    assert glance["overdue_total"] == 3


def test_overdue_list_links_to_the_team_pages_overdue_list(client, world):
    _late(world.manager_a.user, 1)

    response, _glance_ = _glance(client, world.supervisor)

    assert f'href="{reverse("visits:team")}#overdue"' in response.content.decode()


# ---------------------------------------------------------------- unassigned
def test_unassigned_customers_of_the_teams_stations_link_to_the_unassigned_page(client, world):
    CustomerFactory.create_batch(2, station=world.station_a, tier=Tier.VIP, manager=None)
    CustomerFactory(station=world.station_b, tier=Tier.VIP, manager=None)

    response, glance = _glance(client, world.supervisor)

    assert glance["unassigned"] == 2
    assert (
        'class="card tile attention glance-unassigned" href="/managers/unassigned/"'
        in response.content.decode()
    )


# ---------------------------------------------------------------- appraisal progress
def test_appraisal_progress_counts_the_current_cycles_team_appraisals_by_status(client, world):
    colleague = _team_manager(world, "钱经理")
    older = AppraisalCycleFactory(year=2101, status="finalized")
    current = AppraisalCycleFactory(year=2102, status="scoring")
    AppraisalCycleFactory(year=2103, status="draft")  # not opened yet: not the current cycle
    AppraisalFactory(cycle=older, manager=world.manager_a, status="finalized")
    AppraisalFactory(cycle=current, manager=world.manager_a, status="scoring")
    AppraisalFactory(cycle=current, manager=colleague, status="finalized")
    AppraisalFactory(cycle=current, manager=world.manager_b, status="review")  # another team's

    response, glance = _glance(client, world.supervisor)

    progress = glance["appraisal"]
    assert progress.year == 2102
    assert [(status, count) for status, _label, count, _share in progress.statuses] == [
        ("draft", 0),
        ("scoring", 1),
        ("review", 0),
        ("finalized", 1),
    ]
    assert progress.total == 2
    assert f'href="{reverse("appraisal:review", args=[2102])}"' in response.content.decode()


def test_appraisal_progress_says_when_no_cycle_is_open(client, world):
    AppraisalCycleFactory(year=2101, status="draft")

    response, glance = _glance(client, world.supervisor)

    assert glance["appraisal"] is None
    assert "尚未开启任何考评周期" in response.content.decode()


# ---------------------------------------------------------------- the chart
def test_chart_draws_the_teams_last_twelve_months_oldest_first(client, world):
    _due_this_month(world.manager_a.user, 2, done=1)

    response, glance = _glance(client, world.supervisor)

    svg = str(glance["chart"])
    html = response.content.decode()
    first = add_months(MONTH, 1 - GLANCE_MONTHS)
    assert svg.startswith('<svg class="chart"')
    assert svg in html
    assert f"{first:%Y-%m}" in svg
    assert f"{MONTH:%Y-%m}" in svg
    assert svg.count("<rect") == 1  # the only month with something due: this one, 50 %
    assert "（应访 2，已完成 1）" in svg


# ---------------------------------------------------------------- who sees it, language, queries
def test_only_a_supervisors_home_shows_the_team_at_a_glance(client, world):
    for user in (world.manager_a.user, world.admin):
        client.force_login(user)
        assert "team_glance" not in client.get(HOME).context


def test_the_team_at_a_glance_speaks_chinese(client, world):
    _due_this_month(world.manager_a.user, 1)

    response, _glance_ = _glance(client, world.supervisor)

    html = response.content.decode()
    for heading in ("本月走访完成率", "截至目前的逾期走访", "考评进度", "团队走访完成率（近 12 个月）"):
        assert heading in html


def _grow(world, n: int) -> None:
    cycle = AppraisalCycleFactory(year=2102, status="scoring")
    for i in range(n):
        manager = _team_manager(world, f"经理{i:03d}")
        _due_this_month(manager.user, 2, done=1)
        _late(manager.user, 1)
        AppraisalFactory(cycle=cycle, manager=manager, status=("scoring", "review", "finalized")[i % 3])
        CustomerFactory(station=world.station_a, tier=Tier.VIP, manager=None)


@pytest.mark.parametrize("size", [3, 30])
def test_supervisors_home_takes_a_fixed_number_of_queries(client, world, size, django_assert_num_queries):
    _grow(world, size)
    client.force_login(world.supervisor)
    client.get(HOME)  # the session and the translations are read once

    with django_assert_num_queries(8):
        response = client.get(HOME)

    assert len(response.context["team_glance"]["overdue"]) == min(size, GLANCE_ROWS)
