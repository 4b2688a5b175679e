"""Follow-ups become requests (service.md, "From a visit"): a visit report's follow-up for a
department opens the matching request, owned by the manager and linked to it; the follow-up closes
with its request and not by hand while the request runs; follow-ups raised before one-stop service
are converted by migration 0004."""

import datetime as dt
import importlib
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from crm.common import pages
from crm.common.errors import Conflict
from service.follow_ups import follow_ups_convert, follow_ups_raised, follow_ups_unconvert
from service.models import RequestStage, RequestStatus, ServiceRequest, Source, StageStatus
from service.services import request_cancel, request_close, stage_advance
from tests.factories import CommunityFactory, FollowUpFactory, VisitReportFactory, VisitTaskFactory
from visits.admin import FollowUpInlineForm
from visits.models import FollowUp, FollowUpStatus
from visits.reports import follow_up_close, visit_report_submit

LOCAL = ZoneInfo("Asia/Shanghai")


def _report(world, follow_ups, django_capture_on_commit_callbacks):
    """Manager A reports a visit to customer A with these follow-ups; the hook runs on commit."""
    today = timezone.localdate()
    task = VisitTaskFactory(
        customer=world.customer_a, period=today.replace(day=1), due_date=today + dt.timedelta(days=10)
    )
    with django_capture_on_commit_callbacks(execute=True):
        return visit_report_submit(
            task=task,
            by=world.manager_a.user,
            visited_on=today,
            channel="on_site",
            business_trend="stable",
            satisfaction=5,
            follow_ups=follow_ups,
        )


def _request_of(report) -> ServiceRequest:
    return ServiceRequest.objects.select_related("follow_up").get(follow_up__report=report)


def _finish(request, by):
    for stage in RequestStage.objects.filter(request=request).order_by("position"):
        stage_advance(request=request, stage_code=stage.code, by=by)


# ---------------------------------------------------------------- a report raises follow-ups
def test_a_billing_follow_up_in_a_report_opens_a_billing_query_owned_by_the_manager(
    world, django_capture_on_commit_callbacks
):
    # given a visit report with a follow-up for 抄核收
    report = _report(
        world, [{"department": "billing", "action": "核对电费账单"}], django_capture_on_commit_callbacks
    )
    # when it has been committed
    request = _request_of(report)
    # then a billing query from the visit opened for the customer, owned by the manager
    assert (request.kind, request.source, request.customer_id) == (
        "billing_query",
        Source.VISIT,
        world.customer_a.pk,
    )
    assert request.owner_id == world.manager_a.user.pk
    assert request.description == "核对电费账单"
    assert RequestStage.objects.get(request=request).department == world.departments["billing"]


def test_a_new_connection_follow_up_opens_a_capacity_increase_on_the_customer_voltage(
    world, django_capture_on_commit_callbacks
):
    # given a follow-up for 新装/增容 on a 0.38 kV customer
    report = _report(
        world, [{"department": "new_connection", "action": "申请增容"}], django_capture_on_commit_callbacks
    )
    request = _request_of(report)
    # then it is a capacity increase following the low-voltage connection's stages
    assert (request.kind, request.subtype, request.template.variant) == ("capacity_change", "increase", "lv")
    assert request.stages.get(status=StageStatus.ACTIVE).code == "accept"


@pytest.mark.parametrize(
    ("department", "kind"),
    [("orderly_power_use", "orderly_use_agreement"), ("load_control", "load_control_install")],
)
def test_orderly_use_and_load_control_follow_ups_open_their_kinds(
    world, django_capture_on_commit_callbacks, department, kind
):
    report = _report(
        world, [{"department": department, "action": "办理"}], django_capture_on_commit_callbacks
    )
    assert _request_of(report).kind == kind


def test_an_other_follow_up_stays_a_plain_follow_up(world, django_capture_on_commit_callbacks):
    # given a follow-up for "other"
    report = _report(world, [{"department": "other", "action": "转交"}], django_capture_on_commit_callbacks)
    # then no request is opened
    assert not ServiceRequest.objects.filter(follow_up__report=report).exists()


def test_a_follow_up_reported_as_done_at_the_visit_opens_no_request(
    world, django_capture_on_commit_callbacks
):
    # given a billing follow-up the manager settled on the spot
    report = _report(
        world,
        [{"department": "billing", "action": "当场解释", "status": FollowUpStatus.CLOSED}],
        django_capture_on_commit_callbacks,
    )
    assert not ServiceRequest.objects.filter(follow_up__report=report).exists()


