"""The tiering rules of domain.md for one customer, in plain Python.

Used when a single customer is created or edited, to explain a recorded change in plain words, and
as the reference the set-based reclassification (customers/tiering/classification.py) must agree with.
Thresholds are data: a TierPolicy version, or TierThresholds.default()."""

import json
from dataclasses import dataclass, fields
from decimal import Decimal

from django.db.models import JSONField, Subquery
from django.db.models.functions import JSONObject
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Importance, Tier, TierPolicy

TIER_RANK = {Tier.TRANSFORMER_DISTRICT: 0, Tier.COMMUNITY: 0, Tier.KEY_ACCOUNT: 1, Tier.VIP: 2}

# The rules in the order they are tried; a rule's code starts with the tier it gives.
RULES = (
    "vip.consumption",
    "vip.voltage",
    "vip.importance",
    "key_account.capacity",
    "key_account.consumption",
    "key_account.voltage",
    "key_account.importance",
    "community.location",
    "transformer_district.default",
)
PIN_RULE = "manual.pin"


def tier_of_rule(rule: str) -> str:
    return rule.split(".", 1)[0]


def keeps_margin(*, current_tier: str | None, tier: str) -> bool:
    """Whether a customer now in `current_tier` is judged against `tier`'s thresholds less the
    hysteresis margin: it already sits in that tier or above it, so it would be falling."""
    return current_tier is not None and TIER_RANK.get(current_tier, 0) >= TIER_RANK[tier]


@dataclass(frozen=True)
class TierThresholds:
    vip_kwh: Decimal
    vip_voltage_kv: Decimal
    key_capacity_kva: Decimal
    key_kwh: Decimal
    key_voltage_kv: Decimal
    hysteresis_pct: Decimal
    vip_importance: str = Importance.LEVEL_1  # "" switches the rule off
    key_importance: str = Importance.LEVEL_2

    @classmethod
    def default(cls) -> "TierThresholds":
        """The defaults of domain.md, as TierPolicy's field defaults hold them (written once there)."""
        return cls.from_policy(TierPolicy())

    @classmethod
    def from_policy(cls, policy) -> "TierThresholds":
        return cls(
            vip_kwh=policy.vip_kwh,
            vip_voltage_kv=policy.vip_voltage_kv,
            key_capacity_kva=policy.key_capacity_kva,
            key_kwh=policy.key_kwh,
            key_voltage_kv=policy.key_voltage_kv,
            hysteresis_pct=policy.hysteresis_pct,
            vip_importance=policy.vip_importance,
            key_importance=policy.key_importance,
        )

    @property
    def keep_factor(self) -> Decimal:
        """What a numeric threshold is multiplied by for a customer already in (or above) its tier."""
        return (Decimal(100) - self.hysteresis_pct) / Decimal(100)


def thresholds_in_force() -> TierThresholds:
    """The thresholds of the policy version in force today (the defaults when there is none)."""
    policy = TierPolicy.objects.effective()
    return TierThresholds.from_policy(policy) if policy else TierThresholds.default()


class _DecimalNumbers(json.JSONDecoder):
    """Thresholds are decimals: read the JSON's numbers as Decimal, never through a float."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, parse_float=Decimal, parse_int=Decimal, **kwargs)


def thresholds_in_force_column() -> Subquery:
    """The thresholds in force today as a JSON object, for a query to carry as an annotation: the
    customer page reads a customer and the thresholds that explain its tier in one query, not two.
    Read it back with `thresholds_from_column`."""
    names = {f.name: f.name for f in fields(TierThresholds)}
    newest = TierPolicy.objects.in_force().values(thresholds=JSONObject(**names))[:1]
    return Subquery(newest, output_field=JSONField(decoder=_DecimalNumbers))


def thresholds_from_column(value: dict | None) -> TierThresholds:
    """What `thresholds_in_force_column` carried (None: no policy, the defaults)."""
    return TierThresholds(**value) if value else TierThresholds.default()


@dataclass(frozen=True)
class TierDecision:
    tier: str
    rule: str  # a stable code from RULES, e.g. "key_account.capacity"
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
    until its measure (consumption, capacity) falls below the threshold by more than the hysteresis
    margin. Voltage and importance are attributes, not measures that wander: no margin for them."""
    t = thresholds or TierThresholds.default()
    vip = t.keep_factor if keeps_margin(current_tier=current_tier, tier=Tier.VIP) else Decimal(1)
    key = t.keep_factor if keeps_margin(current_tier=current_tier, tier=Tier.KEY_ACCOUNT) else Decimal(1)
    if annual_kwh >= t.vip_kwh * vip:
        rule = "vip.consumption"
    elif voltage_kv >= t.vip_voltage_kv:
        rule = "vip.voltage"
    elif t.vip_importance and importance == t.vip_importance:
        rule = "vip.importance"
    elif capacity_kva >= t.key_capacity_kva * key:
        rule = "key_account.capacity"
    elif annual_kwh >= t.key_kwh * key:
        rule = "key_account.consumption"
    elif voltage_kv >= t.key_voltage_kv:
        rule = "key_account.voltage"
    elif t.key_importance and importance == t.key_importance:
        rule = "key_account.importance"
    elif in_community:
        rule = "community.location"
    else:
        rule = "transformer_district.default"
    measures = {
        "annual_kwh": annual_kwh,
        "voltage_kv": voltage_kv,
        "capacity_kva": capacity_kva,
        "importance": importance,
    }
    return TierDecision(
        tier_of_rule(rule),
        rule,
        explain(rule=rule, measures=measures, thresholds=t, current_tier=current_tier),
    )


