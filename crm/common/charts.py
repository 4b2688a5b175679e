"""Bar charts drawn on the server as inline SVG: no JavaScript, no CDN, readable on a 360px phone (the
drawing scales with the width of its card; CSS in app.css, `svg.chart`).

One drawing code for every chart of the product: `bar_chart` draws bars of values by label (kWh by
month, completion percentages by month, appraisals by grade), with round ticks on the value axis.
The charts of the apps (customers.charts.consumption_chart, the team's completion by month in
crm/pages.py) only say what their bars are."""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# The drawing's own coordinates; CSS scales it to the card. A phone shows it at roughly 1:1.
WIDTH, HEIGHT = 320, 190
LEFT, RIGHT, TOP, BOTTOM = 42, 6, 20, 24
TICKS = 4
LABEL_HALF_WIDTH = 20  # half the width of "2026-10" at the tick font size
MAX_LABELS = 4  # labels under the bars: more would overlap on a phone


@dataclass(frozen=True)
class Bar:
    """One bar: its label under the axis ("2026-10", "优秀"), its value (None draws no bar but keeps
    its place, e.g. a month with nothing to count) and the tooltip that says it in words."""

    label: str
    value: float | None
    title: str


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


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    unit: str,
    top: float | None = None,
    highlight_last: bool = False,
    max_labels: int = MAX_LABELS,
    tick_label: Callable[[float], str] = compact,
) -> SafeString:
    """An SVG bar chart of `bars`, left to right in the order given; an empty sequence draws nothing
    (the page says so in words).

    - `title`: what the chart shows, for screen readers and as the drawing's tooltip.
    - `unit`: written above the value axis ("kWh", "%", a count's noun).
    - `top`: the axis's fixed end (100 for percentages); by default the first round tick at or above
      the highest bar, in up to four round steps (`nice_step`).
    - `highlight_last`: the last bar in the brand colour (the latest month, still running).
    - `max_labels`: at most this many labels under the bars, counted from the last one (every bar is
      labelled when there are no more bars than that: give it len(bars) for categories).
    - `tick_label`: how a value on the axis is written (`compact` by default: 2.5k, 1.2M).

    For example the grade distribution of a cycle:
    `bar_chart([Bar(g.label, n, f"{g.label}: {n}") for g, n in counts], title=..., unit="人",
    max_labels=4)`. The bars' markup is `<rect class="bar">` (`bar latest` for the highlighted one)
    with a `<title>` each."""
    if not bars:
        return format_html_join("", "{}", ())
    values = [bar.value for bar in bars]
    highest = max((v for v in values if v is not None), default=0.0)
    if top is None:
        step = nice_step(highest)
        ticks = max(1, math.ceil(highest / step))  # up to TICKS steps, no empty band above the bars
    else:
        step = nice_step(top)
        ticks = max(1, round(top / step))
    axis_top = step * ticks
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h

    slot = plot_w / len(bars)
    bar_w = max(slot * 0.7, 1.0)
    label_every = max(1, math.ceil(len(bars) / max_labels))
    rects, labels = [], []
    for i, bar in enumerate(bars):
        if bar.value is not None:
            height = min(bar.value, axis_top) / axis_top * plot_h
            rects.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" class="bar{}"><title>{}</title></rect>',
                    _y(LEFT + i * slot + (slot - bar_w) / 2),
                    _y(base - height),
                    _y(bar_w),
                    _y(height),
                    " latest" if highlight_last and i == len(bars) - 1 else "",
                    bar.title,
                )
            )
        if (len(bars) - 1 - i) % label_every == 0:
            labels.append(_bar_label(LEFT + i * slot + slot / 2, bar.label))

    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">'
        "<title>{}</title>"
        '<text x="4" y="12" class="axis-title">{}</text>'
        "{}{}"
        '<line x1="{}" y1="{}" x2="{}" y2="{}" class="axis"/>'
        "{}</svg>",
        WIDTH,
        HEIGHT,
        title,
        title,
        unit,
        _grid(step, ticks, tick_label),
        _joined(rects),
        LEFT,
        _y(base),
        WIDTH - RIGHT,
        _y(base),
        _joined(labels),
    )


def _grid(step: float, ticks: int, tick_label: Callable[[float], str]) -> SafeString:
    """The value axis: a grid line and its label at each of the `ticks` + 1 round values."""
    plot_h = HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    return format_html_join(
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
                tick_label(i * step),
            )
            for i in range(ticks + 1)
        ),
    )


def _bar_label(centre: float, text: str) -> SafeString:
    """A label under a bar. One centred under a bar near the right edge would be cut off: it ends
    at the edge instead."""
    at_edge = centre + LABEL_HALF_WIDTH > WIDTH
    return format_html(
        '<text x="{}" y="{}" class="tick" text-anchor="{}">{}</text>',
        _y(WIDTH - 1 if at_edge else centre),
        HEIGHT - 8,
        "end" if at_edge else "middle",
        text,
    )


def _joined(parts: list[SafeString]) -> SafeString:
    """Already-escaped fragments, one after another (format_html_join keeps them as they are)."""
    return format_html_join("", "{}", ((part,) for part in parts))


def _y(value: float) -> str:
    """A coordinate with one decimal, enough for a crisp drawing and short markup."""
    return f"{value:.1f}".rstrip("0").rstrip(".")
