"""The request's page (stages as a timeline with their clocks, events, callbacks, its actions), the
new request form and the customer page's requests (service.md, issue 16 item 8)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from service.models import (
    CalendarYear,
    Callback,
    RequestStage,
    RequestStatus,
    ServiceRequest,
    StageEvent,
    StageStatus,
)
from service.services import Applicant, request_close, request_open, stage_advance
from tests.factories import FollowUpFactory, UserFactory

LOCAL = ZoneInfo("Asia/Shanghai")


def _open(world, kind="meter_fault", subtype="", **kwargs):
    arguments = {
        "kind": kind,
        "subtype": subtype,
        "source": "manager",
        "by": world.manager_a.user,
        "customer": world.customer_a,
        "description": "电能表黑屏",
    } | kwargs  # a metering fault: one stage, "check", the metering department's
    return request_open(**arguments)


def _page(client, request):
    return client.get(reverse("service:request", args=[request.pk]))


def _post(client, request, **data):
    return client.post(reverse("service:request", args=[request.pk]), data)


def _zh(message: str) -> str:
    """The service's message as a Chinese page shows it."""
    with translation.override("zh-hans"):
        return translation.gettext(message)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# ---------------------------------------------------------------- the page
def test_request_page_shows_its_stages_as_a_timeline_with_department_and_clock(client, world):
    # given an open metering fault of customer A (one stage, the metering department's, 4 working days)
    request = _open(world)
    client.force_login(world.manager_a.user)
    # when the owner opens its page (in English, to read the clock's words)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = _page(client, request)
    # then it shows the customer, the stage with its department and the time left in working days
    html = response.content.decode()
    assert response.status_code == 200
    assert world.customer_a.name in html
    stage = response.context["stages"][0]
    assert stage.department == world.departments["metering"]
    assert stage.clock.state == "ok"
    assert "working days left" in stage.clock.text
    assert 'class="timeline"' in html
    assert world.departments["metering"].name in html


def test_a_working_day_due_date_reads_as_24_00_of_the_due_day(client, world):
    # given a metering fault received on Wednesday 2026-09-30, across National Day (4 working days:
    # 8, 9, Saturday 10 a make-up working day, 12 October)
    request = _open(world, received_at=dt.datetime(2026, 9, 30, 10, tzinfo=LOCAL))
    client.force_login(world.manager_a.user)
    # when its page is shown
    response = _page(client, request)
    # then the stage is due "2026-10-12 24:00", not 13 October 00:00
    assert response.context["stages"][0].clock.due == "2026-10-12 24:00"
    assert "2026-10-12 24:00" in response.content.decode()


def test_a_clock_in_a_year_without_calendar_shows_the_warning(client, world):
    # given the work calendar of next year not loaded and a request whose due date falls there
    CalendarYear.objects.filter(year=2027).delete()
    request = _open(world, received_at=dt.datetime(2026, 12, 30, 10, tzinfo=LOCAL))
    client.force_login(world.manager_a.user)
    # when its page is shown
    response = _page(client, request)
    # then it says the due dates count Monday to Friday
    assert request.calendar_missing
    assert 'id="calendar-missing"' in response.content.decode()


def test_another_managers_request_answers_404(client, world):
    # given a request of manager B's customer
    request = _open(world, by=world.manager_b.user, customer=world.customer_b)
    client.force_login(world.manager_a.user)
    # when manager A opens it, or posts an action to it
    shown = _page(client, request)
    posted = _post(client, request, action="cancel", reason="不需要了")
    # then both answer 404 and nothing changed
    assert (shown.status_code, posted.status_code) == (404, 404)
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.OPEN


# ---------------------------------------------------------------- the actions
def test_department_staff_complete_the_active_stage_with_one_tap(client, world):
    # given a metering fault whose only stage is the metering department's
    request = _open(world)
    client.force_login(world.staff)
    # when the metering staff tap "完成本环节"
    response = _post(client, request, action="advance", stage="check", note="已换表")
    # then the stage is done by them and the page says so
    stage = RequestStage.objects.get(request=request)
    assert response.status_code == 302
    assert (stage.status, stage.done_by, stage.note) == (StageStatus.DONE, world.staff, "已换表")


