"""Small formatting helpers of the appraisal pages."""

from decimal import Decimal, InvalidOperation

from django import template

from appraisal.models import Grade, RaterKind
from crm.common.templatetags.crm_format import grouped_number

register = template.Library()


@register.filter
def evidence(value) -> str:
    """An evidence figure: "—" when it could not be computed (no visit due, no forecast yet),
    otherwise grouped with at most two decimals (12,345 / 93.5 / 0.87)."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return "—"
    return grouped_number(number.quantize(Decimal("0.01")).normalize(), None)


@register.filter
def score(value) -> str:
    """A score with two decimals (the rounding is appraisal.scoring's), or "—" when there is none."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(str(value)):.2f}"


@register.filter
def get(mapping, key):
    """`{{ row.kind_scores|get:kind }}`: a dictionary's value for a key held in a variable."""
    if not isinstance(mapping, dict):
        return None
    return mapping.get(key)


@register.filter
def grade_label(value) -> str:
    return str(Grade(value).label) if value in Grade.values else "—"


@register.filter
def kind_label(value) -> str:
    return str(RaterKind(value).label) if value in RaterKind.values else str(value)


@register.filter
def kind_labels(values) -> str:
    """Rater kinds by their names, comma-separated."""
    return ", ".join(kind_label(value) for value in values or ())
