"""The permission matrix: every API endpoint of the router and every page of the URL resolver, for
every role, with objects inside and outside the user's scope. Endpoints and pages added later are
walked automatically.

- An object outside the user's scope answers 404 on its detail, and never shows in a list, a
  count, a search or a filter.
- What a user may not see at all is never answered with its content (403 or 404, never 200).
- No answer is a 5xx, and no page or answer shown to manager A carries a word of customer B's
  (the canary), whatever the path, search or filter."""

import io
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from openpyxl import load_workbook
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from crm.api import router
from tests.factories import (
    AppraisalCycleFactory,
    AppraisalFactory,
    AssignmentFactory,
    ConsumptionFactory,
    ContactFactory,
    RaterFactory,
)

CANARY = "乙水泥厂"  # customer B's name: manager A and the supervisor must never read it


@pytest.fixture
def matrix(world):
    """The world, with dependent objects on both sides of the scope line."""
    for customer, manager in ((world.customer_a, world.manager_a), (world.customer_b, world.manager_b)):
        ContactFactory(customer=customer, name=f"{customer.name}联系人")
        ConsumptionFactory(customer=customer)
        AssignmentFactory(customer=customer, manager=manager.user, reason=f"{customer.name}分配")
    # an appraisal on each side (A's with the supervisor on its panel), one of them finalized
    cycle = AppraisalCycleFactory(status="scoring")
    appraisal_a = AppraisalFactory(cycle=cycle, manager=world.manager_a)
    AppraisalFactory(cycle=cycle, manager=world.manager_b, status="finalized")
    RaterFactory(appraisal=appraisal_a, kind="supervisor", user=world.supervisor)
    # a service request on each side: A's meter fault has a stage of the metering staff's
    # department, B's billing query has none (both stations share the departments' branch)
    from service.services import request_open

    request_open(kind="meter_fault", source="manager", by=None, customer=world.customer_a)
    request_open(kind="billing_query", source="manager", by=None, customer=world.customer_b)
    return world


def _roles(world):
    return {
        "manager": world.manager_a.user,
        "supervisor": world.supervisor,
        "administrator": world.admin,
        "integration": world.integration,
        "staff": world.staff,
    }


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _model_of(viewset, user):
    """The model an endpoint serves, asked of the viewset as a request would (some build their
    queryset per request)."""
    queryset = getattr(viewset, "queryset", None)
    if queryset is None:
        request = Request(APIRequestFactory().get("/"))
        request.user = user
        view = viewset(request=request, format_kwarg=None, kwargs={}, action="list")
        queryset = view.get_queryset()
    return queryset.model


def _visible_ids(model, user) -> set:
    queryset = model._default_manager.all()
    if hasattr(queryset, "visible_to"):
        queryset = queryset.visible_to(user)
    return set(queryset.values_list("pk", flat=True))


