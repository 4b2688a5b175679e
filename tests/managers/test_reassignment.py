"""Customers whose tier changed move to a manager of the new tier's role, with the reason recorded."""

from decimal import Decimal

import pytest
from django.utils.translation import gettext as _

from customers.models import Customer, Tier
from managers import reassignment
from managers.models import Assignment, Role
from managers.reassignment import reassign_after_run
from tests.customers.tiering_helpers import reclassify
from tests.factories import CommunityFactory, CustomerFactory, ManagerFactory, StationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def station():
    return StationFactory()


def vip_customer(station, **fields):
    """A customer served by a key-account manager that the next run makes VIP (110 kV)."""
    return CustomerFactory(station=station, tier=Tier.KEY_ACCOUNT, voltage_kv=Decimal("110"), **fields)


def test_changed_customer_moves_to_least_loaded_qualified_manager_of_the_new_role(station):
    # Given two qualified VIP managers, one busier, an unqualified idle one, and a key account turning VIP
    key_manager = ManagerFactory(station=station, role=Role.KEY_ACCOUNT_MANAGER)
    busy = ManagerFactory(station=station, role=Role.VIP_MANAGER)
    CustomerFactory(station=station, tier=Tier.VIP, voltage_kv=Decimal("220"), manager=busy.user)
    idle = ManagerFactory(station=station, role=Role.VIP_MANAGER)
    ManagerFactory(station=station, role=Role.VIP_MANAGER, qualified=False)
    customer = vip_customer(station, manager=key_manager.user)
    # When reclassified and reassigned
    run = reclassify()
    counts = reassign_after_run(run_id=run.pk)
    # Then it moves to the idle qualified VIP manager, with the reason in the history
    customer.refresh_from_db()
    assert customer.manager_id == idle.pk
    assignment = Assignment.objects.current().get(customer=customer)
    assert assignment.reason == _(
        "Tier changed to %(tier)s: least-loaded qualified manager of the station"
    ) % {"tier": Tier.VIP.label}
    assert counts == {"moved": 1, "followed_territory": 0, "unassigned": 0, "kept": 0}
    run.refresh_from_db()
    assert run.reassignment == {**counts, "last": customer.pk, "finished": True}


def test_manager_with_a_full_portfolio_receives_no_one(station):
    full = ManagerFactory(station=station, role=Role.VIP_MANAGER, max_customers=1)
    CustomerFactory(station=station, tier=Tier.VIP, voltage_kv=Decimal("220"), manager=full.user)
    customer = vip_customer(station)
    counts = reassign_after_run(run_id=reclassify().pk)
    customer.refresh_from_db()
    assert customer.manager_id is None
    assert counts["unassigned"] == 1


def test_customer_no_manager_fits_goes_to_the_unassigned_list_with_a_reason(station):
    key_manager = ManagerFactory(station=station, role=Role.KEY_ACCOUNT_MANAGER)
    customer = vip_customer(station, manager=key_manager.user)
    reassign_after_run(run_id=reclassify().pk)
    customer.refresh_from_db()
    assert customer.manager_id is None
    current = Assignment.objects.current().get(customer=customer)
    assert current.manager_id is None
    assert current.reason


def test_customer_falling_to_community_follows_the_community_manager(station):
    community_manager = ManagerFactory(station=station, role=Role.COMMUNITY_MANAGER)
    community = CommunityFactory(station=station, manager=community_manager.user)
    key_manager = ManagerFactory(station=station, role=Role.KEY_ACCOUNT_MANAGER)
    customer = CustomerFactory(
        station=station, community=community, tier=Tier.KEY_ACCOUNT, manager=key_manager.user
    )
    counts = reassign_after_run(run_id=reclassify().pk)
    customer.refresh_from_db()
    assert (customer.tier, customer.manager_id) == (Tier.COMMUNITY, community_manager.pk)
    assert counts["followed_territory"] == 1


def test_territory_follow_stops_at_the_portfolio_maximum(station):
    # given a community whose manager is full, and a key account of it about to fall to community
    # (issue 7: following regardless of the maximum gave one manager 19,000 customers against 800)
    community_manager = ManagerFactory(station=station, role=Role.COMMUNITY_MANAGER, max_customers=1)
    community = CommunityFactory(station=station, manager=community_manager.user)
    CustomerFactory(station=station, community=community, tier=Tier.COMMUNITY, manager=community_manager.user)
    key_manager = ManagerFactory(station=station, role=Role.KEY_ACCOUNT_MANAGER)
    customer = CustomerFactory(
        station=station, community=community, tier=Tier.KEY_ACCOUNT, manager=key_manager.user
    )
    # when the reassignment after the run moves it
    counts = reassign_after_run(run_id=reclassify().pk)
    # then the full manager gets nobody: the customer is on the supervisor's list, saying why
    customer.refresh_from_db()
    assert customer.manager_id is None
    assert counts["unassigned"] == 1
    assert Assignment.objects.current().get(customer=customer).reason == _(
        "Tier changed to %(tier)s: the manager of its territory is full; left for the supervisor to assign"
    ) % {"tier": Tier.COMMUNITY.label}


def test_reassignment_only_touches_customers_the_run_changed(station):
    ManagerFactory(station=station, role=Role.VIP_MANAGER)
    untouched = CustomerFactory(station=station, tier=Tier.TRANSFORMER_DISTRICT)  # unchanged, no manager
    reassign_after_run(run_id=reclassify().pk)
    untouched.refresh_from_db()
    assert untouched.manager_id is None
    assert not Assignment.objects.filter(customer=untouched).exists()


def test_reassigning_the_same_run_again_moves_nobody(station):
    ManagerFactory(station=station, role=Role.VIP_MANAGER)
    customer = vip_customer(station)
    run = reclassify()
    reassign_after_run(run_id=run.pk)
    before = Assignment.objects.count()
    counts = reassign_after_run(run_id=run.pk)
    assert Assignment.objects.count() == before
    # and the second call says what the reassignment did, not "kept" for the customer it moved
    assert counts == {"moved": 1, "followed_territory": 0, "unassigned": 0, "kept": 0}
    assert Customer.objects.get(pk=customer.pk).manager_id is not None


def test_a_reassignment_killed_midway_goes_on_and_counts_as_an_uninterrupted_one(station, monkeypatch):
    # Given three customers turning VIP, reassigned one per batch, and a worker that dies in the second
    ManagerFactory(station=station, role=Role.VIP_MANAGER)
    customers = [vip_customer(station) for _ in range(3)]
    run = reclassify()
    monkeypatch.setattr(reassignment, "BATCH", 1)
    real = reassignment.customers_reassign
    calls = []

    def dies_in_the_second_batch(**kwargs):
        calls.append(kwargs["customer_ids"])
        if len(calls) == 2:
            raise SystemExit("worker killed")
        return real(**kwargs)

    monkeypatch.setattr(reassignment, "customers_reassign", dies_in_the_second_batch)
    with pytest.raises(SystemExit):
        reassign_after_run(run_id=run.pk)
    # When the step runs again (the message came back)
    counts = reassign_after_run(run_id=run.pk)
    # Then every customer has moved once, and the counts are those of one uninterrupted run
    assert counts == {"moved": 3, "followed_territory": 0, "unassigned": 0, "kept": 0}
    assert calls[2:] == [[customers[1].pk], [customers[2].pk]]  # the first batch is not done again
    assert Assignment.objects.filter(customer__in=customers, ended_at__isnull=True).count() == 3
