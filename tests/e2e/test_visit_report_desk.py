"""The report form at 1366 px (a desk) in Chinese, issue 17 point 4 (the phone's run is
test_visit_report_form.py): satisfaction is required and not preselected, the last 12 months and
the same months a year before sit right above the forecast field, what was typed survives a reload,
and the customer page's visit history then shows the forecast, on the desk and on a 390 px phone.
Screenshots go to test-artifacts/visit_report_*.png."""

from decimal import Decimal

import pytest
from django.utils import timezone

from crm.common.months import add_months, month_start
from tests.e2e.browser import ARTIFACTS, fits, signed_in
from tests.factories import ConsumptionFactory, VisitTaskFactory
from visits.models import TaskStatus, VisitReport, VisitTask


@pytest.fixture
def task(world):
    """Manager A's visit due today to customer A, metered for the last two years."""
    today = timezone.localdate()
    for n in range(1, 25):
        ConsumptionFactory(
            customer=world.customer_a, period=add_months(month_start(today), -n), kwh=Decimal(1_000_000 + n)
        )
    return VisitTaskFactory(customer=world.customer_a, period=today.replace(day=1), due_date=today)


def _send(page) -> None:
    page.click("form.report button[type=submit]:not([data-add-row])")
    page.wait_for_load_state()


@pytest.mark.browser
def test_on_a_desk_satisfaction_is_required_the_months_sit_by_the_forecast_and_a_draft_survives(
    transactional_db, world, live_server, module_browser, task
):
    base = live_server.url
    with signed_in(module_browser, base, "manager_a", 1366) as page:
        _report_on_a_desk(page, base, task)

    # and the customer page's visit history shows the forecast on the desk and on a phone
    for width in (1366, 390):
        with signed_in(module_browser, base, "manager_a", width) as page:
            page.goto(f"{base}/customers/{world.customer_a.pk}/")
            assert "预测未来 12 个月 12,600,000 kWh" in page.inner_text("#visits")
            assert fits(page, width)
            page.screenshot(path=str(ARTIFACTS / f"visit_history_{width}.png"), full_page=True)


def _report_on_a_desk(page, base: str, task) -> None:
    # when manager A opens the report form on a desk
    page.goto(f"{base}/visits/tasks/{task.pk}/report/")

    # then no satisfaction is chosen, and the 12 months with the year before are right above the
    # forecast field, on the screen's width
    assert page.locator("input[name=satisfaction]:checked").count() == 0
    months = page.locator("section.consumption table.consumption-months tbody tr")
    assert months.count() == 12
    assert months.first.locator("td").count() == 3  # this year, a year before, year on year
    following = page.locator("section.consumption + p.field input[name=forecast_kwh_12m]")
    assert following.count() == 1
    table, field = page.locator("table.consumption-months").bounding_box(), following.bounding_box()
    assert 0 <= field["y"] - (table["y"] + table["height"]) < 120
    assert fits(page, 1366)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "visit_report_1366.png"), full_page=True)

    # when they type the needs and a forecast, reload, and send it without a satisfaction
    page.fill("textarea[name=needs]", "计划新增一条生产线")
    page.fill("input[name=forecast_kwh_12m]", "12600000")
    page.reload()
    assert page.input_value("textarea[name=needs]") == "计划新增一条生产线"
    assert page.input_value("input[name=forecast_kwh_12m]") == "12600000"
    _send(page)

    # then the form is refused on the satisfaction, in Chinese, keeping what was typed
    assert "请选择客户满意度（1 至 5）。" in page.inner_text("form.report")
    assert not VisitReport.objects.filter(task=task).exists()
    assert page.input_value("input[name=forecast_kwh_12m]") == "12600000"
    assert fits(page, 1366)
    page.screenshot(path=str(ARTIFACTS / "visit_report_refused_1366.png"), full_page=True)

    # when they choose a satisfaction and send it
    page.check("input[name=satisfaction][value='3']")
    _send(page)

    # then the report is saved with the forecast, and the task is done
    page.wait_for_url(f"{base}/visits/")
    report = VisitReport.objects.get(task=task)
    assert (report.satisfaction, report.forecast_kwh_12m) == (3, Decimal("12600000"))
    assert VisitTask.objects.get(pk=task.pk).status == TaskStatus.DONE
