"""End to end in Chromium, in Chinese, at 390 px (a phone) and 1366 px (a desk): a long job's page
moves through its states without being reloaded (issue 17, point 8). The administrator opens a
reclassification while it is queued, and watches the bar move as the run's chunks commit (run in
this test's thread, one step at a time, so each state is seen) and reach done; an import of more
rows than a request takes is run by a real worker and its page reaches done by itself. Screenshots
go to test-artifacts/progress_*.png. Drives Debian's Chromium through Playwright (skips without it)."""

import pytest

from crm.common import fanout
from customers.models import ClassificationRun, ImportJob, Tier
from customers.tiering import classification
from tests.customers.import_files import CUSTOMER_HEADER, csv_bytes, customer_row
from tests.e2e.browser import ARTIFACTS, PHONE, chromium, log_in
from tests.factories import CustomerFactory

DESK = {"viewport": {"width": 1366, "height": 900}, "locale": "zh-CN"}
SIZES = {390: PHONE, 1366: DESK}
BOX = ".run-progress"


def _shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _mark_document(page) -> None:
    """Leave a mark on this document: a reload (or any navigation) would lose it."""
    page.evaluate("window.progressTestMark = 'same document'")


def _same_document(page) -> bool:
    return page.evaluate("window.progressTestMark") == "same document"


def _step(run_id: int) -> None:
    """The run's next chunk, as a worker commits it."""
    chunk = fanout.undone("customers.classificationrun", run_id).order_by("index").first()
    fanout.chunk_run(chunk.pk)


@pytest.mark.browser
@pytest.mark.parametrize("width", sorted(SIZES))
def test_a_reclassification_moves_from_queued_to_done_without_a_reload(
    transactional_db, world, live_server, monkeypatch, width
):
    # given seven active customers in all and a reclassification queued, not yet taken by a worker
    CustomerFactory.create_batch(
        5, station=world.station_a, manager=world.manager_a.user, tier=Tier.KEY_ACCOUNT
    )
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL, started_by=world.admin)
    with chromium(monkeypatch) as browser:
        page = browser.new_context(**SIZES[width]).new_page()
        page.set_default_timeout(15_000)
        log_in(page, live_server.url, "admin")

        # when the administrator opens the run's page
        page.goto(f"{live_server.url}/customers/tiering/runs/{run.pk}/")
        _mark_document(page)

        # then it says queued, with nothing counted and no result that is not one
        box = page.locator(BOX)
        assert box.get_attribute("data-state") == "queued"
        assert "排队中" in box.inner_text()
        assert box.locator("progress").count() == 0
        assert "没有客户的分级发生变化" not in page.content()
        _fits(page, width)
        _shoot(page, f"progress_queued_{width}.png")

        # when the run starts and its first chunk of two customers commits
        classification._begin(run.pk, 2)
        _step(run.pk)

        # then, polled in place, the page shows 2 of 7 with a bar
        page.wait_for_selector(f"{BOX}[data-state=running] progress[value='2'][max='7']")
        assert "已分级 2 户，共 7 户。" in page.locator(BOX).inner_text()
        _fits(page, width)
        _shoot(page, f"progress_running_{width}.png")

        # when the next chunk commits, the bar moves on
        _step(run.pk)
        page.wait_for_selector(f"{BOX}[data-state=running] progress[value='4'][max='7']")

        # when the rest of the run finishes
        classification.classification_run_execute(run_id=run.pk, size=2)

        # then the page says done with the result, and the page was never reloaded
        page.wait_for_selector(f"{BOX}[data-state=done]")
        text = page.locator(BOX).inner_text()
        assert "已完成" in text
        assert "共检查 7 户" in text
        assert page.locator(f"{BOX} a[data-reload]").count() == 1
        assert _same_document(page)
        _fits(page, width)
        _shoot(page, f"progress_done_{width}.png")


