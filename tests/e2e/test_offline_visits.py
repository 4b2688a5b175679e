"""Issue 18's "Done when", in Debian's Chromium at a phone's size: the manager opens the field app
online, loses the signal (`context.set_offline(True)`), opens a customer and writes three reports
with a photo each, reloads with no signal and finds them waiting; back online, two are sent with
their photos and the third, whose task was cancelled on the server meanwhile, is kept and explained,
then made an ad hoc visit and sent: the server holds exactly three reports with a photo each, and
sending them all again leaves three. Also: the size the phone keeps for a manager of 500
customers, and a browser without service workers told that offline is not available."""

import datetime as dt
import json
import time
from decimal import Decimal

import pytest
from django.utils import timezone
from PIL import Image

from crm.common.months import add_months, month_start
from customers.models import ConsumptionRecord, Contact, Customer
from tests.e2e.browser import ARTIFACTS, PHONE, log_in
from tests.factories import ConsumptionFactory, ContactFactory, VisitTaskFactory
from visits.models import Kind, TaskStatus, VisitPhoto, VisitReport, VisitTask

TODAY = timezone.localdate()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def meter_photo(tmp_path):
    """A 3000 x 2000 camera-sized JPEG, which the phone makes smaller before keeping it."""
    path = tmp_path / "meter.jpg"
    image = Image.new("RGB", (3000, 2000), (40, 90, 160))
    image.save(path, "JPEG", quality=95)
    return path