def test_completing_a_stage_someone_else_just_completed_says_so(client, world):
    # given a stage the owner has just completed
    request = _open(world)
    stage_advance(request=request, stage_code="check", by=world.manager_a.user)
    client.force_login(world.staff)
    # when the staff's tap on the same stage arrives a moment later
    response = client.post(
        reverse("service:request", args=[request.pk]),
        {"action": "advance", "stage": "check"},
        follow=True,
    )
    # then they read that someone else did it, and the stage was done once
    assert "该环节已由他人完成。" in _messages(response)
    assert StageEvent.objects.filter(request=request, action="done").count() == 1


def test_staff_of_another_department_cannot_complete_the_active_stage(client, world):
    # given a new connection whose active stage (accept) is the marketing department's
    request = _open(
        world,
        kind="new_connection",
        subtype="lv_non_residential",
        customer=None,
        applicant=Applicant(name="丙食品厂", phone="13800000000", address="工业园1号"),
        station=world.station_a,
    )
    active = request.stages.get(status=StageStatus.ACTIVE)
    assert active.department.kind == "marketing"
    client.force_login(world.staff)  # metering: its stage comes last
    # when the metering staff post "done" for it
    response = client.post(
        reverse("service:request", args=[request.pk]),
        {"action": "advance", "stage": active.code},
        follow=True,
    )
    # then they are told they may not, and the stage is still active
    assert response.status_code == 200
    assert _messages(response) == [
        _zh("Only the stage's department, the request's owner or their supervisor may do this.")
    ]
    assert RequestStage.objects.get(pk=active.pk).status == StageStatus.ACTIVE


def test_waiting_without_a_reason_is_refused_on_the_field_and_nothing_changes(client, world):
    # given a load-control install, whose one stage customer waiting pauses
    request = _open(world, kind="load_control_install")
    client.force_login(world.manager_a.user)
    # when the owner asks to wait for the customer without saying why
    response = _post(client, request, action="wait", reason="")
    # then the page answers 400 with the message on the field, and the clock still runs
    assert response.status_code == 400
    assert "请说明需要客户做什么。" in response.content.decode()
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.OPEN
    assert RequestStage.objects.get(request=request).waiting_since is None


def test_waiting_for_the_customer_pauses_the_clock_and_resume_restarts_it(client, world):
    # given a load-control install in progress
    request = _open(world, kind="load_control_install")
    client.force_login(world.manager_a.user)
    # when the owner pauses it for the customer's documents
    _post(client, request, action="wait", reason="客户补充用电申请资料")
    paused = _page(client, request)
    # then the page shows the stage paused with the reason, and offers to resume
    assert paused.context["stages"][0].clock.state == "paused"
    assert paused.context["can"]["resume"]
    assert "客户补充用电申请资料" in paused.content.decode()
    # and when the customer is ready, the clock runs again
    _post(client, request, action="resume")
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.OPEN
    assert RequestStage.objects.get(request=request).status == StageStatus.ACTIVE


def test_owner_closes_after_the_last_stage_and_records_the_callback(client, world):
    # given a metering fault whose stage the staff completed
    request = _open(world)
    stage_advance(request=request, stage_code="check", by=world.staff)
    client.force_login(world.manager_a.user)
    # when the owner closes it and records the callback
    closed = _post(client, request, action="close")
    called = _post(client, request, action="callback", reached="1", satisfaction="5", comment="很满意")
    # then it is closed with its callback, shown on its page
    assert (closed.status_code, called.status_code) == (302, 302)
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.CLOSED
    assert Callback.objects.get(request=request).satisfaction == 5
    assert "很满意" in _page(client, request).content.decode()


