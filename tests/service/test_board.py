"""The 超时预警 board: the page service:board and the API sla-board/. What is at warning or breached
as of now, by station and by department, with how late; scoped like every list; a fixed number of
queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from service.alerts import alerts_create
from service.models import RequestStage, ServiceRequest, SlaState
from service.services import request_open
from service.sla import sla_states_refresh

API = "/api/v1/sla-board/"


def open_request(world, customer=None, kind="meter_fault"):
    customer = customer or world.customer_a
    return request_open(kind=kind, source="manager", by=customer.manager, customer=customer)


def overdue(request, *, hours=5):
    """Make the request's clocks (its stage's and its own) due `hours` ago, at warning before."""
    due = timezone.now() - dt.timedelta(hours=hours)
    for model, filters in ((RequestStage, {"request": request}), (ServiceRequest, {"pk": request.pk})):
        model.objects.filter(**filters).update(
            warn_at=due - dt.timedelta(hours=1), due_at=due, unit="minutes", limit=60
        )
    return request


def at_warning(request):
    now = timezone.now()
    for model, filters in ((RequestStage, {"request": request}), (ServiceRequest, {"pk": request.pk})):
        model.objects.filter(**filters).update(
            warn_at=now - dt.timedelta(minutes=10), due_at=now + dt.timedelta(hours=1)
        )
    return request


def clocks(answer) -> set[tuple]:
    return {(row["clock"], row["request"], row["sla_state"]) for row in answer.json()["results"]}


def test_the_api_lists_a_breached_stage_and_request_with_how_late(world, api):
    request = overdue(open_request(world))
    # when the administrator reads the board
    answer = api(world.admin).get(API)
    # then the stage and the whole request are breached, about 5 hours late (counted minutes)
    assert answer.status_code == 200
    assert clocks(answer) == {("stage", request.pk, "breached"), ("request", request.pk, "breached")}
    row = answer.json()["results"][0]
    assert row["late"] is True
    assert 5 * 60 - 1 <= row["minutes"] <= 5 * 60 + 1


def test_the_counts_are_grouped_by_station_and_by_department(world, api):
    overdue(open_request(world))
    at_warning(open_request(world, customer=world.customer_b))
    body = api(world.admin).get(API).json()
    by_station = {row["station"]: row for row in body["by_station"]}
    assert by_station[world.station_a.pk]["stages_breached"] == 1
    assert by_station[world.station_b.pk]["requests_warning"] == 1
    metering = world.departments["metering"]
    assert body["by_department"] == [
        {"department": metering.pk, "department_name": metering.name, "warning": 1, "breached": 1}
    ]


def test_the_state_shown_is_as_of_now_until_the_job_writes_it(world, api):
    # given a request past due that the SLA job has not seen
    request = overdue(open_request(world))
    # then the board reads it breached while its stored state is still ok
    row = next(r for r in api(world.admin).get(API).json()["results"] if r["clock"] == "request")
    assert (row["sla_state"], row["stored_sla_state"]) == ("breached", "ok")
    # and once the job has run, both agree
    sla_states_refresh()
    row = next(r for r in api(world.admin).get(API).json()["results"] if r["clock"] == "request")
    assert (row["sla_state"], row["stored_sla_state"]) == ("breached", "breached")
    assert ServiceRequest.objects.get(pk=request.pk).sla_state == SlaState.BREACHED


def test_the_page_shows_a_clock_late_as_of_now_that_is_stored_on_time(world, client):
    request = overdue(open_request(world))
    client.force_login(world.supervisor)
    # when the supervisor opens the board
    page = client.get(reverse("service:board"))
    # then the request is there, breached, and how late in hours and minutes
    html = page.content.decode()
    assert page.status_code == 200
    assert request.number in html
    assert 'class="badge clock breached"' in html
    assert "5小时" in html
    assert ServiceRequest.objects.get(pk=request.pk).sla_state == SlaState.OK


def test_a_manager_sees_only_their_own_requests_on_the_board(world, api):
    mine = overdue(open_request(world, customer=world.customer_b))
    overdue(open_request(world))
    answer = api(world.manager_b.user).get(API)
    assert {row["request"] for row in answer.json()["results"]} == {mine.pk}


def test_another_managers_request_is_not_on_the_page(world, client):
    theirs = overdue(open_request(world))
    client.force_login(world.manager_b.user)
    assert theirs.number not in client.get(reverse("service:board")).content.decode()


def test_department_staff_see_their_departments_stages_only(world, api):
    # given a metering stage and an operations stage, both late
    metering = overdue(open_request(world))
    operations = overdue(open_request(world, kind="fault_repair"))
    # when the metering staff read the board
    rows = api(world.staff).get(API).json()["results"]
    # then only the metering stage and its request are listed
    assert {(r["clock"], r["request"]) for r in rows} == {("stage", metering.pk), ("request", metering.pk)}
    assert operations.pk not in {r["request"] for r in rows}


def test_the_station_filter_keeps_that_stations_clocks(world, api):
    overdue(open_request(world))
    b = overdue(open_request(world, customer=world.customer_b))
    rows = api(world.admin).get(API, {"station": world.station_b.pk}).json()["results"]
    assert {r["request"] for r in rows} == {b.pk}


def test_the_department_filter_keeps_that_departments_stages_and_their_requests(world, api):
    metering = overdue(open_request(world))
    overdue(open_request(world, kind="fault_repair"))
    department = world.departments["metering"].pk
    rows = api(world.admin).get(API, {"department": department}).json()["results"]
    assert {(r["clock"], r["request"]) for r in rows} == {("stage", metering.pk), ("request", metering.pk)}


def test_a_filter_that_is_not_an_id_answers_400_with_the_field(world, api):
    answer = api(world.admin).get(API, {"station": "城关"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert answer.status_code == 400
    assert "station" in answer.json()


def test_a_filter_that_is_not_an_id_is_shown_on_the_page_which_still_answers(world, client):
    client.force_login(world.admin)
    page = client.get(reverse("service:board"), {"department": "x"})
    assert page.status_code == 200
    assert 'id="filter-errors"' in page.content.decode()


def test_a_user_without_the_permission_gets_403(world, client):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(reverse("service:board")).status_code == 403


def _queries(run) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = run()
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("who", ["admin", "supervisor", "staff", "manager"])
def test_the_board_takes_the_same_few_queries_whatever_the_data_size(world, api, client, who):
    user = {"admin": world.admin, "supervisor": world.supervisor, "staff": world.staff}.get(
        who
    ) or world.manager_a.user
    client.force_login(user)
    reader = api(user)
    counts = []
    for size in (2, 12):
        while ServiceRequest.objects.count() < size:
            overdue(open_request(world))
            at_warning(open_request(world, customer=world.customer_b))
        # unread alerts at both sizes: the page lists them and marks them read
        alerts_create(
            model=ServiceRequest,
            ids=list(ServiceRequest.objects.values_list("pk", flat=True)),
            state="breached",
        )
        page = _queries(lambda: client.get(reverse("service:board")))
        answer = _queries(lambda: reader.get(API))
        counts.append((page, answer))
    assert counts[0] == counts[1]
    assert max(counts[0]) <= 10


def test_the_board_in_chinese_has_no_english_words(world, client):
    import re

    from tests.crm.test_translations import _VisibleText, english_words_on

    # given a breached request, an alert and a clock at warning
    request = overdue(open_request(world))
    at_warning(open_request(world))
    alerts_create(model=ServiceRequest, ids=[request.pk], state="breached")
    client.force_login(world.manager_a.user)
    # when the board is read in Chinese
    page = client.get(reverse("service:board"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    # then no English word of the interface is left
    parser = _VisibleText()
    parser.feed(page.content.decode())
    text = " ".join(parser.parts)
    ours = ["late", "left", "Stage", "Stages", "Breached", "warning", "Department", "Owner", "due", "working",
            "station", "request", "Requests", "hours", "min", "minutes", "All", "Apply", "Clear"]  # fmt: skip
    assert [w for w in ours if re.search(rf"(?<![A-Za-z]){w}(?![A-Za-z])", text)] == []
    assert english_words_on(page) == []
