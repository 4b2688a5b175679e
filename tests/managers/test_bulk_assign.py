"""Giving many unassigned customers one manager at once (issue 7): capacity checked for the whole
set, nothing written when refused."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from customers.models import Customer, Tier
from managers.models import Assignment, Manager
from managers.services import assignment_move_many
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _assign_many(client, world, customers, manager, **form):
    client.force_login(world.supervisor)
    data = {"customers": [c.pk for c in customers], "manager": manager.pk, **form}
    with translation.override("zh-hans"):
        return client.post(reverse("managers:unassigned"), data, follow=True)


def test_supervisor_gives_three_unassigned_customers_one_manager_at_once(world, client):
    # given three unassigned key accounts of station A
    customers = CustomerFactory.create_batch(3, station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None)
    # when the supervisor ticks them and chooses manager A
    response = _assign_many(client, world, customers, world.manager_a, reason="导入后分配")
    # then all three are manager A's, each move recorded with the reason and the supervisor
    assert response.status_code == 200
    ids = [c.pk for c in customers]
    assert set(Customer.objects.filter(pk__in=ids).values_list("manager_id", flat=True)) == {
        world.manager_a.pk
    }
    current = Assignment.objects.current().filter(customer_id__in=ids)
    assert {(a.reason, a.by_id) for a in current} == {("导入后分配", world.supervisor.pk)}
    assert current.count() == 3


def test_bulk_assignment_past_the_maximum_is_refused_with_the_count_and_writes_nothing(world, client):
    # given manager A serving one customer of at most three, and three unassigned key accounts
    Manager.objects.filter(pk=world.manager_a.pk).update(max_customers=3)
    customers = CustomerFactory.create_batch(3, station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None)
    # when the supervisor gives all three to manager A
    response = _assign_many(client, world, customers, world.manager_a)
    # then it is refused, saying by how many, and nobody was assigned
    with translation.override("zh-hans"):
        expected = _(
            "This manager serves %(load)s of at most %(max)s customers: %(n)s more would "
            "pass the maximum by %(over)s. Nobody was assigned."
        ) % {"load": 1, "max": 3, "n": 3, "over": 1}
    assert expected in [str(m) for m in response.context["messages"]]
    assert not Customer.objects.filter(pk__in=[c.pk for c in customers], manager__isnull=False).exists()
    assert not Assignment.objects.filter(customer__in=customers).exists()


def test_bulk_assignment_to_a_manager_outside_the_team_is_refused(world):
    # given two unassigned key accounts and manager B, who is not in the supervisor's team
    customers = CustomerFactory.create_batch(2, station=world.station_b, tier=Tier.KEY_ACCOUNT, manager=None)
    # when the supervisor gives them to manager B, then it is refused and nothing is written
    with pytest.raises(ValidationError) as refused:
        assignment_move_many(customers=customers, manager=world.manager_b, by=world.supervisor, reason="越权")
    assert list(refused.value.message_dict) == ["manager"]
    assert not Assignment.objects.filter(customer__in=customers).exists()


def test_bulk_assignment_refused_for_one_customer_writes_nothing_for_the_others(world):
    # given an unassigned key account and an unassigned VIP, which a key-account manager cannot serve
    key = CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None)
    vip = CustomerFactory(station=world.station_a, tier=Tier.VIP, manager=None)
    # when both go to manager A, then it is refused and the key account keeps no manager either
    with pytest.raises(ValidationError):
        assignment_move_many(
            customers=[key, vip], manager=world.manager_a, by=world.supervisor, reason="批量"
        )
    assert Customer.objects.get(pk=key.pk).manager_id is None
    assert not Assignment.objects.filter(customer__in=[key, vip]).exists()


def test_the_page_offers_ticking_customers_for_one_manager(world, client):
    customer = CustomerFactory(station=world.station_a, tier=Tier.KEY_ACCOUNT, manager=None)
    client.force_login(world.supervisor)
    html = client.get(reverse("managers:unassigned")).content.decode()
    assert f'name="customers" value="{customer.pk}" form="bulk-assign"' in html
    assert 'id="bulk-assign"' in html
