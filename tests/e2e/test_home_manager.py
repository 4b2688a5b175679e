"""End to end in Chromium, in Chinese, at 390 px (a phone) and 1366 px (a desk): an account manager
logs in and their home is their working day: the care visit first among the visits due, the week's
plan, a breached request with its clock, a follow-up, what changed in the portfolio and its
consumption chart, above the tier tiles; nothing wider than the screen. Screenshots go to
test-artifacts/home_manager_*.png. Drives Debian's Chromium through Playwright (skips without it)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.common.months import add_months, month_start
from customers.models import Tier, TierChange
from service.services import request_open
from tests.e2e.browser import ARTIFACTS, PHONE, chromium, log_in
from tests.factories import (
    ConsumptionFactory,
    CustomerFactory,
    FollowUpFactory,
    VisitReportFactory,
    VisitTaskFactory,
)
from visits.models import Kind

HEADINGS = (
    "今日到期与逾期",
    "本周计划",
    "我的在办服务诉求",
    "待跟进事项",
    "近 30 天的客户变动",
    "我的客户用电量",
)
NAMES = ["东方机械厂", "华丰纺织有限公司", "城南污水处理厂", "金桥物流园"]


@pytest.fixture
def day(world):
    """Manager A's day: an overdue visit and a care visit due later, two visits planned today, a
    request received a month ago (breached), a follow-up for "other", a tier change and 24 months
    of consumption; and manager B's overdue visit, which is not theirs."""
    today, now = timezone.localdate(), timezone.now()
    period = month_start(add_months(today, -1))
    customers = [
        CustomerFactory(
            name=name, station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=world.manager_a.user
        )
        for name in NAMES
    ]
    VisitTaskFactory(customer=customers[0], period=period, due_date=today - dt.timedelta(days=4))
    care = VisitTaskFactory(
        customer=customers[1], kind=Kind.CARE, period=period, due_date=today + dt.timedelta(days=10)
    )
    for customer in customers[2:]:
        VisitTaskFactory(
            customer=customer, period=period, due_date=today + dt.timedelta(days=40), planned_on=today
        )
    VisitTaskFactory(customer=world.customer_b, period=period, due_date=today - dt.timedelta(days=1))
    breached = request_open(
        kind="billing_query",
        source="manager",
        by=None,
        customer=world.customer_a,
        received_at=now - dt.timedelta(days=30),
    )
    report = VisitReportFactory(task__customer=world.customer_a, by=world.manager_a.user)
    FollowUpFactory(report=report, department="other", action="协调厂区停车位，方便抄表")
    TierChange.objects.create(
        customer=customers[0], old_tier=Tier.VIP, new_tier=Tier.KEY_ACCOUNT, rule="r", at=now
    )
    this_month = month_start(today)
    for n in range(1, 25):
        for i, customer in enumerate(customers):
            ConsumptionFactory(
                customer=customer,
                period=add_months(this_month, -n),
                kwh=Decimal(40_000 + 1_000 * (n % 7) * (i + 1)),
            )
    return {"care": care, "breached": breached}


@pytest.mark.browser
@pytest.mark.parametrize("width", [390, 1366])
def test_manager_home_is_the_working_day(transactional_db, world, live_server, day, monkeypatch, width):
    with chromium(monkeypatch) as browser:
        if width == 390:
            context = browser.new_context(**PHONE)
        else:
            context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
        context.set_default_timeout(15_000)
        page = context.new_page()

        # given manager A logged in: the home is where they land
        log_in(page, live_server.url, "manager_a")

        # then each section has its Chinese heading, above the tier tiles
        text = page.locator("main, body").first.inner_text()
        for heading in HEADINGS:
            assert heading in text, heading
        assert text.index("今日到期与逾期") < text.index("我的客户")

        # the care visit is the first of the visits due, manager B's overdue one is not there
        first = page.locator(".today-due li.plan-task").first
        assert first.get_attribute("data-task") == str(day["care"].pk)
        assert "关怀走访" in first.inner_text()
        assert "乙水泥厂" not in page.content()
        assert page.locator(".today-week li.plan-task a.button:has-text('填报')").count() == 2

        # the breached request is shown with its clock as of now
        request = page.locator(".today-requests li.breached")
        assert request.count() == 1
        clock = request.locator(".badge.clock.breached")
        assert clock.is_visible()
        assert clock.inner_text().startswith("超时")

        # the portfolio's consumption is drawn, and nothing is wider than the screen
        assert page.locator(".today-chart svg.chart rect").count() == 24
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"home_manager_{width}.png"), full_page=True)
        context.close()
