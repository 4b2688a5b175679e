"""The supervisor's and the administrator's homes in Chromium, in Chinese, at 390 px (a phone) and
1366 px (a desk), issue 17 points 1 and 9: the team at a glance (completion by manager worst first,
overdue as of now, unassigned, appraisal progress, the completion chart), the team visits page's
completion as a table with the same chart, and the administrator's latest runs. Nothing wider than
the screen. Screenshots go to test-artifacts/home_*.png."""

import datetime as dt

import pytest
from django.utils import timezone

from crm.accounts import roles
from crm.common.models import JobRun
from crm.common.months import add_months, month_start
from customers.models import ClassificationRun, Tier
from managers.services import RECONCILE_JOB
from tests.e2e.browser import ARTIFACTS, WIDTHS, fits, signed_in
from tests.factories import (
    AppraisalCycleFactory,
    AppraisalFactory,
    CustomerFactory,
    ManagerFactory,
    UserFactory,
    VisitReportFactory,
    VisitTaskFactory,
)
from visits.models import Kind, TaskStatus, VisitRun

NAMES = ["钱晓梅", "孙建国", "周海燕", "吴志强", "郑丽华", "王大伟", "冯雪", "陈志远", "褚明", "卫国强"]


@pytest.fixture
def team(world):
    """Ten managers in the supervisor's team, each with visits due this month (a different number
    done), some overdue; months before this one with completed visits; a cycle being scored;
    customers without a manager in the team's station; manager B's visits outside the team."""
    today = timezone.localdate()
    month = month_start(today)
    end = add_months(month, 1) - dt.timedelta(days=1)
    cycle = AppraisalCycleFactory(year=2102, status="scoring")
    for n, name in enumerate(NAMES):
        user = UserFactory(full_name=name, supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER)
        manager = ManagerFactory(user=user, station=world.station_a)
        customer = CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=user)
        for back in range(0, 12):
            period = add_months(month, -back)
            due = end if back == 0 else add_months(period, 1) - dt.timedelta(days=1)
            for i in range(4):
                done = i < (n % 5 if back == 0 else 3 + (back + n) % 2)
                task = VisitTaskFactory(
                    customer=customer,
                    manager=user,
                    kind=Kind.AD_HOC,
                    period=period,
                    due_date=due,
                    status=TaskStatus.DONE if done else TaskStatus.PLANNED,
                )
                if done:
                    VisitReportFactory(task=task, visited_on=min(due, today))
        AppraisalFactory(cycle=cycle, manager=manager, status=("scoring", "review", "finalized")[n % 3])
    CustomerFactory.create_batch(3, station=world.station_a, tier=Tier.VIP, manager=None)
    VisitTaskFactory(customer=world.customer_b, kind=Kind.AD_HOC, period=month, due_date=end)
    return world


@pytest.fixture
def runs(world):
    now = timezone.now()
    ClassificationRun.objects.create(trigger="schedule", status="done", examined=4832, changed=37)
    ClassificationRun.objects.create(
        trigger="manual", status="failed", error="OperationalError: database is locked"
    )
    JobRun.objects.create(job=RECONCILE_JOB, started_at=now, finished_at=now, counts={"assigned": 12})
    VisitRun.objects.create(job="generate", day=now.date(), status="done", counts={"created": 143})
    return world


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_supervisor_reads_the_team_at_a_glance(transactional_db, team, live_server, module_browser, width):
    base = live_server.url
    ARTIFACTS.mkdir(exist_ok=True)
    # given the supervisor signed in
    with signed_in(module_browser, base, "supervisor", width) as page:
        # then the home shows the team at a glance, in Chinese, nothing wider than the screen
        headings = page.locator(".team-glance h2").all_inner_texts()
        expected = ["本月走访完成率", "截至目前的逾期走访", "考评进度", "团队走访完成率（近 12 个月）"]
        assert len(headings) == len(expected)
        assert all(h.startswith(e) for h, e in zip(headings, expected, strict=True)), headings
        # the worst completion first, capped, with the way to the team page
        rows = page.locator(".glance-completion tbody tr")
        assert rows.count() == 8
        assert "0.0%" in rows.first.inner_text()
        assert page.locator(".glance-unassigned .stat").inner_text() == "3"
        assert page.locator(".glance-appraisal tbody tr").count() == 4
        chart = page.locator(".glance-chart svg.chart")
        assert chart.count() == 1
        assert chart.locator("rect.bar").count() >= 11
        assert chart.bounding_box()["width"] <= width
        assert "赵经理" not in page.content()
        assert fits(page, width)
        page.screenshot(path=str(ARTIFACTS / f"home_team_{width}.png"), full_page=True)

        # when they follow the link to the team visits page
        page.click(".glance-completion p.more a")
        page.wait_for_url(f"{base}/visits/team/#completion")
        # then completion is a table (a row per manager and the team's) with the same chart
        grid = page.locator("table.completion-grid")
        assert grid.locator("tbody tr").count() == len(NAMES)
        assert grid.locator("tfoot th").inner_text() == "团队合计"
        assert page.locator("#completion svg.chart rect.bar").count() >= 11
        assert fits(page, width)
        page.screenshot(path=str(ARTIFACTS / f"home_team_page_{width}.png"), full_page=True)


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS)
def test_administrator_reads_the_latest_runs(transactional_db, runs, live_server, module_browser, width):
    base = live_server.url
    ARTIFACTS.mkdir(exist_ok=True)
    with signed_in(module_browser, base, "admin", width) as page:
        assert page.locator(".runs-home h2").inner_text() == "最近的运行与导入"
        assert page.locator(".run-group h3").all_inner_texts() == [
            "重新分级记录",
            "导入",
            "客户分配运行",
            "走访任务生成运行",
        ]
        failed = page.locator("li.run-line.state-failed")
        assert failed.count() == 1
        assert "database is locked" in failed.inner_text()
        assert page.locator("section.run-group", has_text="导入").locator("text=暂无。").count() == 1
        assert fits(page, width)
        page.screenshot(path=str(ARTIFACTS / f"home_admin_{width}.png"), full_page=True)