def test_closing_before_the_last_stage_shows_the_conflict_and_keeps_it_open(client, world):
    # given a metering fault whose stage is still active
    request = _open(world)
    client.force_login(world.manager_a.user)
    # when the owner posts close anyway (a stale page)
    response = client.post(reverse("service:request", args=[request.pk]), {"action": "close"}, follow=True)
    # then the page shows the service's refusal, and the request stays open
    assert _messages(response) == [
        _zh("Stages of this request are not done yet: it closes after the last one.")
    ]
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.OPEN


def test_a_callback_of_a_reached_customer_without_satisfaction_is_refused(client, world):
    # given a closed request
    request = _open(world)
    stage_advance(request=request, stage_code="check", by=world.staff)
    request_close(request=request, by=world.manager_a.user)
    client.force_login(world.manager_a.user)
    # when a callback says the customer was reached but gives no satisfaction
    response = _post(client, request, action="callback", reached="1", comment="")
    # then it is refused on the satisfaction, nothing recorded
    assert response.status_code == 400
    assert response.context["forms"]["callback"].errors["satisfaction"]
    assert not Callback.objects.filter(request=request).exists()


def test_cancelling_needs_a_reason_then_cancels(client, world):
    request = _open(world)
    client.force_login(world.manager_a.user)
    # when the owner cancels without, then with a reason
    refused = _post(client, request, action="cancel", reason="  ")
    cancelled = _post(client, request, action="cancel", reason="客户撤回")
    # then the first is refused on the field, the second cancels
    assert refused.status_code == 400
    assert cancelled.status_code == 302
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.CANCELLED


def test_an_unknown_action_changes_nothing(client, world):
    request = _open(world)
    client.force_login(world.manager_a.user)
    response = _post(client, request, action="delete")
    assert response.status_code == 302
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.OPEN


@pytest.mark.parametrize("role", ["manager", "staff"])
def test_request_page_takes_the_same_queries_with_one_stage_or_seven_and_many_events(client, world, role):
    # given a one-stage request, and a seven-stage one with stages done, events and callbacks
    small = _open(world)
    large = _open(
        world,
        kind="new_connection",
        subtype="hv_single",
        customer=None,
        applicant=Applicant(name="丁化工厂", phone="13700000000", address="园区", voltage_kv=10),
        station=world.station_a,
    )
    for stage in large.stages.order_by("position")[:5]:
        stage_advance(request=large, stage_code=stage.code, by=world.manager_a.user, note="好")
    user = {"manager": world.manager_a.user, "staff": world.staff}[role]
    client.force_login(user)
    # when each page is rendered
    counts = []
    for request in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert _page(client, request).status_code == 200
        counts.append(len(queries))
    # then both take the same few queries
    assert counts[0] == counts[1] <= 10, counts


# ---------------------------------------------------------------- a new request
def test_new_request_from_the_customer_page_opens_it_for_that_customer(client, world):
    client.force_login(world.manager_a.user)
    url = reverse("service:request-new") + f"?customer={world.customer_a.pk}"
    # given the form opened from customer A's page
    shown = client.get(url)
    assert world.customer_a.name in shown.content.decode()
    # when the manager asks for a prepaid meter install
    response = client.post(url, {"kind": "prepaid_meter_install", "description": "改装卡表"})
    # then it opens, owned by them, and they land on its page
    request = ServiceRequest.objects.get(customer=world.customer_a)
    assert response.status_code == 302
    assert response["Location"] == reverse("service:request", args=[request.pk])
    assert (request.kind, request.owner, request.source) == (
        "prepaid_meter_install",
        world.manager_a.user,
        "manager",
    )


