"""Number and month formatting for the pages. Django's Simplified Chinese format has no thousands
separator, which makes kWh figures like 12345678 hard to read; energy and money figures are written
with comma groups (12,345,678) in either language, as on a Chinese electricity bill."""

from decimal import Decimal, InvalidOperation

from django import template

from crm.common import months

register = template.Library()


def grouped_number(value, digits: int | None = 0) -> str:
    """`value` with comma thousands groups and `digits` decimals (None: as many as it needs)."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not number.is_finite():
        return str(value)
    if digits is None:
        return f"{number.normalize():,f}"
    return f"{number:,.{int(digits)}f}"


@register.filter
def grouped(value, digits=0):
    """{{ kwh|grouped }} -> 1,234,568; {{ amount|grouped:2 }} -> 1,234.50; {{ kw|grouped:"auto" }}
    -> 895 or 895.5 (the decimals it needs)."""
    return grouped_number(value, None if digits == "auto" else digits)


@register.filter
def month(value) -> str:
    """{{ record.period|month }} -> 2026-09: a month as every page shows it."""
    return months.label(value) if value else ""
