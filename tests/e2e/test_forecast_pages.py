"""The forecast pages in Chromium, in Chinese, at 390 px (a phone) and 1366 px (a desk), issue 20:
the supervisor's team scores with value added per manager, one whose forecasts beat the baseline
and one whose did not, the industry chart and table, and a customer's next 12 months. Nothing
wider than the screen. Screenshots go to test-artifacts/forecasts_*.png."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.accounts import roles
from crm.common.months import add_months, month_start
from customers.models import ConsumptionRecord, Tier
from forecasts.models import MONTH_FIELDS, Baseline, Method
from tests.e2e.browser import ARTIFACTS, WIDTHS, fits, signed_in
from tests.factories import CustomerFactory, ManagerFactory, UserFactory, VisitReportFactory, VisitTaskFactory

THIS_MONTH = month_start(timezone.localdate())
VISIT_MONTH = add_months(THIS_MONTH, -14)
SEASON = [900, 850, 950, 1000, 1100, 1300, 1500, 1450, 1200, 1000, 950, 1000]


@pytest.fixture
def forecasts(world):
    """Two managers in the supervisor's team: 钱晓梅 forecasts within a few percent, 孙建国 far off;
    each customer metered 26 months (a manufacturer, C34), with the baseline of 14 months ago and
    today's, and a forecast made this month."""
    good = ManagerFactory(
        user=UserFactory(full_name="钱晓梅", supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER),
        station=world.station_a,
    )
    poor = ManagerFactory(
        user=UserFactory(full_name="孙建国", supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER),
        station=world.station_a,
    )
    for manager, factor in ((good, Decimal("1.03")), (poor, Decimal("1.45"))):
        for n in range(3):
            customer = CustomerFactory(
                station=world.station_a,
                tier=Tier.KEY_ACCOUNT,
                manager=manager.user,
                industry_code="C3419",
                name=f"{manager.user.full_name}客户{n}",
            )
            ConsumptionRecord.objects.bulk_create(
                ConsumptionRecord(
                    customer=customer,
                    period=add_months(THIS_MONTH, -m),
                    kwh=Decimal(SEASON[add_months(THIS_MONTH, -m).month - 1] * (n + 1)),
                )
                for m in range(1, 27)
            )
            year = sum(SEASON) * (n + 1)
            for made_for, total in (
                (VISIT_MONTH, Decimal(year) * Decimal("0.85")),
                (THIS_MONTH, Decimal(year)),
            ):
                Baseline.objects.create(
                    customer=customer,
                    made_for=made_for,
                    method=Method.SEASONAL_NAIVE,
                    months_used=12,
                    total_kwh_12m=total,
                    **{
                        name: Decimal(SEASON[add_months(made_for, i).month - 1] * (n + 1)) * total / year
                        for i, name in enumerate(MONTH_FIELDS)
                    },
                )
            for month, visited in ((VISIT_MONTH, VISIT_MONTH), (THIS_MONTH, timezone.localdate())):
                task = VisitTaskFactory(
                    customer=customer, period=month, due_date=add_months(month, 1) - dt.timedelta(days=1)
                )
                VisitReportFactory(task=task, visited_on=visited, forecast_kwh_12m=Decimal(year) * factor)
    world.good, world.poor = good, poor
    return world


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_supervisor_reads_value_added_and_the_industry(
    transactional_db, forecasts, live_server, module_browser, width
):
    base = live_server.url
    ARTIFACTS.mkdir(exist_ok=True)
    with signed_in(module_browser, base, "supervisor", width) as page:
        # the team's scores: the manager who beat the baseline first, the other below zero
        page.goto(f"{base}/forecasts/scores/")
        assert page.locator("h1").inner_text().startswith("预测评分")
        rows = page.locator("#scores tbody tr")
        assert rows.count() == 2
        assert "钱晓梅" in rows.nth(0).inner_text()
        assert "+" in rows.nth(0).locator("td").first.inner_text()
        assert "孙建国" in rows.nth(1).inner_text()
        assert "-" in rows.nth(1).locator("td").first.inner_text()
        assert fits(page, width)
        page.screenshot(path=str(ARTIFACTS / f"forecasts_scores_{width}.png"), full_page=True)
        # one manager's forecasts, one by one
        rows.nth(1).locator("a").click()
        page.wait_for_url(f"{base}/forecasts/scores/?manager={forecasts.poor.pk}")
        assert page.locator("#forecasts tbody tr").count() == 3
        assert "基准" in page.locator("#forecasts tbody").inner_text()
        assert fits(page, width)
        page.screenshot(path=str(ARTIFACTS / f"forecasts_manager_{width}.png"), full_page=True)
        # the industry trends: the chart and the tables
        page.goto(f"{base}/forecasts/industry/")
        assert page.locator("#chart svg.chart rect.bar.forecast").count() == 12
        assert page.locator("#chart svg.chart polyline.line.manager").count() == 1
        assert "制造业，34 大类" in page.locator("#sections").inner_text()
        assert fits(page, width)
        page.screenshot(path=str(ARTIFACTS / f"forecasts_industry_{width}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_manager_reads_the_next_12_months_of_a_customer(
    transactional_db, forecasts, live_server, module_browser, width
):
    base = live_server.url
    ARTIFACTS.mkdir(exist_ok=True)
    customer = forecasts.good.user.customers.order_by("pk").last()
    with signed_in(module_browser, base, forecasts.good.user.username, width) as page:
        page.goto(f"{base}/customers/{customer.pk}/")
        section = page.locator("#forecast")
        assert section.locator("h2").inner_text() == "未来 12 个月"
        assert section.locator("svg.chart rect.bar.forecast").count() == 12
        assert section.locator("svg.chart polyline.line.manager").count() == 1
        assert "经理最近一次预测" in section.inner_text()
        assert section.bounding_box()["width"] <= width
        assert fits(page, width)
        section.screenshot(path=str(ARTIFACTS / f"forecasts_customer_{width}.png"))
