"""A customer's monthly consumption as an inline SVG bar chart drawn on the server: no JavaScript, no
CDN, and readable on a 360px phone (the drawing scales with the width of its card)."""

import math
from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from crm.common import months
from crm.common.templatetags.crm_format import grouped_number

# The drawing's own coordinates; CSS scales it to the card. A phone shows it at roughly 1:1.
WIDTH, HEIGHT = 320, 190
LEFT, RIGHT, TOP, BOTTOM = 42, 6, 20, 24
TICKS = 4
LABEL_HALF_WIDTH = 20  # half the width of "2026-10" at the tick font size


def nice_step(maximum: float, ticks: int = TICKS) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k such that `ticks` steps reach `maximum`."""
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def compact(value: float) -> str:
    """An axis label: 0, 750, 2.5k, 40k, 1.2M, 3G."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.1f}".rstrip("0").rstrip(".")


def consumption_chart(records: Sequence) -> SafeString:
    """Bars of kWh per month, oldest on the left. `records` have `period` (a date) and `kwh`, in any
    order; an empty sequence draws nothing (the page says so in words)."""
    records = sorted(records, key=lambda r: r.period)
    if not records:
        return format_html_join("", "{}", ())
    values = [float(r.kwh or Decimal("0")) for r in records]
    step = nice_step(max(values))
    ticks = max(1, math.ceil(max(values) / step))  # up to TICKS steps, no empty band above the bars
    top = step * ticks
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h

    grid = format_html_join(
        "",
        '<line x1="{}" y1="{}" x2="{}" y2="{}" class="grid"/>'
        '<text x="{}" y="{}" class="tick" text-anchor="end">{}</text>',
        (
            (
                LEFT,
                _y(base - i * plot_h / ticks),
                WIDTH - RIGHT,
                _y(base - i * plot_h / ticks),
                LEFT - 4,
                _y(base - i * plot_h / ticks + 3.5),
                compact(i * step),
            )
            for i in range(ticks + 1)
        ),
    )

    slot = plot_w / len(records)
    bar_w = max(slot * 0.7, 1.0)
    label_every = max(1, math.ceil(len(records) / 4))
    bars, labels = [], []
    for i, (record, value) in enumerate(zip(records, values, strict=True)):
        height = value / top * plot_h
        x = LEFT + i * slot + (slot - bar_w) / 2
        period = months.label(record.period)
        bars.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" class="bar{}"><title>{}: {} kWh</title></rect>',
                _y(x),
                _y(base - height),
                _y(bar_w),
                _y(height),
                " latest" if i == len(records) - 1 else "",
                period,
                grouped_number(record.kwh),
            )
        )
        if (len(records) - 1 - i) % label_every == 0:
            centre = LEFT + i * slot + slot / 2
            # A label centred under a bar near the right edge would be cut off: end it at the edge.
            at_edge = centre + LABEL_HALF_WIDTH > WIDTH
            labels.append(
                format_html(
                    '<text x="{}" y="{}" class="tick" text-anchor="{}">{}</text>',
                    _y(WIDTH - 1 if at_edge else centre),
                    HEIGHT - 8,
                    "end" if at_edge else "middle",
                    period,
                )
            )

    title = _("Monthly consumption (kWh), %(first)s to %(last)s") % {
        "first": months.label(records[0].period),
        "last": months.label(records[-1].period),
    }
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">'
        "<title>{}</title>"
        '<text x="4" y="12" class="axis-title">kWh</text>'
        "{}{}"
        '<line x1="{}" y1="{}" x2="{}" y2="{}" class="axis"/>'
        "{}</svg>",
        WIDTH,
        HEIGHT,
        title,
        title,
        grid,
        _joined(bars),
        LEFT,
        _y(base),
        WIDTH - RIGHT,
        _y(base),
        _joined(labels),
    )


def _joined(parts: list[SafeString]) -> SafeString:
    """Already-escaped fragments, one after another (format_html_join keeps them as they are)."""
    return format_html_join("", "{}", ((part,) for part in parts))


def _y(value: float) -> str:
    """A coordinate with one decimal, enough for a crisp drawing and short markup."""
    return f"{value:.1f}".rstrip("0").rstrip(".")
