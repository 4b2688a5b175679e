"""call-centre/tickets/batch/: many 95598 tickets in one post (service/intake.py). Each ticket
becomes exactly the rows a single post of it writes; repeated ticket numbers answer the request
they made; a bad item refuses the whole batch with its index and field, nothing written; a fixed
number of queries whatever the batch's size."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from service.models import RequestStage, ServiceRequest, StageEvent
from tests.service.test_api import CHINESE

ONE = "/api/v1/call-centre/tickets/"
BATCH = "/api/v1/call-centre/tickets/batch/"


def _tickets(world, prefix: str) -> list[dict]:
    """Tickets of every shape: account kinds (their variants by the station's area and the
    customer's voltage), applicants named by station id and code, received now and days ago (at
    warning or past due as they arrive), with and without a description."""
    now = timezone.now().replace(microsecond=0)
    account = world.customer_a.account_no
    return [
        {"ticket_no": f"{prefix}-1", "kind": "meter_fault", "account_no": account, "description": "电表异常"},
        {"ticket_no": f"{prefix}-2", "kind": "fault_repair", "account_no": account},
        {"ticket_no": f"{prefix}-7", "kind": "complaint", "subtype": "outage", "account_no": account},
        {"ticket_no": f"{prefix}-3", "kind": "billing_query", "account_no": account,
         "received_at": (now - dt.timedelta(days=6)).isoformat()},
        {"ticket_no": f"{prefix}-4", "kind": "capacity_change", "subtype": "increase", "account_no": account,
         "received_at": (now - dt.timedelta(hours=3)).isoformat()},
        {"ticket_no": f"{prefix}-5", "kind": "new_connection", "subtype": "residential",
         "applicant": {"name": " 丁村民 ", "phone": "13700000000", "capacity_kva": 10, "voltage_kv": 0.22},
         "station": world.station_a.code, "received_at": (now - dt.timedelta(days=1)).isoformat()},
        {"ticket_no": f"{prefix}-6", "kind": "new_connection", "subtype": "hv_single",
         "applicant": {"name": "戊公司", "capacity_kva": 800, "voltage_kv": 10},
         "station": world.station_a.pk, "received_at": (now - dt.timedelta(minutes=5)).isoformat()},
    ]  # fmt: skip


def _same_received_at(tickets: list[dict]) -> list[dict]:
    """One instant for the tickets without one, so two posts of them can be compared."""
    now = timezone.now().replace(microsecond=0).isoformat()
    return [{"received_at": now, **ticket} for ticket in tickets]


SKIPPED = {"id", "number", "external_no", "created_at", "updated_at", "request", "request_id", "stage_id"}


def _rows(prefix: str) -> list[dict]:
    """Each request of the tickets `prefix` with its stages and events, without what differs by
    nature (ids, the ticket number, the number made of the id, the moments of writing)."""
    found = []
    for request in ServiceRequest.objects.filter(external_no__startswith=prefix).order_by("external_no"):
        row = {k: v for k, v in vars(request).items() if not k.startswith("_") and k not in SKIPPED}
        row["number_is_its_own"] = request.number.endswith(f"{request.pk:06d}")
        row["stages"] = [
            {k: v for k, v in vars(s).items() if not k.startswith("_") and k not in SKIPPED}
            for s in RequestStage.objects.filter(request=request).order_by("position")
        ]
        row["events"] = [
            (e.action, e.at, e.by_id, e.stage.position if e.stage else None, e.note)
            for e in StageEvent.objects.filter(request=request).select_related("stage").order_by("id")
        ]
        found.append(row)
    return found


def test_a_batch_writes_the_rows_that_posting_each_ticket_alone_writes(world, api):
    # given the same tickets, once under numbers S- and once under B-
    client = api(world.integration)
    alone = _same_received_at(_tickets(world, "S"))
    batch = [{**t, "ticket_no": t["ticket_no"].replace("S-", "B-")} for t in alone]
    # when the S- ones are posted one at a time and the B- ones in one batch
    for ticket in alone:
        assert client.post(ONE, ticket, format="json").status_code == 201
    response = client.post(BATCH, batch, format="json")
    # then the batch opened them all, and wrote the same rows, stage for stage and event for event
    assert response.status_code == 201, response.content[:500]
    assert response.json()["created"] == len(batch)
    singles, batched = _rows("S-"), _rows("B-")
    assert len(singles) == len(batched) == len(batch)
    for single, made in zip(singles, batched, strict=True):
        assert made == single
    # and the owner rules ran: the customer's manager; an applicant's by the rules (here nobody fits)
    assert batched[0]["owner_id"] == world.manager_a.user.pk


def test_the_answer_lists_each_tickets_request_in_order_as_the_list_shows_it(world, api):
    client = api(world.integration)
    tickets = _tickets(world, "A")
    body = client.post(BATCH, tickets, format="json").json()
    assert [r["ticket_no"] for r in body["results"]] == [t["ticket_no"] for t in tickets]
    assert all(r["created"] for r in body["results"])
    listed = {
        row["id"]: row for row in client.get("/api/v1/service-requests/?page_size=50").json()["results"]
    }
    for result in body["results"]:
        assert result["request"] == listed[result["request"]["id"]]
        assert result["request"]["source"] == "call_centre"


def test_a_ticket_repeated_inside_a_batch_answers_the_same_request(world, api):
    ticket = _tickets(world, "R")[0]
    response = api(world.integration).post(BATCH, [ticket, {**ticket, "description": "重复"}], format="json")
    assert response.status_code == 201
    first, second = response.json()["results"]
    assert (first["created"], second["created"]) == (True, False)
    assert first["request"]["id"] == second["request"]["id"]
    assert ServiceRequest.objects.filter(external_no="R-1").count() == 1
    assert response.json()["repeated"] == 1


def test_a_batch_posted_again_answers_200_with_the_same_requests(world, api):
    client = api(world.integration)
    tickets = _tickets(world, "P")
    first = client.post(BATCH, tickets, format="json").json()
    single = client.post(ONE, tickets[0], format="json")  # and a single post of one of them
    again = client.post(BATCH, tickets, format="json")
    assert again.status_code == 200
    assert [r["request"]["id"] for r in again.json()["results"]] == [
        r["request"]["id"] for r in first["results"]
    ]
    assert not any(r["created"] for r in again.json()["results"])
    assert single.status_code == 200
    assert single.json()["id"] == first["results"][0]["request"]["id"]
    assert ServiceRequest.objects.filter(external_no__startswith="P-").count() == len(tickets)


def test_a_ticket_posted_alone_before_is_answered_in_a_batch(world, api):
    client = api(world.integration)
    tickets = _tickets(world, "Q")
    alone = client.post(ONE, tickets[1], format="json").json()
    body = client.post(BATCH, tickets, format="json").json()
    assert body["results"][1] == {
        "ticket_no": "Q-2",
        "created": False,
        "request": body["results"][1]["request"],
    }
    assert body["results"][1]["request"]["id"] == alone["id"]
    assert (body["created"], body["repeated"]) == (len(tickets) - 1, 1)


def test_bad_items_refuse_the_batch_naming_each_index_and_field_in_chinese(world, api):
    # given good tickets around four bad ones: an unknown kind, an account outside every scope,
    # an applicant for an account kind, and an item that is not an object
    tickets = _tickets(world, "X")
    tickets[1] = {**tickets[1], "kind": "nope"}
    tickets[2] = {**tickets[2], "account_no": "NO-SUCH-ACCOUNT"}
    tickets[5] = {**tickets[5], "kind": "meter_fault", "subtype": ""}
    tickets.append("not a ticket")
    # when posted
    response = api(world.integration).post(BATCH, tickets, format="json")
    # then 400, each bad item by its index and field, and nothing written
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["index"], sorted(e["errors"])) for e in errors] == [
        (1, ["kind"]),
        (2, ["account_no"]),
        (5, ["customer"]),
        (7, ["non_field_errors"]),
    ]
    assert errors[0]["ticket_no"] == "X-2"
    assert errors[3]["ticket_no"] is None
    assert all(
        CHINESE.search(message) for e in errors for messages in e["errors"].values() for message in messages
    )
    assert not ServiceRequest.objects.filter(external_no__startswith="X-").exists()


def test_a_ticket_refused_alone_is_refused_in_a_batch_on_the_same_field(world, api):
    # given tickets a single post refuses: an account and an applicant both, an unknown station
    # beside an account
    client = api(world.integration)
    applicant = _tickets(world, "Y")[5]
    both = {**applicant, "ticket_no": "Y-both", "account_no": world.customer_a.account_no}
    station = {**_tickets(world, "Y")[0], "ticket_no": "Y-station", "station": "NO-SUCH-STATION"}
    for ticket in (both, station):
        alone = client.post(ONE, ticket, format="json")
        batch = client.post(BATCH, [ticket], format="json")
        # then both answer 400 on the same field with the same message, nothing written
        assert (alone.status_code, batch.status_code) == (400, 400)
        assert batch.json()["errors"][0]["errors"] == alone.json()
    assert not ServiceRequest.objects.filter(external_no__startswith="Y-").exists()


def test_an_account_outside_the_callers_scope_is_refused_as_if_absent(world, api):
    # a manager may post tickets for their own customers only
    ticket = {"ticket_no": "M-1", "kind": "meter_fault", "account_no": world.customer_b.account_no}
    response = api(world.manager_a.user).post(BATCH, [ticket], format="json")
    assert response.status_code == 400
    # the same answer as a single post of it, and as for an account that does not exist
    alone = api(world.manager_a.user).post(ONE, ticket, format="json")
    assert response.json()["errors"][0]["errors"] == alone.json()
    assert list(alone.json()) == ["account_no"]
    assert not ServiceRequest.objects.exists()


def test_a_ticket_number_of_a_request_the_caller_cannot_see_is_refused(world, api):
    # given manager B's customer's ticket taken by the call centre
    api(world.integration).post(ONE, {"ticket_no": "H-1", "kind": "meter_fault",
                                      "account_no": world.customer_b.account_no}, format="json")  # fmt: skip
    # when manager A posts the same number for their own customer
    ticket = {"ticket_no": "H-1", "kind": "meter_fault", "account_no": world.customer_a.account_no}
    response = api(world.manager_a.user).post(BATCH, [ticket], format="json")
    # then it is refused on the ticket number, and the other request is not shown
    assert response.status_code == 400
    assert list(response.json()["errors"][0]["errors"]) == ["ticket_no"]
    assert world.customer_b.name not in response.content.decode()


@pytest.mark.parametrize(
    ("body", "why"),
    [({"ticket_no": "x"}, "an object"), ([], "empty"), ([{"ticket_no": "x"}] * 1001, "too many")],
)
def test_a_body_that_is_not_a_list_of_at_most_1000_tickets_is_refused(world, api, body, why):
    response = api(world.integration).post(BATCH, body, format="json")
    assert response.status_code == 400, why
    assert CHINESE.search(response.json()["non_field_errors"][0])


def test_department_staff_cannot_post_tickets(world, api):
    response = api(world.staff).post(BATCH, _tickets(world, "D")[:1], format="json")
    assert response.status_code == 403
    assert not ServiceRequest.objects.exists()


def _queries(client, tickets) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.post(BATCH, tickets, format="json")
    assert response.status_code == 201, response.content[:300]
    return [query["sql"] for query in queries.captured_queries]


def test_a_batch_takes_the_same_queries_at_7_and_at_70_tickets(world, api):
    # given tickets of every shape received on different days, 7 and 70 of them
    client = api(world.integration)
    small = _tickets(world, "C")
    large = [{**t, "ticket_no": f"{t['ticket_no']}-{i}"} for i in range(10) for t in _tickets(world, "L")]
    _queries(client, _tickets(world, "W"))  # the templates' defaults loaded
    # then the same reads and writes; only the INSERTs may split, by the database's limit on
    # parameters (SQLite's: 999), never one per ticket
    few, many = _queries(client, small), _queries(client, large)

    def reads(queries):
        return [q.split(" WHERE ")[0] for q in queries if not q.startswith("INSERT")]

    assert len(reads(many)) == len(reads(few))
    assert len([q for q in many if q.startswith("INSERT")]) <= 12


def test_the_batch_answers_match_the_schema(world, api):
    from tests.crm.test_schema import assert_matches_schema

    spec = api().get("/api/v1/schema/?format=json").json()
    client = api(world.integration)
    tickets = _tickets(world, "S")
    for body in (tickets, tickets, [{**tickets[0], "kind": "nope"}], {"not": "a list"}):
        response = client.post(BATCH, body, format="json")
        assert_matches_schema(spec, "post", BATCH, response)
