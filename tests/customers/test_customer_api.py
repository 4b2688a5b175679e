from decimal import Decimal

from customers.models import Customer, Tier


def new_customer(world, account_no: str, name: str, **fields) -> dict:
    """A customer to create: residential, at 0.22 kV, in station A, unless `fields` say otherwise."""
    return {
        "account_no": account_no,
        "name": name,
        "category": "residential",
        "voltage_kv": "0.22",
        "station": world.station_a.pk,
        **fields,
    }


def test_manager_lists_only_own_customers(world, api):
    # Given two managers each with a customer; when manager A lists customers
    response = api(world.manager_a.user).get("/api/v1/customers/")
    # then only A's customer is there
    assert response.status_code == 200
    assert [c["account_no"] for c in response.json()["results"]] == [world.customer_a.account_no]
    assert response.json()["count"] == 1


def test_other_managers_customer_answers_404(world, api):
    response = api(world.manager_a.user).get(f"/api/v1/customers/{world.customer_b.pk}/")
    assert response.status_code == 404


def test_supervisor_sees_team_customers_only(world, api):
    response = api(world.supervisor).get("/api/v1/customers/")
    assert {c["id"] for c in response.json()["results"]} == {world.customer_a.pk}


def test_administrator_sees_every_customer(world, api):
    response = api(world.admin).get("/api/v1/customers/")
    assert response.json()["count"] == 2


def test_integration_client_creates_customer_with_initial_tier(world, api):
    payload = new_customer(
        world,
        "3100999999",
        "丙化工有限公司",
        category="industrial",
        voltage_kv="10",
        contracted_capacity_kva="630",
        importance="none",
    )
    response = api(world.integration).post("/api/v1/customers/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["tier"] == Tier.KEY_ACCOUNT
    assert Customer.objects.get(account_no="3100999999").contracted_capacity_kva == Decimal("630")


def test_customer_with_community_of_another_station_is_refused(world, api):
    from tests.factories import CommunityFactory

    other = CommunityFactory(station=world.station_b)
    payload = new_customer(world, "3100999998", "居民", community=other.pk)
    response = api(world.integration).post("/api/v1/customers/", payload, format="json")
    assert response.status_code == 400
    assert "community" in response.json()
    assert not Customer.objects.filter(account_no="3100999998").exists()


def test_manager_cannot_create_customers(world, api):
    payload = new_customer(world, "1", "x")
    assert api(world.manager_a.user).post("/api/v1/customers/", payload, format="json").status_code == 403


# ---------------------------------------------------------------- scope
def test_integration_client_sees_every_customer(world, api):
    response = api(world.integration).get("/api/v1/customers/")
    assert {c["id"] for c in response.json()["results"]} == {world.customer_a.pk, world.customer_b.pk}


def test_supervisor_gets_404_for_a_customer_outside_the_team(world, api):
    assert api(world.supervisor).get(f"/api/v1/customers/{world.customer_b.pk}/").status_code == 404


def test_search_does_not_find_another_managers_customer(world, api):
    response = api(world.manager_a.user).get("/api/v1/customers/", {"search": "乙水泥厂"})
    assert response.json()["count"] == 0


def test_filtering_by_another_managers_id_finds_nothing(world, api):
    response = api(world.manager_a.user).get("/api/v1/customers/", {"manager": world.manager_b.pk})
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_filtering_by_another_managers_account_number_finds_nothing(world, api):
    params = {"account_no": world.customer_b.account_no}
    assert api(world.manager_a.user).get("/api/v1/customers/", params).json()["count"] == 0


def test_browser_session_sees_only_own_portfolio_over_the_api(world, client):
    # Given manager A logged in through the login page (a session, no token)
    client.force_login(world.manager_a.user)
    # when the browser calls the API
    response = client.get("/api/v1/customers/")
    # then only A's customers are there
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["results"]] == [world.customer_a.pk]