def test_new_connection_for_an_applicant_opens_with_the_applicants_data(client, world):
    client.force_login(world.manager_a.user)
    # when the manager enters an applicant's new connection
    response = client.post(
        reverse("service:request-new"),
        {
            "kind": "new_connection",
            "subtype": "residential",
            "description": "新建住宅报装",
            "applicant_name": "王五",
            "applicant_phone": "13900000000",
            "applicant_address": "城关镇2号",
            "capacity_kva": "8",
            "voltage_kv": "0.22",
            "station": world.station_a.pk,
        },
    )
    # then the request holds the applicant and its stages
    request = ServiceRequest.objects.get(applicant_name="王五")
    assert response.status_code == 302
    assert (request.applicant_phone, request.station) == ("13900000000", world.station_a)
    assert request.stages.count() == 2


def test_a_subtype_of_another_kind_is_refused_and_nothing_is_written(client, world):
    client.force_login(world.manager_a.user)
    response = client.post(
        reverse("service:request-new"),
        {
            "kind": "complaint",
            "subtype": "residential",
            "description": "x",
            "account_no": world.customer_a.account_no,
        },
    )
    assert response.status_code == 400
    assert response.context["form"].errors["subtype"]
    assert not ServiceRequest.objects.exists()


def test_another_managers_account_number_is_refused_like_an_unknown_one(client, world):
    client.force_login(world.manager_a.user)
    response = client.post(
        reverse("service:request-new"),
        {"kind": "meter_fault", "description": "x", "account_no": world.customer_b.account_no},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["account_no"] == ["您负责的客户中没有这个户号。"]
    assert not ServiceRequest.objects.exists()


def test_another_managers_customer_in_the_address_answers_404(client, world):
    client.force_login(world.manager_a.user)
    response = client.get(reverse("service:request-new"), {"customer": world.customer_b.pk})
    assert response.status_code == 404


def test_a_visit_follow_up_becomes_a_request_linked_to_it(client, world):
    # given a billing follow-up of a visit to customer A, not yet a request
    follow_up = FollowUpFactory(
        report__task__customer=world.customer_a,
        report__task__manager=world.manager_a.user,
        action="核对峰谷电价",
    )
    client.force_login(world.manager_a.user)
    url = reverse("service:request-new") + f"?follow_up={follow_up.pk}"
    # when the manager opens the form from it, the kind and description come from the follow-up
    form = client.get(url).context["form"]
    assert (form["kind"].value(), form["description"].value()) == ("billing_query", "核对峰谷电价")
    # and sending it opens the request from the visit, linked to the follow-up
    client.post(url, {"kind": "billing_query", "description": "核对峰谷电价"})
    request = ServiceRequest.objects.get(follow_up=follow_up)
    assert (request.source, request.customer) == ("visit", world.customer_a)
    # and the follow-up's link now leads to that request
    again = client.get(url)
    assert again["Location"] == reverse("service:request", args=[request.pk])


def test_department_staff_may_not_open_requests(client, world):
    client.force_login(world.staff)
    assert client.get(reverse("service:request-new")).status_code == 403


# ---------------------------------------------------------------- the customer page
def test_customer_page_lists_the_customers_requests_and_offers_a_new_one(client, world):
    # given a request of customer A, and one of customer B
    mine = _open(world)
    _open(world, by=world.manager_b.user, customer=world.customer_b, description="乙的诉求")
    client.force_login(world.manager_a.user)
    # when manager A opens customer A's page
    response = client.get(reverse("customers:detail", args=[world.customer_a.pk]))
    # then the request is listed with a link, and the new request link carries the customer
    html = response.content.decode()
    assert reverse("service:request", args=[mine.pk]) in html
    assert f"{reverse('service:request-new')}?customer={world.customer_a.pk}" in html
    assert response.context["service_requests"]["requests"] == [mine]


def test_a_visitor_not_logged_in_is_sent_to_log_in_from_a_request_page(client, world):
    request = _open(world)
    response = _page(client, request)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_user_without_the_service_permission_is_refused_a_request_page(client, world):
    # given a user of no role (no permission of the service pages)
    request = _open(world)
    client.force_login(UserFactory(username="nobody"))
    # when they open a request's page, then it is refused
    assert _page(client, request).status_code == 403
