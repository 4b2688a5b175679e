"""managers/ and managers/{id}/portfolio/: manager profiles in the user's scope, and each one's
current customers."""

import pytest

from crm.accounts import roles
from crm.accounts.models import User
from customers.models import Status, Tier
from managers.models import Manager, Role
from tests.factories import CommunityFactory, CustomerFactory, ManagerFactory, UserFactory

URL = "/api/v1/managers/"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


# ---------------------------------------------------------------- scope
def test_manager_sees_only_their_own_profile(world, api):
    response = api(world.manager_a.user).get(URL)
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["results"]] == [world.manager_a.pk]


def test_another_managers_profile_answers_404(world, api):
    assert api(world.manager_a.user).get(f"{URL}{world.manager_b.pk}/").status_code == 404


def test_supervisor_sees_the_team(world, api):
    response = api(world.supervisor).get(URL)
    assert [m["id"] for m in response.json()["results"]] == [world.manager_a.pk]
    assert api(world.supervisor).get(f"{URL}{world.manager_b.pk}/").status_code == 404


def test_administrator_and_integration_client_see_every_manager(world, api):
    assert api(world.admin).get(URL).json()["count"] == 2
    assert api(world.integration).get(URL).json()["count"] == 2


def test_search_does_not_find_a_manager_outside_the_scope(world, api):
    assert api(world.manager_a.user).get(URL, {"search": "赵经理"}).json()["count"] == 0


def test_manager_profile_shows_the_contract_fields(world, api):
    body = api(world.supervisor).get(f"{URL}{world.manager_a.pk}/").json()
    assert body["user"] == world.manager_a.pk
    assert body["name"] == "张经理"
    assert body["supervisor"] == world.supervisor.pk
    assert body["role"] == Role.KEY_ACCOUNT_MANAGER
    assert body["station"] == world.station_a.pk
    assert body["portfolio_size"] == 1
    assert body["qualified"] is True
    assert {"employee_no", "max_customers", "active"} <= set(body)


def test_portfolio_size_counts_only_active_customers(world, api):
    CustomerFactory(station=world.station_a, manager=world.manager_a.user, status=Status.CLOSED)
    body = api(world.manager_a.user).get(f"{URL}{world.manager_a.pk}/").json()
    assert body["portfolio_size"] == 1


# ---------------------------------------------------------------- writes
def test_administrator_creates_a_manager_profile(world, api):
    user = UserFactory(username="newbie")
    payload = {
        "user": user.pk,
        "employee_no": "E-NEW",
        "name": "新经理",
        "role": Role.COMMUNITY_MANAGER,
        "station": world.station_a.pk,
        "supervisor": world.supervisor.pk,
        "max_customers": 300,
        "qualified": True,
    }
    response = api(world.admin).post(URL, payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["id"], body["portfolio_size"], body["qualified"]) == (user.pk, 0, False)
    user.refresh_from_db()
    assert (user.full_name, user.supervisor_id) == ("新经理", world.supervisor.pk)


