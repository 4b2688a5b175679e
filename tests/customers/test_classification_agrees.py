"""The set-based SQL and the Python reference `decide_tier` must decide alike, for every customer."""

import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal

import pytest

from customers.models import ConsumptionRecord, Customer, Importance, Tier, TierChange, TierPolicy
from customers.tiering.rules import TierThresholds, decide_tier
from tests.customers.tiering_helpers import add_consumption, reclassify
from tests.factories import CommunityFactory, CustomerFactory

pytestmark = pytest.mark.django_db

KWH_LEVELS = [
    "0",
    "120000",
    "899999.99",
    "900000",
    "950000",
    "1000000",
    "8999999.99",
    "9000000",
    "9999999.99",
    "10000000",
    "25000000",
]
CAPACITIES = ["0", "8", "283.4", "283.5", "300", "314.9", "315", "630"]
VOLTAGES = ["0.22", "0.38", "9.99", "10", "35", "109.99", "110", "220"]


def build(rng: random.Random, count: int) -> dict[int, str]:
    community = CommunityFactory()
    before = {}
    for _ in range(count):
        customer = CustomerFactory(
            tier=rng.choice(Tier.values),
            voltage_kv=Decimal(rng.choice(VOLTAGES)),
            contracted_capacity_kva=Decimal(rng.choice(CAPACITIES)),
            importance=rng.choice(Importance.values),
            community=community if rng.random() < 0.5 else None,
        )
        months = rng.choice([0, 1, 3, 7, 12, 18])
        if months:
            add_consumption(
                customer,
                total=rng.choice(KWH_LEVELS),
                months=months,
                latest=dt.date(2026, rng.randint(1, 9), 1),
            )
        before[customer.pk] = customer.tier
    return before


def python_annual(customer_id: int) -> Decimal:
    """Trailing 12 months up to the customer's latest period, annualised, as domain.md says."""
    records = list(ConsumptionRecord.objects.filter(customer_id=customer_id).order_by("-period"))
    if not records:
        return Decimal("0")
    latest = records[0].period
    first = dt.date(latest.year - 1, latest.month, 1)
    window = [r.kwh for r in records if r.period > first]
    return (sum(window) * 12 / len(window)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_reclassification_agrees_with_decide_tier(seed):
    # Given a varied set of customers around every threshold, in every tier, with 0 to 18 months
    rng = random.Random(seed)
    before = build(rng, 120)
    # When the database reclassifies them
    run = reclassify(size=17)
    # Then every customer has the tier, rule and annual figure the Python reference gives
    thresholds = TierThresholds.from_policy(TierPolicy.objects.effective())
    changes = {c.customer_id: c for c in TierChange.objects.filter(run=run)}
    for customer in Customer.objects.all():
        annual = python_annual(customer.pk)
        assert customer.annual_consumption_kwh == annual, customer.pk
        decision = decide_tier(
            annual_kwh=annual,
            voltage_kv=customer.voltage_kv,
            capacity_kva=customer.contracted_capacity_kva,
            importance=customer.importance,
            in_community=customer.community_id is not None,
            current_tier=before[customer.pk],
            thresholds=thresholds,
        )
        assert customer.tier == decision.tier, (customer.pk, before[customer.pk], decision)
        if decision.tier != before[customer.pk]:
            assert changes[customer.pk].rule == decision.rule
        else:
            assert customer.pk not in changes
