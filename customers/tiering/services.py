"""Writes about tiers other than a reclassification run: policy versions, and pinning a tier."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.roles import leads_a_team
from crm.common import hooks
from crm.common.audit import history_record
from crm.common.outbox import api_link, outbox_record
from customers.models import Customer, Tier, TierChange, TierPolicy
from customers.tiering.rules import PIN_RULE

POLICY_FIELDS = (
    "effective_from",
    "vip_kwh",
    "vip_voltage_kv",
    "vip_importance",
    "key_capacity_kva",
    "key_kwh",
    "key_voltage_kv",
    "key_importance",
    "hysteresis_pct",
    "note",
)


@transaction.atomic
def tier_policy_create(*, by, **data) -> TierPolicy:
    """A new version of the thresholds (the next version number), in force from `effective_from`.
    Versions are not edited: runs and tier changes record the one they used."""
    unknown = set(data) - set(POLICY_FIELDS)
    if unknown:
        raise TypeError(f"unknown policy fields: {sorted(unknown)}")
    # Lock the newest version so two administrators saving at once get distinct numbers.
    list(TierPolicy.objects.select_for_update().order_by("-version")[:1])
    version = (TierPolicy.objects.aggregate(v=Max("version"))["v"] or 0) + 1
    policy = TierPolicy(version=version, created_by=by, **data)
    policy.full_clean()
    tier_policy_validate(policy)
    policy._history_user = by
    policy.save()
    return policy


def tier_policy_validate(policy: TierPolicy) -> None:
    """The rules between fields: key-account thresholds lie at or below the VIP ones."""
    errors = {}
    if policy.key_kwh is not None and policy.vip_kwh is not None and policy.key_kwh > policy.vip_kwh:
        errors["key_kwh"] = [_("The key-account consumption threshold cannot lie above the VIP one.")]
    if (
        policy.key_voltage_kv is not None
        and policy.vip_voltage_kv is not None
        and policy.key_voltage_kv > policy.vip_voltage_kv
    ):
        errors["key_voltage_kv"] = [_("The key-account voltage threshold cannot lie above the VIP one.")]
    if errors:
        raise ValidationError(errors)


def can_pin(user) -> bool:
    """Who may pin a tier: supervisors (for the customers in their scope) and administrators."""
    return leads_a_team(user)


@transaction.atomic
def customer_pin_tier(
    *, customer: Customer, tier: str, reason: str, until: dt.date | None, by
) -> TierChange | None:
    """Pin the customer's tier: reclassification leaves it alone until `until` (inclusive; none:
    until unpinned). A pin that changes the tier records a TierChange and asks for reassignment."""
    errors = {}
    reason = (reason or "").strip()
    if tier not in Tier.values:
        errors["tier"] = [_("Choose one of the four tiers.")]
    if not reason:
        errors["reason"] = [_("Say why the tier is pinned.")]
    if until is not None and until < timezone.localdate():
        errors["until"] = [_("The pin cannot end in the past.")]
    if errors:
        raise ValidationError(errors)
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    old_tier = locked.tier
    now = timezone.now()
    Customer.objects.filter(pk=locked.pk).update(
        tier=tier,
        tier_pinned=True,
        tier_pin_reason=reason[:300],
        tier_pinned_until=until,
        tier_pinned_by=by,
        updated_at=now,
    )
    customer.refresh_from_db()
    history_record(customer, by=by, reason=reason)
    if old_tier == tier:
        return None
    change = TierChange.objects.create(
        customer=locked,
        old_tier=old_tier,
        new_tier=tier,
        rule=PIN_RULE,
        measures={"until": until.isoformat() if until else None},
        at=now,
        by=by,
        note=reason[:300],
    )
    outbox_record(
        "customer.tier_changed",
        {
            "customer": locked.pk,
            "old_tier": old_tier,
            "new_tier": tier,
            "rule": PIN_RULE,
            "tier_change": change.pk,
            "run": None,
            "link": api_link("customers", locked.pk),
        },
        at=now,
    )
    hooks.after_commit("tier_changed", customer_ids=[locked.pk])
    return change


# What a customer without a pin holds in the pin fields.
NOT_PINNED = {"tier_pinned": False, "tier_pin_reason": "", "tier_pinned_until": None, "tier_pinned_by": None}


@transaction.atomic
def customer_unpin_tier(*, customer: Customer, by) -> None:
    """Release the pin; the next reclassification decides the tier again (and records why)."""
    Customer.objects.filter(pk=customer.pk).update(**NOT_PINNED, updated_at=timezone.now())
    customer.refresh_from_db()
    history_record(customer, by=by)