def wait_until(check, what: str, seconds: float = 15):
    """Poll `check` until it is true; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)  # a poll interval, not a wait for something to happen
    pytest.fail(f"timed out waiting for {what}")


def open_field_app(page, base: str) -> None:
    """The field app, controlled by its service worker, with the briefcase kept on the phone."""
    page.goto(f"{base}/visits/offline/")
    # The worker installs the app shell before it claims the page: on a busy CI machine that has taken
    # more than 15 s, so the wait is generous (a readiness wait, not a measure of speed).
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=60_000)
    page.wait_for_selector("[data-list] li[data-task]")


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def write_report(page, task_id: int, photo, needs: str, *, check_in: bool = False) -> None:
    page.click(f"[data-detail] li[data-task='{task_id}'] a.button")
    page.wait_for_selector(f"form[data-task='{task_id}']")
    if check_in:
        page.click("form[data-offline-form] [data-checkin]")
        page.wait_for_function(
            "() => document.querySelector('[data-checkin-text]').textContent.includes('30.51230')"
        )
    page.check("form[data-offline-form] input[name=satisfaction][value='4']")
    page.fill("form[data-offline-form] textarea[name=needs]", needs)
    page.set_input_files("form[data-offline-form] input[data-photos]", str(photo))
    page.wait_for_selector("form[data-offline-form] [data-thumbs] img")
    if check_in:
        shot(page, "offline-app-form.png")
    page.click("form[data-offline-form] button[type=submit]")
    page.wait_for_function("() => location.hash === '#outbox'")


@pytest.mark.browser
def test_three_reports_written_offline_reach_the_server_once_with_their_photos(
    transactional_db, world, live_server, media, meter_photo, monkeypatch
):
    from tests.e2e.browser import chromium

    # given manager A's three visits to 甲钢铁厂 in the next days, the customer's contact and two
    # years of consumption
    world.customer_a.address = "城关镇解放路 8 号"
    world.customer_a.save()
    period = TODAY.replace(day=1)
    tasks = [
        VisitTaskFactory(
            customer=world.customer_a, kind=kind, period=period, due_date=TODAY + dt.timedelta(days=3)
        )
        for kind in (Kind.SCHEDULED, Kind.CARE, Kind.TIER_CHANGE)
    ]
    ContactFactory(customer=world.customer_a, name="王厂长", title="厂长", phone="13800000001")
    for n in range(1, 25):
        ConsumptionFactory(
            customer=world.customer_a, period=add_months(month_start(TODAY), -n), kwh=Decimal(90_000 + n)
        )
    base = live_server.url

    with chromium(monkeypatch) as browser:
        context = browser.new_context(
            **PHONE,
            permissions=["geolocation"],
            geolocation={"latitude": 30.5123, "longitude": 114.3456, "accuracy": 15},
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        log_in(page, base, "manager_a")

        # when the manager opens the field app online, then loses the signal
        open_field_app(page, base)
        shot(page, "offline-app-online.png")
        context.set_offline(True)
        page.reload()
        page.wait_for_selector("[data-list] li[data-task]")
        assert "没有网络" in page.inner_text("[data-offline-bar]")
        assert "数据更新于" in page.inner_text("[data-offline-bar]")

        # and opens the customer and writes three reports with a photo each (the first checked in)
        page.click(f"[data-list] li[data-task='{tasks[0].pk}'] a[href^='#customer/']")
        page.wait_for_selector("[data-detail] .customer-profile")
        assert "王厂长" in page.inner_text("[data-detail]")
        assert page.locator("[data-detail] table.consumption-months tr").count() == 24
        shot(page, "offline-app-customer.png")
        for n, task in enumerate(tasks):
            page.goto(f"{base}/visits/offline/#customer/{world.customer_a.pk}")
            page.wait_for_selector("[data-detail] .customer-profile")
            write_report(page, task.pk, meter_photo, f"第{n + 1}次走访：变压器需检修", check_in=n == 0)

        # and meanwhile the second visit is cancelled on the server
        VisitTask.objects.filter(pk=tasks[1].pk).update(
            status=TaskStatus.CANCELLED, cancel_reason="客户已申请销户"
        )

        # and the page is reloaded with no signal: the three wait on the phone
        page.reload()
        page.wait_for_selector("[data-outbox] li[data-state='waiting']")
        assert page.locator("[data-outbox] li[data-state='waiting']").count() == 3
        assert "3 份报告等待发送" in page.inner_text("[data-offline-bar]")
        shot(page, "offline-app-outbox-waiting.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert not VisitReport.objects.exists()

        # when the signal returns
        context.set_offline(False)

        # then two are sent with their photos, and the cancelled visit's report is kept, explained
        wait_until(lambda: VisitPhoto.objects.count() == 2, "two reports and their photos on the server")
        page.wait_for_selector("[data-outbox] li[data-state='refused']")
        refused = page.inner_text("[data-outbox] li[data-state='refused']")
        assert "客户已申请销户" in refused
        shot(page, "offline-app-refused.png")
        assert set(VisitReport.objects.values_list("task_id", flat=True)) == {tasks[0].pk, tasks[2].pk}
        first = VisitReport.objects.get(task=tasks[0])
        assert (float(first.checkin_lat), first.checkin_accuracy_m) == (30.5123, 15)

        # when the manager makes it an ad hoc visit of the same customer
        page.click("[data-outbox] li[data-state='refused'] [data-adhoc]")

        # then the server holds exactly three reports with a photo each, each made smaller
        wait_until(lambda: VisitPhoto.objects.count() == 3, "the third report's photo on the server")
        page.wait_for_function(
            "() => document.querySelectorAll(\"[data-outbox] li[data-state='sent']\").length === 3"
        )
        shot(page, "offline-app-sent.png")
        assert VisitReport.objects.count() == 3
        moved = VisitReport.objects.exclude(task__in=[tasks[0], tasks[2]]).get()
        assert (moved.task.kind, moved.needs) == (Kind.AD_HOC, "第2次走访：变压器需检修")
        for photo in VisitPhoto.objects.all():
            assert max(photo.width, photo.height) == 1600
            assert photo.content_type == "image/jpeg"

        # when every report is sent again (the answers lost, say)
        page.evaluate(
            """async () => {
                const items = await CrmOffline.all();
                for (const item of items) {
                    item.state = 'waiting';
                    item.report = null;
                    await CrmOffline.put(item);
                }
                return CrmOffline.sync();
            }"""
        )
        page.wait_for_function(
            "() => document.querySelectorAll(\"[data-outbox] li[data-state='sent']\").length === 3"
        )

        # then still three, each with its one photo
        assert VisitReport.objects.count() == 3
        assert VisitPhoto.objects.count() == 3
        context.close()


def _portfolio(world, customers: int) -> None:
    """`customers` customers of manager A, each with a visit in the next 14 days, three contacts
    and 24 months of consumption: a worst case for the briefcase (every customer visited)."""
    made = Customer.objects.bulk_create(
        [
            Customer(
                account_no=f"35{n:08d}",
                name=f"测试客户{n}号有限公司",
                category="industrial",
                voltage_kv=Decimal("10"),
                contracted_capacity_kva=Decimal("630"),
                station=world.station_a,
                tier=world.customer_a.tier,
                manager=world.manager_a.user,
                address=f"城关镇工业园区{n}号",
            )
            for n in range(customers)
        ]
    )
    Contact.objects.bulk_create(
        [
            Contact(customer=c, name=f"联系人{k}", title="电工", phone=f"1390000{k:04d}")
            for c in made
            for k in range(3)
        ]
    )
    months = [add_months(month_start(TODAY), -n) for n in range(1, 25)]
    ConsumptionRecord.objects.bulk_create(
        [ConsumptionRecord(customer=c, period=m, kwh=Decimal("123456.78")) for c in made for m in months]
    )
    VisitTask.objects.bulk_create(
        [
            VisitTask(
                customer=c,
                manager=world.manager_a.user,
                kind=Kind.AD_HOC,
                period=TODAY.replace(day=1),
                due_date=TODAY + dt.timedelta(days=n % 14),
                planned_on=None,
            )
            for n, c in enumerate(made)
        ]
    )


@pytest.mark.browser
def test_the_phone_keeps_a_few_megabytes_for_a_manager_of_500_customers(
    transactional_db, world, live_server, monkeypatch, capsys
):
    from tests.e2e.browser import chromium

    _portfolio(world, 500)
    with chromium(monkeypatch) as browser:
        context = browser.new_context(**PHONE)
        context.set_default_timeout(30_000)
        page = context.new_page()
        log_in(page, live_server.url, "manager_a")
        open_field_app(page, live_server.url)
        shot(page, "offline-app-500.png")
        figures = page.evaluate(
            """async () => {
                const kept = await CrmOffline.getMeta('briefcase');
                const estimate = await navigator.storage.estimate();
                return {tasks: kept.tasks.length, customers: kept.customers.length,
                        json: new Blob([JSON.stringify(kept)]).size,
                        usage: estimate.usage, idb: (estimate.usageDetails || {}).indexedDB || null,
                        caches: (estimate.usageDetails || {}).caches || null};
            }"""
        )
        context.close()
    with capsys.disabled():
        print("\nfield app for 500 customers:", json.dumps(figures))
    assert (figures["tasks"], figures["customers"]) == (500, 500)
    assert figures["usage"] < 20 * 1024 * 1024


@pytest.mark.browser
def test_a_browser_without_service_workers_says_offline_is_not_available_and_the_form_works(
    transactional_db, world, live_server, monkeypatch
):
    from tests.e2e.browser import chromium

    task = VisitTaskFactory(customer=world.customer_a, period=TODAY.replace(day=1), due_date=TODAY)
    with chromium(monkeypatch) as browser:
        # Playwright's "block" is a browser without service workers as far as the page can tell
        context = browser.new_context(**PHONE, service_workers="block")
        context.add_init_script("delete Navigator.prototype.serviceWorker;")
        page = context.new_page()
        log_in(page, live_server.url, "manager_a")
        page.goto(f"{live_server.url}/visits/tasks/{task.pk}/report/")
        page.wait_for_selector("[data-offline-support]:not([hidden])")
        assert "此浏览器不支持离线使用" in page.inner_text("[data-offline-support]")
        assert not page.is_visible("[data-offline-only]")  # no way offered to what cannot work
        shot(page, "offline-unsupported-form.png")
        page.check("input[name=satisfaction][value='5']")
        page.click("form.report button[type=submit]:not([data-add-row])")
        page.wait_for_url(f"{live_server.url}/visits/")
        context.close()
    assert VisitReport.objects.get(task=task).satisfaction == 5


@pytest.mark.browser
def test_the_report_form_opened_once_online_is_kept_and_sent_later_when_posted_offline(
    transactional_db, world, live_server, monkeypatch
):
    from tests.e2e.browser import chromium

    # given manager A's visit whose report form they opened once with a connection
    task = VisitTaskFactory(customer=world.customer_a, period=TODAY.replace(day=1), due_date=TODAY)
    base = live_server.url
    with chromium(monkeypatch) as browser:
        context = browser.new_context(**PHONE)
        context.set_default_timeout(15_000)
        page = context.new_page()
        log_in(page, base, "manager_a")
        open_field_app(page, base)
        page.goto(f"{base}/visits/tasks/{task.pk}/report/")
        page.wait_for_selector("form.report")

        # when the signal goes, the page is opened again and the report sent
        context.set_offline(True)
        page.reload()
        page.check("input[name=satisfaction][value='3']")
        page.fill("textarea[name=needs]", "线路老化")
        page.select_option("select[name=fu-0-department]", "billing")
        page.fill("input[name=fu-0-action]", "核对电价")
        page.click("form.report button[type=submit]:not([data-add-row])")

        # then it is kept on the phone, said so, and nothing reached the server
        page.wait_for_selector("[data-queued]")
        assert "报告已保存在手机上" in page.inner_text("[data-queued]")
        shot(page, "offline-report-form-queued.png")
        assert not VisitReport.objects.exists()

        # and when the signal returns it is sent, follow-up included
        context.set_offline(False)
        wait_until(lambda: VisitReport.objects.filter(task=task).exists(), "the report on the server")
        context.close()
    report = VisitReport.objects.get(task=task)
    assert (report.satisfaction, report.needs) == (3, "线路老化")
    assert [(f.department, f.action) for f in report.follow_ups.all()] == [("billing", "核对电价")]


@pytest.mark.browser
def test_a_contact_changed_offline_merges_field_by_field_and_asks_about_a_field_changed_on_both_sides(
    transactional_db, world, live_server, monkeypatch
):
    from tests.e2e.browser import chromium

    # given manager A's visit to 甲钢铁厂, whose contact 王厂长 the phone keeps
    VisitTaskFactory(customer=world.customer_a, period=TODAY.replace(day=1), due_date=TODAY)
    contact = ContactFactory(
        customer=world.customer_a, name="王厂长", title="厂长", phone="13800000001", email=""
    )
    base = live_server.url
    with chromium(monkeypatch) as browser:
        context = browser.new_context(**PHONE)
        context.set_default_timeout(15_000)
        page = context.new_page()
        log_in(page, base, "manager_a")
        open_field_app(page, base)

        # when, with no signal, the manager changes the contact's phone and title
        context.set_offline(True)
        page.goto(f"{base}/visits/offline/#customer/{world.customer_a.pk}")
        page.click(f"[data-edit-contact='{contact.pk}']")
        page.fill(f"[data-contact-form='{contact.pk}'] input[name=phone]", "13900000009")
        page.fill(f"[data-contact-form='{contact.pk}'] input[name=title]", "总经理")
        page.click(f"[data-contact-form='{contact.pk}'] button[type=submit]")
        page.wait_for_selector(f"li[data-contact='{contact.pk}'] >> text=13900000009")

        # and meanwhile the office changes the title too
        type(contact).objects.filter(pk=contact.pk).update(title="董事长")

        # and the signal returns
        context.set_offline(False)

        # then the phone number, changed only on the phone, is written; the title is asked
        page.wait_for_selector("[data-offline-bar] >> text=1 项需要您处理")
        page.click("[data-offline-bar] a[href$='#outbox']")
        page.wait_for_selector("[data-outbox] li[data-kind='contact'][data-state='conflict']")
        contact.refresh_from_db()
        assert (contact.phone, contact.title) == ("13900000009", "董事长")
        conflict = page.inner_text("[data-conflict='title']")
        assert "总经理" in conflict
        assert "董事长" in conflict
        shot(page, "offline-contact-conflict.png")

        # when the manager keeps the phone's title
        page.click("[data-conflict='title'] [data-keep='phone']")

        # then it is written, and the change is sent
        page.wait_for_selector("[data-outbox] li[data-kind='contact'][data-state='sent']")
        context.close()
    contact.refresh_from_db()
    assert (contact.name, contact.phone, contact.title) == ("王厂长", "13900000009", "总经理")
