"""The error shape of api.md, and bad input that must never become a 500."""

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError
from rest_framework import status

from crm.common.errors import Conflict, exception_handler
from customers.models import Customer


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


# ---------------------------------------------------------------- the handler
def _handled(exc):
    response = exception_handler(exc, {})
    return response.status_code, response.data


def test_django_validation_error_by_field_becomes_400_by_field():
    code, data = _handled(DjangoValidationError({"name": ["Too long."], "__all__": ["Inconsistent."]}))
    assert code == 400
    assert data == {"name": ["Too long."], "non_field_errors": ["Inconsistent."]}


def test_django_validation_error_without_field_becomes_non_field_errors():
    code, data = _handled(DjangoValidationError("Not now."))
    assert (code, data) == (400, {"non_field_errors": ["Not now."]})


def test_integrity_error_becomes_409():
    code, data = _handled(IntegrityError("duplicate key value violates unique constraint"))
    assert code == status.HTTP_409_CONFLICT
    assert "duplicate key" not in data["detail"]  # the database's words stay on the server


def test_protected_error_becomes_409():
    code, _ = _handled(ProtectedError("in use", set()))
    assert code == 409


def test_conflict_is_409_with_detail():
    assert _handled(Conflict("Finalized.")) == (409, {"detail": "Finalized."})


def test_missing_object_raised_by_a_service_becomes_404():
    assert _handled(Customer.DoesNotExist())[0] == 404


def test_programming_errors_are_not_hidden():
    assert exception_handler(TypeError("bug"), {}) is None  # DRF re-raises: a real 500, logged


# ---------------------------------------------------------------- bad input over HTTP
HUGE = "9" * 30

BAD_GETS = [
    # (url, expected status)
    ("/api/v1/customers/?tier=nope", 400),
    ("/api/v1/customers/?status=nope", 400),
    ("/api/v1/customers/?manager=abc", 400),
    ("/api/v1/customers/?manager=-1", 200),
    (f"/api/v1/customers/?manager={HUGE}", 200),
    (f"/api/v1/customers/?station={HUGE}", 200),
    ("/api/v1/customers/?station=1.5", 400),
    ("/api/v1/customers/?tier_pinned=maybe", 400),
    ("/api/v1/customers/?unassigned=maybe", 400),
    ("/api/v1/customers/?ordering=nonexistent", 200),
    ("/api/v1/customers/?ordering=-password,,", 200),
    ("/api/v1/customers/?search=%00", 400),
    ("/api/v1/customers/?search=" + "x" * 5000, 200),
    ("/api/v1/customers/?account_no=%00", 400),
    ("/api/v1/customers/?page=abc", 400),
    ("/api/v1/customers/?page=0", 400),
    ("/api/v1/customers/?page=-1", 400),
    (f"/api/v1/customers/?page={HUGE}", 404),
    ("/api/v1/customers/?page_size=abc", 400),
    ("/api/v1/customers/?page_size=0", 400),
    (f"/api/v1/customers/?page_size={HUGE}", 200),
    ("/api/v1/customers/abc/", 404),
    (f"/api/v1/customers/{HUGE}/", 404),
    ("/api/v1/customers/-1/", 404),
    ("/api/v1/customers/%00/", 404),
    ("/api/v1/customers/abc/consumption/", 404),
    (f"/api/v1/customers/{HUGE}/contacts/", 404),
    ("/api/v1/contacts/?customer=abc", 400),
    (f"/api/v1/contacts/{HUGE}/", 404),
    ("/api/v1/managers/?role=nope", 400),
    ("/api/v1/managers/?active=maybe", 400),
    (f"/api/v1/managers/{HUGE}/", 404),
    (f"/api/v1/managers/{HUGE}/portfolio/", 404),
    ("/api/v1/assignments/?current=maybe", 400),
    ("/api/v1/assignments/?customer=x", 400),
    (f"/api/v1/assignments/{HUGE}/", 404),
    ("/api/v1/stations/?branch=x", 400),
    ("/api/v1/communities/?station=x", 400),
    ("/api/v1/transformer-districts/?manager=x", 400),
]


@pytest.mark.parametrize(("url", "expected"), BAD_GETS)
def test_bad_query_answers_a_client_error_never_a_500(world, api, url, expected):
    response = api(world.admin).get(url)
    assert response.status_code == expected, response.content[:300]
    if expected == 400:
        assert isinstance(response.json(), dict)


