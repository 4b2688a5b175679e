"""Following a published notice: deliveries and their query count, the manager's acknowledgement
(签收), the call centre's look-up, reminders and updates, each within the user's scope."""

import datetime as dt

from django.utils import timezone

from notices.jobs import send_reminders
from notices.models import Delivery, DeliveryStatus, MessagePurpose, OutageNotice, SmsMessage
from tests.factories import ContactFactory, CustomerFactory
from tests.notices.conftest import notice_body


def _published(grid, api, publish, **body):
    supervisor = grid.world.supervisor
    notice_id = (
        api(supervisor).post("/api/v1/outage-notices/", notice_body(grid, **body), format="json").data["id"]
    )
    assert publish(supervisor, notice_id).status_code == 200
    return notice_id


def test_the_manager_acknowledges_a_call_with_who_took_it(grid, api, publish):
    notice_id = _published(grid, api, publish)
    manager = grid.world.manager_a.user
    url = f"/api/v1/outage-notices/{notice_id}/deliveries/{grid.hospital.pk}/acknowledge/"
    answer = api(manager).post(url, {"acknowledged_by": "医院后勤科 刘科长"}, format="json")
    assert answer.status_code == 200, answer.data
    assert (answer.data["status"], answer.data["acknowledged_by"]) == ("acknowledged", "医院后勤科 刘科长")
    delivery = Delivery.objects.get(notice_id=notice_id, customer=grid.hospital)
    assert delivery.recorded_by == manager
    assert delivery.acknowledged_at is not None
    assert api(manager).post(url, {"acknowledged_by": "又一次"}, format="json").status_code == 409


def test_an_acknowledgement_needs_the_persons_name(grid, api, publish):
    notice_id = _published(grid, api, publish)
    url = f"/api/v1/outage-notices/{notice_id}/deliveries/{grid.hospital.pk}/acknowledge/"
    answer = api(grid.world.manager_a.user).post(url, {"acknowledged_by": "  "}, format="json")
    assert answer.status_code == 400
    assert "acknowledged_by" in answer.data
    assert Delivery.objects.get(notice_id=notice_id, customer=grid.hospital).status == DeliveryStatus.QUEUED


def test_another_managers_customer_is_not_found(grid, api, publish):
    notice_id = _published(grid, api, publish)
    other = grid.world.manager_b.user
    url = f"/api/v1/outage-notices/{notice_id}/deliveries/{grid.hospital.pk}/acknowledge/"
    assert api(other).post(url, {"acknowledged_by": "某人"}, format="json").status_code == 404
    listed = api(other).get(f"/api/v1/outage-notices/{notice_id}/deliveries/")
    assert listed.status_code == 200
    assert listed.data["count"] == 0
    assert api(other).get(f"/api/v1/customers/{grid.hospital.pk}/outages/").status_code == 404


def test_the_deliveries_page_takes_the_same_queries_at_two_sizes(
    grid, api, publish, django_assert_max_num_queries
):
    small = _published(grid, api, publish)
    manager = grid.world.manager_a.user
    for n in range(30):
        home = CustomerFactory(
            station=grid.world.station_a, transformer_district=grid.district, manager=manager
        )
        ContactFactory(customer=home, is_primary=True, phone=f"1360000{n:04d}")
    large = _published(grid, api, publish)
    client = api(grid.world.supervisor)
    client.get(f"/api/v1/outage-notices/{small}/deliveries/")  # the token and permissions warm

    def queries(notice_id):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            answer = client.get(f"/api/v1/outage-notices/{notice_id}/deliveries/")
        assert answer.status_code == 200
        return len(captured), answer.data["count"]

    (few, few_rows), (many, many_rows) = queries(small), queries(large)
    assert (few_rows, many_rows) == (6, 36)
    assert few == many


