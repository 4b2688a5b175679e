"""Months, the period of readings, visit cycles and reports: held as the first day of the month,
written `YYYY-MM`.

One parser with two rules. Lenient for imported files, where marketing systems write a month in many
ways (2026-09, 2026/9, 2026.9, 202609, 2026年9月, the same in fullwidth digits, or a date cell);
strict for the API, whose contract is exactly `YYYY-MM` (api.md) in ASCII digits, in a year from
MIN_YEAR to MAX_YEAR. Either raises ValueError; a caller with its own words for the error
catches it and says them."""

import datetime as dt
import functools
import re

from django.utils.translation import gettext as _

from crm.common.text import fold_width

# Year, an optional separator, month of one or two digits, an optional 月. ASCII digits only (\d would
# also match Arabic-Indic and other scripts' digits, which int() reads): fullwidth digits are folded
# to ASCII first in the lenient rule (crm.common.text) and refused by the strict one.
_LENIENT_RE = re.compile(r"^\s*([0-9]{4})\s*[-/.年]?\s*([0-9]{1,2})\s*月?\s*$")
_STRICT_RE = re.compile(r"([0-9]{4})-([0-9]{2})")
# Lenient only: an earlier year in a file is a typing slip (electronic billing began later), not a month.
EARLIEST_YEAR = 1990
# The years a date or month given to the API may name (crm.common.fields.DateField and PeriodField):
# no customer data precedes 1900, and a year past 2100 is a typing slip. Within them every year has
# four digits, as `YYYY-MM-DD` and `YYYY-MM` promise.
MIN_YEAR, MAX_YEAR = 1900, 2100


def parse(value, *, strict: bool) -> dt.date:
    """`value` -> the first day of the month it names. Strict: the text `YYYY-MM` (spaces around it
    allowed), nothing else. Lenient: see the module's docstring; a date or datetime gives its month."""
    if strict:
        return _parse_strict(str(value).strip())
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1)
    return _parse_lenient(str(value or ""))


def _parse_strict(text: str) -> dt.date:
    match = _STRICT_RE.fullmatch(text)
    if not match:
        raise ValueError(_("Enter a month as YYYY-MM."))
    if not MIN_YEAR <= int(match.group(1)) <= MAX_YEAR:
        raise ValueError(
            _("Enter a month as YYYY-MM with a year from %(min)s to %(max)s.")
            % {"min": MIN_YEAR, "max": MAX_YEAR}
        )
    return _month(int(match.group(1)), int(match.group(2)))


# Remembered: every row of an imported file names one of a few months (a text that does not parse
# raises each time: exceptions are not cached, so their message is in the language of each call).
@functools.lru_cache(maxsize=1024)
def _parse_lenient(text: str) -> dt.date:
    match = _LENIENT_RE.match(fold_width(text))
    if not match or int(match.group(1)) < EARLIEST_YEAR:
        raise ValueError(_("Enter a month as YYYY-MM."))
    return _month(int(match.group(1)), int(match.group(2)))


def _month(year: int, month: int) -> dt.date:
    if not 1 <= month <= 12 or year < dt.MINYEAR:
        raise ValueError(_("Enter a month as YYYY-MM."))
    return dt.date(year, month, 1)


def month_start(day: dt.date) -> dt.date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after `day`'s (before it when negative)."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def label(day: dt.date) -> str:
    """A month as the pages and the API show it: 2026-09 (the year always in four digits: strftime's
    %Y writes the year 471 as "471")."""
    return f"{day.year:04d}-{day.month:02d}"
