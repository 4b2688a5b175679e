"""Assignment after imports in Chromium, in Chinese, at 390 px (a phone) and 1366 px (a desk), issue
17 point 7: the supervisor's unassigned list says why each customer waits and that a reconcile is
running; ticking many customers for one manager is refused whole when it would pass the manager's
maximum, saying by how many, and done when it fits. Screenshots go to test-artifacts/unassigned_*.png."""

import pytest
from django.utils import timezone

from crm.common.models import JobRun
from customers.models import Customer, Tier
from managers.models import Manager
from tests.e2e.browser import ARTIFACTS, WIDTHS, fits, signed_in
from tests.factories import CustomerFactory


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_bulk_assignment_past_the_maximum_is_refused_and_within_it_done(
    transactional_db, world, live_server, module_browser, width
):
    # given manager A serving one customer of at most three, four unassigned key accounts of
    # station A, and a reconcile that started and has not finished
    Manager.objects.filter(pk=world.manager_a.pk).update(max_customers=3, qualified=True)
    waiting = CustomerFactory.create_batch(4, station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None)
    JobRun.objects.create(job="reconcile_assignments", started_at=timezone.now(), counts={"assigned": 7})
    base = live_server.url
    with signed_in(module_browser, base, "supervisor", width) as page:
        # when the supervisor opens the unassigned list
        page.goto(f"{base}/managers/unassigned/")

        # then it says a reconcile is running and each customer waits for it, within the screen
        # (how the run's progress reads is point 8's; here only that the page says one runs)
        # (the field app's offline bar is a hidden role=status of its own: the run's is .run-progress)
        assert page.locator("main .run-progress[role=status]").first.is_visible()
        assert page.locator("td:has-text('正在由本次分配任务分配。')").count() == 4
        assert fits(page, width)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"unassigned_{width}.png"), full_page=True)

        # when they tick three and give them to manager A at once
        for customer in waiting[:3]:
            page.check(f"input[name=customers][value='{customer.pk}']")
        page.select_option("#bulk-assign select[name=manager]", str(world.manager_a.pk))
        page.click("#bulk-assign button[type=submit]")
        page.wait_for_load_state()

        # then it is refused whole, saying by how many, and nobody was assigned
        refusal = page.inner_text("ul.messages")
        assert "再分配 3 户将超出上限 1 户。未分配任何客户。" in refusal
        assert not Customer.objects.filter(pk__in=[c.pk for c in waiting], manager__isnull=False).exists()
        assert fits(page, width)
        page.screenshot(path=str(ARTIFACTS / f"unassigned_refused_{width}.png"), full_page=True)

        # when they tick two, which fit
        for customer in waiting[:2]:
            page.check(f"input[name=customers][value='{customer.pk}']")
        page.select_option("#bulk-assign select[name=manager]", str(world.manager_a.pk))
        page.fill("#bulk-assign input[name=reason]", "导入后批量分配")
        page.click("#bulk-assign button[type=submit]")
        page.wait_for_load_state()

        # then both are manager A's and the list holds the other two
        assert "2 户客户现由张经理负责。" in page.inner_text("ul.messages")
        assert set(
            Customer.objects.filter(pk__in=[c.pk for c in waiting[:2]]).values_list("manager_id", flat=True)
        ) == {world.manager_a.pk}
        assert page.locator("input[name=customers]").count() == 2
        assert fits(page, width)
