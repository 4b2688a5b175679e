"""An account manager's home (crm.pages.manager_today, templates/home_manager.html): the visits due
and overdue with care first, the week's plan, their open requests with the clocks as of now, the
follow-ups they chase, what changed in their portfolio and its consumption; each list capped, the
manager's own only, at a fixed number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.accounts import roles
from crm.common.months import add_months, month_start
from customers.models import Status, Tier, TierChange
from managers.selectors import portfolio_consumption
from service.models import SlaState
from service.services import request_open
from tests.factories import (
    AssignmentFactory,
    ConsumptionFactory,
    CustomerFactory,
    FollowUpFactory,
    ManagerFactory,
    UserFactory,
    VisitReportFactory,
    VisitTaskFactory,
)
from visits.models import Kind, TaskStatus

HOME = reverse("home")


def today() -> dt.date:
    return timezone.localdate()


def open_task(customer, *, due: dt.date, kind: str = Kind.SCHEDULED, planned_on=None, **fields):
    """An open task of `customer`'s manager due on `due`, its period the month before (so a day of
    this week always falls inside its window)."""
    period = month_start(add_months(min(due, today()), -1))
    return VisitTaskFactory(
        customer=customer, kind=kind, period=period, due_date=due, planned_on=planned_on, **fields
    )


def home_of(client, user) -> dict:
    client.force_login(user)
    response = client.get(HOME)
    assert response.status_code == 200
    return response


def part(response) -> dict:
    return response.context["manager_today"]


def mine(world, name: str, **fields):
    return CustomerFactory(
        name=name, station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=world.manager_a.user, **fields
    )


# ---------------------------------------------------------------- visits
def test_due_visits_list_care_first_then_overdue_as_of_now_then_due_today(client, world):
    later = today() + dt.timedelta(days=20)
    overdue = open_task(mine(world, "逾期厂"), due=today() - dt.timedelta(days=3))  # still "planned"
    due_today = open_task(mine(world, "今日厂"), due=today())
    care = open_task(mine(world, "关怀厂"), due=later, kind=Kind.CARE)
    open_task(mine(world, "下月厂"), due=later)  # neither due nor planned this week
    open_task(mine(world, "已办厂"), due=today(), status=TaskStatus.DONE)

    due = part(home_of(client, world.manager_a.user))["visits"].due

    assert [t.pk for t in due] == [care.pk, overdue.pk, due_today.pk]
    assert due[1].live_status == TaskStatus.OVERDUE


def test_week_lists_the_visits_planned_this_week_with_their_report_link(client, world):
    planned = open_task(mine(world, "计划厂"), due=today() + dt.timedelta(days=40), planned_on=today())
    open_task(mine(world, "未计划厂"), due=today() + dt.timedelta(days=40))

    response = home_of(client, world.manager_a.user)

    assert [t.pk for t in part(response)["visits"].week] == [planned.pk]
    html = response.content.decode()
    assert reverse("visits:report", args=[planned.pk]) in html
    assert "填报" in html


def test_due_visits_are_capped_with_a_link_to_all_of_them(client, world):
    for n in range(12):
        open_task(mine(world, f"逾期{n}厂"), due=today() - dt.timedelta(days=n + 1))

    response = home_of(client, world.manager_a.user)

    visits = part(response)["visits"]
    assert len(visits.due) == 10
    assert visits.due_total == 12
    assert "全部 12 项" in response.content.decode()


def test_another_managers_visits_never_appear(client, world):
    open_task(world.customer_b, due=today() - dt.timedelta(days=1))
    open_task(world.customer_b, due=today() + dt.timedelta(days=9), planned_on=today(), kind=Kind.AD_HOC)

    visits = part(home_of(client, world.manager_a.user))["visits"]

    assert visits.due == []
    assert visits.week == []
    assert visits.due_total == visits.week_total == 0


# ---------------------------------------------------------------- requests and follow-ups
def _request(customer, *, days_ago: int):
    return request_open(
        kind="billing_query",
        source="manager",
        by=None,
        customer=customer,
        received_at=timezone.now() - dt.timedelta(days=days_ago),
    )


def test_requests_list_the_breached_first_with_their_clock(client, world):
    fresh = _request(world.customer_a, days_ago=0)
    breached = _request(world.customer_a, days_ago=30)

    response = home_of(client, world.manager_a.user)

    rows = part(response)["requests"]
    assert [r.pk for r in rows] == [breached.pk, fresh.pk]
    assert rows[0].sla_now == SlaState.BREACHED
    assert rows[0].clock.state == SlaState.BREACHED
    html = response.content.decode()
    assert 'class="badge clock breached"' in html
    assert reverse("service:request", args=[breached.pk]) in html


def test_another_managers_requests_never_appear(client, world):
    _request(world.customer_b, days_ago=30)

    today_part = part(home_of(client, world.manager_a.user))

    assert today_part["requests"] == []
    assert today_part["requests_total"] == 0


def test_follow_ups_list_those_no_request_carries_of_the_managers_visits(client, world):
    report = VisitReportFactory(task__customer=world.customer_a, by=world.manager_a.user)
    plain = FollowUpFactory(report=report, department="other", action="协调停车位")
    carried = FollowUpFactory(report=report, department="billing", action="核对电费")
    request_open(
        kind="billing_query", source="manager", by=None, customer=world.customer_a, follow_up=carried
    )
    FollowUpFactory(report=report, department="other", status="closed")
    FollowUpFactory(
        report=VisitReportFactory(task__customer=world.customer_b), department="other", action="乙的事项"
    )

    response = home_of(client, world.manager_a.user)

    assert [f.pk for f in part(response)["follow_ups"]] == [plain.pk]
    assert "乙的事项" not in response.content.decode()


# ---------------------------------------------------------------- portfolio changes
def test_changes_list_tier_changes_and_assignments_to_and_from_the_manager(client, world):
    user, now = world.manager_a.user, timezone.now()
    TierChange.objects.create(
        customer=world.customer_a, old_tier=Tier.VIP, new_tier=Tier.KEY_ACCOUNT, rule="r", at=now
    )
    TierChange.objects.create(  # too old
        customer=world.customer_a, old_tier="", new_tier=Tier.VIP, rule="r", at=now - dt.timedelta(days=40)
    )
    TierChange.objects.create(customer=world.customer_b, new_tier=Tier.VIP, rule="r", at=now)
    came = mine(world, "新划入厂")
    AssignmentFactory(customer=came, manager=user, started_at=now - dt.timedelta(days=2))
    left = CustomerFactory(name="已划出厂", station=world.station_b, manager=world.manager_b.user)
    AssignmentFactory(
        customer=left,
        manager=user,
        started_at=now - dt.timedelta(days=400),
        ended_at=now - dt.timedelta(days=5),
    )
    AssignmentFactory(customer=world.customer_b, manager=world.manager_b.user, started_at=now)

    response = home_of(client, user)

    changes = part(response)["changes"]
    assert [(c.kind, c.customer_name) for c in changes] == [
        ("tier", "甲钢铁厂"),
        ("to", "新划入厂"),
        ("from", "已划出厂"),
    ]
    html = response.content.decode()
    assert "乙水泥厂" not in html
    # a customer that left is named, not linked: its page is no longer the manager's to see
    assert reverse("customers:detail", args=[left.pk]) not in html
    assert reverse("customers:detail", args=[came.pk]) in html


# ---------------------------------------------------------------- consumption
def test_consumption_sums_the_active_portfolio_by_month_over_24_months(world):
    this_month = month_start(today())
    last, before = add_months(this_month, -1), add_months(this_month, -3)
    other = mine(world, "丙厂")
    closed = mine(world, "关停厂", status=Status.CLOSED)
    for customer, kwh in ((world.customer_a, "100"), (other, "250"), (closed, "9000")):
        ConsumptionFactory(customer=customer, period=last, kwh=Decimal(kwh))
    ConsumptionFactory(customer=world.customer_a, period=before, kwh=Decimal("40"))
    ConsumptionFactory(customer=world.customer_a, period=add_months(this_month, -25), kwh=Decimal("7"))
    ConsumptionFactory(customer=world.customer_a, period=this_month, kwh=Decimal("5"))  # not metered out
    ConsumptionFactory(customer=world.customer_b, period=last, kwh=Decimal("777"))

    months = portfolio_consumption(user=world.manager_a.user, manager_id=world.manager_a.pk, months=24)

    assert [(m.period, m.kwh) for m in months] == [
        (before, Decimal("40")),
        (add_months(this_month, -2), Decimal("0")),
        (last, Decimal("350")),
    ]


def test_home_draws_the_portfolio_consumption_chart(client, world):
    ConsumptionFactory(customer=world.customer_a, period=add_months(month_start(today()), -1))

    html = home_of(client, world.manager_a.user).content.decode()

    assert '<svg class="chart"' in html
    assert "我的客户用电量" in html


# ---------------------------------------------------------------- who gets it, at what cost
@pytest.mark.parametrize("persona", ["supervisor", "admin", "staff"])
def test_only_account_managers_get_the_managers_day(client, world, persona):
    response = home_of(client, getattr(world, persona))

    assert "manager_today" not in response.context


def test_the_tier_tiles_stay_below_the_days_work(client, world):
    html = home_of(client, world.manager_a.user).content.decode()

    assert html.index('id="today-due-title"') < html.index('id="mine-title"')
    assert "今日到期与逾期" in html
    assert "本周计划" in html


def _fill(world, k: int) -> None:
    """`k` of every row the home reads, for manager A (and as many for a manager of the team)."""
    user, now = world.manager_a.user, timezone.now()
    for n in range(k):
        customer = mine(world, f"客户{n}")
        open_task(customer, due=today() - dt.timedelta(days=n % 5 + 1))
        open_task(customer, due=today() + dt.timedelta(days=30), planned_on=today(), kind=Kind.AD_HOC)
        ConsumptionFactory(customer=customer, period=add_months(month_start(today()), -(n % 24) - 1))
        TierChange.objects.create(customer=customer, new_tier=Tier.KEY_ACCOUNT, rule="r", at=now)
        AssignmentFactory(customer=customer, manager=user, started_at=now - dt.timedelta(days=1))
        report = VisitReportFactory(task__customer=customer, by=user)
        FollowUpFactory(report=report, department="other")
        _request(customer, days_ago=n % 20)
        other = ManagerFactory(
            user=UserFactory(supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER), station=world.station_a
        )
        open_task(CustomerFactory(station=world.station_a, manager=other.user), due=today())


@pytest.mark.parametrize("size", [3, 40])
def test_home_of_a_manager_runs_a_fixed_number_of_queries(client, world, django_assert_max_num_queries, size):
    _fill(world, size)
    client.force_login(world.manager_a.user)
    client.get(HOME)  # the session's first read

    # 11 with the outage-notice calls and contacts to fix (notices, one query)
    with django_assert_max_num_queries(11):
        response = client.get(HOME)

    today_part = part(response)
    assert today_part["visits"].due_total == size
    assert today_part["requests_total"] == size
    assert len(today_part["requests"]) == min(size, 10)
    assert len(today_part["follow_ups"]) == min(size, 10)
