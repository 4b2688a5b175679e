"""The supervisor's page of unassigned customers and assigning one from it."""

import pytest
from django.urls import reverse

from customers.models import Tier
from managers.models import Assignment, Role
from tests.factories import CustomerFactory, ManagerFactory, UserFactory
from tests.managers.unassigned import assign_from_unassigned

pytestmark = pytest.mark.django_db


@pytest.fixture
def unassigned_a(world):
    return CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, name="无人负责甲")


@pytest.fixture
def unassigned_b(world):
    return CustomerFactory(station=world.station_b, tier=Tier.KEY_ACCOUNT, name="无人负责乙")


def test_supervisor_sees_unassigned_customers_of_the_team_stations_only(
    world, client, unassigned_a, unassigned_b
):
    client.force_login(world.supervisor)
    html = client.get(reverse("managers:unassigned")).content.decode()
    assert unassigned_a.name in html
    assert unassigned_b.name not in html
    assert f'value="{world.manager_a.pk}"' in html  # the key-account manager of station A is offered


def test_supervisor_assigns_an_unassigned_customer_with_a_reason(world, client, unassigned_a):
    response = assign_from_unassigned(client, world, unassigned_a, world.manager_a, reason="新设大客户")
    assert response.status_code == 302
    unassigned_a.refresh_from_db()
    assert unassigned_a.manager_id == world.manager_a.pk
    assignment = Assignment.objects.current().get(customer=unassigned_a)
    assert (assignment.reason, assignment.by) == ("新设大客户", world.supervisor)


def test_supervisor_cannot_assign_a_customer_of_another_station(world, client, unassigned_b):
    response = assign_from_unassigned(client, world, unassigned_b, world.manager_a)
    assert response.status_code == 404
    unassigned_b.refresh_from_db()
    assert unassigned_b.manager_id is None


def test_manager_of_the_wrong_role_is_refused_with_a_message(world, client, unassigned_a):
    community = ManagerFactory(
        user=UserFactory(supervisor=world.supervisor), station=world.station_a, role=Role.COMMUNITY_MANAGER
    )
    response = assign_from_unassigned(client, world, unassigned_a, community, follow=True)
    unassigned_a.refresh_from_db()
    assert unassigned_a.manager_id is None
    assert list(response.context["messages"])


def test_account_manager_may_not_open_the_unassigned_list(world, client):
    client.force_login(world.manager_a.user)
    assert client.get(reverse("managers:unassigned")).status_code == 403


def test_unassigned_pages_are_numbered_and_their_links_keep_the_query(world, client):
    # given 51 unassigned customers in the supervisor's station: two pages
    CustomerFactory.create_batch(51, station=world.station_a, tier=Tier.KEY_ACCOUNT)
    client.force_login(world.supervisor)
    # when the supervisor opens page 2 with another parameter in the query
    response = client.get(reverse("managers:unassigned"), {"next": "home", "page": 2})
    # then it holds the last customer, and the numbered link back keeps the other parameter
    html = response.content.decode()
    assert len(response.context["page"].object_list) == 1
    assert 'href="?next=home&amp;page=1">1</a>' in html
    assert 'aria-current="page">2</span>' in html
