"""The request lifecycle (service.md): opening, stages done in order by the right people, customer
waiting, close, cancel and the callback."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from crm.accounts import roles
from crm.common.errors import Conflict
from customers.models import Station
from service.models import RequestStage, RequestStatus, ServiceRequest, SlaState, StageEvent, StageStatus
from service.services import (
    Applicant,
    callback_record,
    request_cancel,
    request_close,
    request_open,
    request_resume,
    request_wait_customer,
    stage_advance,
)
from tests.factories import (
    BranchFactory,
    CustomerFactory,
    StaffProfileFactory,
    StationFactory,
    UserFactory,
    VisitReportFactory,
)

LOCAL = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LOCAL)


@pytest.fixture(autouse=True)
def calendar_2026(db):
    """The work calendar of 2026 as the data migration seeds it: a transactional test run before
    this module (on PostgreSQL) flushes the tables and the migration's rows with them."""
    from service.calendar import calendar_seed_from_package

    calendar_seed_from_package(years=[2026])


def open_for(world, kind="meter_fault", **kwargs) -> ServiceRequest:
    fields = {"kind": kind, "source": "manager", "by": world.manager_a.user, "customer": world.customer_a}
    return request_open(**(fields | kwargs))


def stages(request) -> list[RequestStage]:
    return list(request.stages.order_by("position"))


def finish(request, by, *, when=None) -> None:
    """Complete every stage left, in order."""
    for stage in stages(request):
        if stage.status != StageStatus.DONE:
            stage_advance(request=request, stage_code=stage.code, by=by, at=when)


# ---------------------------------------------------------------- opening: what is refused
def test_open_refuses_an_unknown_kind_on_its_field(world):
    # given a kind that does not exist
    # when it is opened
    with pytest.raises(ValidationError) as refused:
        open_for(world, kind="coffee")
    # then the refusal names the kind and nothing is written
    assert "kind" in refused.value.message_dict
    assert not ServiceRequest.objects.exists()


def test_open_refuses_a_new_connection_without_its_subtype(world):
    with pytest.raises(ValidationError) as refused:
        open_for(world, kind="new_connection")
    assert "subtype" in refused.value.message_dict


def test_open_refuses_a_subtype_of_another_kind(world):
    with pytest.raises(ValidationError) as refused:
        open_for(world, kind="complaint", subtype="hv_single")
    assert "subtype" in refused.value.message_dict


def test_open_refuses_neither_customer_nor_applicant_on_customer(world):
    with pytest.raises(ValidationError) as refused:
        open_for(world, customer=None)
    assert "customer" in refused.value.message_dict


def test_open_refuses_an_applicant_without_a_station(world):
    with pytest.raises(ValidationError) as refused:
        open_for(
            world, kind="new_connection", subtype="residential", customer=None, applicant=Applicant("王五")
        )
    assert "station" in refused.value.message_dict


def test_open_refuses_a_customer_outside_the_callers_scope(world):
    # given manager A opening a request for manager B's customer
    with pytest.raises(ValidationError) as refused:
        open_for(world, customer=world.customer_b)
    # then it is refused on the customer, nothing written
    assert "customer" in refused.value.message_dict
    assert not ServiceRequest.objects.exists()


def test_open_refuses_an_applicant_for_a_kind_about_an_existing_account(world):
    with pytest.raises(ValidationError) as refused:
        open_for(
            world, kind="billing_query", customer=None, applicant=Applicant("王五"), station=world.station_a
        )
    assert "customer" in refused.value.message_dict


def test_open_refusal_is_in_chinese_for_a_chinese_user(world):
    from django.utils import translation

    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        open_for(world, customer=None)
    assert not any(c.isascii() and c.isalpha() for c in refused.value.message_dict["customer"][0])


# ---------------------------------------------------------------- opening: what is made
def test_open_gives_the_request_a_number_of_its_date_and_id(world):
    request = open_for(world, received_at=at(2026, 12, 1, 10))
    assert request.number == f"FW20261201{request.pk:06d}"
    assert ServiceRequest.objects.get(pk=request.pk).number == request.number


def test_open_gives_a_customers_request_to_the_customers_manager_in_its_station(world):
    request = open_for(world)
    assert request.owner == world.manager_a.user
    assert request.station == world.customer_a.station


