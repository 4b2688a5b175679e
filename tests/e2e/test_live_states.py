"""Live states and the week's plan in Chromium, in Chinese, at 390 px (a phone) and 1366 px (a
desk), issue 17 points 2 and 3: a visit still stored as planned the day after its due date reads
overdue on the manager's week, the visit plan, the supervisor's team page and over the API before
any nightly job; a drop in consumption that lands through the API opens its care visit at once, at
the top of the week. Screenshots go to test-artifacts/live_*.png."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from tests.e2e.browser import ARTIFACTS, WIDTHS, fits, signed_in
from tests.factories import ConsumptionFactory, VisitTaskFactory
from visits.models import Kind, TaskStatus, VisitTask


def _land_a_drop(context, base: str, world) -> None:
    """Customer A's February 2026 lands through the bulk API 30 % below January and a year before."""
    ConsumptionFactory(customer=world.customer_a, period=dt.date(2026, 1, 1), kwh=Decimal("10000"))
    ConsumptionFactory(customer=world.customer_a, period=dt.date(2025, 2, 1), kwh=Decimal("10000"))
    world.customer_a.tier_pinned = True  # stays a key account whatever its annual figure becomes
    world.customer_a.save()
    token, _ = Token.objects.get_or_create(user=world.integration)
    answer = context.request.post(
        f"{base}/api/v1/consumption/bulk/",
        data=json.dumps([{"account_no": world.customer_a.account_no, "period": "2026-02", "kwh": "7000"}]),
        headers={"Authorization": f"Token {token.key}", "Content-Type": "application/json"},
    )
    assert answer.status == 200, answer.text()


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_past_due_reads_overdue_everywhere_and_a_landed_drop_opens_its_care_visit(
    transactional_db, world, live_server, module_browser, width
):
    # given manager A's visit due yesterday, still stored as planned (no nightly job ran), and one
    # planned for tomorrow
    today = timezone.localdate()
    late = VisitTaskFactory(
        customer=world.customer_a, period=today.replace(day=1), due_date=today - dt.timedelta(days=1)
    )
    VisitTaskFactory(
        customer=world.customer_a,
        kind=Kind.AD_HOC,
        period=today.replace(day=1),
        due_date=today + dt.timedelta(days=3),
        planned_on=today + dt.timedelta(days=1),
    )
    base = live_server.url
    # when a lower February of customer A lands through the API (a context of its own: no session)
    api = module_browser.new_context()
    _land_a_drop(api, base, world)
    api.close()
    # then its care visit is open already, with customer A's manager
    assert VisitTask.objects.filter(kind=Kind.CARE, manager=world.manager_a.user).count() == 1

    with signed_in(module_browser, base, "manager_a", width) as page:
        # when manager A opens the week
        page.goto(f"{base}/visits/")
        # then the care visit is first, and the late visit reads overdue, not planned
        rows = page.locator("table.visits tbody tr")
        assert "关怀走访" in rows.first.inner_text()
        late_row = page.locator(f"table.visits tbody tr:has(a[href='/visits/tasks/{late.pk}/report/'])")
        assert "已逾期" in late_row.inner_text()
        assert "计划中" not in late_row.inner_text()
        assert fits(page, width)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"live_week_{width}.png"), full_page=True)

        # when they open the visit plan, then the late visit heads it among the overdue, and the week
        # reads day by day
        page.goto(f"{base}/visits/plan/")
        assert page.locator(f"section.plan-overdue li[data-task='{late.pk}']").count() == 1
        assert page.locator("section.plan-day").count() == 7
        assert fits(page, width)
        page.screenshot(path=str(ARTIFACTS / f"live_plan_{width}.png"), full_page=True)

        # and the API answers the same in this browser's session, filter included
        overdue = page.request.get(f"{base}/api/v1/visit-tasks/?status=overdue").json()["results"]
        planned = page.request.get(f"{base}/api/v1/visit-tasks/?status=planned").json()["results"]
        assert late.pk in [t["id"] for t in overdue]
        assert late.pk not in [t["id"] for t in planned]
        assert VisitTask.objects.get(pk=late.pk).status == TaskStatus.PLANNED  # still as stored

    # and the supervisor's team page lists it as overdue the same day
    with signed_in(module_browser, base, "supervisor", width) as page:
        page.goto(f"{base}/visits/team/")
        assert "甲钢铁厂" in page.inner_text("#overdue")
        assert fits(page, width)
        page.screenshot(path=str(ARTIFACTS / f"live_team_{width}.png"), full_page=True)
