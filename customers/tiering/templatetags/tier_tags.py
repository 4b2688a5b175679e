"""Template tags showing a customer's tier and why it has it."""

from django import template
from django.utils.translation import gettext as _

from customers.models import Tier
from customers.tiering.rules import (
    decide_customer_tier,
    explain_change,
    thresholds_from_column,
    thresholds_in_force,
)
from customers.tiering.services import can_pin

register = template.Library()

HISTORY_LIMIT = 24


def current_reason(customer) -> str:
    """Why the customer has its tier today, in plain words: the pin, or the rule that holds it
    there under the policy in force."""
    if customer.tier_pinned:
        text = _("Pinned: %(reason)s") % {"reason": customer.tier_pin_reason or "-"}
        if customer.tier_pinned_until:
            text += " " + _("(until %(date)s)") % {"date": customer.tier_pinned_until.isoformat()}
        return text
    # The customer page reads the thresholds with the customer (thresholds_in_force_column).
    if hasattr(customer, "thresholds_in_force"):
        thresholds = thresholds_from_column(customer.thresholds_in_force)
    else:
        thresholds = thresholds_in_force()
    decision = decide_customer_tier(customer, thresholds=thresholds, current_tier=customer.tier)
    if decision.tier == customer.tier:
        return decision.explanation
    return _("The next reclassification will move this customer: %(why)s") % {"why": decision.explanation}


@register.inclusion_tag("customers/_tier_history.html", takes_context=True)
def tier_history(context, customer):
    """The customer's tier, why it has it, and its tier history with the rule that decided each
    change, in plain words; for supervisors and administrators, a form to pin or release the tier."""
    changes = list(customer.tier_changes.select_related("policy", "by", "run")[:HISTORY_LIMIT])
    request = context.get("request")
    return {
        "customer": customer,
        "why": current_reason(customer),
        "changes": [{"change": c, "why": explain_change(c)} for c in changes],
        "can_pin": request is not None and can_pin(request.user),
        "tiers": Tier.choices,
        "csrf_token": context.get("csrf_token"),
    }