def test_the_call_centre_finds_the_outage_by_account_number(grid, api, publish):
    notice_id = _published(grid, api, publish)
    answer = api(grid.world.integration).get(
        "/api/v1/call-centre/outages/", {"account_no": grid.homes[0].account_no}
    )
    assert answer.status_code == 200, answer.data
    assert [o["id"] for o in answer.data["outages"]] == [notice_id]
    unknown = api(grid.world.integration).get("/api/v1/call-centre/outages/", {"account_no": "000"})
    assert unknown.status_code == 404
    missing = api(grid.world.integration).get("/api/v1/call-centre/outages/")
    assert missing.status_code == 400
    assert "account_no" in missing.data


def test_customer_outages_lists_current_and_upcoming_published_notices(grid, api, publish):
    notice_id = _published(grid, api, publish)
    draft = (
        api(grid.world.supervisor)
        .post("/api/v1/outage-notices/", notice_body(grid), format="json")
        .data["id"]
    )
    answer = api(grid.world.manager_a.user).get(f"/api/v1/customers/{grid.world.customer_a.pk}/outages/")
    assert answer.status_code == 200
    assert [o["id"] for o in answer.data] == [notice_id]
    assert draft != notice_id


def test_a_change_of_window_is_sent_as_an_update_to_everyone_told(
    grid, api, publish, django_capture_on_commit_callbacks
):
    notice_id = _published(grid, api, publish)
    api(grid.world.manager_a.user).post(
        f"/api/v1/outage-notices/{notice_id}/deliveries/{grid.hospital.pk}/acknowledge/",
        {"acknowledged_by": "刘科长"},
        format="json",
    )
    start = timezone.now() + dt.timedelta(days=12)
    with django_capture_on_commit_callbacks(execute=True):
        answer = api(grid.world.supervisor).patch(
            f"/api/v1/outage-notices/{notice_id}/",
            {"starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(hours=4)).isoformat()},
            format="json",
        )
    assert answer.status_code == 200, answer.data
    updates = SmsMessage.objects.filter(purpose=MessagePurpose.UPDATE)
    assert updates.count() == 2
    assert {m.status for m in updates} == {"sent"}
    # the acknowledged call is reopened for the manager to call again
    hospital = Delivery.objects.get(notice_id=notice_id, customer=grid.hospital)
    assert (hospital.status, hospital.revision) == (DeliveryStatus.QUEUED, 1)


def test_a_change_inside_the_lead_time_is_refused(grid, api, publish):
    notice_id = _published(grid, api, publish)
    start = timezone.now() + dt.timedelta(days=2)
    answer = api(grid.world.supervisor).patch(
        f"/api/v1/outage-notices/{notice_id}/",
        {"starts_at": start.isoformat(), "ends_at": (start + dt.timedelta(hours=4)).isoformat()},
        format="json",
    )
    assert answer.status_code == 400
    assert "planned_7_days" in answer.data["starts_at"][0]
    assert OutageNotice.objects.get(pk=notice_id).revision == 0


def test_a_cancellation_is_sent_to_everyone_told(grid, api, publish, django_capture_on_commit_callbacks):
    notice_id = _published(grid, api, publish)
    with django_capture_on_commit_callbacks(execute=True):
        answer = api(grid.world.supervisor).post(f"/api/v1/outage-notices/{notice_id}/cancel/", format="json")
    assert answer.status_code == 200
    assert answer.data["status"] == "cancelled"
    assert SmsMessage.objects.filter(purpose=MessagePurpose.CANCEL).count() == 2
    again = api(grid.world.supervisor).post(f"/api/v1/outage-notices/{notice_id}/cancel/", format="json")
    assert again.status_code == 409


def test_the_reminder_goes_the_day_before_once(grid, api, publish, django_capture_on_commit_callbacks):
    notice_id = _published(grid, api, publish)
    notice = OutageNotice.objects.get(pk=notice_id)
    day_before = notice.starts_at - dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_reminders(now=day_before) == 1
    assert send_reminders(now=day_before) == 0
    reminders = SmsMessage.objects.filter(purpose=MessagePurpose.REMINDER)
    assert reminders.count() == 2
    assert {m.status for m in reminders} == {"sent"}
    assert send_reminders(now=notice.starts_at - dt.timedelta(days=3)) == 0
