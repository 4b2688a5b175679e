"""crm.common.months: the one parser of months (lenient for files, strict for the API), month
arithmetic and how pages show a month."""

import datetime as dt

import pytest
from django.template import Context, Template

from crm.common import months


@pytest.mark.parametrize(
    "value",
    [
        "2026-09",
        "2026-9",
        "2026/9",
        "2026/09",
        "2026.09",
        "202609",
        "2026 09",
        "2026年9月",
        "2026年09月",
        " 2026-09 ",
        202609,
        dt.date(2026, 9, 17),
        dt.datetime(2026, 9, 17, 8, 30),  # an Excel date cell  # noqa: DTZ001
    ],
)
def test_lenient_parse_reads_the_ways_files_write_a_month(value):
    # given a month as a marketing system's export writes it; when it is parsed leniently
    month = months.parse(value, strict=False)
    # then it is the first day of September 2026
    assert month == dt.date(2026, 9, 1)


@pytest.mark.parametrize(
    "value", ["", None, "2026-13", "2026-00", "1989-12", "26-09", "2026-09-01", "September 2026"]
)
def test_lenient_parse_refuses_what_is_not_a_month(value):
    # given a value that names no plausible month; when it is parsed leniently; then it is refused
    with pytest.raises(ValueError, match="YYYY-MM"):
        months.parse(value, strict=False)


def test_lenient_parse_accepts_the_earliest_year_and_december():
    # given the first accepted year and the last month of a year; when parsed leniently
    earliest = months.parse("1990-01", strict=False)
    december = months.parse("2025年12月", strict=False)
    # then both are months
    assert (earliest, december) == (dt.date(1990, 1, 1), dt.date(2025, 12, 1))


@pytest.mark.parametrize(
    ("value", "month"), [("2026-09", dt.date(2026, 9, 1)), (" 2025-12 ", dt.date(2025, 12, 1))]
)
def test_strict_parse_reads_yyyy_mm(value, month):
    # given exactly YYYY-MM (spaces around it allowed); when parsed strictly; then it is that month
    assert months.parse(value, strict=True) == month


@pytest.mark.parametrize(
    "value",
    [
        "2026-9",
        "2026/09",
        "202609",
        "2026年9月",
        "2026-13",
        "2026-00",
        "0000-01",
        "",
        None,
        dt.date(2026, 9, 1),
    ],
)
def test_strict_parse_refuses_anything_but_yyyy_mm(value):
    # given a month in any other shape, or an impossible one; when parsed strictly; then it is refused
    with pytest.raises(ValueError, match="YYYY-MM"):
        months.parse(value, strict=True)


def test_month_start_is_the_first_day_of_the_month():
    assert months.month_start(dt.date(2026, 2, 28)) == dt.date(2026, 2, 1)


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (dt.date(2026, 11, 15), 1, dt.date(2026, 12, 1)),
        (dt.date(2026, 12, 31), 1, dt.date(2027, 1, 1)),
        (dt.date(2026, 12, 1), 13, dt.date(2028, 1, 1)),
        (dt.date(2027, 1, 10), -1, dt.date(2026, 12, 1)),
        (dt.date(2026, 3, 1), -12, dt.date(2025, 3, 1)),
        (dt.date(2026, 3, 1), -15, dt.date(2024, 12, 1)),
        (dt.date(2026, 3, 31), 0, dt.date(2026, 3, 1)),
    ],
)
def test_add_months_crosses_year_boundaries_and_gives_the_first_day(day, n, expected):
    # given a day and a number of months; when they are added; then it is the first day of that month
    assert months.add_months(day, n) == expected


def test_label_is_how_pages_show_a_month():
    # given a month; when labelled in Python and by the template filter
    rendered = Template("{% load crm_format %}{{ day|month }}").render(Context({"day": dt.date(2026, 9, 1)}))
    # then both read 2026-09
    assert months.label(dt.date(2026, 9, 30)) == "2026-09"
    assert rendered == "2026-09"


# ---------------------------------------------------------------- outside test, Low 10: years and digits
@pytest.mark.parametrize("value", ["0471-08", "1899-12", "2101-01", "9999-01"])
def test_strict_parse_refuses_a_year_outside_1900_to_2100(value):
    # given a month in a year no customer data names; when parsed strictly; then it is refused, saying why
    with pytest.raises(ValueError, match="1900.*2100"):
        months.parse(value, strict=True)


def test_strict_parse_accepts_the_first_and_last_years():
    assert (months.parse("1900-01", strict=True), months.parse("2100-12", strict=True)) == (
        dt.date(1900, 1, 1),
        dt.date(2100, 12, 1),
    )


@pytest.mark.parametrize("value", ["２０２６-０９", "٢٠٢٦-٠٩", "२०२६-०९"])
def test_strict_parse_refuses_digits_other_than_ascii(value):
    # given a month in fullwidth, Arabic-Indic or Devanagari digits; when parsed strictly; then refused
    with pytest.raises(ValueError, match="YYYY-MM"):
        months.parse(value, strict=True)


@pytest.mark.parametrize("value", ["２０２６-０９", "２０２６年９月", "２０２６／０９", "２０２６－０９"])
def test_lenient_parse_reads_fullwidth_digits_as_ascii(value):
    # given a month as a Chinese input method types it; when parsed leniently; then it is that month
    assert months.parse(value, strict=False) == dt.date(2026, 9, 1)


@pytest.mark.parametrize("value", ["٢٠٢٦-٠٩", "२०२६-०९", "²⁰²⁶-⁰⁹"])
def test_lenient_parse_refuses_digits_of_other_scripts(value):
    with pytest.raises(ValueError, match="YYYY-MM"):
        months.parse(value, strict=False)


def test_label_writes_every_year_in_four_digits():
    # given a month of the year 471 (a row written before years were bounded); then it reads 0471-08
    assert months.label(dt.date(471, 8, 1)) == "0471-08"