def test_open_starts_the_first_stage_at_the_time_received_and_leaves_the_rest_pending(world):
    received = at(2026, 11, 2, 9, 30)
    request = open_for(world, kind="new_connection", subtype="lv_non_residential", received_at=received)
    first, *rest = stages(request)
    assert (first.code, first.status, first.started_at) == ("accept", StageStatus.ACTIVE, received)
    assert [s.status for s in rest] == [StageStatus.PENDING] * 3
    assert all(s.started_at is None for s in rest)


def test_open_gives_each_stage_the_branchs_department_of_its_kind(world):
    request = open_for(world, kind="new_connection", subtype="lv_non_residential")
    assert [s.department for s in stages(request)] == [
        world.departments["marketing"],
        world.departments["operations"],
        world.departments["marketing"],
        world.departments["metering"],
    ]


def test_open_leaves_an_owner_stage_without_a_department(world):
    request = open_for(world, kind="complaint", subtype="service")
    contact, answer = stages(request)
    assert (contact.department_kind, contact.department) == ("owner", None)
    assert answer.department == world.departments["marketing"]


def test_open_sends_an_outage_complaint_to_operations(world):
    request = open_for(world, kind="complaint", subtype="outage")
    assert stages(request)[1].department == world.departments["operations"]


def test_open_leaves_a_stage_without_department_when_the_branch_has_none_of_its_kind(world):
    # given a customer of a station in a branch with no departments
    station = StationFactory(branch=BranchFactory(code="BR99", name="另一县供电公司"))
    customer = CustomerFactory(station=station, manager=world.manager_a.user)
    request = open_for(world, customer=customer)
    assert stages(request)[0].department is None


def test_open_picks_the_lowest_code_of_two_departments_of_a_kind(world):
    from tests.factories import DepartmentFactory

    DepartmentFactory(branch=world.station_a.branch, kind="metering", code="A-metering")
    request = open_for(world)
    assert stages(request)[0].department.code == "A-metering"


def test_due_date_across_national_day_counts_the_makeup_saturday(world):
    # given an orderly use agreement (5 working days) received on Wednesday 2026-09-30
    request = open_for(world, kind="orderly_use_agreement", received_at=at(2026, 9, 30, 15))
    # then it is due at the end of Tuesday 2026-10-13 (8, 9, Saturday 10, 12, 13), stored as 24:00
    assert request.due_at == at(2026, 10, 14)
    assert stages(request)[0].due_at == at(2026, 10, 14)
    assert not request.calendar_missing


def test_open_flags_a_due_date_in_a_year_the_calendar_lacks(world):
    # given a 5-working-day request received at the end of 2026 (2027 is not loaded)
    request = open_for(world, kind="orderly_use_agreement", received_at=at(2026, 12, 29, 10))
    assert request.calendar_missing
    assert stages(request)[0].calendar_missing


def test_open_puts_the_warning_at_80_percent_of_the_limit(world):
    # given a reconnection (24 clock hours)
    request = open_for(world, kind="reconnection", received_at=at(2026, 11, 2, 8))
    assert request.warn_at == at(2026, 11, 2, 8) + dt.timedelta(hours=24 * 0.8)
    assert request.due_at == at(2026, 11, 3, 8)


def test_fault_repair_in_a_city_station_has_45_minutes_to_arrive(world):
    Station.objects.filter(pk=world.station_a.pk).update(area="city")
    world.customer_a.station.refresh_from_db()
    request = open_for(world, kind="fault_repair", received_at=at(2026, 11, 7, 23, 30))
    arrival, restore = stages(request)
    assert arrival.due_at == at(2026, 11, 8, 0, 15)
    assert (restore.limit, restore.unit) == (180, "minutes")
    assert request.due_at == at(2026, 11, 7, 23, 30) + dt.timedelta(minutes=225)


def test_fault_repair_in_a_remote_station_has_120_minutes_to_arrive(world):
    Station.objects.filter(pk=world.station_a.pk).update(area="remote")
    world.customer_a.station.refresh_from_db()
    request = open_for(world, kind="fault_repair")
    assert stages(request)[0].limit == 120


def test_capacity_change_of_a_10_kv_customer_follows_the_high_voltage_stages(world):
    world.customer_a.voltage_kv = Decimal("10")
    world.customer_a.save()
    request = open_for(world, kind="capacity_change", subtype="increase")
    assert len(stages(request)) == 7
    assert request.limit == 22


def test_capacity_change_of_a_low_voltage_customer_follows_the_low_voltage_stages(world):
    world.customer_a.voltage_kv = Decimal("0.38")
    world.customer_a.save()
    request = open_for(world, kind="capacity_change", subtype="decrease")
    assert [s.code for s in stages(request)] == ["accept", "survey", "supply_plan", "connect"]
    assert request.limit == 6


