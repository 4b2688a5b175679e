"""End to end on a 360-pixel phone: a manager plans and reports a visit from "my week", and neither
page overflows the screen. Drives Debian's Chromium through Playwright (skips without it)."""

import pytest
from django.utils import timezone

from tests.e2e.browser import ARTIFACTS, log_in, phone_page
from tests.factories import VisitTaskFactory
from visits.models import TaskStatus, VisitReport, VisitTask

WIDTH = 360


@pytest.fixture
def small_phone(monkeypatch):
    with phone_page(monkeypatch, viewport={"width": WIDTH, "height": 780}) as page:
        yield page


@pytest.mark.browser
def test_manager_reports_a_visit_from_my_week_on_a_phone(transactional_db, world, live_server, small_phone):
    # given a visit due today for manager A
    today = timezone.localdate()
    task = VisitTaskFactory(customer=world.customer_a, period=today.replace(day=1), due_date=today)
    page = small_phone
    log_in(page, live_server.url, "manager_a")
    # when they open their week and report the visit
    page.goto(f"{live_server.url}/visits/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "manager-phone-week.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    page.click(f"a[href='/visits/tasks/{task.pk}/report/']")
    page.wait_for_url(f"{live_server.url}/visits/tasks/{task.pk}/report/")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    page.fill("input[name=people_met]", "王厂长")
    page.fill("textarea[name=needs]", "二期扩建需增容")
    page.fill("input[name=forecast_kwh_12m]", "1200000")
    page.check("input[name=satisfaction][value='4']")  # nothing is chosen in advance
    page.select_option("select[name=fu-0-department]", "new_connection")
    page.fill("input[name=fu-0-action]", "受理增容申请")
    page.screenshot(path=str(ARTIFACTS / "manager-phone-visit-report.png"), full_page=True)
    page.click("form.report button[type=submit]")
    page.wait_for_load_state()
    page.screenshot(path=str(ARTIFACTS / "manager-phone-after-submit.png"), full_page=True)
    page.wait_for_url(f"{live_server.url}/visits/")
    # then the visit is done, with its report and follow-up
    assert VisitTask.objects.get(pk=task.pk).status == TaskStatus.DONE
    report = VisitReport.objects.get(task=task)
    assert report.visited_on == today
    assert [f.action for f in report.follow_ups.all()] == ["受理增容申请"]
