"""A customer's monthly consumption as an inline SVG bar chart drawn on the server (crm.common.charts
draws it: no JavaScript, no CDN, readable on a 360px phone)."""

from collections.abc import Sequence
from decimal import Decimal

from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from crm.common import months
from crm.common.charts import HEIGHT, WIDTH, Bar, _y, bar_chart, compact, nice_step
from crm.common.templatetags.crm_format import grouped_number

# The primitives live in crm.common.charts; they are named here too for the charts that read them from
# this module (appraisal.charts).
__all__ = ["HEIGHT", "WIDTH", "_y", "compact", "consumption_chart", "nice_step"]


def consumption_chart(records: Sequence) -> SafeString:
    """Bars of kWh per month, oldest on the left, the latest month highlighted. `records` have
    `period` (a date) and `kwh`, in any order; an empty sequence draws nothing (the page says so in
    words)."""
    records = sorted(records, key=lambda r: r.period)
    bars = [
        Bar(
            label=months.label(r.period),
            value=float(r.kwh or Decimal("0")),
            title=f"{months.label(r.period)}: {grouped_number(r.kwh)} kWh",
        )
        for r in records
    ]
    title = (
        _("Monthly consumption (kWh), %(first)s to %(last)s")
        % {"first": bars[0].label, "last": bars[-1].label}
        if bars
        else ""
    )
    return bar_chart(bars, title=title, unit="kWh", highlight_last=True)
