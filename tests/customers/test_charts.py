"""The server-side consumption chart."""

import datetime as dt
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest

from customers.charts import HEIGHT, compact, consumption_chart, nice_step


def months(values):
    return [
        SimpleNamespace(
            period=dt.date(2025, 1 + i, 1) if i < 12 else dt.date(2026, i - 11, 1), kwh=Decimal(v)
        )
        for i, v in enumerate(values)
    ]


@pytest.mark.parametrize(
    ("maximum", "step"), [(1, 0.25), (7, 2), (10, 2.5), (90, 25), (1000, 250), (3_800_000, 1_000_000)]
)
def test_nice_step_gives_four_round_steps_reaching_the_maximum(maximum, step):
    assert nice_step(maximum) == pytest.approx(step)
    assert 4 * nice_step(maximum) >= maximum


@pytest.mark.parametrize(
    ("value", "label"), [(0, "0"), (750, "750"), (2500, "2.5k"), (40_000, "40k"), (1_200_000, "1.2M")]
)
def test_compact_labels_the_kwh_axis_briefly(value, label):
    assert compact(value) == label


def test_chart_draws_one_bar_per_month_oldest_first():
    records = list(reversed(months([100, 200, 300])))

    svg = consumption_chart(records)

    assert svg.count("<rect") == 3
    assert svg.index("2025-01:") < svg.index("2025-02:") < svg.index("2025-03:")


def test_chart_bar_heights_are_proportional_to_kwh():
    svg = consumption_chart(months([1000, 500]))

    heights = [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]
    assert heights[0] == pytest.approx(2 * heights[1], rel=0.01)


def test_chart_labels_the_axis_in_kwh_with_round_ticks():
    svg = consumption_chart(months([3_800_000]))

    assert ">kWh<" in svg
    for label in ("0", "1M", "2M", "3M", "4M"):
        assert f">{label}</text>" in svg


def test_chart_axis_stops_at_the_first_round_tick_above_the_highest_bar():
    svg = consumption_chart(months([470_000]))

    assert ">600k</text>" in svg
    assert ">800k</text>" not in svg


def test_chart_ends_the_latest_months_label_at_the_right_edge():
    svg = consumption_chart(months([100] * 24))

    assert re.search(r'text-anchor="end">2026-12<', svg)


def test_chart_labels_at_most_four_months_on_the_axis_of_24():
    svg = consumption_chart(months([100] * 24))

    month_labels = re.findall(rf'y="{HEIGHT - 8}"[^>]*>(\d{{4}}-\d\d)<', svg)
    assert month_labels == ["2025-06", "2025-12", "2026-06", "2026-12"]


def test_chart_of_all_zero_months_draws_flat_bars():
    svg = consumption_chart(months([0, 0]))

    assert re.findall(r'<rect [^>]*height="([\d.]+)"', svg) == ["0", "0"]


def test_chart_of_no_records_is_empty():
    assert consumption_chart([]) == ""


def test_chart_is_safe_markup_with_grouped_kwh_in_each_bar_title():
    svg = consumption_chart(months([1234567]))

    assert svg.startswith("<svg")
    assert hasattr(svg, "__html__")
    assert "1,234,567 kWh" in svg
