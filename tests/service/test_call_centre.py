"""call-centre/tickets/: the 95598 intake (issue 16 item 7). Idempotent on the ticket number, the
account matched within the caller's scope, nothing written on a refusal; the call centre reads the
progress and the callback back."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers.models import Station
from service.models import RequestStage, ServiceRequest, Source
from tests.service.test_api import CHINESE, LIST

TICKETS = "/api/v1/call-centre/tickets/"


def _ticket(world, **changes) -> dict:
    payload = {
        "ticket_no": "95598-2026-0001",
        "kind": "meter_fault",
        "account_no": world.customer_a.account_no,
        "description": "客户来电：电表显示异常",
    }
    return {**payload, **changes}


def _applicant_ticket(station, **changes) -> dict:
    payload = {
        "ticket_no": "95598-2026-0002",
        "kind": "new_connection",
        "subtype": "residential",
        "applicant": {"name": "丁村民", "phone": "13700000000", "capacity_kva": 10, "voltage_kv": 0.22},
        "station": station,
    }
    return {**payload, **changes}


def test_a_ticket_opens_a_call_centre_request_for_the_account(world, api):
    response = api(world.integration).post(TICKETS, _ticket(world))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["source"], body["external_no"]) == ("call_centre", "95598-2026-0001")
    assert body["customer"] == world.customer_a.pk
    assert body["owner"] == world.manager_a.user.pk  # the customer's own manager carries it


def test_the_same_ticket_again_answers_200_with_the_same_request(world, api):
    client = api(world.integration)
    first = client.post(TICKETS, _ticket(world))
    again = client.post(TICKETS, _ticket(world, description="重复推送"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert ServiceRequest.objects.count() == 1


def test_a_ticket_for_an_applicant_names_the_station_by_code(world, api):
    response = api(world.integration).post(TICKETS, _applicant_ticket(world.station_a.code))
    assert response.status_code == 201, response.content
    assert response.json()["applicant"]["name"] == "丁村民"
    assert response.json()["station"] == world.station_a.pk


def test_a_ticket_for_an_applicant_names_the_station_by_id(world, api):
    response = api(world.integration).post(TICKETS, _applicant_ticket(world.station_b.pk))
    assert response.status_code == 201, response.content
    assert response.json()["station"] == world.station_b.pk


def test_an_applicant_without_a_station_answers_400_on_station(world, api):
    response = api(world.integration).post(TICKETS, _applicant_ticket(None), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert CHINESE.search(response.json()["station"][0])
    assert not ServiceRequest.objects.exists()


def test_an_unknown_station_answers_400_on_station(world, api):
    response = api(world.integration).post(TICKETS, _applicant_ticket("NOWHERE"))
    assert response.status_code == 400
    assert "station" in response.json()


def test_an_unknown_account_answers_400_on_account_no_in_chinese(world, api):
    response = api(world.integration).post(
        TICKETS, _ticket(world, account_no="0000000000"), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    assert CHINESE.search(response.json()["account_no"][0])
    assert not ServiceRequest.objects.exists()


def test_an_account_outside_the_callers_scope_answers_400_as_an_unknown_one(world, api):
    # manager A holds the permission to open requests, but customer B is not theirs
    client = api(world.manager_a.user)
    outside = client.post(TICKETS, _ticket(world, account_no=world.customer_b.account_no))
    unknown = client.post(TICKETS, _ticket(world, account_no="0000000000"))
    assert outside.status_code == unknown.status_code == 400
    assert outside.json() == unknown.json()
    assert not ServiceRequest.objects.exists()


def test_a_ticket_with_neither_account_nor_applicant_answers_400(world, api):
    response = api(world.integration).post(
        TICKETS, _ticket(world, account_no=""), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    assert CHINESE.search(response.json()["account_no"][0])
    assert not ServiceRequest.objects.exists()


def test_an_unknown_kind_answers_400_on_kind(world, api):
    response = api(world.integration).post(
        TICKETS, _ticket(world, kind="haunting"), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    assert CHINESE.search(response.json()["kind"][0])
    assert not ServiceRequest.objects.exists()


def test_a_ticket_received_in_the_future_answers_400_on_received_at(world, api):
    later = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    response = api(world.integration).post(
        TICKETS, _ticket(world, received_at=later), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    assert CHINESE.search(response.json()["received_at"][0])
    assert not ServiceRequest.objects.exists()


def test_a_ticket_keeps_the_time_it_was_received(world, api):
    earlier = timezone.now() - dt.timedelta(hours=3)
    response = api(world.integration).post(TICKETS, _ticket(world, received_at=earlier.isoformat()))
    assert response.status_code == 201
    assert ServiceRequest.objects.get().received_at == earlier


@pytest.mark.parametrize(("area", "arrival"), [("city", 45), ("rural", 90), ("remote", 120)])
def test_a_fault_repair_takes_the_limits_of_the_stations_area(world, api, area, arrival):
    Station.objects.filter(pk=world.station_a.pk).update(area=area)
    response = api(world.integration).post(TICKETS, _ticket(world, kind="fault_repair"))
    assert response.status_code == 201, response.content
    first = response.json()["stages"][0]
    assert (first["code"], first["limit"], first["unit"]) == ("arrival", arrival, "minutes")


def test_department_staff_cannot_post_tickets(world, api):
    assert api(world.staff).post(TICKETS, _ticket(world)).status_code == 403
    assert not ServiceRequest.objects.exists()


def test_the_call_centre_reads_progress_by_ticket_number(world, api):
    client = api(world.integration)
    made = client.post(TICKETS, _ticket(world)).json()
    RequestStage.objects.filter(request_id=made["id"]).update(status="done", done_at=timezone.now())
    listed = client.get(LIST, {"external_no": "95598-2026-0001"})
    assert [row["id"] for row in listed.json()["results"]] == [made["id"]]
    assert listed.json()["results"][0]["stages"][0]["status"] == "done"


def test_a_ticket_number_of_a_request_outside_the_scope_answers_409(world, api):
    api(world.integration).post(TICKETS, _ticket(world, account_no=world.customer_b.account_no))
    response = api(world.manager_a.user).post(TICKETS, _ticket(world))
    assert response.status_code == 409
    assert world.customer_b.name not in response.content.decode()
    assert ServiceRequest.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_posts_of_one_ticket_at_once_make_one_request(world):
    # given two connections posting the same ticket at the same moment
    token = Token.objects.create(user=world.integration).key
    barrier, answers = threading.Barrier(2), []

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            barrier.wait(timeout=10)
            answers.append(client.post(TICKETS, _ticket(world), format="json"))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then one made it (201) and the other answers the same request (200)
    assert sorted(a.status_code for a in answers) == [200, 201], [a.content[:200] for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert ServiceRequest.objects.filter(external_no="95598-2026-0001").count() == 1
    assert ServiceRequest.objects.filter(source=Source.CALL_CENTRE).count() == 1
