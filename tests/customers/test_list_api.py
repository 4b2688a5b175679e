"""What every list of the API shares: pagination, the declared filters, search, ordering, and a number
of queries that does not grow with the number of rows."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Category, Customer, Importance, Status, Tier
from managers.models import Role
from tests.factories import (
    AssignmentFactory,
    CommunityFactory,
    ConsumptionFactory,
    ContactFactory,
    CustomerFactory,
    ManagerFactory,
    StationFactory,
    TransformerDistrictFactory,
    UserFactory,
)

CUSTOMERS = "/api/v1/customers/"


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:300]
    return [row["id"] for row in response.json()["results"]]


# ---------------------------------------------------------------- pagination
def test_lists_answer_count_next_previous_and_results(world, api):
    body = api(world.admin).get(CUSTOMERS).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)


def test_page_size_sets_the_page_and_links_lead_on_and_back(world, api):
    CustomerFactory.create_batch(3, station=world.station_a)
    client = api(world.admin)
    first = client.get(CUSTOMERS, {"page_size": 2}).json()
    assert (first["count"], len(first["results"]), first["previous"]) == (5, 2, None)
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 2
    assert "page=2" in first["next"]
    assert "page_size=2" in first["next"]
    third = client.get(second["next"]).json()
    assert (len(third["results"]), third["next"]) == (1, None)
    assert client.get(third["previous"]).json() == second


def test_pages_neither_overlap_nor_skip_rows(world, api):
    CustomerFactory.create_batch(7, station=world.station_a, name="同名客户")
    client, seen, url = api(world.admin), [], f"{CUSTOMERS}?ordering=name&page_size=2"
    while url:
        body = client.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(Customer.objects.values_list("pk", flat=True))


def test_default_page_size_is_50(world, api):
    CustomerFactory.create_batch(51, station=world.station_a)
    body = api(world.admin).get(CUSTOMERS).json()
    assert (body["count"], len(body["results"])) == (53, 50)


def test_page_size_above_500_is_clamped_to_500(world, api):
    station = world.station_a
    Customer.objects.bulk_create(
        Customer(
            account_no=f"39{n:08d}",
            name=f"批量{n}",
            category=Category.RESIDENTIAL,
            voltage_kv=Decimal("0.22"),
            station=station,
            tier=Tier.TRANSFORMER_DISTRICT,
        )
        for n in range(501)
    )
    body = api(world.admin).get(CUSTOMERS, {"page_size": 1000}).json()
    assert (body["count"], len(body["results"])) == (503, 500)
    assert body["next"] is not None


def test_last_page_by_name(world, api):
    CustomerFactory.create_batch(3, station=world.station_a)
    body = api(world.admin).get(CUSTOMERS, {"page_size": 2, "page": "last"}).json()
    assert (len(body["results"]), body["next"]) == (1, None)


def test_page_past_the_end_answers_404(world, api):
    assert api(world.admin).get(CUSTOMERS, {"page": 3}).status_code == 404


# ---------------------------------------------------------------- filters, each declared one
@pytest.fixture
def varied(world):
    """Customers of manager A that differ in one field each from customer A."""
    community = CommunityFactory(station=world.station_a)
    district = TransformerDistrictFactory(station=world.station_a)
    make = lambda **kw: CustomerFactory(station=world.station_a, manager=world.manager_a.user, **kw)  # noqa: E731
    return {
        "vip": make(tier=Tier.VIP, name="丙医院", importance=Importance.LEVEL_1),
        "industrial": make(category=Category.INDUSTRIAL, address="工业园区8号"),
        "closed": make(status=Status.CLOSED),
        "pinned": make(tier_pinned=True),
        "community": make(community=community, tier=Tier.COMMUNITY),
        "district": make(transformer_district=district),
        "unassigned": CustomerFactory(station=world.station_b, manager=None),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (lambda w, v: {"tier": Tier.VIP}, lambda w, v: [v["vip"]]),
        (lambda w, v: {"importance": Importance.LEVEL_1}, lambda w, v: [v["vip"]]),
        (lambda w, v: {"category": Category.INDUSTRIAL}, lambda w, v: [v["industrial"]]),
        (lambda w, v: {"status": Status.CLOSED}, lambda w, v: [v["closed"]]),
        (lambda w, v: {"tier_pinned": "true"}, lambda w, v: [v["pinned"]]),
        (lambda w, v: {"community": v["community"].community_id}, lambda w, v: [v["community"]]),
        (
            lambda w, v: {"transformer_district": v["district"].transformer_district_id},
            lambda w, v: [v["district"]],
        ),
        (lambda w, v: {"account_no": v["closed"].account_no}, lambda w, v: [v["closed"]]),
        (lambda w, v: {"station": w.station_b.pk}, lambda w, v: [w.customer_b, v["unassigned"]]),
        (lambda w, v: {"manager": w.manager_b.pk}, lambda w, v: [w.customer_b]),
        (lambda w, v: {"unassigned": "true"}, lambda w, v: [v["unassigned"]]),
        (lambda w, v: {"search": "丙医院"}, lambda w, v: [v["vip"]]),
        (lambda w, v: {"search": "工业园区"}, lambda w, v: [v["industrial"]]),
        (lambda w, v: {"search": w.customer_a.account_no}, lambda w, v: [w.customer_a]),
    ],
)
def test_each_customer_filter_selects_its_customers(world, api, varied, params, expected):
    response = api(world.admin).get(CUSTOMERS, params(world, varied))
    assert sorted(_ids(response)) == sorted(c.pk for c in expected(world, varied))


def test_filters_combine(world, api, varied):
    params = {"manager": world.manager_a.pk, "status": Status.ACTIVE, "tier": Tier.VIP}
    assert _ids(api(world.admin).get(CUSTOMERS, params)) == [varied["vip"].pk]


def test_unknown_choice_answers_400_naming_the_filter(world, api):
    response = api(world.admin).get(CUSTOMERS, {"tier": "nope"})
    assert response.status_code == 400
    assert list(response.json()) == ["tier"]


def test_filter_by_an_id_that_does_not_exist_is_empty(world, api):
    assert _ids(api(world.admin).get(CUSTOMERS, {"manager": 987654})) == []


# ---------------------------------------------------------------- ordering
def test_ordering_by_a_declared_field_both_ways(world, api):
    world.customer_a.annual_consumption_kwh = Decimal("500")
    world.customer_a.save()
    client = api(world.admin)
    assert _ids(client.get(CUSTOMERS, {"ordering": "-annual_consumption_kwh"}))[0] == world.customer_a.pk
    assert _ids(client.get(CUSTOMERS, {"ordering": "annual_consumption_kwh"}))[0] == world.customer_b.pk


def test_ordering_by_an_undeclared_field_is_ignored(world, api):
    client = api(world.admin)
    assert _ids(client.get(CUSTOMERS, {"ordering": "manager__password"})) == _ids(client.get(CUSTOMERS))


def test_default_order_is_by_account_number(world, api):
    CustomerFactory(station=world.station_a, account_no="1000000000")
    assert _ids(api(world.admin).get(CUSTOMERS))[0] == Customer.objects.get(account_no="1000000000").pk


# ---------------------------------------------------------------- queries do not grow with rows
@dataclass
class ListCase:
    name: str
    user: Callable
    url: Callable
    build: Callable  # (world, n) -> None: adds n rows the list shows


def _customers(world, n):
    CustomerFactory.create_batch(n, station=world.station_a, manager=world.manager_a.user)


def _contacts(world, n):
    ContactFactory.create_batch(n, customer=world.customer_a)


def _managers(world, n):
    for _ in range(n):
        ManagerFactory(
            user=UserFactory(supervisor=world.supervisor), station=world.station_a, role=Role.VIP_MANAGER
        )
        CustomerFactory(station=world.station_a, manager=world.manager_a.user)


def _assignments(world, n):
    for customer in CustomerFactory.create_batch(n, station=world.station_a, manager=world.manager_a.user):
        AssignmentFactory(customer=customer, manager=world.manager_a.user)


def _consumption(world, n):
    start = Customer.objects.get(pk=world.customer_a.pk).consumption.count()
    for i in range(start, start + n):
        ConsumptionFactory(customer=world.customer_a, period=dt.date(2000 + i // 12, i % 12 + 1, 1))


def _stations(world, n):
    StationFactory.create_batch(n)


def _communities(world, n):
    CommunityFactory.create_batch(n, station=world.station_a)


def _districts(world, n):
    TransformerDistrictFactory.create_batch(n, station=world.station_a)


LIST_CASES = [
    ListCase("customers (admin)", lambda w: w.admin, lambda w: CUSTOMERS, _customers),
    ListCase("customers (supervisor)", lambda w: w.supervisor, lambda w: CUSTOMERS, _customers),
    ListCase(
        "customers searched", lambda w: w.manager_a.user, lambda w: f"{CUSTOMERS}?search=客户", _customers
    ),
    ListCase("contacts", lambda w: w.manager_a.user, lambda w: "/api/v1/contacts/", _contacts),
    ListCase(
        "customer contacts",
        lambda w: w.manager_a.user,
        lambda w: f"{CUSTOMERS}{w.customer_a.pk}/contacts/",
        _contacts,
    ),
    ListCase(
        "customer consumption",
        lambda w: w.manager_a.user,
        lambda w: f"{CUSTOMERS}{w.customer_a.pk}/consumption/",
        _consumption,
    ),
    ListCase("managers", lambda w: w.supervisor, lambda w: "/api/v1/managers/", _managers),
    ListCase(
        "portfolio",
        lambda w: w.supervisor,
        lambda w: f"/api/v1/managers/{w.manager_a.pk}/portfolio/",
        _customers,
    ),
    ListCase("assignments", lambda w: w.supervisor, lambda w: "/api/v1/assignments/", _assignments),
    ListCase("stations", lambda w: w.manager_a.user, lambda w: "/api/v1/stations/", _stations),
    ListCase("communities", lambda w: w.manager_a.user, lambda w: "/api/v1/communities/", _communities),
    ListCase(
        "transformer districts",
        lambda w: w.manager_a.user,
        lambda w: "/api/v1/transformer-districts/",
        _districts,
    ),
]


def _queries(client, url) -> tuple[int, int]:
    """(queries, rows shown) of one GET with every row on the page."""
    separator = "&" if "?" in url else "?"
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"{url}{separator}page_size=500")
    assert response.status_code == 200, response.content[:300]
    return len(captured), len(response.json()["results"])


@pytest.mark.parametrize("case", LIST_CASES, ids=lambda c: c.name)
def test_list_query_count_does_not_grow_with_rows(world, api, case):
    # Given a client and a few rows
    client, url = api(case.user(world)), case.url(world)
    case.build(world, 3)
    small, small_rows = _queries(client, url)
    # when the list holds twenty times as many
    case.build(world, 57)
    large, large_rows = _queries(client, url)
    # then it takes the same number of queries, and few
    assert large_rows >= small_rows + 57
    assert large == small
    assert small <= 10


# ---------------------------------------------------------------- the other lists' filters
def test_manager_filters_by_qualified_and_employee_number(world, api):
    unqualified = ManagerFactory(station=world.station_a, qualified=False, employee_no="E-UNQ")
    client = api(world.admin)
    assert _ids(client.get("/api/v1/managers/", {"qualified": "false"})) == [unqualified.pk]
    assert _ids(client.get("/api/v1/managers/", {"employee_no": "E-UNQ"})) == [unqualified.pk]


def test_assignments_filter_by_who_moved_the_customer(world, api):
    moved = AssignmentFactory(customer=world.customer_a, manager=world.manager_a.user, by=world.supervisor)
    client = api(world.admin)
    assert _ids(client.get("/api/v1/assignments/", {"by": world.supervisor.pk})) == [moved.pk]


def test_stations_filter_by_branch(world, api):
    from tests.factories import BranchFactory

    other_branch = BranchFactory(code="BR-OTHER")
    station = StationFactory(branch=other_branch)
    assert _ids(api(world.admin).get("/api/v1/stations/", {"branch": other_branch.pk})) == [station.pk]


def test_territories_filter_by_code_and_district_fields(world, api):
    community = CommunityFactory(station=world.station_a, code="CM-FIND")
    district = TransformerDistrictFactory(station=world.station_b, transformer_code="T-FIND")
    TransformerDistrictFactory(station=world.station_a)
    client = api(world.admin)
    assert _ids(client.get("/api/v1/communities/", {"code": "CM-FIND"})) == [community.pk]
    districts = "/api/v1/transformer-districts/"
    assert _ids(client.get(districts, {"transformer_code": "T-FIND"})) == [district.pk]
    assert _ids(client.get(districts, {"station": world.station_b.pk})) == [district.pk]