def test_a_second_profile_for_the_same_user_is_refused(world, api):
    payload = {
        "user": world.manager_a.pk,
        "employee_no": "E-TWICE",
        "role": Role.VIP_MANAGER,
        "station": world.station_a.pk,
    }
    response = api(world.admin).post(URL, payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["user"]


def test_a_profile_cannot_change_its_user(world, api):
    url = f"{URL}{world.manager_a.pk}/"
    response = api(world.admin).patch(url, {"user": world.manager_b.pk}, format="json")
    assert response.status_code == 400
    assert response.json() == {"user": ["A manager profile cannot change its user."]}


def test_qualified_is_read_only(world, api):
    url = f"{URL}{world.manager_a.pk}/"
    response = api(world.admin).patch(url, {"qualified": False}, format="json")
    assert response.status_code == 200
    assert Manager.objects.get(pk=world.manager_a.pk).qualified is True


def test_supervisor_changes_a_team_managers_portfolio_limit(world, api):
    url = f"{URL}{world.manager_a.pk}/"
    response = api(world.supervisor).patch(url, {"max_customers": 120}, format="json")
    assert response.status_code == 200
    assert Manager.objects.get(pk=world.manager_a.pk).max_customers == 120


def test_supervisor_cannot_change_a_manager_outside_the_team(world, api):
    url = f"{URL}{world.manager_b.pk}/"
    assert api(world.supervisor).patch(url, {"max_customers": 1}, format="json").status_code == 404


def test_manager_cannot_change_their_own_profile(world, api):
    url = f"{URL}{world.manager_a.pk}/"
    assert api(world.manager_a.user).patch(url, {"max_customers": 9999}, format="json").status_code == 403


def test_a_supervisor_loop_is_refused(world, api):
    # Given the supervisor now reports to manager A's user; making A report to... A's own report
    world.supervisor.supervisor = None
    world.supervisor.save()
    # boss leads a team, so the loop refuses, not the rule on whom a manager may report to
    boss = UserFactory(username="boss", supervisor=world.manager_a.user, role=roles.SUPERVISOR)
    response = api(world.admin).patch(f"{URL}{world.manager_a.pk}/", {"supervisor": boss.pk}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["supervisor"]


def test_administrator_deletes_a_profile_that_serves_nobody(world, api):
    idle = ManagerFactory(station=world.station_a)
    assert api(world.admin).delete(f"{URL}{idle.pk}/").status_code == 204
    assert not Manager.objects.filter(pk=idle.pk).exists()
    assert User.objects.filter(pk=idle.pk).exists()


def test_deleting_a_manager_who_serves_customers_answers_409(world, api):
    response = api(world.admin).delete(f"{URL}{world.manager_a.pk}/")
    assert response.status_code == 409
    assert Manager.objects.filter(pk=world.manager_a.pk).exists()


def test_deleting_a_manager_who_serves_a_territory_answers_409(world, api):
    idle = ManagerFactory(station=world.station_a, role=Role.COMMUNITY_MANAGER)
    CommunityFactory(station=world.station_a, manager=idle.user)
    assert api(world.admin).delete(f"{URL}{idle.pk}/").status_code == 409


def test_supervisor_cannot_delete_a_profile(world, api):
    assert api(world.supervisor).delete(f"{URL}{world.manager_a.pk}/").status_code == 403


# ---------------------------------------------------------------- filters and ordering
def test_managers_filter_by_role_station_supervisor_and_active(world, api):
    vip = ManagerFactory(station=world.station_a, role=Role.VIP_MANAGER, active=False)
    client = api(world.admin)
    ids = lambda params: [m["id"] for m in client.get(URL, params).json()["results"]]  # noqa: E731
    assert ids({"role": Role.VIP_MANAGER}) == [vip.pk]
    assert set(ids({"station": world.station_a.pk})) == {world.manager_a.pk, vip.pk}
    assert ids({"supervisor": world.supervisor.pk}) == [world.manager_a.pk]
    assert ids({"active": "false"}) == [vip.pk]


def test_managers_order_by_portfolio_size(world, api):
    CustomerFactory(station=world.station_b, manager=world.manager_b.user, tier=Tier.KEY_ACCOUNT)
    body = api(world.admin).get(URL, {"ordering": "-portfolio_size"}).json()
    assert [m["id"] for m in body["results"]] == [world.manager_b.pk, world.manager_a.pk]


# ---------------------------------------------------------------- portfolio
def test_portfolio_lists_the_managers_active_customers(world, api):
    second = CustomerFactory(station=world.station_a, manager=world.manager_a.user, tier=Tier.KEY_ACCOUNT)
    CustomerFactory(station=world.station_a, manager=world.manager_a.user, status=Status.CLOSED)
    body = api(world.supervisor).get(f"{URL}{world.manager_a.pk}/portfolio/").json()
    assert {c["id"] for c in body["results"]} == {world.customer_a.pk, second.pk}
    assert body["count"] == 2


def test_portfolio_count_equals_portfolio_size(world, api):
    CustomerFactory.create_batch(3, station=world.station_a, manager=world.manager_a.user)
    client = api(world.manager_a.user)
    size = client.get(f"{URL}{world.manager_a.pk}/").json()["portfolio_size"]
    assert client.get(f"{URL}{world.manager_a.pk}/portfolio/").json()["count"] == size == 4


def test_another_managers_portfolio_answers_404(world, api):
    assert api(world.manager_a.user).get(f"{URL}{world.manager_b.pk}/portfolio/").status_code == 404
    assert api(world.supervisor).get(f"{URL}{world.manager_b.pk}/portfolio/").status_code == 404


def test_portfolio_is_paginated_filtered_searched_and_ordered(world, api):
    CustomerFactory(station=world.station_a, manager=world.manager_a.user, tier=Tier.VIP, name="Alpha医院")
    CustomerFactory(station=world.station_a, manager=world.manager_a.user, tier=Tier.VIP, name="Beta医院")
    client, url = api(world.manager_a.user), f"{URL}{world.manager_a.pk}/portfolio/"
    page = client.get(url, {"page_size": 1}).json()
    assert (page["count"], len(page["results"]), page["next"] is not None) == (3, 1, True)
    assert client.get(url, {"tier": Tier.VIP}).json()["count"] == 2
    assert [c["name"] for c in client.get(url, {"search": "Beta"}).json()["results"]] == ["Beta医院"]
    ordered = client.get(url, {"ordering": "-name", "tier": Tier.VIP}).json()["results"]
    assert [c["name"] for c in ordered] == ["Beta医院", "Alpha医院"]


def test_portfolio_refuses_an_unknown_tier(world, api):
    response = api(world.manager_a.user).get(f"{URL}{world.manager_a.pk}/portfolio/", {"tier": "nope"})
    assert response.status_code == 400
    assert list(response.json()) == ["tier"]


def test_manager_ids_that_are_not_numbers_answer_404(world, api):
    assert api(world.admin).get(f"{URL}abc/").status_code == 404
