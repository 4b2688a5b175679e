"""Metered months beside the forecast ones, drawn on the server as inline SVG (crm.common.charts:
no JavaScript, readable on a phone): the metered bars, the baseline's 12 months as lighter bars
after them, and the manager's forecast as a line over those 12 months (their 12-month total spread
by the baseline's shape: a manager says a year's total, not its months)."""

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from crm.common import months
from crm.common.charts import (
    BOTTOM,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    _bar_label,
    _grid,
    _y,
    compact,
    nice_step,
)
from crm.common.templatetags.crm_format import grouped_number

MAX_LABELS = 4


def spread(total: Decimal, shape: Sequence[Decimal]) -> list[Decimal]:
    """`total` over the months in the proportions of `shape` (evenly when the shape sums to zero)."""
    whole = sum(shape, Decimal(0))
    if whole <= 0:
        return [total / len(shape)] * len(shape)
    return [total * part / whole for part in shape]


def forecast_chart(
    *,
    metered: Sequence[tuple],  # (month, kWh) oldest first
    forecast_months: Sequence,  # the months the forecasts cover, in order
    baseline: Sequence[Decimal] | None,
    managers: Sequence[Decimal] | None,
    title: str,
) -> SafeString:
    """The chart; nothing when there is nothing metered nor forecast (the page says so in words)."""
    if not metered and not baseline:
        return format_html_join("", "{}", ())
    slots = [(m, kwh, "bar") for m, kwh in metered]
    slots += [
        (m, (baseline or [None] * len(forecast_months))[i], "bar forecast")
        for i, m in enumerate(forecast_months)
    ]
    values = [float(v) for _m, v, _c in slots if v is not None] + [float(v) for v in managers or ()]
    step = nice_step(max(values, default=0.0))
    ticks = max(1, -(-max(values, default=0.0) // step)) if values else 1
    axis_top = step * ticks
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    slot = plot_w / len(slots)
    bar_w = max(slot * 0.7, 1.0)
    label_every = max(1, -(-len(slots) // MAX_LABELS))
    rects, labels = [], []
    for i, (month, value, css) in enumerate(slots):
        if value is not None:
            height = min(float(value), axis_top) / axis_top * plot_h
            what = _("baseline") if css != "bar" else _("metered")
            rects.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" class="{}"><title>{}</title></rect>',
                    _y(LEFT + i * slot + (slot - bar_w) / 2),
                    _y(base - height),
                    _y(bar_w),
                    _y(height),
                    css,
                    f"{months.label(month)} {what}: {grouped_number(value)} kWh",
                )
            )
        if (len(slots) - 1 - i) % label_every == 0:
            labels.append(_bar_label(LEFT + i * slot + slot / 2, months.label(month)))
    line = ""
    if managers:
        first = len(metered)
        heights = [min(float(v), axis_top) / axis_top * plot_h for v in managers]
        points = " ".join(
            f"{_y(LEFT + (first + i) * slot + slot / 2)},{_y(base - h)}" for i, h in enumerate(heights)
        )
        line = format_html(
            '<polyline points="{}" class="line manager"><title>{}</title></polyline>',
            points,
            _("Manager's forecast: %(total)s kWh in 12 months")
            % {"total": grouped_number(sum(managers, Decimal(0)))},
        )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">'
        "<title>{}</title>"
        '<text x="4" y="12" class="axis-title">kWh</text>'
        "{}{}{}"
        '<line x1="{}" y1="{}" x2="{}" y2="{}" class="axis"/>'
        "{}</svg>",
        WIDTH,
        HEIGHT,
        title,
        title,
        _grid(step, int(ticks), compact),
        format_html_join("", "{}", ((r,) for r in rects)),
        line,
        LEFT,
        _y(base),
        WIDTH - RIGHT,
        _y(base),
        format_html_join("", "{}", ((label,) for label in labels)),
    )