def test_open_records_opened_and_started_on_the_timeline(world):
    request = open_for(world)
    assert list(StageEvent.objects.filter(request=request).values_list("action", flat=True)) == [
        "opened",
        "started",
    ]


def test_open_with_a_ticket_number_already_used_answers_the_same_request(world):
    # given a 95598 ticket already made into a request
    first = open_for(world, source="call_centre", external_no="95598-001", by=world.integration)
    # when the same ticket comes again
    again = open_for(world, source="call_centre", external_no="95598-001", by=world.integration)
    # then it is the same request, nothing new written
    assert (first.created, again.created) == (True, False)
    assert again.pk == first.pk
    assert ServiceRequest.objects.count() == 1


def test_open_links_the_visit_follow_up(world):
    follow_up = VisitReportFactory().follow_ups.create(department="billing", action="核对电费")
    request = open_for(world, kind="billing_query", source="visit", follow_up=follow_up)
    assert ServiceRequest.objects.get(follow_up=follow_up) == request


# ---------------------------------------------------------------- stages in order
def test_advance_completes_the_active_stage_and_starts_the_next(world):
    request = open_for(world, kind="new_connection", subtype="residential", received_at=at(2026, 11, 2, 9))
    done = stage_advance(
        request=request, stage_code="accept", by=world.manager_a.user, note="资料齐全", at=at(2026, 11, 2, 11)
    )
    accept, connect = stages(request)
    assert (accept.status, accept.done_by, accept.note, accept.done_at) == (
        StageStatus.DONE,
        world.manager_a.user,
        "资料齐全",
        at(2026, 11, 2, 11),
    )
    assert done.pk == accept.pk
    assert (connect.status, connect.started_at) == (StageStatus.ACTIVE, at(2026, 11, 2, 11))
    assert connect.due_at == at(2026, 11, 6)  # 3 working days after Monday: end of Thursday


def test_advance_of_a_stage_that_is_not_the_active_one_is_a_conflict(world):
    request = open_for(world, kind="new_connection", subtype="residential")
    with pytest.raises(Conflict):
        stage_advance(request=request, stage_code="connect", by=world.manager_a.user)
    assert stages(request)[0].status == StageStatus.ACTIVE


def test_advance_of_a_stage_done_a_moment_before_is_a_conflict(world):
    request = open_for(world)
    stale = ServiceRequest.objects.get(pk=request.pk)
    stage_advance(request=request, stage_code="check", by=world.staff)
    with pytest.raises(Conflict):
        stage_advance(request=stale, stage_code="check", by=world.manager_a.user)
    assert StageEvent.objects.filter(request=request, action="done").count() == 1


def test_the_stages_department_staff_may_advance_it(world):
    request = open_for(world)  # a meter fault: metering, world.staff's department
    stage_advance(request=request, stage_code="check", by=world.staff)
    assert stages(request)[0].done_by == world.staff


def test_staff_of_another_department_may_not_advance_a_stage(world):
    billing = StaffProfileFactory(department=world.departments["billing"]).user
    request = open_for(world)
    with pytest.raises(PermissionDenied):
        stage_advance(request=request, stage_code="check", by=billing)


def test_another_manager_may_not_advance_a_stage(world):
    request = open_for(world)
    with pytest.raises(PermissionDenied):
        stage_advance(request=request, stage_code="check", by=world.manager_b.user)


def test_the_owners_supervisor_may_advance_a_stage(world):
    request = open_for(world)
    stage_advance(request=request, stage_code="check", by=world.supervisor)
    assert stages(request)[0].status == StageStatus.DONE


def test_a_stage_done_after_its_due_time_ends_breached(world):
    request = open_for(world, kind="reconnection", received_at=at(2026, 11, 2, 8))
    stage_advance(request=request, stage_code="confirm_payment", by=world.admin, at=at(2026, 11, 2, 10, 30))
    assert stages(request)[0].sla_state == SlaState.BREACHED


def test_a_stage_done_in_time_ends_ok(world):
    request = open_for(world, kind="reconnection", received_at=at(2026, 11, 2, 8))
    stage_advance(request=request, stage_code="confirm_payment", by=world.admin, at=at(2026, 11, 2, 9, 30))
    assert stages(request)[0].sla_state == SlaState.OK


