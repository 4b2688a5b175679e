"""The audit trail of a customer: who changed its tier, pin, manager or master data, when, and
from what to what (django-simple-history, crm/common/audit.py)."""

from django import template

from crm.common.audit import audit_trail as trail_of

register = template.Library()

TRAIL_LIMIT = 30


@register.inclusion_tag("customers/_audit_trail.html")
def audit_trail(customer):
    return {"entries": trail_of(customer, limit=TRAIL_LIMIT), "limit": TRAIL_LIMIT}
