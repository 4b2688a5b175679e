"""End to end on a 390-pixel phone: a manager adds follow-up rows to a visit report, removes one,
reloads the page (the draft comes back from this browser's storage) and sends it. Drives Debian's
Chromium through Playwright (skips without it)."""

from decimal import Decimal

import pytest
from django.utils import timezone

from crm.common.months import add_months, month_start
from tests.e2e.browser import ARTIFACTS, log_in, phone_page
from tests.factories import ConsumptionFactory, VisitTaskFactory
from visits.models import TaskStatus, VisitReport, VisitTask


@pytest.fixture
def phone(monkeypatch):
    with phone_page(monkeypatch) as page:
        yield page


@pytest.mark.browser
def test_follow_up_rows_added_and_removed_survive_a_reload_and_are_saved(
    transactional_db, world, live_server, phone
):
    # given manager A's visit due today to a customer metered for two years, its report form open
    # on a phone
    today = timezone.localdate()
    task = VisitTaskFactory(customer=world.customer_a, period=today.replace(day=1), due_date=today)
    for n in range(1, 25):
        ConsumptionFactory(
            customer=world.customer_a, period=add_months(month_start(today), -n), kwh=Decimal(1_234_567 + n)
        )
    page = phone
    url = f"{live_server.url}/visits/tasks/{task.pk}/report/"
    log_in(page, live_server.url, "manager_a")
    page.goto(url)
    assert page.locator("input[name=satisfaction]:checked").count() == 0
    assert page.locator("table.consumption-months tbody tr").count() == 12

    # when they fill the report, add two follow-up rows to the three empty ones, type in the first
    # and the two added rows, and remove the first added one
    page.fill("textarea[name=needs]", "二期扩建需增容")
    page.check("input[name=satisfaction][value='4']")
    page.select_option("select[name=fu-0-department]", "billing")
    page.fill("input[name=fu-0-action]", "核对电价")
    page.click("button[data-add-row]")
    page.click("button[data-add-row]")
    assert page.input_value("input[name=fu-TOTAL_FORMS]") == "5"
    page.select_option("select[name=fu-3-department]", "other")
    page.fill("input[name=fu-3-action]", "撤回的事项")
    page.select_option("select[name=fu-4-department]", "new_connection")
    page.fill("input[name=fu-4-action]", "受理增容申请")
    page.locator("[data-row]", has=page.locator("input[name=fu-3-action]")).locator(
        "[data-remove] button"
    ).click()
    assert not page.is_visible("input[name=fu-3-action]")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "visit-report-follow-ups.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # and reload the page
    page.reload()

    # then what they typed is back: the rows, the removal and the chosen satisfaction
    assert page.input_value("input[name=fu-TOTAL_FORMS]") == "5"
    assert page.input_value("input[name=fu-4-action]") == "受理增容申请"
    assert page.input_value("select[name=fu-4-department]") == "new_connection"
    assert page.input_value("textarea[name=needs]") == "二期扩建需增容"
    assert page.is_checked("input[name=satisfaction][value='4']")
    assert not page.is_visible("input[name=fu-3-action]")

    # when they send it
    page.click("form.report button[type=submit]:not([data-add-row])")
    page.wait_for_url(f"{live_server.url}/visits/")

    # then the report is saved with the two kept follow-ups, and the task is done
    assert VisitTask.objects.get(pk=task.pk).status == TaskStatus.DONE
    report = VisitReport.objects.get(task=task)
    assert (report.satisfaction, report.needs) == (4, "二期扩建需增容")
    assert [(f.department, f.action) for f in report.follow_ups.order_by("id")] == [
        ("billing", "核对电价"),
        ("new_connection", "受理增容申请"),
    ]
