"""The OpenAPI schema at /api/v1/schema/ is valid, complete for the contract, and true: the answers the
server sends match what it declares (api.md, "The schema is true")."""

import re
from decimal import Decimal

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from openapi_schema_validator import OAS30ReadValidator, validate
from openapi_spec_validator import validate as validate_spec

from tests.factories import (
    AssignmentFactory,
    CommunityFactory,
    ConsumptionFactory,
    ContactFactory,
    TransformerDistrictFactory,
)


@pytest.fixture
def spec(db, api):
    response = api().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def _template_for(spec: dict, url: str) -> str:
    path = url.split("?")[0]
    for template in spec["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not in the schema")


def assert_matches_schema(spec: dict, method: str, url: str, response) -> None:
    """The response's status is declared for the operation and its JSON body fits the declared schema."""
    operation = spec["paths"][_template_for(spec, url)][method]
    declared = operation["responses"].get(str(response.status_code))
    assert declared is not None, f"{method.upper()} {url} answered {response.status_code}, not declared"
    content = declared.get("content", {}).get("application/json")
    if response.status_code == 204 or not response.content:
        assert content is None or not response.content
        return
    assert content is not None, f"{method.upper()} {url} {response.status_code} declares no JSON body"
    schema = {**content["schema"], "components": spec["components"]}
    validate(
        response.json(), schema, cls=OAS30ReadValidator, format_checker=OAS30ReadValidator.FORMAT_CHECKER
    )


def test_schema_is_a_valid_openapi_3_document(spec):
    # Given the served schema; then openapi-spec-validator accepts it
    validate_spec(spec)
    assert spec["openapi"].startswith("3.")


def test_schema_generation_raises_no_warnings(api, db):
    # Given a clean slate of generator warnings; when the schema is generated
    GENERATOR_STATS.reset()
    response = api().get("/api/v1/schema/?format=json")
    # then drf-spectacular had nothing to guess or complain about
    assert response.status_code == 200
    assert not GENERATOR_STATS._warn_cache, dict(GENERATOR_STATS._warn_cache)
    assert not GENERATOR_STATS._error_cache, dict(GENERATOR_STATS._error_cache)


def test_schema_documents_every_resource_of_the_contract(spec):
    expected = {
        "/api/v1/auth/token/": {"post", "delete"},
        "/api/v1/stations/": {"get", "post"},
        "/api/v1/stations/{id}/": {"get", "put", "patch", "delete"},
        "/api/v1/communities/": {"get", "post"},
        "/api/v1/communities/{id}/": {"get", "put", "patch", "delete"},
        "/api/v1/transformer-districts/": {"get", "post"},
        "/api/v1/transformer-districts/{id}/": {"get", "put", "patch", "delete"},
        "/api/v1/customers/": {"get", "post"},
        "/api/v1/customers/{id}/": {"get", "put", "patch"},
        "/api/v1/customers/{id}/consumption/": {"get"},
        "/api/v1/customers/{id}/contacts/": {"get", "post"},
        "/api/v1/contacts/": {"get", "post"},
        "/api/v1/contacts/{id}/": {"get", "put", "patch", "delete"},
        "/api/v1/consumption/bulk/": {"post"},
        "/api/v1/managers/": {"get", "post"},
        "/api/v1/managers/{id}/": {"get", "put", "patch", "delete"},
        "/api/v1/managers/{id}/portfolio/": {"get"},
        "/api/v1/assignments/": {"get", "post"},
        "/api/v1/assignments/{id}/": {"get"},
        "/api/v1/health/": {"get"},
    }
    for path, methods in expected.items():
        assert path in spec["paths"], path
        assert methods <= set(spec["paths"][path]), (path, set(spec["paths"][path]))


