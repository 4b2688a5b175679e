"""The tiering rules of domain.md for one customer, in plain Python.

Used when a single customer is created or edited, and as the reference the set-based
reclassification must agree with. Thresholds are data (see TierThresholds.default())."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from customers.models import Importance, Tier

TIER_RANK = {Tier.TRANSFORMER_DISTRICT: 0, Tier.COMMUNITY: 0, Tier.KEY_ACCOUNT: 1, Tier.VIP: 2}


@dataclass(frozen=True)
class TierThresholds:
    vip_kwh: Decimal
    vip_voltage_kv: Decimal
    key_capacity_kva: Decimal
    key_kwh: Decimal
    key_voltage_kv: Decimal
    hysteresis_pct: Decimal

    @classmethod
    def default(cls) -> "TierThresholds":
        return cls(
            vip_kwh=Decimal("10000000"),
            vip_voltage_kv=Decimal("110"),
            key_capacity_kva=Decimal("315"),
            key_kwh=Decimal("1000000"),
            key_voltage_kv=Decimal("10"),
            hysteresis_pct=Decimal("10"),
        )


@dataclass(frozen=True)
class TierDecision:
    tier: str
    rule: str  # a stable code, e.g. "key_account.capacity"
    explanation: str  # the rule in plain words with the customer's measure


def decide_tier(
    *,
    annual_kwh: Decimal,
    voltage_kv: Decimal,
    capacity_kva: Decimal,
    importance: str,
    in_community: bool,
    current_tier: str | None = None,
    thresholds: TierThresholds | None = None,
) -> TierDecision:
    """Apply the rules in order. With `current_tier`, a customer already above a threshold keeps it
    until its measure falls below the threshold by more than the hysteresis margin."""
    t = thresholds or TierThresholds.default()

    def keeps(tier: str) -> Decimal:
        # The factor a numeric threshold is multiplied by: lower for a customer already in `tier`.
        if current_tier is not None and TIER_RANK.get(current_tier, 0) >= TIER_RANK[tier]:
            return (Decimal(100) - t.hysteresis_pct) / Decimal(100)
        return Decimal(1)

    vip, key = keeps(Tier.VIP), keeps(Tier.KEY_ACCOUNT)
    if annual_kwh >= t.vip_kwh * vip:
        return TierDecision(
            Tier.VIP,
            "vip.consumption",
            _("VIP: annual consumption %(v)s kWh ≥ %(t)s kWh")
            % {"v": f"{annual_kwh:,.0f}", "t": f"{t.vip_kwh * vip:,.0f}"},
        )
    if voltage_kv >= t.vip_voltage_kv:
        return TierDecision(
            Tier.VIP,
            "vip.voltage",
            _("VIP: supply voltage %(v)s kV ≥ %(t)s kV")
            % {"v": f"{voltage_kv:g}", "t": f"{t.vip_voltage_kv:g}"},
        )
    if importance == Importance.LEVEL_1:
        return TierDecision(Tier.VIP, "vip.importance", _("VIP: level 1 important customer"))
    if capacity_kva >= t.key_capacity_kva * key:
        return TierDecision(
            Tier.KEY_ACCOUNT,
            "key_account.capacity",
            _("Key account: contracted capacity %(v)s kVA ≥ %(t)s kVA")
            % {"v": f"{capacity_kva:g}", "t": f"{t.key_capacity_kva * key:g}"},
        )
    if annual_kwh >= t.key_kwh * key:
        return TierDecision(
            Tier.KEY_ACCOUNT,
            "key_account.consumption",
            _("Key account: annual consumption %(v)s kWh ≥ %(t)s kWh")
            % {"v": f"{annual_kwh:,.0f}", "t": f"{t.key_kwh * key:,.0f}"},
        )
    if voltage_kv >= t.key_voltage_kv:
        return TierDecision(
            Tier.KEY_ACCOUNT,
            "key_account.voltage",
            _("Key account: supply voltage %(v)s kV ≥ %(t)s kV")
            % {"v": f"{voltage_kv:g}", "t": f"{t.key_voltage_kv:g}"},
        )
    if importance == Importance.LEVEL_2:
        return TierDecision(
            Tier.KEY_ACCOUNT, "key_account.importance", _("Key account: level 2 important customer")
        )
    if in_community:
        return TierDecision(
            Tier.COMMUNITY, "community.location", _("Community customer: lives in a community")
        )
    return TierDecision(
        Tier.TRANSFORMER_DISTRICT,
        "transformer_district.default",
        _("Transformer-district customer: none of the rules above applies"),
    )
