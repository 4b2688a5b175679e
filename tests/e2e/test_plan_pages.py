"""End to end in Chromium, in Chinese, at 390 px (a phone) and 1366 px (a desk): a manager finds the
visit plan in the menu, reads the week day by day and the month grid, and moves a visit with the
form on it; a supervisor reads the team's plan. Screenshots go to /tmp/shots/plan_*.png (and
test-artifacts/). Drives Debian's Chromium through Playwright (skips without it)."""

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from django.utils import timezone

from crm.common.months import add_months, month_start
from customers.models import Tier
from tests.e2e.browser import ARTIFACTS, chromium, log_in, phone_page
from tests.factories import CustomerFactory, VisitTaskFactory
from visits.models import Kind, VisitTask

SHOTS = Path(tempfile.gettempdir()) / "shots"
DESK = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN"}
NAMES = ["东方机械厂", "华丰纺织有限公司", "城南污水处理厂", "金桥物流园", "新华印刷厂", "绿源食品加工厂"]


def _shoot(page, name: str) -> None:
    for folder in (SHOTS, ARTIFACTS):
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / name), full_page=True)


@pytest.fixture
def planned(world):
    """Manager A's quarter: a visit planned on each of the next days, one care visit not planned,
    one left past its due date; and one of manager B's, not the team's."""
    today = timezone.localdate()
    period = month_start(today)
    due = add_months(period, 3) - dt.timedelta(days=1)
    tasks = []
    for n, name in enumerate(NAMES):
        customer = CustomerFactory(
            name=name, station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=world.manager_a.user
        )
        tasks.append(
            VisitTaskFactory(
                customer=customer, period=period, due_date=due, planned_on=today + dt.timedelta(n)
            )
        )
    care = CustomerFactory(name="永兴铸造厂", station=world.station_a, manager=world.manager_a.user)
    VisitTaskFactory(customer=care, kind=Kind.CARE, period=period, due_date=today + dt.timedelta(days=5))
    VisitTaskFactory(
        customer=world.customer_a,
        period=month_start(add_months(today, -1)),
        due_date=today - dt.timedelta(days=2),
    )
    VisitTaskFactory(customer=world.customer_b, period=period, due_date=due, planned_on=today)
    return tasks


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.browser
def test_manager_plans_the_week_on_a_phone(transactional_db, world, live_server, planned, monkeypatch):
    today = timezone.localdate()
    with phone_page(monkeypatch) as page:
        # given manager A logged in on a phone
        log_in(page, live_server.url, "manager_a")

        # when they open the visit plan from the menu
        page.click("nav.nav a:has-text('走访计划')")
        page.wait_for_url(f"{live_server.url}/visits/plan/")

        # then the week reads day by day in Chinese, the overdue visit first, nothing wider than the phone
        assert page.locator("section.plan-overdue .plan-task").count() == 1
        assert "乙水泥厂" not in page.content()
        assert page.locator("section.plan-day").count() == 7
        _fits(page, 390)
        _shoot(page, "plan_week_390.png")

        # when they move the first visit of the week to the next day with the form on it
        first = planned[0]
        item = page.locator(f"li[data-task='{first.pk}']")
        item.locator("details.plan > summary").click()
        item.locator("input[name=planned_on]").fill(f"{today + dt.timedelta(days=1):%Y-%m-%d}")
        item.locator("button[type=submit]:not([name=clear])").click()
        page.wait_for_load_state()

        # then it is planned there, the due date kept, and the page says so
        first.refresh_from_db()
        assert first.planned_on == today + dt.timedelta(days=1)
        assert first.due_date == planned[1].due_date
        assert "已排期至" in page.locator("ul.messages").inner_text()
        _fits(page, 390)

        # when they open the month grid
        page.click("nav.plan-views a:has-text('月')")
        page.wait_for_url(f"{live_server.url}/visits/calendar/")

        # then it reads as a list of the days holding visits, within the phone's width
        assert page.locator("table.plan-grid td:visible").count() >= 1
        _fits(page, 390)
        _shoot(page, "plan_month_390.png")


@pytest.mark.browser
def test_the_month_grid_holds_on_a_desk(transactional_db, world, live_server, planned, monkeypatch):
    with chromium(monkeypatch) as browser:
        context = browser.new_context(**DESK)
        page = context.new_page()
        log_in(page, live_server.url, "manager_a")

        page.goto(f"{live_server.url}/visits/calendar/")

        # a Monday-to-Sunday grid with every visit of the month on its day, no horizontal scroll
        assert page.locator("table.plan-grid thead th").count() == 7
        month = month_start(timezone.localdate())
        in_month = VisitTask.objects.filter(
            manager=world.manager_a.user, planned_on__gte=month, planned_on__lt=add_months(month, 1)
        ).count()
        assert page.locator("table.plan-grid td:not(.outside) li.plan-task").count() >= in_month
        _fits(page, 1366)
        _shoot(page, "plan_month_1366.png")
        context.close()


@pytest.mark.browser
def test_supervisor_reads_the_teams_plan_on_a_desk_and_a_phone(
    transactional_db, world, live_server, planned, monkeypatch
):
    with chromium(monkeypatch) as browser:
        for width, context_options in ((1366, DESK), (390, {"viewport": {"width": 390, "height": 844}})):
            context = browser.new_context(**{"locale": "zh-CN", **context_options})
            page = context.new_page()
            log_in(page, live_server.url, "supervisor")

            page.goto(f"{live_server.url}/visits/plan/team/")

            # each manager's month in a line and each day's counts; manager B's visit is not the team's
            rows = page.locator("#managers tbody tr")
            assert rows.count() == 1
            assert "张经理" in rows.first.inner_text()
            assert page.locator("table.plan-grid a.counts").count() >= 1
            _fits(page, width)
            _shoot(page, f"plan_team_{width}.png")

            # and the week of the whole team names each visit's manager
            page.goto(f"{live_server.url}/visits/plan/?manager=all")
            assert page.locator("section.plan-day .plan-task").count() >= 1
            _fits(page, width)
            _shoot(page, f"plan_team_week_{width}.png")
            context.close()
