"""schemathesis against /api/v1/schema/: every operation, called in-process through the WSGI
application with an administrator's real token, with a bounded number of generated examples each
(valid and invalid ones). No answer may be a server error, and every answer must match the schema:
a declared status, a declared content type and a body that fits the declared schema.

Path ids are generated too; half the examples use the id of a real object of that endpoint instead,
so detail, update and action operations reach the code behind the 404."""

import zlib
from decimal import Decimal

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.test import Client as WsgiClient

from customers.models import ClassificationRun
from customers.tiering.api import KWH_THRESHOLD_MAX
from tests.crm.test_schema import assert_matches_schema
from tests.factories import (
    AssignmentFactory,
    CommunityFactory,
    ConsumptionFactory,
    ContactFactory,
    TransformerDistrictFactory,
)

SCHEMA_PATH = "/api/v1/schema/?format=json"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Bounded so that the whole module stays around a minute and a half on PostgreSQL in CI.
EXAMPLES_PER_OPERATION = 6


# Loaded once at collection, so that each operation is a test of its own. Generating the schema reads
# no data (pytest-django would refuse any database access here).
APP = get_wsgi_application()
# The explicit examples and the random (fuzzing) phase, bounded per operation; schemathesis' coverage
# phase (every boundary of every parameter) alone took ten minutes for the whole API here.
CONFIG = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, APP, config=CONFIG)


@pytest.fixture
def in_test_transaction():
    """Requests go to the WSGI application directly, so Django closes the database connection when
    each ends, and with it the test's transaction; Django's test client disconnects the same
    handlers for the same reason."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(world, in_test_transaction):
    """A little data behind the world's cast, so that the generated calls meet real objects: a
    community, a district, a contact, consumption and an assignment."""
    CommunityFactory(station=world.station_a)
    TransformerDistrictFactory(station=world.station_a)
    ContactFactory(customer=world.customer_a)
    ConsumptionFactory(customer=world.customer_a)
    AssignmentFactory(customer=world.customer_a, manager=world.manager_a.user)
    return world


def _a_real_id(case, headers: dict) -> str | None:
    """The id of the first object the operation's collection lists, e.g. /api/v1/customers/ for
    /api/v1/customers/{id}/pin-tier/."""
    collection = case.operation.path.split("{", 1)[0]
    if collection == case.operation.path:
        return None
    response = _get(collection, headers)
    if response is None:
        return None
    body = response.get_json()
    rows = body.get("results", body) if isinstance(body, dict) else body
    return str(rows[0]["id"]) if rows and isinstance(rows, list) and "id" in rows[0] else None


def _get(path: str, headers: dict):
    # Through the WSGI application like the generated calls: Django's test client would connect
    # close_old_connections again after its request (see in_test_transaction).
    response = WsgiClient(APP).get(path, headers={"Authorization": headers["Authorization"]})
    return response if response.status_code == 200 else None


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_api_answers_every_generated_request_without_5xx_and_as_declared(case, seeded):
    world = seeded
    # Given an administrator's token (made again if an earlier example revoked it via DELETE token/)
    token, _ = Token.objects.get_or_create(user=world.admin)
    headers = {"Authorization": f"Token {token.key}"}
    path_id = (case.path_parameters or {}).get("id")
    if path_id is not None and zlib.crc32(str(path_id).encode()) % 2 == 0:
        real = _a_real_id(case, headers)
        if real is not None:
            case.path_parameters["id"] = real
    # When the generated request is sent; then no 5xx, and the answer is the declared one
    case.call_and_validate(headers=headers, checks=CHECKS)


# ---------------------------------------------------------------- what it found, pinned down
def test_a_nul_in_search_answers_the_error_shape_where_nothing_is_searched(world, api):
    # schemathesis: GET classification-runs/{id}/changes/?search=<NUL> answered a bare list
    run = ClassificationRun.objects.create(trigger=ClassificationRun.Trigger.MANUAL)
    response = api(world.admin).get(f"/api/v1/classification-runs/{run.pk}/changes/", {"search": "a\x00b"})
    assert response.status_code == 400
    assert list(response.json()) == ["search"]


def test_a_body_that_cannot_be_parsed_answers_the_declared_400_on_consumption_bulk(world, api):
    # schemathesis: a broken multipart form answered {detail}, which the 400 schema did not allow
    spec = api().get("/api/v1/schema/?format=json").json()
    response = api(world.admin).post(
        "/api/v1/consumption/bulk/", b"[{", content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "detail" in response.json()
    assert_matches_schema(spec, "post", "/api/v1/consumption/bulk/", response)


def test_a_kwh_threshold_past_the_bound_is_refused_and_the_bound_is_declared(world, api):
    # schemathesis: a 16-digit kWh threshold was stored on SQLite, then reading it back was a 500
    spec = api().get("/api/v1/schema/?format=json").json()
    declared = spec["components"]["schemas"]["TierPolicy"]["properties"]["vip_kwh"]
    assert Decimal(str(declared["maximum"])) == KWH_THRESHOLD_MAX
    response = api(world.admin).post(
        "/api/v1/tier-policies/",
        {"effective_from": "2030-01-01", "vip_kwh": "99999999999999.99"},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["vip_kwh"]
    assert api(world.admin).get("/api/v1/tier-policies/").status_code == 200