def test_the_last_stage_done_stops_the_requests_clock_and_leaves_it_open(world):
    request = open_for(world, kind="reconnection", received_at=at(2026, 11, 2, 8))
    finish(request, world.admin, when=at(2026, 11, 3, 9))
    request.refresh_from_db()
    assert (request.status, request.done_at, request.sla_state) == (
        RequestStatus.OPEN,
        at(2026, 11, 3, 9),
        SlaState.BREACHED,
    )


# ---------------------------------------------------------------- waiting for the customer
def test_waiting_on_a_stage_the_customer_cannot_pause_is_a_conflict(world):
    request = open_for(world)  # a meter fault's check is the company's own work
    with pytest.raises(Conflict):
        request_wait_customer(request=request, reason="等客户", by=world.manager_a.user)


def test_waiting_needs_a_reason(world):
    request = open_for(world, kind="orderly_use_agreement")
    with pytest.raises(ValidationError) as refused:
        request_wait_customer(request=request, reason="  ", by=world.manager_a.user)
    assert "reason" in refused.value.message_dict


def test_waiting_pauses_the_stage_and_the_request(world):
    request = open_for(world, kind="orderly_use_agreement", received_at=at(2026, 11, 2, 9))
    request_wait_customer(
        request=request, reason="客户法人出差", by=world.manager_a.user, at=at(2026, 11, 3, 10)
    )
    stage = stages(request)[0]
    assert (stage.status, stage.wait_reason, stage.waiting_since) == (
        StageStatus.WAITING_CUSTOMER,
        "客户法人出差",
        at(2026, 11, 3, 10),
    )
    assert (
        request.status == ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.WAITING_CUSTOMER
    )


def test_resume_moves_both_due_times_later_by_the_working_time_waited(world):
    # given a 5-working-day agreement received Monday 2026-11-02, due at the end of Monday 11-09
    request = open_for(world, kind="orderly_use_agreement", received_at=at(2026, 11, 2, 9))
    # when the customer made it wait from Tuesday 10:00 to Wednesday 10:00 (one working day)
    request_wait_customer(
        request=request, reason="客户法人出差", by=world.manager_a.user, at=at(2026, 11, 3, 10)
    )
    request_resume(request=request, by=world.manager_a.user, at=at(2026, 11, 4, 10))
    # then both clocks are due a working day later, and the wait is recorded
    stage = stages(request)[0]
    request.refresh_from_db()
    assert stage.due_at == request.due_at == at(2026, 11, 11)
    assert stage.waited_minutes == request.waited_minutes == 24 * 60
    assert (stage.status, request.status) == (StageStatus.ACTIVE, RequestStatus.OPEN)


def test_a_wait_over_a_weekend_costs_only_its_working_days(world):
    request = open_for(world, kind="orderly_use_agreement", received_at=at(2026, 11, 2, 9))
    request_wait_customer(request=request, reason="等资料", by=world.manager_a.user, at=at(2026, 11, 6, 12))
    request_resume(request=request, by=world.manager_a.user, at=at(2026, 11, 9, 0))
    assert stages(request)[0].waited_minutes == 12 * 60  # Friday noon to midnight; the weekend rests


def test_resume_when_not_waiting_is_a_conflict(world):
    request = open_for(world, kind="orderly_use_agreement")
    with pytest.raises(Conflict):
        request_resume(request=request, by=world.manager_a.user)


def test_an_action_dated_before_the_stage_started_is_refused(world):
    request = open_for(world, received_at=at(2026, 11, 2, 9))
    with pytest.raises(ValidationError) as refused:
        stage_advance(request=request, stage_code="check", by=world.staff, at=at(2026, 11, 1, 9))
    assert "at" in refused.value.message_dict


# ---------------------------------------------------------------- close and cancel
def test_closing_before_the_last_stage_is_a_conflict(world):
    request = open_for(world)
    with pytest.raises(Conflict):
        request_close(request=request, by=world.manager_a.user)


def test_the_owner_closes_after_the_last_stage(world):
    request = open_for(world)
    finish(request, world.staff)
    request_close(request=request, by=world.manager_a.user)
    request.refresh_from_db()
    assert request.status == RequestStatus.CLOSED
    assert request.closed_at is not None
    assert StageEvent.objects.filter(request=request, action="closed").exists()


def test_department_staff_may_not_close_a_request(world):
    request = open_for(world)
    finish(request, world.staff)
    with pytest.raises(PermissionDenied):
        request_close(request=request, by=world.staff)


