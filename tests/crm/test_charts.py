"""The one drawing code of the charts (crm.common.charts.bar_chart): bars of values by label as an
inline SVG, with round ticks, a fixed axis for percentages, gaps for missing values and escaped text."""

import re

import pytest

from crm.common.charts import HEIGHT, Bar, bar_chart


def _bars(values):
    return [Bar(label=f"L{i}", value=v, title=f"第{i}项：{v}") for i, v in enumerate(values)]


def _heights(svg) -> list[float]:
    return [float(h) for h in re.findall(r'<rect [^>]*height="([\d.]+)"', svg)]


def test_a_fixed_top_keeps_the_axis_at_100_whatever_the_highest_bar():
    svg = bar_chart(_bars([40, 20]), title="完成率", unit="%", top=100)

    for tick in ("0", "25", "50", "75", "100"):
        assert f">{tick}</text>" in svg
    assert _heights(svg)[0] == pytest.approx(2 * _heights(svg)[1], abs=0.1)
    assert _heights(svg)[0] == pytest.approx((HEIGHT - 20 - 24) * 0.4, abs=0.1)


def test_a_bar_without_a_value_keeps_its_place_and_draws_nothing():
    with_gap = bar_chart(_bars([50, None, 50]), title="t", unit="%", top=100)
    full = bar_chart(_bars([50, 50, 50]), title="t", unit="%", top=100)

    assert with_gap.count("<rect") == 2
    x_of_last = re.findall(r'<rect x="([\d.]+)"', with_gap)[-1]
    assert x_of_last == re.findall(r'<rect x="([\d.]+)"', full)[-1]


def test_every_bar_is_labelled_up_to_max_labels_and_the_last_highlighted():
    svg = bar_chart(_bars([1, 2, 3, 4]), title="等级分布", unit="人", max_labels=4, highlight_last=True)

    assert re.findall(rf'y="{HEIGHT - 8}"[^>]*>(L\d)<', svg) == ["L0", "L1", "L2", "L3"]
    assert svg.count('class="bar latest"') == 1
    assert ">人</text>" in svg


def test_the_unit_title_and_tooltips_are_escaped():
    svg = bar_chart([Bar("<b>", 1, "<script>")], title='"x" & y', unit="<u>")

    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "&lt;u&gt;" in svg
    assert 'aria-label="&quot;x&quot; &amp; y"' in svg


def test_a_value_above_a_fixed_top_stops_at_the_top():
    svg = bar_chart(_bars([150]), title="t", unit="%", top=100)

    assert _heights(svg) == [HEIGHT - 20 - 24]


def test_no_bars_draw_nothing():
    assert bar_chart([], title="t", unit="%") == ""
