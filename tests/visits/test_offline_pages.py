"""The field app's server side (issue 18): the briefcase a phone keeps (the manager's own next 14
days, their customers' profiles, contacts, 24 months of consumption and open follow-ups) read in a
fixed number of queries; the service worker at the root with its scope; the manifest; the shell
page in Chinese; a report's check-in and photos page, scoped."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.common.months import add_months, month_start
from tests.factories import (
    ConsumptionFactory,
    ContactFactory,
    CustomerFactory,
    FollowUpFactory,
    VisitReportFactory,
    VisitTaskFactory,
)

TODAY = timezone.localdate()


def _task(customer, days=0, **extra):
    due = TODAY + dt.timedelta(days=days)
    return VisitTaskFactory(customer=customer, period=due.replace(day=1), due_date=due, **extra)


def test_the_briefcase_holds_the_next_14_days_of_the_managers_own_visits(client, world):
    # given manager A's visits today, in 14 days and in 20 days, a cancelled one, and manager B's
    soon, edge = _task(world.customer_a), _task(world.customer_a, 14, kind="care")
    _task(world.customer_a, 20, kind="tier_change")
    _task(world.customer_a, 1, kind="ad_hoc", status="cancelled", cancel_reason="重复")
    _task(world.customer_b)
    ContactFactory(customer=world.customer_a, name="王厂长", phone="13800000000")
    for n in range(1, 30):
        ConsumptionFactory(
            customer=world.customer_a, period=add_months(month_start(TODAY), -n), kwh=Decimal(1000 + n)
        )
    done = VisitReportFactory(task=_task(world.customer_a, -40, kind="scheduled", status="done"))
    FollowUpFactory(report=done, action="核对电价")
    client.force_login(world.manager_a.user)

    data = client.get("/visits/offline/briefcase/").json()

    # then the open visits within 14 days, with their one customer, its contact, 24 months and
    # its open follow-up
    assert [t["id"] for t in data["tasks"]] == [soon.pk, edge.pk]
    assert data["me"] == world.manager_a.user.pk
    [customer] = data["customers"]
    assert customer["id"] == world.customer_a.pk
    assert [c["name"] for c in customer["contacts"]] == ["王厂长"]
    assert len(customer["consumption"]) == 24
    assert customer["consumption"][0][0] == f"{add_months(month_start(TODAY), -1):%Y-%m}"
    assert [f["action"] for f in customer["follow_ups"]] == ["核对电价"]
    assert customer["follow_ups"][0]["department"] == "抄核收"
    assert data["tasks"][0]["kind_label"] == "定期走访"


def test_the_briefcase_has_no_other_managers_customer(client, world):
    _task(world.customer_b)
    client.force_login(world.manager_a.user)
    data = client.get("/visits/offline/briefcase/").json()
    assert data["tasks"] == []
    assert data["customers"] == []


@pytest.mark.parametrize("size", [2, 30])
def test_the_briefcase_takes_the_same_queries_whatever_its_size(
    client, world, django_assert_num_queries, size
):
    for n in range(size):
        customer = CustomerFactory(
            station=world.station_a, manager=world.manager_a.user, tier=world.customer_a.tier
        )
        _task(customer, n % 14)
        ContactFactory.create_batch(2, customer=customer)
        ConsumptionFactory(customer=customer, period=add_months(month_start(TODAY), -1))
        FollowUpFactory(report=VisitReportFactory(task=_task(customer, -40, status="done")))
    client.force_login(world.manager_a.user)
    client.get("/visits/offline/briefcase/")
    # the session and its user, tasks, customers, contacts, consumption, follow-ups
    with django_assert_num_queries(7):
        data = client.get("/visits/offline/briefcase/").json()
    assert len(data["tasks"]) == size


def test_the_briefcase_needs_a_signed_in_user(client, world):
    response = client.get("/visits/offline/briefcase/")
    assert response.status_code == 302


def test_the_service_worker_is_served_at_the_root_with_its_scope(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert body.startswith("self.CRM_SW = {")
    assert '"shell": "/visits/offline/"' in body


def test_the_manifest_names_the_field_app_in_chinese(client):
    data = client.get("/manifest.webmanifest").json()
    assert data["short_name"] == "外勤走访"
    assert data["start_url"] == "/visits/offline/"
    assert {icon["sizes"] for icon in data["icons"]} == {"192x192", "512x512"}


def test_the_field_app_page_is_in_chinese_with_its_form(client, world):
    client.force_login(world.manager_a.user)
    html = client.get("/visits/offline/").content.decode()
    assert "外勤走访" in html
    assert "立即同步" in html
    assert "数据更新于" in html
    assert 'name="satisfaction"' in html
    assert "data-offline-support" in html
    assert "<script>" not in html  # the content security policy allows no inline script


def test_every_signed_in_page_boots_the_offline_scripts(client, world):
    client.force_login(world.manager_a.user)
    html = client.get("/visits/").content.decode()
    assert "crm/offline-page.js" in html
    assert 'rel="manifest"' in html


def test_a_reports_checkin_and_photos_page_shows_the_address_beside_the_position(client, world):
    world.customer_a.address = "城关镇解放路 8 号"
    world.customer_a.save()
    report = VisitReportFactory(
        task=_task(world.customer_a, status="done"),
        checkin_lat=Decimal("30.1"),
        checkin_lon=Decimal("114.2"),
        checkin_accuracy_m=12,
        checkin_at=timezone.now(),
    )
    client.force_login(world.manager_a.user)
    html = client.get(f"/visits/reports/{report.pk}/photos/").content.decode()
    assert "城关镇解放路 8 号" in html
    assert "30.100000, 114.200000" in html
    assert "±12 m" in html


def test_another_managers_report_photos_page_answers_404(client, world):
    report = VisitReportFactory(task=_task(world.customer_b, status="done"))
    client.force_login(world.manager_a.user)
    assert client.get(f"/visits/reports/{report.pk}/photos/").status_code == 404
