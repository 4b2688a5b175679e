"""Generating scheduled visit tasks from the policies: what each tier gets, when, and only once."""

import datetime as dt

import pytest

from customers.models import Status, Tier
from tests.factories import CommunityFactory, CustomerFactory, TransformerDistrictFactory
from visits.generation import visit_tasks_generate
from visits.models import Kind, VisitPolicy, VisitTask

MID_MARCH = dt.date(2026, 3, 10)


@pytest.fixture
def vip(world):
    return CustomerFactory(station=world.station_a, tier=Tier.VIP, manager=world.manager_a.user)


def _tasks(**filters):
    return list(VisitTask.objects.filter(**filters).values_list("period", "due_date", "manager_id"))


def test_default_policies_follow_the_domain(db):
    # given the data migration's policies / then vip monthly, key accounts quarterly, territories monthly
    rows = set(VisitPolicy.objects.values_list("tier", "target", "frequency_months"))
    assert rows == {
        ("vip", "customer", 1),
        ("key_account", "customer", 3),
        ("community", "community", 1),
        ("transformer_district", "transformer_district", 1),
    }


def test_vip_customer_gets_a_monthly_task_due_at_the_month_end(vip):
    visit_tasks_generate(day=MID_MARCH)
    assert _tasks(customer=vip) == [(dt.date(2026, 3, 1), dt.date(2026, 3, 31), vip.manager_id)]


def test_key_account_gets_a_quarterly_task_due_at_the_quarter_end(world):
    # given the world's key account / when generating in May
    visit_tasks_generate(day=dt.date(2026, 5, 10))
    # then one task for the second quarter, due on its last day
    assert _tasks(customer=world.customer_a) == [
        (dt.date(2026, 4, 1), dt.date(2026, 6, 30), world.manager_a.pk)
    ]


def test_next_cycles_task_appears_lead_days_before_it_starts(vip):
    # given vip lead days of 7 / when generating on 25 March (7 days before April)
    visit_tasks_generate(day=dt.date(2026, 3, 25))
    # then March's and April's tasks both exist
    assert [p for p, _, _ in _tasks(customer=vip)] == [dt.date(2026, 3, 1), dt.date(2026, 4, 1)]


def test_next_cycles_task_does_not_appear_before_the_lead_days(vip):
    visit_tasks_generate(day=dt.date(2026, 3, 24))
    assert [p for p, _, _ in _tasks(customer=vip)] == [dt.date(2026, 3, 1)]


def test_every_community_and_transformer_district_gets_a_monthly_task(world):
    community = CommunityFactory(station=world.station_a, manager=world.manager_a.user)
    district = TransformerDistrictFactory(station=world.station_a, manager=world.manager_a.user)
    visit_tasks_generate(day=MID_MARCH)
    assert _tasks(community=community) == [(dt.date(2026, 3, 1), dt.date(2026, 3, 31), world.manager_a.pk)]
    assert _tasks(transformer_district=district) == [
        (dt.date(2026, 3, 1), dt.date(2026, 3, 31), world.manager_a.pk)
    ]


def test_community_and_district_customers_get_no_customer_task(world):
    CustomerFactory(station=world.station_a, tier=Tier.COMMUNITY, manager=world.manager_a.user)
    CustomerFactory(station=world.station_a, tier=Tier.TRANSFORMER_DISTRICT, manager=world.manager_a.user)
    visit_tasks_generate(day=MID_MARCH)
    assert set(VisitTask.objects.values_list("customer__tier", flat=True)) == {Tier.KEY_ACCOUNT}


def test_closed_and_unassigned_customers_get_no_task(world):
    closed = CustomerFactory(tier=Tier.VIP, manager=world.manager_a.user, status=Status.CLOSED)
    unassigned = CustomerFactory(tier=Tier.VIP, manager=None)
    visit_tasks_generate(day=MID_MARCH)
    assert not VisitTask.objects.filter(customer__in=[closed, unassigned]).exists()


def test_second_run_the_same_day_creates_nothing(world, vip):
    first = visit_tasks_generate(day=MID_MARCH)
    second = visit_tasks_generate(day=MID_MARCH)
    assert first["created"] == 3  # vip, and the two key accounts
    assert second["created"] == 0
    assert VisitTask.objects.count() == 3


def test_small_chunks_create_the_same_tasks_as_one(world):
    # given customers spread over several primary-key chunks
    customers = [CustomerFactory(tier=Tier.VIP, manager=world.manager_b.user) for _ in range(5)]
    # when generating two ids per statement
    counts = visit_tasks_generate(day=MID_MARCH, size=2)
    # then each gets its task
    assert counts["vip"] == 5
    assert set(
        VisitTask.objects.filter(kind=Kind.SCHEDULED, customer__tier=Tier.VIP).values_list(
            "customer_id", flat=True
        )
    ) == {c.pk for c in customers}


def test_an_edited_policy_changes_the_frequency(world):
    # given key accounts made monthly by an administrator
    VisitPolicy.objects.filter(tier=Tier.KEY_ACCOUNT).update(frequency_months=1)
    visit_tasks_generate(day=dt.date(2026, 5, 10))
    assert _tasks(customer=world.customer_a) == [
        (dt.date(2026, 5, 1), dt.date(2026, 5, 31), world.manager_a.pk)
    ]