def test_lists_declare_pagination_filters_search_and_ordering(spec):
    operation = spec["paths"]["/api/v1/customers/"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"page", "page_size", "search", "ordering", "tier", "manager", "station", "status"} <= names
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    paginated = spec["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]
    assert {"count", "next", "previous", "results"} <= set(paginated["properties"])


def test_schema_declares_the_error_shapes(spec):
    detail = spec["paths"]["/api/v1/customers/{id}/"]["get"]["responses"]
    assert {"401", "403", "404"} <= set(detail)
    assert detail["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorDetail")
    create = spec["paths"]["/api/v1/customers/"]["post"]["responses"]
    assert create["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ValidationError")


def test_health_is_declared_without_authentication(spec):
    operation = spec["paths"]["/api/v1/health/"]["get"]
    assert "401" not in operation["responses"]
    assert operation.get("security") in (None, [], [{}])


def test_docs_page_answers_200(api, db):
    response = api().get("/api/v1/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


# ---------------------------------------------------------------- the schema is true
def test_answers_of_the_customer_resources_match_the_schema(world, api, spec):
    # Given a customer with consumption and a contact
    ConsumptionFactory(customer=world.customer_a, period="2026-01-01", max_demand_kw=Decimal("12.5"))
    contact = ContactFactory(customer=world.customer_a)
    admin, manager = api(world.admin), api(world.manager_a.user)
    customer = world.customer_a.pk
    calls = [
        (admin, "get", "/api/v1/customers/", None),
        (admin, "get", f"/api/v1/customers/{customer}/", None),
        (manager, "get", f"/api/v1/customers/{customer}/consumption/", None),
        (manager, "get", f"/api/v1/customers/{customer}/contacts/", None),
        (manager, "post", f"/api/v1/customers/{customer}/contacts/", {"name": "钱工"}),
        (manager, "get", "/api/v1/contacts/", None),
        (manager, "get", f"/api/v1/contacts/{contact.pk}/", None),
        (manager, "patch", f"/api/v1/contacts/{contact.pk}/", {"email": "not an address"}),
        (manager, "get", f"/api/v1/customers/{world.customer_b.pk}/", None),
        (manager, "post", "/api/v1/customers/", {"name": "x"}),
        (admin, "post", "/api/v1/customers/", {"name": "x"}),
        (admin, "get", "/api/v1/customers/?tier=nope", None),
        (admin, "get", "/api/v1/customers/?page=99", None),
        (api(), "get", "/api/v1/customers/", None),
    ]
    for client, method, url, body in calls:
        response = getattr(client, method)(url, body, format="json")
        assert_matches_schema(spec, method, url, response)


def test_answers_of_the_territory_resources_match_the_schema(world, api, spec):
    community = CommunityFactory(station=world.station_a)
    district = TransformerDistrictFactory(station=world.station_a)
    admin = api(world.admin)
    calls = [
        ("get", "/api/v1/stations/", None),
        ("get", f"/api/v1/stations/{world.station_a.pk}/", None),
        ("delete", f"/api/v1/stations/{world.station_a.pk}/", None),
        ("get", "/api/v1/communities/", None),
        ("get", f"/api/v1/communities/{community.pk}/", None),
        ("get", "/api/v1/transformer-districts/", None),
        ("patch", f"/api/v1/transformer-districts/{district.pk}/", {"rated_capacity_kva": "630"}),
    ]
    for method, url, body in calls:
        response = getattr(admin, method)(url, body, format="json")
        assert_matches_schema(spec, method, url, response)


def test_answers_of_the_manager_resources_match_the_schema(world, api, spec):
    AssignmentFactory(customer=world.customer_a, manager=world.manager_a.user)
    supervisor = api(world.supervisor)
    manager_id = world.manager_a.pk
    calls = [
        ("get", "/api/v1/managers/", None),
        ("get", f"/api/v1/managers/{manager_id}/", None),
        ("patch", f"/api/v1/managers/{manager_id}/", {"max_customers": 300}),
        ("get", f"/api/v1/managers/{manager_id}/portfolio/", None),
        ("get", "/api/v1/assignments/", None),
        (
            "post",
            "/api/v1/assignments/",
            {"customer": world.customer_a.pk, "manager": manager_id, "reason": ""},
        ),
        ("delete", f"/api/v1/managers/{manager_id}/", None),
    ]
    for method, url, body in calls:
        response = getattr(supervisor, method)(url, body, format="json")
        assert_matches_schema(spec, method, url, response)


def test_answers_of_token_bulk_and_health_match_the_schema(world, api, spec):
    anonymous, integration = api(), api(world.integration)
    good = [{"account_no": world.customer_a.account_no, "period": "2026-01", "kwh": "100"}]
    bad = [{"account_no": "nobody", "period": "2026-01", "kwh": "-1"}]
    calls = [
        (
            anonymous,
            "post",
            "/api/v1/auth/token/",
            {"username": "billing", "password": "correct-horse-battery"},
        ),
        (anonymous, "post", "/api/v1/auth/token/", {"username": "billing", "password": "wrong"}),
        (integration, "post", "/api/v1/consumption/bulk/", good),
        (integration, "post", "/api/v1/consumption/bulk/", bad),
        (integration, "post", "/api/v1/consumption/bulk/", {"not": "a list"}),
        (anonymous, "get", "/api/v1/health/", None),
        (integration, "delete", "/api/v1/auth/token/", None),
    ]
    for client, method, url, body in calls:
        response = getattr(client, method)(url, body, format="json")
        assert_matches_schema(spec, method, url, response)
