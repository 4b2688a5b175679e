"""The customer relationship committee: its members, a meeting's agenda with the outages ahead,
and a need raised there becoming a service request whose fate the next agenda shows."""

import datetime as dt

from django.utils import timezone

from notices.models import Committee, CommitteeMember, Meeting, Need
from service.models import ServiceRequest, Source
from tests.factories import ContactFactory
from tests.notices.conftest import notice_body


def _committee(grid):
    committee = Committee.objects.create(branch=grid.world.station_a.branch, name="城关客户关系委员会")
    contact = ContactFactory(customer=grid.hospital, name="刘科长", is_primary=False, phone="13900000009")
    CommitteeMember.objects.create(committee=committee, contact=contact, role="member")
    CommitteeMember.objects.create(committee=committee, user=grid.world.supervisor, role="chair")
    return committee


def test_a_meetings_agenda_lists_the_outages_ahead_affecting_members(grid, api, publish):
    committee = _committee(grid)
    supervisor = grid.world.supervisor
    notice_id = api(supervisor).post("/api/v1/outage-notices/", notice_body(grid), format="json").data["id"]
    publish(supervisor, notice_id)
    created = api(supervisor).post(
        "/api/v1/committee-meetings/",
        {"committee": committee.pk, "held_on": timezone.localdate().isoformat(), "place": "县公司三楼会议室"},
        format="json",
    )
    assert created.status_code == 201, created.data
    detail = api(supervisor).get(f"/api/v1/committee-meetings/{created.data['id']}/")
    assert detail.status_code == 200
    outages = detail.data["agenda"]["outages"]
    assert [o["id"] for o in outages] == [notice_id]
    assert outages[0]["members_affected"] == 1


def test_a_need_raised_at_a_meeting_becomes_the_customers_request_and_shows_on_the_next_agenda(grid, api):
    committee = _committee(grid)
    supervisor = grid.world.supervisor
    meeting = Meeting.objects.create(
        committee=committee, held_on=timezone.localdate() - dt.timedelta(days=90)
    )
    answer = api(supervisor).post(
        f"/api/v1/committee-meetings/{meeting.pk}/needs/",
        {"customer": grid.hospital.pk, "description": "希望增加一路备用电源", "kind": "consultation"},
        format="json",
    )
    assert answer.status_code == 201, answer.data
    request = ServiceRequest.objects.get(pk=answer.data["id"])
    assert (request.source, request.customer, request.owner) == (
        Source.COMMITTEE,
        grid.hospital,
        grid.world.manager_a.user,
    )
    assert Need.objects.get().request == request
    following = Meeting.objects.create(committee=committee, held_on=timezone.localdate())
    agenda = api(supervisor).get(f"/api/v1/committee-meetings/{following.pk}/").data["agenda"]
    assert [n["request"] for n in agenda["previous_needs"]] == [request.pk]
    assert agenda["previous_needs"][0]["request_status"] == "open"
    assert [r["id"] for r in agenda["open_requests"]] == [request.pk]


def test_a_need_for_a_customer_no_member_speaks_for_is_refused(grid, api):
    committee = _committee(grid)
    meeting = Meeting.objects.create(committee=committee, held_on=timezone.localdate())
    answer = api(grid.world.supervisor).post(
        f"/api/v1/committee-meetings/{meeting.pk}/needs/",
        {"customer": grid.homes[0].pk, "description": "x", "kind": "consultation"},
        format="json",
    )
    assert answer.status_code == 400
    assert "customer" in answer.data
    assert not ServiceRequest.objects.exists()


def test_another_branchs_committee_is_not_found(grid, api):
    from tests.factories import BranchFactory, CompanyFactory

    other = Committee.objects.create(
        branch=BranchFactory(code="BR02", company=CompanyFactory()), name="另一委员会"
    )
    meeting = Meeting.objects.create(committee=other, held_on=timezone.localdate())
    client = api(grid.world.supervisor)
    assert client.get(f"/api/v1/committees/{other.pk}/").status_code == 404
    assert client.get(f"/api/v1/committee-meetings/{meeting.pk}/").status_code == 404
    answer = client.post(
        "/api/v1/committee-meetings/", {"committee": other.pk, "held_on": "2026-12-01"}, format="json"
    )
    assert answer.status_code == 400
    assert "committee" in answer.data


def test_the_meeting_notice_texts_every_member_with_a_mobile_once(
    grid, api, gateway, django_capture_on_commit_callbacks
):
    # given a committee of the hospital's contact (a mobile), the supervisor (a staff member with a
    # mobile) and a contact with a landline, and its next meeting
    running = gateway()
    committee = _committee(grid)
    supervisor = grid.world.supervisor
    supervisor.phone = "138 0000 1234"
    supervisor.save(update_fields=["phone"])
    landline = ContactFactory(customer=grid.hospital, name="值班室", is_primary=False, phone="0571-88886666")
    CommitteeMember.objects.create(committee=committee, contact=landline, role="member")
    meeting = Meeting.objects.create(
        committee=committee, held_on=timezone.localdate() + dt.timedelta(days=7), place="三楼会议室"
    )
    # when the supervisor sends the meeting notice (the sending after the commit run)
    with django_capture_on_commit_callbacks(execute=True):
        answer = api(supervisor).post(f"/api/v1/committee-meetings/{meeting.pk}/notify/")
    # then the two mobiles get it once, in Chinese, and the landline is counted
    assert answer.status_code == 200, answer.data
    assert answer.data == {"texted": 2, "unreachable": 1}
    assert sorted(d["mobile"] for d in running.delivered) == ["13800001234", "13900000009"]
    assert all("城关客户关系委员会" in d["text"] and "三楼会议室" in d["text"] for d in running.delivered)
    meeting.refresh_from_db()
    assert meeting.notified_at is not None
    # and a second time is a conflict that sends nothing more
    with django_capture_on_commit_callbacks(execute=True):
        again = api(supervisor).post(f"/api/v1/committee-meetings/{meeting.pk}/notify/")
    assert again.status_code == 409
    assert len(running.delivered) == 2


def test_the_meeting_page_sends_the_notice_and_then_says_when(grid, client, gateway):
    gateway()
    committee = _committee(grid)
    meeting = Meeting.objects.create(committee=committee, held_on=timezone.localdate())
    client.force_login(grid.world.supervisor)
    page = client.get(f"/notices/meetings/{meeting.pk}/")
    assert f"/notices/meetings/{meeting.pk}/notify/" in page.content.decode()
    answer = client.post(f"/notices/meetings/{meeting.pk}/notify/", follow=True)
    text = answer.content.decode()
    assert f"/notices/meetings/{meeting.pk}/notify/" not in text  # the button gives way to the time
    meeting.refresh_from_db()
    assert meeting.notified_at is not None
