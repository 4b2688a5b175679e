"""The demo of one-stop service (crm/demo/service.py): departments and staff in every branch, the
visit follow-ups as requests, a few hundred requests of every kind in every state with clocks that
keep the services' invariants, callbacks with two reopened; nothing more on a second run."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count

from crm.accounts import roles
from crm.accounts.models import User
from crm.demo.logins import DEMO_LOGINS, DEMO_PASSWORD
from crm.demo.service import REQUESTS, STAFF_PREFIX, seed_service_demo
from customers.models import Tier
from managers.models import Role
from service import clock
from service.bulk import request_number
from service.models import (
    Callback,
    Department,
    DepartmentKind,
    Kind,
    RequestStage,
    RequestStatus,
    ServiceRequest,
    SlaState,
    Source,
    StageStatus,
)
from tests.factories import (
    BranchFactory,
    CustomerFactory,
    FollowUpFactory,
    ManagerFactory,
    StationFactory,
    UserFactory,
    VisitReportFactory,
    VisitTaskFactory,
)

LOCAL = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 20, 10, 30, tzinfo=LOCAL)


@pytest.fixture
def county(db):
    """Two branches; the first with two stations, managers of each role and 40 customers, three of
    whose visits raised follow-ups (billing, capacity, other)."""
    first, second = BranchFactory(code="QZ-A"), BranchFactory(code="QZ-B")
    stations = [StationFactory(branch=first, code="QH01"), StationFactory(branch=first, code="QH03")]
    StationFactory(branch=second)
    UserFactory(username="admin", role=roles.ADMINISTRATOR, password=DEMO_PASSWORD)
    managers = [ManagerFactory(station=station, role=role) for station in stations for role in Role.values]
    customers = [
        CustomerFactory(
            station=stations[n % 2], manager=managers[n % len(managers)].user, tier=Tier.KEY_ACCOUNT
        )
        for n in range(40)
    ]
    for customer, department in zip(customers, ["billing", "new_connection", "other"], strict=False):
        task = VisitTaskFactory(
            customer=customer, period=dt.date(2026, 11, 1), due_date=dt.date(2026, 11, 30)
        )
        FollowUpFactory(
            report=VisitReportFactory(task=task, visited_on=dt.date(2026, 11, 10)), department=department
        )
    return first, second


def test_demo_gives_every_branch_a_department_of_every_kind_with_one_staff_user(county):
    # when the demo runs
    counts = seed_service_demo(seed=7, now=NOW)
    # then each branch has each kind once, each with one staff user of the role
    assert counts["departments"] == 2 * len(DepartmentKind.values)
    rows = Department.objects.values("branch_id").annotate(
        kinds=Count("kind", distinct=True), staff=Count("staff")
    )
    assert {(r["kinds"], r["staff"]) for r in rows} == {
        (len(DepartmentKind.values), len(DepartmentKind.values))
    }
    metering = User.objects.get(username="metering1")
    assert metering.staff_profile.department.kind == DepartmentKind.METERING
    assert metering.staff_profile.department.branch == county[0]
    assert metering.groups.filter(name=roles.DEPARTMENT_STAFF).exists()
    assert User.objects.get(username="metering2").staff_profile.department.branch == county[1]


def test_the_advertised_staff_logins_sign_in_with_the_demo_password(county):
    # given the first branch's staff logins, one per department kind, in the banner's list
    first_branch = {f"{prefix}1" for prefix in STAFF_PREFIX.values()}
    assert first_branch <= {username for _label, username in DEMO_LOGINS}
    # when the demo runs
    seed_service_demo(seed=7, now=NOW)
    # then each signs in with the demo password
    for username in first_branch:
        assert User.objects.get(username=username).check_password(DEMO_PASSWORD), username


def test_demo_turns_the_visit_follow_ups_of_a_department_into_requests(county):
    counts = seed_service_demo(seed=7, now=NOW)
    # then the billing and capacity follow-ups have requests; "other" stays plain
    assert counts["from_visits"] == 2
    assert set(
        ServiceRequest.objects.filter(source=Source.VISIT, follow_up__isnull=False).values_list(
            "kind", flat=True
        )
    ) == {Kind.BILLING_QUERY, Kind.CAPACITY_CHANGE}


def test_demo_makes_a_few_hundred_requests_of_every_kind_in_every_state(county):
    counts = seed_service_demo(seed=7, now=NOW)
    requests = ServiceRequest.objects.exclude(source=Source.VISIT)
    assert counts["requests"] == REQUESTS == requests.count()
    assert set(requests.values_list("kind", flat=True)) == set(Kind.values)
    assert set(requests.values_list("status", flat=True)) == set(RequestStatus.values)
    running = RequestStage.objects.filter(status=StageStatus.ACTIVE, request__status=RequestStatus.OPEN)
    assert set(running.values_list("sla_state", flat=True)) == set(SlaState.values)
    tickets = requests.filter(source=Source.CALL_CENTRE)
    assert tickets.exists()
    assert not tickets.filter(external_no__isnull=True).exists()
    assert requests.filter(customer__isnull=True).exclude(applicant_name="").exists()  # applicants
    received = [at.astimezone(LOCAL).date() for at in requests.values_list("received_at", flat=True)]
    assert (NOW.date() - min(received)).days >= 21  # spread over weeks: the clocks differ


def test_demo_requests_keep_the_services_invariants(county):
    # given the demo
    seed_service_demo(seed=7, now=NOW)
    calendar = clock.calendar_for()
    for request in ServiceRequest.objects.prefetch_related("stages"):
        stages = sorted(request.stages.all(), key=lambda s: s.position)
        statuses = [s.status for s in stages]
        working = [s for s in stages if s.status in (StageStatus.ACTIVE, StageStatus.WAITING_CUSTOMER)]
        # then the number is the services', stages run in order and one works while the request runs
        assert request.number == request_number(request.received_at, request.pk)
        assert statuses == sorted(statuses, key=["done", "active", "waiting_customer", "pending"].index)
        if request.status == RequestStatus.CLOSED:
            assert set(statuses) == {StageStatus.DONE}
        elif (
            request.status in (RequestStatus.OPEN, RequestStatus.WAITING_CUSTOMER)
            and request.reopened_at is None
        ):
            assert len(working) == 1 or set(statuses) == {StageStatus.DONE}
        assert (request.status == RequestStatus.WAITING_CUSTOMER) == any(
            s.status == StageStatus.WAITING_CUSTOMER for s in stages
        )
        # and every clock's deadlines are the work calendar's from its start
        started = request.received_at
        for stage in stages:
            if stage.started_at is None:
                continue
            assert stage.started_at == started
            expected = clock.deadlines(
                calendar, started_at=stage.started_at, limit=stage.limit, unit=stage.unit
            )
            assert (stage.warn_at, stage.due_at) == (expected.warn_at, expected.due_at)
            if stage.done_at is not None:
                assert stage.done_at >= stage.started_at
                assert stage.done_at <= NOW
                started = stage.done_at


def test_demo_calls_back_closed_requests_and_two_low_scores_reopen_theirs(county):
    counts = seed_service_demo(seed=7, now=NOW)
    assert counts["callbacks"] == Callback.objects.count() > 20
    reopened = ServiceRequest.objects.filter(reopened_at__isnull=False)
    assert reopened.count() == 2
    assert set(reopened.values_list("status", flat=True)) == {RequestStatus.OPEN}
    assert set(Callback.objects.filter(request__in=reopened).values_list("satisfaction", flat=True)) == {1, 2}
    assert not Callback.objects.filter(created_at__gt=NOW).exists()


def test_a_second_run_adds_nothing(county):
    seed_service_demo(seed=7, now=NOW)
    before = ServiceRequest.objects.count()
    assert seed_service_demo(seed=7, now=NOW)["requests"] == 0
    assert ServiceRequest.objects.count() == before