def test_no_request_opens_before_the_report_commits(world):
    # given a report written inside a transaction that has not committed (no on-commit run)
    today = timezone.localdate()
    task = VisitTaskFactory(customer=world.customer_a, period=today.replace(day=1), due_date=today)
    visit_report_submit(
        task=task,
        by=world.manager_a.user,
        visited_on=today,
        channel="on_site",
        business_trend="stable",
        satisfaction=5,
        follow_ups=[{"department": "billing", "action": "核对"}],
    )
    # then nothing is opened yet
    assert not ServiceRequest.objects.exists()


def test_raising_the_same_follow_up_twice_opens_one_request(world, django_capture_on_commit_callbacks):
    report = _report(world, [{"department": "billing", "action": "核对"}], django_capture_on_commit_callbacks)
    follow_up = report.follow_ups.get()
    # when the hook runs again for it
    assert follow_ups_raised(follow_up_ids=[follow_up.pk]) == []
    assert ServiceRequest.objects.filter(follow_up=follow_up).count() == 1


def test_a_follow_up_on_a_community_visit_stays_plain(world):
    # given a follow-up raised at a visit with no customer
    task = VisitTaskFactory(
        customer=None, manager=world.manager_a.user, community=CommunityFactory(station=world.station_a)
    )
    follow_up = FollowUpFactory(report=VisitReportFactory(task=task, by=world.manager_a.user))
    # when the hook runs
    assert follow_ups_raised(follow_up_ids=[follow_up.pk]) == []


# ---------------------------------------------------------------- closing
def test_closing_the_request_closes_its_follow_up_that_day(world, django_capture_on_commit_callbacks):
    report = _report(world, [{"department": "billing", "action": "核对"}], django_capture_on_commit_callbacks)
    request = _request_of(report)
    # when the department does the work and the manager closes the request
    _finish(request, world.manager_a.user)
    request_close(request=request, by=world.manager_a.user)
    # then the follow-up is closed, on the day the request closed
    follow_up = FollowUp.objects.get(pk=request.follow_up_id)
    assert (follow_up.status, follow_up.closed_on) == (FollowUpStatus.CLOSED, timezone.localdate())


def test_a_follow_up_with_a_running_request_cannot_be_closed_by_hand(
    world, django_capture_on_commit_callbacks
):
    report = _report(world, [{"department": "billing", "action": "核对"}], django_capture_on_commit_callbacks)
    request = _request_of(report)
    # when the manager tries to close the follow-up themself
    with pytest.raises(ValidationError) as refused:
        follow_up_close(follow_up=request.follow_up, by=world.manager_a.user)
    # then it is refused with a message naming the request, and nothing changes
    assert request.number in refused.value.messages[0]
    assert FollowUp.objects.get(pk=request.follow_up_id).status == FollowUpStatus.OPEN


def test_the_admin_refuses_closing_a_follow_up_a_request_carries(world, django_capture_on_commit_callbacks):
    report = _report(world, [{"department": "billing", "action": "核对"}], django_capture_on_commit_callbacks)
    follow_up = report.follow_ups.get()
    form = FollowUpInlineForm(
        data={"department": "billing", "action": "核对", "status": "closed"},
        instance=follow_up,
    )
    assert not form.is_valid()
    assert _request_of(report).number in str(form.errors)


def test_a_follow_up_whose_request_was_cancelled_can_be_closed_by_hand(
    world, django_capture_on_commit_callbacks
):
    report = _report(world, [{"department": "billing", "action": "核对"}], django_capture_on_commit_callbacks)
    request = _request_of(report)
    request_cancel(request=request, reason="客户撤回", by=world.manager_a.user)
    # when the manager closes the follow-up
    follow_up_close(follow_up=request.follow_up, by=world.manager_a.user)
    assert FollowUp.objects.get(pk=request.follow_up_id).status == FollowUpStatus.CLOSED


def test_the_request_still_refuses_to_close_before_its_stages(world, django_capture_on_commit_callbacks):
    report = _report(world, [{"department": "billing", "action": "核对"}], django_capture_on_commit_callbacks)
    with pytest.raises(Conflict):
        request_close(request=_request_of(report), by=world.manager_a.user)
    assert report.follow_ups.get().status == FollowUpStatus.OPEN


# ---------------------------------------------------------------- follow-ups raised before (migration 0004)
def _old_follow_up(world, **kwargs):
    """A follow-up of a visit made on Wednesday 2026-09-30 (each on a task of its own)."""
    period = dt.date(2026, 9, 1 + VisitTaskFactory._meta.model.objects.count())
    task = VisitTaskFactory(customer=world.customer_a, period=period, due_date=dt.date(2026, 9, 30))
    report = VisitReportFactory(task=task, visited_on=dt.date(2026, 9, 30), by=world.manager_a.user)
    return FollowUpFactory(report=report, **kwargs)


NOW = dt.datetime(2026, 10, 9, 12, tzinfo=LOCAL)