ENDPOINTS = [(prefix, viewset, basename) for prefix, viewset, basename in router.registry]
ROLES = ["manager", "supervisor", "administrator", "integration", "staff"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("prefix", "viewset", "basename"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_api_lists_and_details_show_exactly_the_users_scope(matrix, role, prefix, viewset, basename):
    # given a user of the role and every object of the endpoint's model, in scope or not
    user = _roles(matrix)[role]
    model = _model_of(viewset, user)
    client = _client(user)
    # when the user lists the endpoint
    listed = client.get(f"/api/v1/{prefix}/", {"page_size": 500})
    # then the answer is an answer (no 5xx), and a list shows exactly the visible objects
    assert listed.status_code in (200, 403, 405), listed.content[:300]
    visible = _visible_ids(model, user)
    if listed.status_code == 200:
        body = listed.json()
        assert body["count"] == len(visible)
        assert {row["id"] for row in body["results"]} == visible
    # and every detail answers by the scope: in scope 200 (if the user may read at all), else 404
    for pk in model._default_manager.values_list("pk", flat=True):
        detail = client.get(f"/api/v1/{prefix}/{pk}/")
        if pk not in visible:
            # a role that may not read the endpoint at all (department staff and customers) is refused
            # whatever the object: that answer tells nothing either
            refusals = (403, 404) if listed.status_code == 403 else (404,)
            assert detail.status_code in refusals, (prefix, pk, detail.status_code)
        elif listed.status_code == 200:
            assert detail.status_code == 200, (prefix, pk, detail.status_code)
        else:
            assert detail.status_code in (403, 404), (prefix, pk, detail.status_code)


def test_the_matrix_scope_puts_customer_b_and_its_objects_outside_manager_a(matrix):
    # the matrix's idea of the scope, anchored: A's side visible, B's side not
    user = matrix.manager_a.user
    for prefix, viewset, _basename in ENDPOINTS:
        model = _model_of(viewset, user)
        if model._meta.label == "customers.Customer":
            assert _visible_ids(model, user) == {matrix.customer_a.pk}
        if model._meta.label in ("customers.Contact", "managers.Assignment"):
            owners = set(
                model.objects.filter(pk__in=_visible_ids(model, user)).values_list("customer", flat=True)
            )
            assert owners == {matrix.customer_a.pk}, prefix
        if model._meta.label == "managers.Manager":
            assert _visible_ids(model, user) == {matrix.manager_a.pk}
        if model._meta.label == "service.ServiceRequest":
            customers = set(
                model.objects.filter(pk__in=_visible_ids(model, user)).values_list("customer", flat=True)
            )
            assert customers == {matrix.customer_a.pk}
            staff_sees = set(model.objects.visible_to(matrix.staff).values_list("customer", flat=True))
            assert staff_sees == {matrix.customer_a.pk}


@pytest.mark.parametrize("role", ["manager", "supervisor", "staff"])
@pytest.mark.parametrize(("prefix", "viewset", "basename"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_api_search_and_filters_never_reach_outside_the_scope(matrix, role, prefix, viewset, basename):
    user = _roles(matrix)[role]
    client = _client(user)
    queries = [
        {"search": CANARY},
        {"search": matrix.customer_b.account_no},
        {"customer": matrix.customer_b.pk},
        {"manager": matrix.manager_b.pk},
        {"station": matrix.station_b.pk},
        {"ordering": "-id"},
    ]
    for query in queries:
        response = client.get(f"/api/v1/{prefix}/", query)
        assert response.status_code < 500, (prefix, query)
        assert CANARY not in response.content.decode(), (prefix, query)


def _api_paths_with_ids(world) -> list[str]:
    """The API paths outside the router that take an id (tier history, pin, ...), with customer B's
    and manager B's ids."""
    paths = set()
    for route in _walk(get_resolver().url_patterns, ""):
        if route.startswith("api/v1/") and "<" in route and "(?P" not in route:
            for value in (world.customer_b.pk, world.manager_b.pk):
                paths.add(_fill(route, value))
    return sorted(paths)


def _walk(patterns, prefix: str):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route


def _pages() -> list[str]:
    """Every browser page of the resolver (not the API, the admin or the language switch)."""
    return sorted(
        {
            route
            for route in _walk(get_resolver().url_patterns, "")
            if not route.startswith(("api/", "admin/", "i18n/")) and "(?P<format>" not in route
        }
    )


PAGES = _pages()


def _text_of(response) -> str:
    """What a reader of the answer sees: the page, or every cell of an exported workbook."""
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        workbook = load_workbook(io.BytesIO(response.content), read_only=True)
        return " ".join(
            str(value) for sheet in workbook for row in sheet.iter_rows(values_only=True) for value in row
        )
    return response.content.decode()


def _fill(route: str, value: int) -> str:
    return "/" + re.sub(r"<(?:\w+:)?\w+>", str(value), route).lstrip("^").rstrip("$")


# Pages served to anyone, and why that shows nothing of anyone's data.
PUBLIC = {
    "sw.js": "the service worker's code, a static file (the briefcase it fills comes from the API)",
    "manifest.webmanifest": "the app's name and icons; browsers fetch it without the session cookie",
}


@pytest.mark.parametrize("route", PAGES)
def test_pages_send_anonymous_visitors_to_log_in(db, client, route):
    response = client.get(_fill(route, 1))
    if route in ("login/", "logout/"):
        assert response.status_code in (200, 302, 405)
    elif route in PUBLIC:
        assert response.status_code == 200
    else:
        assert response.status_code in (302, 404), response.status_code
        if response.status_code == 302:
            assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("role", ["manager", "supervisor", "staff"])
@pytest.mark.parametrize("route", PAGES)
def test_pages_never_show_another_scopes_customer(matrix, client, role, route):
    # given manager A or their supervisor, neither of whom serves customer B
    client.force_login(_roles(matrix)[role])
    # when they open the page, with customer B's, manager B's and station B's ids where it takes one
    account_no = matrix.customer_b.account_no  # searched for; the page may echo it, not find it
    for value in {matrix.customer_b.pk, matrix.manager_b.pk, matrix.station_b.pk}:
        response = client.get(_fill(route, value), {"search": account_no, "q": account_no})
        # then nothing breaks and nothing of customer B's shows
        assert response.status_code < 500, (route, value)
        assert CANARY not in _text_of(response), (route, value)


@pytest.mark.parametrize("role", ["manager", "supervisor", "staff"])
def test_other_api_paths_with_an_out_of_scope_id_answer_404(matrix, role):
    client = _client(_roles(matrix)[role])
    paths = _api_paths_with_ids(matrix)
    assert paths  # the walk found them
    for path in paths:
        response = client.get(path)
        assert response.status_code in (403, 404, 405), (path, response.status_code)
        assert CANARY not in response.content.decode(), path


def test_schema_and_error_messages_carry_no_data(matrix):
    client = _client(matrix.manager_a.user)
    schema = client.get("/api/v1/schema/")
    missing = client.get(f"/api/v1/customers/{matrix.customer_b.pk}/")
    assert schema.status_code == 200
    assert CANARY not in schema.content.decode()
    assert missing.status_code == 404
    assert CANARY not in missing.content.decode()
    assert matrix.customer_b.account_no not in missing.content.decode()


@pytest.mark.parametrize(
    ("role", "expected"),
    [("manager", 400), ("supervisor", 400), ("administrator", 201), ("integration", 201), ("staff", 403)],
)
def test_the_ticket_batch_opens_only_within_the_callers_scope(matrix, role, expected):
    # given a batch of one ticket for customer B (outside manager A's and the supervisor's scope)
    client = _client(_roles(matrix)[role])
    ticket = {"ticket_no": f"PM-{role}", "kind": "meter_fault", "account_no": matrix.customer_b.account_no}
    # when posted: the integration client and administrators open it, department staff may not post
    # tickets, and for the others customer B's account is as if absent (400 on account_no)
    response = client.post("/api/v1/call-centre/tickets/batch/", [ticket], format="json")
    assert response.status_code == expected, response.content[:300]
    if expected == 400:
        assert list(response.json()["errors"][0]["errors"]) == ["account_no"]
        assert CANARY not in response.content.decode()
