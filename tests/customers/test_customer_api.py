from decimal import Decimal

from customers.models import Customer, Tier


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
    payload = {
        "account_no": "3100999999",
        "name": "丙化工有限公司",
        "category": "industrial",
        "voltage_kv": "10",
        "contracted_capacity_kva": "630",
        "importance": "none",
        "station": world.station_a.pk,
    }
    response = api(world.integration).post("/api/v1/customers/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["tier"] == Tier.KEY_ACCOUNT
    assert Customer.objects.get(account_no="3100999999").contracted_capacity_kva == Decimal("630")


def test_customer_with_community_of_another_station_is_refused(world, api):
    from tests.factories import CommunityFactory

    other = CommunityFactory(station=world.station_b)
    payload = {
        "account_no": "3100999998",
        "name": "居民",
        "category": "residential",
        "voltage_kv": "0.22",
        "station": world.station_a.pk,
        "community": other.pk,
    }
    response = api(world.integration).post("/api/v1/customers/", payload, format="json")
    assert response.status_code == 400
    assert "community" in response.json()
    assert not Customer.objects.filter(account_no="3100999998").exists()


def test_manager_cannot_create_customers(world, api):
    payload = {
        "account_no": "1",
        "name": "x",
        "category": "residential",
        "voltage_kv": "0.22",
        "station": world.station_a.pk,
    }
    assert api(world.manager_a.user).post("/api/v1/customers/", payload, format="json").status_code == 403