# ---------------------------------------------------------------- writes
def test_read_only_fields_are_ignored_on_create(world, api):
    payload = new_customer(
        world,
        "3100999997",
        "丁商店",
        category="commercial",
        voltage_kv="0.38",
        tier="vip",
        manager=world.manager_a.pk,
        annual_consumption_kwh="99999999",
    )
    response = api(world.integration).post("/api/v1/customers/", payload, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["tier"] == Tier.TRANSFORMER_DISTRICT
    assert body["annual_consumption_kwh"] == 0
    assert body["manager"] is None  # given by the assignment job, never by the client


def test_integration_client_patches_a_customer(world, api):
    url = f"/api/v1/customers/{world.customer_a.pk}/"
    response = api(world.integration).patch(
        url, {"address": "新地址1号", "status": "suspended"}, format="json"
    )
    assert response.status_code == 200
    world.customer_a.refresh_from_db()
    assert (world.customer_a.address, world.customer_a.status) == ("新地址1号", "suspended")


def test_manager_without_change_permission_gets_403_on_own_customer(world, api):
    url = f"/api/v1/customers/{world.customer_a.pk}/"
    assert api(world.manager_a.user).patch(url, {"name": "改名"}, format="json").status_code == 403


def test_duplicate_account_number_is_refused_on_the_field(world, api):
    payload = new_customer(world, world.customer_a.account_no, "重复")
    response = api(world.integration).post("/api/v1/customers/", payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["account_no"]


def test_customer_in_community_and_district_at_once_is_refused(world, api):
    from tests.factories import CommunityFactory, TransformerDistrictFactory

    payload = new_customer(
        world,
        "3100999996",
        "两处",
        community=CommunityFactory(station=world.station_a).pk,
        transformer_district=TransformerDistrictFactory(station=world.station_a).pk,
    )
    response = api(world.integration).post("/api/v1/customers/", payload, format="json")
    assert response.status_code == 400
    assert "transformer_district" in response.json()


def test_customers_are_closed_not_deleted(world, api):
    response = api(world.admin).delete(f"/api/v1/customers/{world.customer_a.pk}/")
    assert response.status_code == 405
    assert Customer.objects.filter(pk=world.customer_a.pk).exists()


# ---------------------------------------------------------------- consumption of one customer
def test_consumption_lists_newest_month_first(world, api):
    import datetime as dt

    from tests.factories import ConsumptionFactory

    for month in (1, 3, 2):
        ConsumptionFactory(customer=world.customer_a, period=dt.date(2026, month, 1))
    response = api(world.manager_a.user).get(f"/api/v1/customers/{world.customer_a.pk}/consumption/")
    assert response.status_code == 200
    assert [r["period"] for r in response.json()["results"]] == ["2026-03", "2026-02", "2026-01"]


def test_consumption_is_paginated(world, api):
    import datetime as dt

    from tests.factories import ConsumptionFactory

    for month in range(1, 6):
        ConsumptionFactory(customer=world.customer_a, period=dt.date(2025, month, 1))
    url = f"/api/v1/customers/{world.customer_a.pk}/consumption/?page_size=2"
    body = api(world.manager_a.user).get(url).json()
    assert body["count"] == 5
    assert len(body["results"]) == 2
    assert body["next"] is not None


def test_consumption_of_another_managers_customer_answers_404(world, api):
    url = f"/api/v1/customers/{world.customer_b.pk}/consumption/"
    assert api(world.manager_a.user).get(url).status_code == 404


# ---------------------------------------------------------------- contacts of one customer
def test_customer_contacts_lists_the_customers_contacts(world, api):
    from tests.factories import ContactFactory

    ContactFactory(customer=world.customer_a, name="王总")
    ContactFactory(customer=world.customer_b, name="赵总")
    response = api(world.manager_a.user).get(f"/api/v1/customers/{world.customer_a.pk}/contacts/")
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["results"]] == ["王总"]


def test_manager_adds_a_contact_under_own_customer(world, api):
    url = f"/api/v1/customers/{world.customer_a.pk}/contacts/"
    response = api(world.manager_a.user).post(url, {"name": "孙会计", "phone": "13900000000"}, format="json")
    assert response.status_code == 201
    assert response.json()["customer"] == world.customer_a.pk
    assert world.customer_a.contacts.get().name == "孙会计"


def test_contacts_of_another_managers_customer_answer_404(world, api):
    url = f"/api/v1/customers/{world.customer_b.pk}/contacts/"
    client = api(world.manager_a.user)
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "x"}, format="json").status_code == 404
    assert not world.customer_b.contacts.exists()


def test_a_new_customer_starts_in_the_tier_of_the_policy_in_force(world, api):
    # Given a policy version in force that makes 200 kVA a key account
    import datetime as dt

    from customers.models import TierPolicy

    TierPolicy.objects.create(version=2, effective_from=dt.date(2020, 1, 1), key_capacity_kva=Decimal("200"))
    payload = new_customer(
        world, "3100999997", "丁商贸", category="commercial", voltage_kv="0.4", contracted_capacity_kva="250"
    )
    # When an integration client creates a 250 kVA customer
    response = api(world.integration).post("/api/v1/customers/", payload, format="json")
    # Then it starts as a key account, as the next reclassification would have it
    assert response.status_code == 201, response.json()
    assert response.json()["tier"] == Tier.KEY_ACCOUNT
