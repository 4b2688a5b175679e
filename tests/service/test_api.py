"""service-requests/ (list, detail, open, description) and service-request-templates/: the scope,
the filters, the contract's fields and the refusals (api.md, service.md)."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from service import services
from service.models import RequestTemplate, ServiceRequest, SlaState, Source
from tests.factories import CustomerFactory

LIST = "/api/v1/service-requests/"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def open_request(customer, *, kind="meter_fault", source=Source.MANAGER, **fields) -> ServiceRequest:
    """A request opened the way the product opens it (by the system: no scope check)."""
    return services.request_open(kind=kind, source=source, by=None, customer=customer, **fields)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:300]
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def both(world):
    """A metering request of customer A (owner manager A) and a billing one of customer B."""
    return open_request(world.customer_a), open_request(world.customer_b, kind="billing_query")


# ---------------------------------------------------------------- scope
def test_manager_lists_only_the_requests_they_own(world, api, both):
    assert ids(api(world.manager_a.user).get(LIST)) == [both[0].pk]


def test_supervisor_lists_the_requests_of_their_team(world, api, both):
    assert ids(api(world.supervisor).get(LIST)) == [both[0].pk]


def test_staff_list_only_the_requests_with_a_stage_of_their_department(world, api, both):
    # the metering staff user: A's meter fault has a metering stage, B's billing query none
    assert ids(api(world.staff).get(LIST)) == [both[0].pk]


def test_integration_client_lists_every_request(world, api, both):
    assert sorted(ids(api(world.integration).get(LIST))) == sorted(r.pk for r in both)


def test_another_managers_request_answers_404(world, api, both):
    response = api(world.manager_a.user).get(f"{LIST}{both[1].pk}/")
    assert response.status_code == 404
    assert world.customer_b.name not in response.content.decode()


def test_staff_get_404_for_a_request_without_their_department(world, api, both):
    assert api(world.staff).get(f"{LIST}{both[1].pk}/").status_code == 404


# ---------------------------------------------------------------- the answer
def test_detail_carries_the_contract_fields(world, api, both):
    body = api(world.manager_a.user).get(f"{LIST}{both[0].pk}/").json()
    assert {
        "number", "kind", "subtype", "source", "external_no", "customer", "applicant", "station",
        "description", "owner", "status", "stages", "due_at", "sla_state", "calendar_missing",
    } <= set(body)  # fmt: skip
    assert body["customer"] == world.customer_a.pk
    assert body["applicant"] is None
    assert body["owner"] == world.manager_a.user.pk
    stage = body["stages"][0]
    assert {"code", "name", "department", "status", "started_at", "due_at", "done_at", "sla_state"} <= set(
        stage
    )
    assert stage["department"] == world.departments["metering"].pk
    assert stage["status"] == "active"


def test_sla_state_is_the_state_as_of_now_not_the_stored_one(world, api, both):
    # given a request whose due instant has passed but which the SLA job has not seen
    request = both[0]
    past = timezone.now() - dt.timedelta(hours=1)
    ServiceRequest.objects.filter(pk=request.pk).update(warn_at=past, due_at=past, sla_state=SlaState.OK)
    request.stages.update(warn_at=past, due_at=past, sla_state=SlaState.OK)
    # when it is read, then it and its stage are breached
    body = api(world.manager_a.user).get(f"{LIST}{request.pk}/").json()
    assert body["sla_state"] == "breached"
    assert body["stages"][0]["sla_state"] == "breached"


def test_an_applicants_request_shows_the_applicant(world, api):
    request = services.request_open(
        kind="new_connection",
        subtype="residential",
        source=Source.MANAGER,
        by=None,
        applicant=services.Applicant(name="丙村民", phone="13900000000", capacity_kva=8, voltage_kv="0.22"),
        station=world.station_a,
    )
    body = api(world.admin).get(f"{LIST}{request.pk}/").json()
    assert body["customer"] is None
    assert body["applicant"]["name"] == "丙村民"
    assert body["party_name"] == "丙村民"


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("role", ["manager_a", "staff", "admin"])
def test_the_list_takes_the_same_few_queries_at_5_and_at_50_requests(world, api, role):
    # given requests of customers of manager A, each with its stages, on both sides of the scope
    user = world.manager_a.user if role == "manager_a" else getattr(world, role)
    client = api(user)
    customers = CustomerFactory.create_batch(5, station=world.station_a, manager=world.manager_a.user)
    for customer in customers:
        open_request(customer, kind="new_connection", subtype="lv_non_residential")
        open_request(world.customer_b, kind="billing_query")
    small = _list_queries(client)
    # when there are ten times as many
    for customer in customers * 9:
        open_request(customer, kind="new_connection", subtype="lv_non_residential")
        open_request(world.customer_b, kind="billing_query")
    large = _list_queries(client)
    # then the list takes the same queries, at most 10
    assert large == small
    assert large <= 10


# ---------------------------------------------------------------- filters
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"kind": "billing_query"}, "b"),
        ({"status": "open"}, "ab"),
        ({"source": "call_centre"}, ""),
        ({"sla_state": "ok"}, "ab"),
        ({"sla_state": "breached"}, ""),
    ],
)
def test_filters_by_kind_status_source_and_sla_state(world, api, both, query, expected):
    by_letter = {"a": both[0].pk, "b": both[1].pk}
    assert sorted(ids(api(world.admin).get(LIST, query))) == sorted(by_letter[c] for c in expected)


def test_filter_by_owner_customer_and_station(world, api, both):
    client = api(world.admin)
    assert ids(client.get(LIST, {"owner": world.manager_b.user.pk})) == [both[1].pk]
    assert ids(client.get(LIST, {"customer": world.customer_a.pk})) == [both[0].pk]
    assert ids(client.get(LIST, {"station": world.station_b.pk})) == [both[1].pk]


def test_filter_by_department_keeps_the_requests_with_a_stage_of_it(world, api, both):
    response = api(world.admin).get(LIST, {"department": world.departments["billing"].pk})
    assert ids(response) == [both[1].pk]


def test_filter_by_sla_state_reads_the_state_as_of_now(world, api, both):
    past = timezone.now() - dt.timedelta(minutes=5)
    ServiceRequest.objects.filter(pk=both[1].pk).update(warn_at=past, due_at=past, sla_state=SlaState.OK)
    assert ids(api(world.admin).get(LIST, {"sla_state": "breached"})) == [both[1].pk]


def test_filter_by_external_no_finds_the_ticket(world, api, both):
    ticket = open_request(world.customer_a, source=Source.CALL_CENTRE, external_no="95598-0001")
    assert ids(api(world.integration).get(LIST, {"external_no": "95598-0001"})) == [ticket.pk]


@pytest.mark.parametrize(
    "query",
    [
        {"status": "done"},
        {"kind": "nope"},
        {"source": "fax"},
        {"sla_state": "late"},
        {"owner": "abc"},
        {"department": "1.5"},
        {"station": "x"},
        {"customer": "-"},
    ],
)
def test_an_invalid_filter_value_answers_400_on_its_parameter_in_chinese(world, api, both, query):
    response = api(world.admin).get(LIST, query, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    (name,) = query
    assert CHINESE.search(" ".join(response.json()[name]))


# ---------------------------------------------------------------- open
def test_manager_opens_a_request_for_their_customer(world, api):
    response = api(world.manager_a.user).post(
        LIST, {"kind": "meter_fault", "customer": world.customer_a.pk, "description": "表计黑屏"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["owner"] == world.manager_a.user.pk
    assert body["source"] == "manager"
    assert body["number"].startswith("FW")
    assert body["stages"][0]["status"] == "active"
    assert ServiceRequest.objects.get().description == "表计黑屏"


def test_opening_for_a_customer_outside_the_scope_answers_400_as_if_absent(world, api):
    client = api(world.manager_a.user)
    outside = client.post(LIST, {"kind": "meter_fault", "customer": world.customer_b.pk})
    absent = client.post(LIST, {"kind": "meter_fault", "customer": 999999})
    assert outside.status_code == absent.status_code == 400
    assert outside.json()["customer"] == [
        m.replace("999999", str(world.customer_b.pk)) for m in absent.json()["customer"]
    ]
    assert not ServiceRequest.objects.exists()


def test_opening_an_unknown_kind_answers_400_on_kind_in_chinese(world, api):
    response = api(world.manager_a.user).post(
        LIST, {"kind": "teleport", "customer": world.customer_a.pk}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    assert CHINESE.search(response.json()["kind"][0])
    assert not ServiceRequest.objects.exists()


def test_opening_a_kind_without_its_subtype_answers_400_on_subtype(world, api):
    response = api(world.manager_a.user).post(LIST, {"kind": "complaint", "customer": world.customer_a.pk})
    assert response.status_code == 400
    assert "subtype" in response.json()
    assert not ServiceRequest.objects.exists()


def test_opening_with_neither_customer_nor_applicant_answers_400(world, api):
    response = api(world.manager_a.user).post(LIST, {"kind": "meter_fault"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert CHINESE.search(response.json()["customer"][0])
    assert not ServiceRequest.objects.exists()


def test_opening_with_the_call_centre_source_answers_400_on_source(world, api):
    response = api(world.manager_a.user).post(
        LIST, {"kind": "meter_fault", "customer": world.customer_a.pk, "source": "call_centre"}
    )
    assert response.status_code == 400
    assert "source" in response.json()
    assert not ServiceRequest.objects.exists()


def test_opening_for_an_applicant_takes_the_station(world, api):
    payload = {
        "kind": "new_connection",
        "subtype": "residential",
        "applicant": {"name": "丙村民", "phone": "13900000000", "capacity_kva": 8, "voltage_kv": 0.22},
        "station": world.station_a.pk,
    }
    response = api(world.manager_a.user).post(LIST, payload)
    assert response.status_code == 201, response.content
    assert response.json()["applicant"]["name"] == "丙村民"
    assert response.json()["station"] == world.station_a.pk


def test_department_staff_cannot_open_a_request(world, api):
    response = api(world.staff).post(LIST, {"kind": "meter_fault", "customer": world.customer_a.pk})
    assert response.status_code == 403


# ---------------------------------------------------------------- the description
def test_patch_changes_the_description(world, api, both):
    response = api(world.manager_a.user).patch(f"{LIST}{both[0].pk}/", {"description": "已联系客户"})
    assert response.status_code == 200
    assert response.json()["description"] == "已联系客户"


def test_patch_of_another_field_answers_400_and_changes_nothing(world, api, both):
    response = api(world.manager_a.user).patch(
        f"{LIST}{both[0].pk}/", {"kind": "complaint", "description": "x"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    assert CHINESE.search(response.json()["kind"][0])
    both[0].refresh_from_db()
    assert (both[0].kind, both[0].description) == ("meter_fault", "")


def test_patch_of_another_managers_request_answers_404(world, api, both):
    response = api(world.manager_a.user).patch(f"{LIST}{both[1].pk}/", {"description": "x"})
    assert response.status_code == 404


# ---------------------------------------------------------------- templates
TEMPLATES = "/api/v1/service-request-templates/"


def _template(**changes) -> dict:
    payload = {
        "kind": "meter_fault",
        "effective_from": "2027-01-01",
        "stages": [
            {
                "code": "check",
                "name": "现场核查",
                "department_kind": "metering",
                "limit": 2,
                "unit": "working_days",
            },
            {
                "code": "fix",
                "name": "处理",
                "department_kind": "metering",
                "limit": 1,
                "unit": "working_days",
            },
        ],
        "total_limit": 3,
        "total_unit": "working_days",
    }
    return {**payload, **changes}


@pytest.mark.parametrize("role", ["manager", "supervisor", "staff", "admin"])
def test_every_role_reads_the_templates(world, api, role):
    open_request(world.customer_a)  # loads the meter fault's template if the migration did not
    user = {"manager": world.manager_a.user}.get(role) or getattr(world, role)
    response = api(user).get(TEMPLATES, {"kind": "meter_fault"})
    assert response.status_code == 200
    assert response.json()["count"] >= 1
    assert response.json()["results"][0]["stages"][0]["department_kind"] == "metering"


def test_administrator_posts_a_new_version_and_running_requests_keep_theirs(world, api):
    running = open_request(world.customer_a)
    response = api(world.admin).post(TEMPLATES, _template())
    assert response.status_code == 201, response.content
    newest = RequestTemplate.objects.get(pk=response.json()["id"])
    assert newest.version == running.template.version + 1
    running.refresh_from_db()
    assert running.template_id != newest.pk


def test_a_manager_cannot_post_a_template(world, api):
    assert api(world.manager_a.user).post(TEMPLATES, _template()).status_code == 403


def test_a_bad_template_answers_400_per_field_and_writes_nothing(world, api):
    before = RequestTemplate.objects.count()
    bad_stage = {"code": "x", "name": "", "department_kind": "kitchen", "limit": 0, "unit": "weeks"}
    response = api(world.admin).post(
        TEMPLATES, _template(stages=[bad_stage], total_unit="years"), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert response.status_code == 400
    body = response.json()
    assert {"name", "department_kind", "limit", "unit"} <= set(body["stages"]["0"])
    assert CHINESE.search(body["total_unit"][0])
    assert RequestTemplate.objects.count() == before


# ---------------------------------------------------------------- the schema is true
def test_answers_of_the_service_endpoints_match_the_schema(world, api, both):
    from tests.crm.test_schema import assert_matches_schema

    spec = api().get("/api/v1/schema/?format=json").json()
    manager, staff, integration = api(world.manager_a.user), api(world.staff), api(world.integration)
    request = both[0].pk
    ticket = {"ticket_no": "T-1", "kind": "meter_fault", "account_no": world.customer_a.account_no}
    calls = [
        (manager, "get", LIST, None),
        (manager, "get", f"{LIST}{request}/", None),
        (manager, "get", f"{LIST}{both[1].pk}/", None),
        (manager, "get", f"{LIST}?kind=nope", None),
        (manager, "post", LIST, {"kind": "meter_fault", "customer": world.customer_a.pk}),
        (manager, "post", LIST, {"kind": "nope"}),
        (manager, "patch", f"{LIST}{request}/", {"description": "x"}),
        (manager, "patch", f"{LIST}{request}/", {"kind": "x"}),
        (manager, "post", f"{LIST}{request}/close/", None),
        (staff, "post", f"{LIST}{request}/advance/", {"stage": "check"}),
        (staff, "post", f"{LIST}{request}/advance/", {"stage": "check"}),
        (manager, "post", f"{LIST}{request}/close/", None),
        (manager, "post", f"{LIST}{request}/callback/", {"reached": True, "satisfaction": 4}),
        (integration, "get", f"{LIST}{request}/callback/", None),
        (manager, "post", f"{LIST}{both[1].pk}/cancel/", {"reason": "x"}),
        (integration, "post", "/api/v1/call-centre/tickets/", ticket),
        (integration, "post", "/api/v1/call-centre/tickets/", ticket),
        (integration, "post", "/api/v1/call-centre/tickets/", {"ticket_no": "T-2", "kind": "x"}),
        (staff, "get", TEMPLATES, None),
        (world_admin := api(world.admin), "post", TEMPLATES, _template()),
        (world_admin, "post", TEMPLATES, _template(stages=[])),
    ]
    for client, method, url, body in calls:
        response = getattr(client, method)(url, body, format="json")
        assert_matches_schema(spec, method, url, response)
