"""The manager's list of requests (tabs by state as of now, the supervisor's owner filter and 待分配)
and the department's queue with its one-tap "done" (service.md, issue 16 item 8)."""

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from service.models import RequestStage, ServiceRequest, StageStatus
from service.services import request_open, request_wait_customer
from tests.crm.test_translations import english_words_on
from tests.factories import ContactFactory, CustomerFactory, StaffProfileFactory


def _open(world, kind="meter_fault", *, by=None, customer=None, minutes_ago=0, **kwargs):
    return request_open(
        kind=kind,
        source="manager",
        by=by or world.manager_a.user,
        customer=customer or world.customer_a,
        received_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
        **kwargs,
    )


def _listed(client, **query) -> list[int]:
    response = client.get(reverse("service:requests"), query)
    assert response.status_code == 200
    return [row.pk for row in response.context["page"].object_list]


# ---------------------------------------------------------------- the manager's list
def test_list_tabs_sort_requests_by_their_state_as_of_now(client, world):
    # given a repair 80 minutes old (arrival within 90: at warning), one 100 minutes old (breached),
    # a meter fault on time, and an install waiting for the customer
    warning = _open(world, "fault_repair", minutes_ago=80)
    breached = _open(world, "fault_repair", minutes_ago=100)
    on_time = _open(world)
    waiting = _open(world, "load_control_install")
    request_wait_customer(request=waiting, reason="客户准备场地", by=world.manager_a.user)
    client.force_login(world.manager_a.user)
    # when the manager opens each tab
    # then each lists its own
    assert set(_listed(client)) == {warning.pk, breached.pk, on_time.pk, waiting.pk}
    assert _listed(client, tab="warning") == [warning.pk]
    assert _listed(client, tab="breached") == [breached.pk]
    assert _listed(client, tab="waiting") == [waiting.pk]


def test_list_shows_each_rows_clock_and_current_stage(client, world):
    _open(world, "fault_repair", minutes_ago=100)
    client.force_login(world.manager_a.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # to read the clock's words
    response = client.get(reverse("service:requests"))
    row = response.context["page"].object_list[0]
    assert row.current.code == "arrival"
    assert row.current.clock.state == "breached"
    assert "late" in row.current.clock.text


def test_manager_list_leaves_out_another_managers_requests(client, world):
    mine = _open(world)
    _open(world, by=world.manager_b.user, customer=world.customer_b)
    client.force_login(world.manager_a.user)
    assert _listed(client, tab="all") == [mine.pk]


def test_supervisor_filters_by_owner_and_sees_the_unowned_to_assign(client, world):
    # given a request of manager A and one nobody could take in manager A's station
    owned = _open(world)
    nobodys = CustomerFactory(station=world.station_a, manager=None)
    unowned = _open(world, by=world.admin, customer=nobodys)
    assert unowned.owner is None
    client.force_login(world.supervisor)
    # when the supervisor opens the list, then picks "待分配", then manager A
    everyone = set(_listed(client))
    to_assign = _listed(client, owner="none")
    of_a = _listed(client, owner=world.manager_a.user.pk)
    # then all of the team's are listed, and each filter keeps its own
    assert everyone == {owned.pk, unowned.pk}
    assert (to_assign, of_a) == ([unowned.pk], [owned.pk])


def test_an_owner_outside_the_team_is_a_filter_error_not_a_leak(client, world):
    _open(world, by=world.manager_b.user, customer=world.customer_b)
    client.force_login(world.supervisor)
    response = client.get(reverse("service:requests"), {"owner": world.manager_b.user.pk, "tab": "all"})
    assert response.status_code == 200
    assert response.context["form"].errors["owner"]
    assert "乙水泥厂" not in response.content.decode()


def test_department_staff_are_sent_to_their_queue(client, world):
    client.force_login(world.staff)
    response = client.get(reverse("service:requests"))
    assert response.status_code == 302
    assert response["Location"] == reverse("service:queue")


@pytest.mark.parametrize("role", ["manager", "supervisor"])
def test_list_takes_the_same_queries_at_two_sizes(client, world, role):
    user = {"manager": world.manager_a.user, "supervisor": world.supervisor}[role]
    client.force_login(user)
    counts = []
    for size in (2, 12):
        for _ in range(size - len(counts and [0] * 2 or [])):
            _open(world, "fault_repair", minutes_ago=100)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("service:requests"))
        assert len(response.context["page"].object_list) == ServiceRequest.objects.count()
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 10, counts


# ---------------------------------------------------------------- the department's queue
def test_queue_lists_the_departments_active_stages_most_urgent_first_with_a_phone(client, world):
    # given two metering faults (the older due first), a billing query, and a contact of customer A
    ContactFactory(customer=world.customer_a, name="周电工", phone="13500000000", is_primary=True)
    later = _open(world, minutes_ago=10)
    sooner = _open(world, minutes_ago=60 * 24 * 2)
    _open(world, "billing_query")
    client.force_login(world.staff)
    # when the metering staff open their queue
    response = client.get(reverse("service:queue"))
    # then the metering stages are listed, soonest due first, with who to call
    assert [s.request_id for s in response.context["stages"]] == [sooner.pk, later.pk]
    assert "13500000000" in response.content.decode()


def test_one_tap_done_completes_the_stage_and_comes_back_to_the_queue(client, world):
    request = _open(world)
    stage = request.stages.get()
    client.force_login(world.staff)
    # when the staff tap 完成 in the queue
    response = client.post(
        reverse("service:request", args=[request.pk]),
        {"action": "advance", "stage": stage.code, "next": "queue"},
    )
    # then they are back on the queue, the stage done, and it is no longer listed
    assert response.status_code == 302
    assert response["Location"] == reverse("service:queue")
    assert RequestStage.objects.get(pk=stage.pk).status == StageStatus.DONE
    assert client.get(reverse("service:queue")).context["stages"] == []


def test_queue_of_a_department_in_another_branch_does_not_show_this_branchs_work(client, world):
    _open(world)
    other = StaffProfileFactory(department__kind="metering").user  # metering of another branch
    client.force_login(other)
    assert client.get(reverse("service:queue")).context["stages"] == []


def test_queue_for_a_user_without_department_says_so(client, world):
    client.force_login(world.manager_a.user)
    response = client.get(reverse("service:queue"))
    assert response.status_code == 200
    assert response.context["is_staff"] is False


def test_queue_takes_the_same_queries_at_two_sizes(client, world):
    client.force_login(world.staff)
    counts = []
    for size in (2, 12):
        while RequestStage.objects.filter(department=world.departments["metering"]).count() < size:
            _open(world, customer=CustomerFactory(station=world.station_a, manager=world.manager_a.user))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("service:queue"))
        assert len(response.context["stages"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 10, counts


# ---------------------------------------------------------------- Chinese first
def test_service_pages_in_chinese_have_no_english_ui_words(client, world):
    # given requests in every state the pages draw
    request = _open(world, "load_control_install")
    _open(world, "fault_repair", minutes_ago=100)
    request_wait_customer(request=request, reason="客户准备场地", by=world.manager_a.user)
    client.force_login(world.manager_a.user)
    pages = [
        reverse("service:requests"),
        reverse("service:request", args=[request.pk]),
        reverse("service:request-new"),
        reverse("service:request-new") + f"?customer={world.customer_a.pk}",
    ]
    # when each is read in Chinese
    for page in pages:
        response = client.get(page)
        # then no English UI word is left
        assert response.status_code == 200, page
        assert english_words_on(response) == [], page
    client.force_login(world.staff)
    queue = client.get(reverse("service:queue"))
    assert english_words_on(queue) == []