def _customer_payload(world, **changes):
    payload = {
        "account_no": "3100888888",
        "name": "测试户",
        "category": "commercial",
        "voltage_kv": "0.38",
        "station": world.station_a.pk,
    }
    return {**payload, **changes}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"station": "abc"}, "station"),
        ({"station": HUGE}, "station"),
        ({"station": int(HUGE)}, "station"),
        ({"station": -5}, "station"),
        ({"station": True}, "station"),
        ({"station": [1]}, "station"),
        ({"station": {"id": 1}}, "station"),
        ({"voltage_kv": "abc"}, "voltage_kv"),
        ({"voltage_kv": "1e400"}, "voltage_kv"),
        ({"voltage_kv": "NaN"}, "voltage_kv"),
        ({"voltage_kv": "-1"}, "voltage_kv"),
        ({"voltage_kv": 10**20}, "voltage_kv"),
        ({"contracted_capacity_kva": "Infinity"}, "contracted_capacity_kva"),
        ({"category": "nope"}, "category"),
        ({"category": None}, "category"),
        ({"name": "x" * 1000}, "name"),
        ({"name": "坏\x00名"}, "name"),
        ({"name": ["a list"]}, "name"),
        ({"account_no": ""}, "account_no"),
        ({"community": "x"}, "community"),
        ({"status": 3}, "status"),
    ],
)
def test_bad_customer_fields_answer_400_on_the_field(world, api, changes, field):
    response = api(world.integration).post(
        "/api/v1/customers/", _customer_payload(world, **changes), format="json"
    )
    assert response.status_code == 400, response.content[:300]
    assert field in response.json()
    assert not Customer.objects.filter(account_no="3100888888").exists()


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"\xff\xfe", b"[1, 2", b'{"name": "x"', b"null", b"123", b'"text"', b"[]"],
)
def test_malformed_or_non_object_json_answers_400(world, api, body):
    response = api(world.integration).post("/api/v1/customers/", body, content_type="application/json")
    assert response.status_code == 400
    assert isinstance(response.json(), dict)


def test_unsupported_media_type_answers_415(world, api):
    response = api(world.integration).post("/api/v1/customers/", b"<xml/>", content_type="application/xml")
    assert response.status_code == 415


def test_unknown_fields_are_ignored(world, api):
    payload = _customer_payload(world, favourite_colour="blue", id=999999)
    response = api(world.integration).post("/api/v1/customers/", payload, format="json")
    assert response.status_code == 201
    assert response.json()["id"] != 999999


def test_null_characters_in_bulk_rows_are_refused_not_a_server_error(world, api):
    rows = [{"account_no": "31\x0000", "period": "2026-01", "kwh": "1"}]
    response = api(world.integration).post("/api/v1/consumption/bulk/", rows, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"][0]["errors"]) == ["account_no"]


@pytest.mark.parametrize(
    "row",
    [
        {"account_no": ["x"], "period": "2026-01", "kwh": "1"},
        {"account_no": {"a": 1}, "period": "2026-01", "kwh": "1"},
        {"account_no": "1", "period": ["2026-01"], "kwh": "1"},
        {"account_no": "1", "period": 202601, "kwh": True},
        {"account_no": "1", "period": "2026-01", "kwh": {"v": 1}},
        {"account_no": "1", "period": "2026-01", "kwh": "1e400"},
        {"account_no": "1", "period": "2026-01", "kwh": "NaN"},
        {"account_no": "1", "period": "9999999999-01", "kwh": "1"},
        {"account_no": "x" * 5000, "period": "2026-01", "kwh": "1"},
    ],
)
def test_wrong_types_in_bulk_rows_are_refused_per_row(world, api, row):
    response = api(world.integration).post("/api/v1/consumption/bulk/", [row], format="json")
    assert response.status_code == 400
    assert response.json()["rejected"] == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"customer": "abc", "manager": 1, "reason": "x"},
        {"customer": HUGE, "manager": HUGE, "reason": "x"},
        {"customer": None, "manager": None, "reason": "x"},
        {"customer": 1, "manager": 1, "reason": "x" * 301},
        {"customer": 1, "manager": 1, "reason": ["x"]},
    ],
)
def test_bad_assignment_input_answers_400(world, api, payload):
    assert api(world.admin).post("/api/v1/assignments/", payload, format="json").status_code == 400


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "a\x00b", "password": "x"},
        {"username": ["a"], "password": "x"},
        {"username": None, "password": None},
        {"username": "x" * 10000, "password": "y"},
    ],
)
def test_bad_token_requests_answer_400(db, api, payload):
    assert api().post("/api/v1/auth/token/", payload, format="json").status_code == 400


def test_bad_manager_fields_answer_400(world, api):
    url = f"/api/v1/managers/{world.manager_a.pk}/"
    client = api(world.admin)
    for payload in ({"max_customers": -1}, {"max_customers": "many"}, {"role": "boss"}, {"supervisor": "x"}):
        response = client.patch(url, payload, format="json")
        assert response.status_code == 400, (payload, response.content[:200])
        assert set(response.json()) == set(payload)


def test_null_characters_in_unique_fields_are_refused_before_the_uniqueness_query(world, api):
    # PostgreSQL refuses NUL in text: the uniqueness check must never see it
    customer = _customer_payload(world, account_no="31\x0000")
    assert api(world.integration).post("/api/v1/customers/", customer, format="json").status_code == 400
    station = {"code": "S\x00", "name": "x", "branch": world.station_a.branch_id}
    assert api(world.admin).post("/api/v1/stations/", station, format="json").status_code == 400


def test_an_overlong_username_on_the_login_page_is_refused_not_a_500(client, db):
    response = client.post("/login/", {"username": "x" * 10000, "password": "y"})
    assert response.status_code == 200  # the form again, with its error
    assert response.context["form"].errors