@pytest.mark.browser
@pytest.mark.worker
def test_an_import_run_by_a_real_worker_reaches_done_on_its_page(
    transactional_db, world, live_server, real_worker, monkeypatch, settings, tmp_path
):
    # given a file of 30 customers, more than the request imports itself (the worker takes it)
    settings.IMPORT_INLINE_MAX_ROWS = 5
    settings.MEDIA_ROOT = str(tmp_path)
    rows = [
        customer_row(f"43{n:08d}", station=world.station_a.name, name=f"进度测试{n}号") for n in range(30)
    ]
    path = tmp_path / "大客户名单.csv"
    path.write_bytes(csv_bytes(CUSTOMER_HEADER, rows))
    with chromium(monkeypatch) as browser:
        page = browser.new_context(**PHONE).new_page()
        page.set_default_timeout(30_000)
        log_in(page, live_server.url, "admin")

        # when the administrator uploads it on the import page
        page.goto(f"{live_server.url}/customers/imports/")
        page.select_option("select[name=kind]", "customers")
        page.set_input_files("input[name=file]", str(path))
        page.click("form.import-form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/customers/imports/*/")
        _mark_document(page)

        # then its page, polled in place, reaches done with the rows the worker wrote
        page.wait_for_selector(f"{BOX}[data-state=done]")
        job = ImportJob.objects.get()
        assert (job.status, job.created_count) == ("done", 30)
        assert "共 30 行：新建 30" in page.locator(BOX).inner_text()
        assert _same_document(page)
        _fits(page, 390)
        _shoot(page, "progress_import_done_390.png")


@pytest.mark.browser
def test_a_visit_run_and_an_assignment_run_reach_done_in_place(
    transactional_db, world, live_server, monkeypatch
):
    # given a visit generation three steps of eight in, and an assignment run 320 of 2,000 in
    from django.utils import timezone

    from crm.common.models import JobRun
    from visits.models import VisitRun

    visit_run = VisitRun.objects.create(
        day=timezone.localdate(), status="running", counts={"steps_done": 3, "steps_total": 8, "created": 120}
    )
    CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None, name="待分配机械厂")
    reconcile = JobRun.objects.create(
        job="reconcile_assignments",
        started_at=timezone.now(),
        counts={"assigned": 300, "followed_territory": 20, "unassigned": 0, "examined": 320, "total": 2000},
    )
    with chromium(monkeypatch) as browser:
        for width, name, url in (
            (1366, "visit_run", f"/visits/runs/{visit_run.pk}/"),
            (390, "unassigned", "/managers/unassigned/"),
        ):
            page = browser.new_context(**SIZES[width]).new_page()
            page.set_default_timeout(15_000)
            log_in(page, live_server.url, "supervisor")
            # when the supervisor opens the page
            page.goto(f"{live_server.url}{url}")
            _mark_document(page)
            # then it shows the run's x of y with a bar, within the width
            assert page.locator(f"{BOX}[data-state=running] progress").count() == 1
            _fits(page, width)
            _shoot(page, f"progress_{name}_running_{width}.png")
        # when both runs finish, then each page says done without a reload
        now = timezone.now()
        VisitRun.objects.filter(pk=visit_run.pk).update(
            status="done", finished_at=now, counts={"created": 321}
        )
        JobRun.objects.filter(pk=reconcile.pk).update(
            finished_at=now, counts={"assigned": 1900, "followed_territory": 90, "unassigned": 10}
        )
        for context in browser.contexts:
            page = context.pages[0]
            page.wait_for_selector(f"{BOX}[data-state=done]")
            assert _same_document(page)
        assert "已生成 321 项走访任务" in browser.contexts[0].pages[0].locator(BOX).inner_text()
        assert "分配 1900 户" in browser.contexts[1].pages[0].locator(BOX).inner_text()
        _shoot(browser.contexts[1].pages[0], "progress_unassigned_done_390.png")
