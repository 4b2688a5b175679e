"""The notice and committee pages: the manager's home with one-tap acknowledgement, the
customer page's upcoming outages, a notice's deliveries at a fixed number of queries, scope."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notices.models import Committee, CommitteeMember, Delivery, DeliveryStatus, Meeting, OutageNotice
from tests.factories import BranchFactory, CompanyFactory, ContactFactory, CustomerFactory
from tests.notices.conftest import notice_body


def _published(grid, api, publish):
    supervisor = grid.world.supervisor
    notice_id = api(supervisor).post("/api/v1/outage-notices/", notice_body(grid), format="json").data["id"]
    assert publish(supervisor, notice_id).status_code == 200
    return notice_id


def test_the_managers_home_shows_the_calls_and_acknowledges_in_one_tap(grid, api, publish, client):
    notice_id = _published(grid, api, publish)
    client.force_login(grid.world.manager_a.user)
    home = client.get("/")
    page = home.content.decode()
    assert "停电通知待电话告知" in page or "县人民医院" in page
    assert grid.hospital.name in page
    assert grid.silent.name in page  # its contact to fix
    delivery = Delivery.objects.get(notice_id=notice_id, customer=grid.hospital)
    answer = client.post(
        reverse("notices:acknowledge", args=[delivery.pk]), {"acknowledged_by": "刘科长", "next": "/"}
    )
    assert answer.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.acknowledged_by) == (DeliveryStatus.ACKNOWLEDGED, "刘科长")


def test_another_managers_call_cannot_be_acknowledged(grid, api, publish, client):
    notice_id = _published(grid, api, publish)
    delivery = Delivery.objects.get(notice_id=notice_id, customer=grid.hospital)
    client.force_login(grid.world.manager_b.user)
    answer = client.post(reverse("notices:acknowledge", args=[delivery.pk]), {"acknowledged_by": "某人"})
    assert answer.status_code == 404
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.QUEUED


def test_the_customer_page_shows_its_upcoming_outage(grid, api, publish, client):
    _published(grid, api, publish)
    client.force_login(grid.world.manager_a.user)
    page = client.get(reverse("customers:detail", args=[grid.hospital.pk])).content.decode()
    assert "线路检修" in page


def test_the_notice_page_takes_the_same_queries_at_two_sizes(grid, api, publish, client):
    small = _published(grid, api, publish)
    manager = grid.world.manager_a.user
    for n in range(30):
        home = CustomerFactory(
            station=grid.world.station_a, transformer_district=grid.district, manager=manager
        )
        ContactFactory(customer=home, is_primary=True, phone=f"1350000{n:04d}")
    large = _published(grid, api, publish)
    client.force_login(grid.world.supervisor)
    client.get(reverse("notices:notice", args=[small]))

    def queries(pk):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("notices:notice", args=[pk])).status_code == 200
        return len(captured)

    assert queries(small) == queries(large)


def test_another_branchs_notice_page_is_not_found(grid, client):
    other = BranchFactory(code="BR02", name="另一县公司", company=CompanyFactory())
    now = timezone.now()
    notice = OutageNotice.objects.create(
        branch=other, kind="planned", starts_at=now, ends_at=now + timezone.timedelta(hours=1), reason="x"
    )
    client.force_login(grid.world.supervisor)
    assert client.get(reverse("notices:notice", args=[notice.pk])).status_code == 404


def test_a_supervisor_creates_and_publishes_from_the_pages(grid, client, django_capture_on_commit_callbacks):
    client.force_login(grid.world.supervisor)
    body = notice_body(grid)
    fmt = "%Y-%m-%dT%H:%M"
    start = timezone.localtime(timezone.datetime.fromisoformat(body["starts_at"]))
    end = timezone.localtime(timezone.datetime.fromisoformat(body["ends_at"]))
    answer = client.post(
        reverse("notices:notices"),
        {
            "kind": "planned",
            "starts_at": start.strftime(fmt),
            "ends_at": end.strftime(fmt),
            "reason": "线路检修",
            "feeders": [grid.feeder.pk],
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    notice = OutageNotice.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("notices:publish", args=[notice.pk]))
    notice.refresh_from_db()
    assert notice.status == "published"
    assert notice.affected_count == 6
    page = client.get(reverse("notices:notice", args=[notice.pk])).content.decode()
    assert grid.hospital.name in page


def test_the_minutes_print(grid, client):
    committee = Committee.objects.create(branch=grid.world.station_a.branch, name="城关客户关系委员会")
    CommitteeMember.objects.create(committee=committee, user=grid.world.supervisor, role="chair")
    meeting = Meeting.objects.create(
        committee=committee, held_on=timezone.localdate(), minutes="讨论了春检安排"
    )
    client.force_login(grid.world.supervisor)
    page = client.get(reverse("notices:meeting-print", args=[meeting.pk]))
    assert page.status_code == 200
    assert "讨论了春检安排" in page.content.decode()
    assert client.get(reverse("notices:meeting", args=[meeting.pk])).status_code == 200
    assert client.get(reverse("notices:committees")).status_code == 200


def test_a_need_of_a_kind_with_subtypes_raised_on_the_meeting_page_opens_a_complete_request(grid, client):
    # given a committee whose member speaks for the hospital, and its meeting
    from service.models import ServiceRequest, Source
    from tests.notices.test_committee import _committee

    meeting = Meeting.objects.create(committee=_committee(grid), held_on=timezone.localdate())
    client.force_login(grid.world.supervisor)
    page = client.get(reverse("notices:meeting", args=[meeting.pk]))
    # the capacity change is offered once per subtype
    assert 'value="capacity_change:increase"' in page.content.decode()
    # when the supervisor raises a capacity increase there
    answer = client.post(
        reverse("notices:meeting", args=[meeting.pk]),
        {
            "need": "",
            "customer": grid.hospital.pk,
            "kind": "capacity_change:increase",
            "description": "增容到800kVA",
        },
    )
    # then it is the hospital's request of that kind and subtype, from the committee
    assert answer.status_code == 302
    request = ServiceRequest.objects.get()
    assert (request.kind, request.subtype, request.source) == (
        "capacity_change",
        "increase",
        Source.COMMITTEE,
    )
    assert request.customer == grid.hospital