def test_convert_opens_an_open_follow_up_at_its_first_stage_received_on_the_visit_day(world):
    # given an open billing follow-up from a visit on Wednesday 2026-09-30
    follow_up = _old_follow_up(world, department="billing")
    # when converted
    assert follow_ups_convert(now=NOW) == 1
    request = ServiceRequest.objects.get(follow_up=follow_up)
    stage = request.stages.get()
    # then an open request of the visit, received that day, its 6 working days across National Day
    # (8, 9, make-up Saturday 10 October, 12, 13, 14) ending at 24:00 of 14 October
    assert (request.status, request.source, request.owner_id) == (
        RequestStatus.OPEN,
        Source.VISIT,
        world.manager_a.pk,
    )
    assert request.received_at.astimezone(LOCAL).date() == dt.date(2026, 9, 30)
    assert request.number == f"FW20260930{request.pk:06d}"
    assert stage.status == StageStatus.ACTIVE
    assert stage.due_at == dt.datetime(2026, 10, 15, tzinfo=LOCAL)
    assert stage.department == world.departments["billing"]
    assert list(request.events.values_list("action", flat=True)) == ["opened", "started"]


def test_convert_makes_a_closed_follow_up_a_closed_request_with_every_stage_done_that_day(world):
    # given a capacity follow-up closed on 2026-10-20
    follow_up = _old_follow_up(
        world, department="new_connection", status="closed", closed_on=dt.date(2026, 10, 20)
    )
    follow_ups_convert(now=NOW)
    request = ServiceRequest.objects.get(follow_up=follow_up)
    stages = list(request.stages.order_by("position"))
    # then the request is closed that day and every stage is done then
    assert request.status == RequestStatus.CLOSED
    assert request.closed_at.astimezone(LOCAL).date() == dt.date(2026, 10, 20)
    assert len(stages) == 4
    assert {(s.status, s.done_at) for s in stages} == {(StageStatus.DONE, request.closed_at)}
    # the first stage (1 working day) was late, the others started and ended at the closing
    assert [s.sla_state for s in stages] == ["breached", "ok", "ok", "ok"]
    assert FollowUp.objects.get(pk=follow_up.pk).status == FollowUpStatus.CLOSED


def test_convert_leaves_other_and_already_linked_follow_ups(world):
    _old_follow_up(world, department="other")
    follow_ups_convert(now=NOW)
    _old_follow_up(world, department="billing")
    # when converted twice
    assert follow_ups_convert(now=NOW) == 1
    assert follow_ups_convert(now=NOW) == 0
    assert ServiceRequest.objects.count() == 1


def test_unconvert_removes_the_requests_made_from_follow_ups_and_keeps_the_follow_ups(world):
    follow_up = _old_follow_up(world, department="billing")
    follow_ups_convert(now=NOW)
    assert follow_ups_unconvert() == 1
    assert not ServiceRequest.objects.exists()
    assert FollowUp.objects.get(pk=follow_up.pk).status == FollowUpStatus.OPEN


def test_the_migration_converts_with_its_own_models_and_reverses(world):
    # given an open follow-up and the models as migration 0004 sees them
    follow_up = _old_follow_up(world, department="load_control")
    migration = importlib.import_module("service.migrations.0004_follow_ups_to_requests")
    state = MigrationExecutor(connection).loader.project_state(("service", "0004_follow_ups_to_requests"))
    # when the migration runs forwards
    migration.forwards(state.apps, None)
    # then the follow-up has its request
    assert ServiceRequest.objects.get(follow_up=follow_up).kind == "load_control_install"
    # and backwards it is gone
    migration.backwards(state.apps, None)
    assert not ServiceRequest.objects.exists()


# ---------------------------------------------------------------- the customer page shows it
def _visit_history_html(world, user) -> str:
    request = RequestFactory().get("/")
    request.user = user
    part = pages.parts("customer_detail", request=request, customer=world.customer_a)["visit_history"]
    return render_to_string("visits/_history.html", {"customer": world.customer_a, **part}, request=request)


def test_the_customer_page_links_a_follow_up_to_its_request(world, django_capture_on_commit_callbacks):
    # given a visit whose billing follow-up opened a request
    report = _report(world, [{"department": "billing", "action": "核对"}], django_capture_on_commit_callbacks)
    request = _request_of(report)
    # when the manager looks at the customer's visits
    html = _visit_history_html(world, world.manager_a.user)
    # then the follow-up links to its request
    assert f'href="{reverse("service:request", args=[request.pk])}"' in html
    assert request.number in html


def test_the_customer_page_offers_a_request_for_an_open_other_follow_up(
    world, django_capture_on_commit_callbacks
):
    report = _report(world, [{"department": "other", "action": "转交"}], django_capture_on_commit_callbacks)
    html = _visit_history_html(world, world.manager_a.user)
    assert f"{reverse('service:request-new')}?follow_up={report.follow_ups.get().pk}" in html