def decide_customer_tier(
    customer, *, thresholds: TierThresholds, current_tier: str | None = None
) -> TierDecision:
    """`decide_tier` on a customer's own measures."""
    return decide_tier(
        annual_kwh=customer.annual_consumption_kwh,
        voltage_kv=customer.voltage_kv,
        capacity_kva=customer.contracted_capacity_kva,
        importance=customer.importance,
        in_community=customer.community_id is not None,
        current_tier=current_tier,
        thresholds=thresholds,
    )


def _number(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value if value is not None else 0))


def _kwh(value: Decimal) -> str:
    return f"{value:,.0f}"


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}".rstrip("0")


# A rule that compares one measure with one threshold: its words, the measure, the threshold and how
# the two numbers are written.
_COMPARISONS = {
    "vip.consumption": (
        gettext_lazy("VIP: annual consumption %(v)s kWh ≥ %(t)s kWh"),
        "annual_kwh",
        "vip_kwh",
        _kwh,
    ),
    "vip.voltage": (
        gettext_lazy("VIP: supply voltage %(v)s kV ≥ %(t)s kV"),
        "voltage_kv",
        "vip_voltage_kv",
        _plain,
    ),
    "key_account.capacity": (
        gettext_lazy("Key account: contracted capacity %(v)s kVA ≥ %(t)s kVA"),
        "capacity_kva",
        "key_capacity_kva",
        _plain,
    ),
    "key_account.consumption": (
        gettext_lazy("Key account: annual consumption %(v)s kWh ≥ %(t)s kWh"),
        "annual_kwh",
        "key_kwh",
        _kwh,
    ),
    "key_account.voltage": (
        gettext_lazy("Key account: supply voltage %(v)s kV ≥ %(t)s kV"),
        "voltage_kv",
        "key_voltage_kv",
        _plain,
    ),
}
# The measures that wander, and so are held to the threshold less the margin (see decide_tier).
_WANDERING = {"annual_kwh", "capacity_kva"}


def explain(*, rule: str, measures: dict, thresholds: TierThresholds, current_tier: str | None) -> str:
    """The rule in plain words with the measure the customer had and the threshold it was held to,
    e.g. "Key account: contracted capacity 400 kVA ≥ 315 kVA"."""
    t = thresholds
    tier = tier_of_rule(rule)
    kept = tier in TIER_RANK and keeps_margin(current_tier=current_tier, tier=tier)
    annual = _number(measures.get("annual_kwh"))
    voltage = _number(measures.get("voltage_kv"))
    capacity = _number(measures.get("capacity_kva"))
    level = dict(Importance.choices).get(measures.get("importance"), measures.get("importance"))

    if rule in _COMPARISONS:
        text, measure, threshold, written = _COMPARISONS[rule]
        value, limit, note = _number(measures.get(measure)), getattr(t, threshold), ""
        # the threshold less the margin only when that is what kept the customer in its tier
        if measure in _WANDERING and kept and t.hysteresis_pct and value < limit:
            limit = limit * t.keep_factor
            note = " " + _("(threshold less the %(pct)s %% margin for a customer already in this tier)") % {
                "pct": _plain(t.hysteresis_pct)
            }
        return text % {"v": written(value), "t": written(limit)} + note
    if rule == "vip.importance":
        return _("VIP: important customer (%(level)s)") % {"level": level}
    if rule == "key_account.importance":
        return _("Key account: important customer (%(level)s)") % {"level": level}
    measured = {"v": _kwh(annual), "c": _plain(capacity), "u": _plain(voltage)}
    if rule == "community.location":
        return (
            _(
                "Community customer: lies in a community and below every VIP and key-account threshold "
                "(consumption %(v)s kWh, capacity %(c)s kVA, voltage %(u)s kV)"
            )
            % measured
        )
    if rule == "transformer_district.default":
        return (
            _(
                "Transformer-district customer: below every VIP and key-account threshold "
                "(consumption %(v)s kWh, capacity %(c)s kVA, voltage %(u)s kV) and not in a community"
            )
            % measured
        )
    return rule


def explain_change(change) -> str:
    """Why a recorded TierChange happened, in plain words, from what it stored."""
    if change.rule == PIN_RULE:
        who = change.by.display_name if change.by_id else _("someone")
        text = _("Pinned by %(who)s: %(reason)s") % {"who": who, "reason": change.note or "-"}
        until = (change.measures or {}).get("until")
        if until:
            text += " " + _("(until %(date)s)") % {"date": until}
        return text
    thresholds = TierThresholds.from_policy(change.policy) if change.policy_id else TierThresholds.default()
    text = explain(
        rule=change.rule,
        measures=change.measures or {},
        thresholds=thresholds,
        current_tier=change.old_tier or None,
    )
    months = (change.measures or {}).get("months")
    if months and int(months) < 12 and change.rule.endswith(".consumption"):
        text += " " + _("(annualised from %(n)s months)") % {"n": int(months)}
    return text
