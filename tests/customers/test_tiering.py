"""The Python reference of the tiering rules and the plain-words "why" of a tier change."""

from decimal import Decimal

import pytest
from django.utils import translation

from customers.models import Importance, Tier, TierChange
from customers.tiering.rules import TierThresholds, decide_tier, explain_change


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def decide(**overrides):
    values = {
        "annual_kwh": Decimal("0"),
        "voltage_kv": Decimal("0.38"),
        "capacity_kva": Decimal("8"),
        "importance": Importance.NONE,
        "in_community": False,
    }
    return decide_tier(**{**values, **overrides})


def test_decide_tier_explains_capacity_in_plain_words():
    decision = decide(capacity_kva=Decimal("400"))
    assert (decision.tier, decision.rule) == (Tier.KEY_ACCOUNT, "key_account.capacity")
    assert decision.explanation == "Key account: contracted capacity 400 kVA ≥ 315 kVA"


def test_decide_tier_explains_a_kept_tier_with_the_margin():
    decision = decide(annual_kwh=Decimal("9500000"), current_tier=Tier.VIP)
    assert decision.tier == Tier.VIP
    assert decision.explanation.startswith("VIP: annual consumption 9,500,000 kWh ≥ 9,000,000 kWh")
    assert "10 % margin" in decision.explanation


def test_decide_tier_follows_policy_importance_levels():
    thresholds = TierThresholds(
        **{**TierThresholds.default().__dict__, "key_importance": Importance.TEMPORARY}
    )
    assert decide(importance=Importance.TEMPORARY, thresholds=thresholds).rule == "key_account.importance"
    assert decide(importance=Importance.LEVEL_2, thresholds=thresholds).tier == Tier.TRANSFORMER_DISTRICT


def test_decide_tier_switched_off_importance_rule_decides_nothing():
    thresholds = TierThresholds(**{**TierThresholds.default().__dict__, "vip_importance": ""})
    assert decide(importance=Importance.LEVEL_1, thresholds=thresholds).tier == Tier.TRANSFORMER_DISTRICT


def test_decide_tier_margin_applies_to_a_vip_falling_to_key_account_thresholds():
    # A VIP judged against the key-account thresholds is falling too: the margin applies there.
    decision = decide(annual_kwh=Decimal("950000"), current_tier=Tier.VIP)
    assert (decision.tier, decision.rule) == (Tier.KEY_ACCOUNT, "key_account.consumption")


@pytest.mark.django_db
def test_explain_change_says_how_many_months_were_annualised():
    change = TierChange(
        old_tier=Tier.TRANSFORMER_DISTRICT,
        new_tier=Tier.KEY_ACCOUNT,
        rule="key_account.consumption",
        measures={
            "annual_kwh": 1200000.0,
            "months": 3,
            "capacity_kva": 8,
            "voltage_kv": 0.38,
            "importance": "none",
        },
    )
    assert explain_change(change) == (
        "Key account: annual consumption 1,200,000 kWh ≥ 1,000,000 kWh (annualised from 3 months)"
    )


@pytest.mark.django_db
def test_explain_change_of_a_pin_names_who_and_why(world):
    change = TierChange(
        old_tier=Tier.KEY_ACCOUNT,
        new_tier=Tier.VIP,
        rule="manual.pin",
        measures={"until": "2027-01-31"},
        by=world.supervisor,
        note="市重点招商项目",
    )
    assert explain_change(change) == "Pinned by 李主管: 市重点招商项目 (until 2027-01-31)"
