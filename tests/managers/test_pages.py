"""The team page and a manager's page: scope, per-tier portfolio counts, and a fixed number of
queries whatever the data size."""

import pytest
from django.urls import reverse

from crm.accounts import roles
from customers.models import Status, Tier
from managers.models import Role
from tests.factories import CustomerFactory, ManagerFactory, UserFactory

TEAM = reverse("managers:team")


def detail(manager) -> str:
    return reverse("managers:detail", args=[manager.pk])


def listed(response) -> set[str]:
    return {m.user.username for m in response.context["page"].object_list}


def test_supervisor_sees_the_managers_of_their_team_only(client, world):
    client.force_login(world.supervisor)

    response = client.get(TEAM)

    assert response.status_code == 200
    assert listed(response) == {"manager_a"}


def test_account_manager_sees_only_themself_on_the_team_page(client, world):
    client.force_login(world.manager_b.user)

    response = client.get(TEAM)

    assert listed(response) == {"manager_b"}


def test_administrator_sees_every_manager(client, world):
    client.force_login(world.admin)

    response = client.get(TEAM)

    assert listed(response) == {"manager_a", "manager_b"}


def test_team_page_counts_each_managers_active_customers_by_tier(client, world):
    user = world.manager_a.user
    CustomerFactory.create_batch(2, station=world.station_a, tier=Tier.VIP, manager=user)
    CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=user, status=Status.CLOSED)
    client.force_login(world.supervisor)

    response = client.get(TEAM)

    row = response.context["page"].object_list[0]
    assert dict(row.tier_cells) == {
        Tier.VIP.label: 2,
        Tier.KEY_ACCOUNT.label: 1,
        Tier.COMMUNITY.label: 0,
        Tier.TRANSFORMER_DISTRICT.label: 0,
    }
    assert row.portfolio_size == 3


def test_team_page_filters_by_role(client, world):
    ManagerFactory(
        user=UserFactory(username="district_a", supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER),
        station=world.station_a,
        role=Role.TRANSFORMER_DISTRICT_MANAGER,
    )
    client.force_login(world.supervisor)

    response = client.get(TEAM, {"role": Role.TRANSFORMER_DISTRICT_MANAGER})

    assert listed(response) == {"district_a"}


@pytest.mark.parametrize(
    "query", [{"station": "99999999999999999999999999"}, {"active": "maybe"}, {"q": "\x00"}, {"page": "-1"}]
)
def test_team_page_answers_a_bad_filter_with_the_form_not_an_error(client, world, query):
    client.force_login(world.supervisor)

    response = client.get(TEAM, query)

    assert response.status_code == 200
    assert listed(response) == {"manager_a"}


def test_team_page_says_that_a_filter_it_could_not_understand_was_left_out(client, world):
    # Given a supervisor; when they ask for managers that are "maybe" active
    client.force_login(world.supervisor)
    response = client.get(TEAM, {"active": "maybe"})
    # Then the page says the filter was left out and marks it
    assert 'id="filter-errors"' in response.content.decode()
    assert list(response.context["form"].errors) == ["active"]


def test_team_page_filters_by_active_as_the_api_does(client, world):
    # Given an inactive manager in the supervisor's team
    ManagerFactory(
        user=UserFactory(username="retired_a", supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER),
        station=world.station_a,
        active=False,
    )
    client.force_login(world.supervisor)
    # When the page is filtered as the API is (?active=false), and with the page's own 0
    # Then both list the inactive manager only
    assert listed(client.get(TEAM, {"active": "false"})) == {"retired_a"}
    assert listed(client.get(TEAM, {"active": "0"})) == {"retired_a"}


@pytest.mark.parametrize("size", [3, 60])
def test_team_page_runs_a_fixed_number_of_queries(client, world, django_assert_max_num_queries, size):
    for _ in range(size):
        manager = ManagerFactory(
            user=UserFactory(supervisor=world.supervisor, role=roles.ACCOUNT_MANAGER), station=world.station_a
        )
        CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=manager.user)
    client.force_login(world.supervisor)

    with django_assert_max_num_queries(10):
        response = client.get(TEAM)

    assert response.status_code == 200


def test_manager_page_of_a_manager_outside_the_scope_answers_404(client, world):
    client.force_login(world.manager_a.user)

    response = client.get(detail(world.manager_b))

    assert response.status_code == 404


def test_supervisor_cannot_open_another_teams_manager(client, world):
    client.force_login(world.supervisor)

    response = client.get(detail(world.manager_b))

    assert response.status_code == 404


def test_manager_page_shows_profile_and_portfolio(client, world):
    client.force_login(world.supervisor)

    response = client.get(detail(world.manager_a))

    html = response.content.decode()
    assert "张经理" in html
    assert world.manager_a.employee_no in html
    assert "李主管" in html  # the supervisor
    assert [c.name for c in response.context["page"].object_list] == ["甲钢铁厂"]


def test_manager_page_pages_the_portfolio_by_fifty(client, world):
    CustomerFactory.create_batch(
        59, station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=world.manager_a.user
    )
    client.force_login(world.manager_a.user)

    second = client.get(detail(world.manager_a), {"page": 2})

    assert second.context["page"].paginator.count == 60
    assert len(second.context["page"].object_list) == 10


@pytest.mark.parametrize("size", [3, 60])
def test_manager_page_runs_a_fixed_number_of_queries(client, world, django_assert_max_num_queries, size):
    CustomerFactory.create_batch(
        size, station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=world.manager_a.user
    )
    client.force_login(world.supervisor)

    with django_assert_max_num_queries(10):
        response = client.get(detail(world.manager_a))

    assert response.status_code == 200
