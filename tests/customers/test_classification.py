"""The set-based reclassification: every rule and boundary, hysteresis, pinning, annualisation,
idempotency and the run's counts, on the database the suite runs on."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Importance, Status, Tier, TierChange, TierPolicy
from tests.customers.tiering_helpers import add_consumption, reclassify
from tests.factories import CommunityFactory, CustomerFactory

pytestmark = pytest.mark.django_db

# (customer fields, annual kWh over 12 months or None, expected tier, expected rule)
BOUNDARIES = {
    "capacity_at_315_kva_is_key_account": (
        {"contracted_capacity_kva": "315"},
        None,
        "key_account",
        "key_account.capacity",
    ),
    "capacity_just_below_315_kva_is_not": (
        {"contracted_capacity_kva": "314.9"},
        None,
        "transformer_district",
        "transformer_district.default",
    ),
    "voltage_at_10_kv_is_key_account": ({"voltage_kv": "10"}, None, "key_account", "key_account.voltage"),
    "voltage_just_below_10_kv_is_not": (
        {"voltage_kv": "9.99"},
        None,
        "transformer_district",
        "transformer_district.default",
    ),
    "voltage_at_110_kv_is_vip": ({"voltage_kv": "110"}, None, "vip", "vip.voltage"),
    "voltage_just_below_110_kv_is_key_account": (
        {"voltage_kv": "109.99"},
        None,
        "key_account",
        "key_account.voltage",
    ),
    "consumption_at_1_gwh_is_key_account": ({}, "1000000", "key_account", "key_account.consumption"),
    "consumption_just_below_1_gwh_is_not": (
        {},
        "999999.99",
        "transformer_district",
        "transformer_district.default",
    ),
    "consumption_at_10_gwh_is_vip": ({}, "10000000", "vip", "vip.consumption"),
    "consumption_just_below_10_gwh_is_key_account": (
        {},
        "9999999.99",
        "key_account",
        "key_account.consumption",
    ),
    "importance_level_1_is_vip": ({"importance": Importance.LEVEL_1}, None, "vip", "vip.importance"),
    "importance_level_2_is_key_account": (
        {"importance": Importance.LEVEL_2},
        None,
        "key_account",
        "key_account.importance",
    ),
    "temporary_importance_alone_decides_nothing": (
        {"importance": Importance.TEMPORARY},
        None,
        "transformer_district",
        "transformer_district.default",
    ),
    "consumption_rule_comes_before_voltage": ({"voltage_kv": "110"}, "10000000", "vip", "vip.consumption"),
    "vip_rules_come_before_key_account_rules": (
        {"contracted_capacity_kva": "5000", "importance": Importance.LEVEL_1},
        None,
        "vip",
        "vip.importance",
    ),
}


@pytest.mark.parametrize(("fields", "annual", "tier", "rule"), BOUNDARIES.values(), ids=BOUNDARIES.keys())
def test_reclassify_applies_rule_at_its_boundary(fields, annual, tier, rule):
    # Given a transformer-district customer with the measure at (or just off) a threshold
    customer = CustomerFactory(
        tier=Tier.TRANSFORMER_DISTRICT,
        **{k: Decimal(v) if k != "importance" else v for k, v in fields.items()},
    )
    if annual is not None:
        add_consumption(customer, total=annual)
    # When the customers are reclassified
    reclassify()
    # Then the rule decides the tier, and a change records the rule
    customer.refresh_from_db()
    assert customer.tier == tier
    if tier != Tier.TRANSFORMER_DISTRICT:
        assert TierChange.objects.get(customer=customer).rule == rule


def test_reclassify_puts_small_customer_in_a_community_in_the_community_tier():
    customer = CustomerFactory(tier=Tier.TRANSFORMER_DISTRICT, community=CommunityFactory())
    reclassify()
    customer.refresh_from_db()
    assert customer.tier == Tier.COMMUNITY
    assert TierChange.objects.get(customer=customer).rule == "community.location"


def test_reclassify_puts_small_customer_outside_a_community_in_the_transformer_district_tier():
    customer = CustomerFactory(tier=Tier.COMMUNITY)
    reclassify()
    customer.refresh_from_db()
    assert customer.tier == Tier.TRANSFORMER_DISTRICT


# ---------------------------------------------------------------- hysteresis
HYSTERESIS = {
    "key_account_stays_at_exactly_threshold_less_margin": (Tier.KEY_ACCOUNT, {}, "900000", Tier.KEY_ACCOUNT),
    "key_account_drops_just_below_threshold_less_margin": (
        Tier.KEY_ACCOUNT,
        {},
        "899999.99",
        Tier.TRANSFORMER_DISTRICT,
    ),
    "vip_stays_at_exactly_threshold_less_margin": (Tier.VIP, {}, "9000000", Tier.VIP),
    "vip_drops_just_below_threshold_less_margin_to_key_account": (
        Tier.VIP,
        {},
        "8999999.99",
        Tier.KEY_ACCOUNT,
    ),
    "key_account_stays_with_capacity_within_margin": (
        Tier.KEY_ACCOUNT,
        {"contracted_capacity_kva": "283.5"},
        None,
        Tier.KEY_ACCOUNT,
    ),
    "key_account_drops_with_capacity_below_margin": (
        Tier.KEY_ACCOUNT,
        {"contracted_capacity_kva": "283.4"},
        None,
        Tier.TRANSFORMER_DISTRICT,
    ),
    "no_margin_on_the_way_up": (Tier.TRANSFORMER_DISTRICT, {}, "950000", Tier.TRANSFORMER_DISTRICT),
    "no_margin_for_voltage": (Tier.KEY_ACCOUNT, {"voltage_kv": "9.5"}, None, Tier.TRANSFORMER_DISTRICT),
}


@pytest.mark.parametrize(("old", "fields", "annual", "new"), HYSTERESIS.values(), ids=HYSTERESIS.keys())
def test_reclassify_drops_a_tier_only_beyond_the_hysteresis_margin(old, fields, annual, new):
    customer = CustomerFactory(tier=old, **{k: Decimal(v) for k, v in fields.items()})
    if annual is not None:
        add_consumption(customer, total=annual)
    reclassify()
    customer.refresh_from_db()
    assert customer.tier == new


def test_reclassify_uses_the_margin_of_the_policy_in_force():
    # Given a newer policy with a 20 % margin and a key account 15 % below the threshold
    TierPolicy.objects.create(version=2, effective_from=dt.date(2020, 1, 1), hysteresis_pct=Decimal("20"))
    customer = CustomerFactory(tier=Tier.KEY_ACCOUNT)
    add_consumption(customer, total="850000")
    # When reclassified
    run = reclassify()
    # Then it keeps its tier, and the run names the version it used
    customer.refresh_from_db()
    assert customer.tier == Tier.KEY_ACCOUNT
    assert run.policy.version == 2


def test_reclassify_ignores_a_policy_not_yet_in_force():
    TierPolicy.objects.create(
        version=2, effective_from=timezone.localdate() + dt.timedelta(days=1), key_capacity_kva=Decimal("5")
    )
    customer = CustomerFactory(contracted_capacity_kva=Decimal("8"))
    run = reclassify()
    customer.refresh_from_db()
    assert customer.tier == Tier.TRANSFORMER_DISTRICT
    assert run.policy.version == 1


# ---------------------------------------------------------------- annualisation
def _run_over(*spans: dict):
    """A new customer with the consumption of `spans` (add_consumption's arguments each), once a run
    has classified it."""
    customer = CustomerFactory()
    for span in spans:
        add_consumption(customer, **span)
    reclassify()
    customer.refresh_from_db()
    return customer


def test_reclassify_annualises_three_months_of_consumption():
    # Given 3 months adding up to 250,000 kWh: 1,000,000 kWh a year
    customer = _run_over({"total": "250000", "months": 3})
    assert customer.annual_consumption_kwh == Decimal("1000000")
    assert customer.tier == Tier.KEY_ACCOUNT
    assert TierChange.objects.get(customer=customer).measures["months"] == 3


def test_reclassify_counts_twelve_months_as_they_are():
    customer = _run_over({"total": "999999.99", "months": 12})
    assert customer.annual_consumption_kwh == Decimal("999999.99")
    assert customer.tier == Tier.TRANSFORMER_DISTRICT


def test_reclassify_ignores_months_older_than_the_trailing_twelve():
    # Given 12 recent quiet months and, before them, 12 heavy ones
    customer = _run_over(
        {"total": "120000", "months": 12}, {"total": "50000000", "months": 12, "latest": dt.date(2025, 9, 1)}
    )
    assert customer.annual_consumption_kwh == Decimal("120000")
    assert customer.tier == Tier.TRANSFORMER_DISTRICT


# ---------------------------------------------------------------- pinning
def test_reclassify_leaves_a_pinned_customer_alone_and_counts_it():
    customer = CustomerFactory(tier=Tier.VIP, tier_pinned=True, tier_pin_reason="政府重点项目")
    run = reclassify()
    customer.refresh_from_db()
    assert customer.tier == Tier.VIP
    assert run.pinned == 1
    assert not TierChange.objects.filter(customer=customer).exists()


def test_reclassify_keeps_a_pin_on_its_last_day():
    customer = CustomerFactory(tier=Tier.VIP, tier_pinned=True, tier_pinned_until=timezone.localdate())
    run = reclassify()
    customer.refresh_from_db()
    assert (customer.tier, customer.tier_pinned, run.released) == (Tier.VIP, True, 0)


def test_reclassify_releases_an_expired_pin_then_classifies_the_customer():
    customer = CustomerFactory(
        tier=Tier.VIP, tier_pinned=True, tier_pinned_until=timezone.localdate() - dt.timedelta(days=1)
    )
    run = reclassify()
    customer.refresh_from_db()
    assert (customer.tier, customer.tier_pinned, customer.tier_pinned_until) == (
        Tier.TRANSFORMER_DISTRICT,
        False,
        None,
    )
    assert (run.released, run.pinned, run.changed) == (1, 0, 1)


# ---------------------------------------------------------------- history, idempotency, counts
def test_reclassify_records_old_and_new_tier_rule_measures_policy_and_run():
    customer = CustomerFactory(tier=Tier.TRANSFORMER_DISTRICT, contracted_capacity_kva=Decimal("400"))
    run = reclassify()
    change = TierChange.objects.get(customer=customer)
    assert (change.old_tier, change.new_tier, change.rule) == (
        "transformer_district",
        "key_account",
        "key_account.capacity",
    )
    assert Decimal(str(change.measures["capacity_kva"])) == Decimal("400")
    assert change.measures["in_community"] is False
    assert (change.policy_id, change.run_id) == (run.policy_id, run.pk)


def test_second_run_over_the_same_data_changes_and_writes_nothing():
    # Given customers reclassified once
    key = CustomerFactory(contracted_capacity_kva=Decimal("400"))
    add_consumption(CustomerFactory(), total="2000000", months=5)
    reclassify()
    stamps = dict(CustomerFactory._meta.model.objects.values_list("pk", "updated_at"))
    history = TierChange.objects.count()
    # When they are reclassified again over the same data
    second = reclassify()
    # Then nothing changes and nothing is written
    assert (second.changed, second.transitions) == (0, {})
    assert TierChange.objects.count() == history
    assert dict(CustomerFactory._meta.model.objects.values_list("pk", "updated_at")) == stamps
    key.refresh_from_db()
    assert key.tier == Tier.KEY_ACCOUNT


def test_run_counts_examined_changed_pinned_and_each_transition():
    # Given three customers that change, one that does not, one pinned and one closed
    CustomerFactory(tier=Tier.TRANSFORMER_DISTRICT, contracted_capacity_kva=Decimal("400"))
    CustomerFactory(tier=Tier.TRANSFORMER_DISTRICT, voltage_kv=Decimal("35"))
    CustomerFactory(tier=Tier.KEY_ACCOUNT, voltage_kv=Decimal("110"))
    CustomerFactory(tier=Tier.TRANSFORMER_DISTRICT)
    CustomerFactory(tier=Tier.VIP, tier_pinned=True)
    CustomerFactory(tier=Tier.VIP, status=Status.CLOSED)
    # When reclassified in chunks of two
    run = reclassify(size=2)
    # Then the run adds up
    assert run.status == "done"
    assert (run.examined, run.changed, run.pinned) == (5, 3, 1)
    assert run.transitions == {"transformer_district->key_account": 2, "key_account->vip": 1}
    assert run.started_at <= run.finished_at
    assert run.last_pk == run.max_pk


def test_reclassify_leaves_inactive_customers_alone():
    closed = CustomerFactory(tier=Tier.VIP, status=Status.SUSPENDED)
    reclassify()
    closed.refresh_from_db()
    assert closed.tier == Tier.VIP