def test_closing_closes_the_linked_follow_up(world):
    follow_up = VisitReportFactory().follow_ups.create(department="billing", action="核对电费")
    request = open_for(world, kind="billing_query", source="visit", follow_up=follow_up)
    finish(request, world.admin)
    request_close(request=request, by=world.manager_a.user)
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.closed_on is not None) == ("closed", True)


def test_cancel_needs_a_reason(world):
    request = open_for(world)
    with pytest.raises(ValidationError) as refused:
        request_cancel(request=request, reason="", by=world.manager_a.user)
    assert "reason" in refused.value.message_dict
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.OPEN


def test_cancel_ends_the_request_with_its_reason(world):
    request = open_for(world)
    request_cancel(request=request, reason="客户撤回", by=world.manager_a.user)
    request.refresh_from_db()
    assert (request.status, request.cancel_reason) == (RequestStatus.CANCELLED, "客户撤回")


def test_cancelling_a_closed_request_is_a_conflict(world):
    request = open_for(world)
    finish(request, world.staff)
    request_close(request=request, by=world.manager_a.user)
    with pytest.raises(Conflict):
        request_cancel(request=request, reason="客户撤回", by=world.manager_a.user)


# ---------------------------------------------------------------- callback
def closed(world) -> ServiceRequest:
    request = open_for(world)
    finish(request, world.staff)
    return request_close(request=request, by=world.manager_a.user)


def test_a_callback_on_an_open_request_is_a_conflict(world):
    request = open_for(world)
    with pytest.raises(Conflict):
        callback_record(request=request, reached=True, satisfaction=5, comment="", by=world.integration)


def test_a_reached_customer_gives_a_satisfaction_from_1_to_5(world):
    request = closed(world)
    with pytest.raises(ValidationError) as refused:
        callback_record(request=request, reached=True, satisfaction=6, comment="", by=world.integration)
    assert "satisfaction" in refused.value.message_dict


def test_a_good_callback_leaves_the_request_closed(world):
    request = closed(world)
    callback = callback_record(
        request=request, reached=True, satisfaction=4, comment="满意", by=world.integration
    )
    request.refresh_from_db()
    assert (callback.satisfaction, request.status) == (4, RequestStatus.CLOSED)


def test_a_satisfaction_of_2_reopens_the_request(world):
    request = closed(world)
    callback_record(request=request, reached=True, satisfaction=2, comment="太慢", by=world.integration)
    request.refresh_from_db()
    assert request.status == RequestStatus.OPEN
    assert request.reopened_at is not None
    assert StageEvent.objects.filter(request=request, action="reopened").exists()


def test_the_supervisor_closes_a_reopened_request_again(world):
    request = closed(world)
    callback_record(request=request, reached=True, satisfaction=1, comment="不满意", by=world.integration)
    request_close(request=request, by=world.supervisor)
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.CLOSED


def test_another_manager_may_not_record_a_callback(world):
    request = closed(world)
    with pytest.raises(PermissionDenied):
        callback_record(
            request=request, reached=False, satisfaction=None, comment="", by=world.manager_b.user
        )


def test_an_unowned_request_is_closed_by_the_supervisor_of_its_station(world):
    # given an applicant's request no manager could take, in manager A's station
    request = open_for(
        world,
        kind="consultation",
        customer=None,
        applicant=Applicant("王五", capacity_kva=Decimal("8")),
        station=world.station_a,
    )
    assert request.owner is None
    finish(request, world.supervisor)
    request_close(request=request, by=world.supervisor)
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.CLOSED


def test_an_administrator_may_act_on_any_request(world):
    admin = UserFactory(username="admin2", role=roles.ADMINISTRATOR)
    request = open_for(world)
    finish(request, admin)
    request_close(request=request, by=admin)
    assert ServiceRequest.objects.get(pk=request.pk).status == RequestStatus.CLOSED


def test_cancelling_puts_the_stage_in_progress_back_to_pending(world):
    request = open_for(world)
    request_cancel(request=request, reason="客户撤回", by=world.manager_a.user)
    assert stages(request)[0].status == StageStatus.PENDING


def test_a_stage_done_past_its_warning_but_in_time_stays_at_warning(world):
    # given a reconnection's payment check (2 hours, warning at 96 minutes)
    request = open_for(world, kind="reconnection", received_at=at(2026, 11, 2, 8))
    stage_advance(request=request, stage_code="confirm_payment", by=world.admin, at=at(2026, 11, 2, 9, 40))
    assert stages(request)[0].sla_state == SlaState.WARNING
