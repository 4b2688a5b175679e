"""Monthly consumption: validating incoming rows and upserting them in bulk.

Each customer's trailing-12-month figure (annual_consumption_kwh, latest_period) is not rewritten
here: the reclassification that every import queues once it commits (the `consumption_landed` hook)
computes it from the records for every customer, with the tiers that depend on it. Rewriting a
customer row touches every index of the customers table, so rewriting them here made an import of
100,000 readings spend most of its time on figures the run writes again moments later."""

import datetime as dt
import functools
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from crm.common import hooks, months
from crm.common.text import fold_width
from customers.models import ConsumptionRecord

# A single account drawing more than this in one month is a data error, not a customer.
MAX_MONTHLY_KWH = Decimal("10000000000")
# The largest value each number may take: plausible, and always inside its column (max_demand_kw is
# NUMERIC(12, 2), which holds less than 10^10; a larger value would be a database error, not a 400).
MAXIMUM = {
    "kwh": MAX_MONTHLY_KWH,
    "amount_yuan": Decimal("9999999999.99"),
    "max_demand_kw": Decimal("99999999.99"),
}
_NUMBERS = tuple(
    (name, name == "kwh", maximum, ConsumptionRecord._meta.get_field(name))
    for name, maximum in MAXIMUM.items()
)  # (field, required, max, model field: its decimal places and name)
CHUNK = 2000
ZERO = Decimal("0")
_SEPARATOR = chr(31)  # ASCII's unit separator: joins account numbers into one query parameter


# Bounds on a number's text and exponent, checked before any Decimal arithmetic: "1e-20000" and a
# value with 17,000 decimals made PostgreSQL's numeric fail (a 500), and "1e-16000" was stored as 0.00
# over a real reading. 40 characters hold any reading with room to spare; an exponent below -20 names
# a fraction far beneath any column's decimals, and a magnitude above 10^20 is no reading either.
MAX_NUMBER_CHARS = 40
MIN_EXPONENT, MAX_MAGNITUDE = -20, 20
# What a number looks like: ASCII digits (Decimal would also read Arabic-Indic digits, 1_000, NaN and
# Infinity), an optional sign, commas only as thousands separators (12,5 is refused, not read as 125),
# an optional fraction and exponent.
_NUMBER_RE = re.compile(
    r"[+-]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
)


def parse_decimal(
    value,
    *,
    required: bool,
    minimum: Decimal | None = Decimal("0"),
    maximum=None,
    places: int | None = None,
    label: str = "",
):
    """A cell or JSON value -> Decimal, or ValueError with the user's message. One parser for the
    bulk endpoint and the file import (and the import's voltage and capacity).

    Read leniently, as billing exports write numbers: surrounding spaces, thousands separators and
    fullwidth digits (１２３．５, folded by crm.common.text.fold_width) are accepted; digits of other
    scripts, NaN, Infinity and 1_000 are not. At most MAX_NUMBER_CHARS characters, an exponent (after
    e or E) no lower than MIN_EXPONENT and a magnitude no higher than 10^MAX_MAGNITUDE.

    Nothing is rounded. With `places` (the column's decimal places; `label` names the field), a value
    that would change when rounded to them is refused: 12.345 kWh is an error, 12.340 is 12.34. (No
    code rounded these values before; the database did, silently, and 1e-16000 became 0.00.) The
    value returned is exactly the value sent, in fixed-point form."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValueError(_("This field is required."))
        return None
    if isinstance(value, bool):  # a JSON true is no number (str(True) would at least fail later)
        raise ValueError(_("A number is required."))
    # A spreadsheet's number cell arrives as a float: a binary approximation of what its user typed
    # or a formula computed (0.1 + 0.2 is 0.30000000000000004). Read it as the spreadsheet shows it,
    # to 15 significant digits, so that 0.3 is 0.3 and not a value with 17 decimals.
    text = format(value, ".15g") if isinstance(value, float) else str(value)
    if not text.isascii():  # the common case skips the fold
        text = fold_width(text)
    text = text.strip()
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(_("The number has too many digits."))
    if not _NUMBER_RE.fullmatch(text):
        raise ValueError(_("A number is required."))
    number = Decimal(text.replace(",", ""))
    # Comparisons are exact whatever the exponent; only then is the exponent bounded (a huge one is
    # above any maximum, and a caller without one gets the refusal below). Without an e, the length
    # bounds the exponent from below already (no more than 39 decimals).
    if minimum is not None and number < minimum:
        raise ValueError(_("Must not be negative."))
    if maximum is not None and number > maximum:
        raise ValueError(_("The value is implausibly large."))
    if number.adjusted() > MAX_MAGNITUDE or (
        ("e" in text or "E" in text) and number.as_tuple().exponent < MIN_EXPONENT
    ):
        raise ValueError(_("The number has too many digits."))
    if places is not None:
        # Within the bounds the result has at most 21 + `places` digits, inside the context's 28, so
        # quantize never fails, and it equals the number unless a digit beyond `places` is lost.
        rounded = number.quantize(_step(places))
        if rounded != number:
            raise ValueError(
                _("%(field)s may have at most %(places)s decimal places.")
                % {"field": capfirst(label), "places": places}
            )
        number = rounded
    return number.copy_abs() if number.is_zero() else number  # -0 is 0


@functools.cache
def _step(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


@dataclass(slots=True)
class Reading:
    """One checked row, ready to write: what `consumption_check` produces. Lighter than an unsaved
    ConsumptionRecord, which costs more to build than the row costs to write."""

    customer_id: int
    period: dt.date
    kwh: Decimal
    amount_yuan: Decimal
    max_demand_kw: Decimal | None


@dataclass
class RowResult:
    created: int = 0
    updated: int = 0
    rejected: int = 0
    errors: list[dict] = field(default_factory=list)  # {"row", "account_no", "errors": {field: [msg]}}
    written: bool = False


def consumption_clean_row(raw: dict, *, this_month: dt.date) -> tuple[dict, dict[str, list[str]]]:
    """One incoming row -> (clean values, errors by field). Nothing is looked up here."""
    clean: dict = {}
    errors: dict[str, list[str]] = {}
    account_no = str(raw.get("account_no") or "").strip()
    if not account_no:
        errors["account_no"] = [_("This field is required.")]
    elif "\x00" in account_no:  # PostgreSQL refuses NUL in text: a 400 here, not a 500 at the lookup
        errors["account_no"] = [_("Null characters are not allowed.")]
    clean["account_no"] = account_no
    try:
        clean["period"] = months.parse(raw.get("period"), strict=False)
    except ValueError:
        errors["period"] = [_("Period must look like YYYY-MM.")]
    else:
        if clean["period"] > this_month:
            errors["period"] = [_("The period is in the future.")]
    for name, required, maximum, column in _NUMBERS:
        value = raw.get(name)
        if value is None and not required:  # the usual optional cell: nothing to parse
            clean[name] = None
            continue
        try:
            clean[name] = parse_decimal(
                value,
                required=required,
                maximum=maximum,
                places=column.decimal_places,
                label=column.verbose_name,
            )
        except ValueError as exc:
            errors[name] = [str(exc)]
    return clean, errors


def consumption_upsert(
    *, rows: list[dict], customers, partial: bool = False, first_row: int = 1
) -> RowResult:
    """Validate every row, then insert or update them all; with `partial=False` one bad row means
    nothing is written. `customers` is the queryset the caller may write to (its scope): an account
    outside it is reported exactly like one that does not exist."""
    result, good = consumption_check(rows=rows, customers=customers, first_row=first_row)
    if result.errors and not partial:
        return result
    records = [record for _, record in good]
    result.created, result.updated = consumption_write(records)
    result.written = bool(records)
    return result


def consumption_check(
    *, rows: list[dict], customers, first_row: int = 1, row_numbers: list[int] | None = None
) -> tuple[RowResult, list[tuple[int, Reading]]]:
    """Validate rows without writing: the per-row errors (in `result.errors`, sorted by row) and the
    readings of the good rows (to write with `consumption_write`), each with its row number. See
    `consumption_upsert`. Rows are numbered from `first_row`, or by `row_numbers` (one per row) when a
    file skipped blank lines."""
    result = RowResult()
    this_month = months.month_start(timezone.localdate())
    numbers = row_numbers if row_numbers is not None else range(first_row, first_row + len(rows))
    cleaned: list[tuple[int, dict]] = []
    for row_no, raw in zip(numbers, rows, strict=True):
        if not isinstance(raw, dict):
            result.errors.append(
                {
                    "row": row_no,
                    "account_no": "",
                    "errors": {"non_field_errors": [_("Each row must be an object.")]},
                }
            )
            continue
        clean, errors = consumption_clean_row(raw, this_month=this_month)
        if errors:
            result.errors.append({"row": row_no, "account_no": clean["account_no"], "errors": errors})
        else:
            cleaned.append((row_no, clean))

    ids = _customer_ids(customers, {c["account_no"] for _, c in cleaned})
    first_of: dict[tuple[int, dt.date], int] = {}  # (customer, period) -> the first row giving it
    good: list[tuple[int, Reading]] = []
    for row_no, clean in cleaned:
        customer_id = ids.get(clean["account_no"])
        if customer_id is None:
            result.errors.append(
                {
                    "row": row_no,
                    "account_no": clean["account_no"],
                    "errors": {"account_no": [_("No customer with this account number.")]},
                }
            )
            continue
        period = clean["period"]
        first = first_of.setdefault((customer_id, period), row_no)
        if first != row_no:
            result.errors.append(
                {
                    "row": row_no,
                    "account_no": clean["account_no"],
                    "errors": {
                        "period": [_("Row %(row)s already gives this account and period.") % {"row": first}]
                    },
                }
            )
            continue
        reading = Reading(
            customer_id, period, clean["kwh"], clean["amount_yuan"] or ZERO, clean["max_demand_kw"]
        )
        good.append((row_no, reading))

    result.errors.sort(key=lambda e: e["row"])
    result.rejected = len(result.errors)
    return result, good


def _customer_ids(customers, account_nos: set[str]) -> dict[str, int]:
    """account number -> id among `customers` (the caller's scope)."""
    numbers = list(account_nos)
    if connection.vendor == "postgresql":
        # One query with the numbers as one parameter: an IN list of thousands of placeholders costs
        # more to build (in Django) and to parse (in the server) than the index lookups themselves,
        # and one string joined by a control character travels faster than an array of strings.
        if any(_SEPARATOR in number for number in numbers):
            wanted = RawSQL("SELECT unnest(%s::varchar[])", (numbers,))
        else:
            wanted = RawSQL("SELECT unnest(string_to_array(%s, chr(31)))", (_SEPARATOR.join(numbers),))
        return dict(customers.filter(account_no__in=wanted).values_list("account_no", "pk"))
    found: dict[str, int] = {}
    for start in range(0, len(numbers), CHUNK):
        found.update(
            customers.filter(account_no__in=numbers[start : start + CHUNK]).values_list("account_no", "pk")
        )
    return found


@transaction.atomic
def consumption_write(records: list[Reading]) -> tuple[int, int]:
    """Upsert records that `consumption_check` produced; returns (created, updated). Once they
    commit, a reclassification is queued: it refreshes the customers' annual figures and tiers."""
    if connection.vendor == "postgresql":
        created = _upsert_postgresql(records, timezone.now())
    else:
        created = 0
        for start in range(0, len(records), CHUNK):
            created += _upsert_orm(records[start : start + CHUNK], timezone.now())
    hooks.after_commit("consumption_landed")
    return created, len(records) - created


# The readings travel by COPY into a temporary table, then one INSERT ... SELECT
# ... ON CONFLICT upserts them all; RETURNING tells an insert (its two stamps are this call's `now`)
# from an update (it keeps its older created_at), so nothing is counted beforehand. Not `xmax = 0`:
# PostgreSQL returns no system column from an insert into a partitioned table (customers 0011).
# Sending them as arrays instead cost as much again as the database's work: every value adapted to
# SQL text, one statement per chunk.
_INCOMING_SQL = """
    CREATE TEMPORARY TABLE consumption_incoming (
        customer_id bigint, period date, kwh numeric, amount_yuan numeric, max_demand_kw numeric
    )"""
_UPSERT_SQL = """
    WITH written AS (
        INSERT INTO customers_consumptionrecord
            (created_at, updated_at, customer_id, period, kwh, amount_yuan, max_demand_kw)
        SELECT %s, %s, i.* FROM consumption_incoming i
        ON CONFLICT (customer_id, period) DO UPDATE SET kwh = EXCLUDED.kwh,
            amount_yuan = EXCLUDED.amount_yuan, max_demand_kw = EXCLUDED.max_demand_kw,
            updated_at = EXCLUDED.updated_at
        RETURNING created_at = updated_at AS inserted
    )
    SELECT COUNT(*) FROM written WHERE inserted"""
COPY_CHUNK = 50000  # readings per COPY: the text of one chunk is held in memory


def _upsert_postgresql(records: list[Reading], now) -> int:
    null = "\\N"  # COPY's text format
    with connection.cursor() as cursor:
        cursor.execute(_INCOMING_SQL)
        for start in range(0, len(records), COPY_CHUNK):
            text = "".join(
                f"{r.customer_id}\t{r.period.isoformat()}\t{r.kwh}\t{r.amount_yuan}\t"
                f"{null if r.max_demand_kw is None else r.max_demand_kw}\n"
                for r in records[start : start + COPY_CHUNK]
            )
            cursor.cursor.copy_from(io.StringIO(text), "consumption_incoming")
        cursor.execute(_UPSERT_SQL, [now, now])
        created = cursor.fetchone()[0]
        # Dropped here, in the transaction that made it: a failure before this point rolls the table
        # back with the rest, and a caller's outer transaction may write again.
        cursor.execute("DROP TABLE consumption_incoming")
        return created


def _upsert_orm(readings: list[Reading], now) -> int:
    chunk = [
        ConsumptionRecord(
            customer_id=r.customer_id,
            period=r.period,
            kwh=r.kwh,
            amount_yuan=r.amount_yuan,
            max_demand_kw=r.max_demand_kw,
            created_at=now,
            updated_at=now,
        )
        for r in readings
    ]
    customer_ids = {r.customer_id for r in chunk}
    periods = {r.period for r in chunk}
    keys = {(r.customer_id, r.period) for r in chunk}
    existing = sum(
        1
        for key in ConsumptionRecord.objects.filter(
            customer_id__in=customer_ids, period__in=periods
        ).values_list("customer_id", "period")
        if key in keys
    )
    ConsumptionRecord.objects.bulk_create(
        chunk,
        update_conflicts=True,
        unique_fields=["customer", "period"],
        update_fields=["kwh", "amount_yuan", "max_demand_kw", "updated_at"],
    )
    return len(chunk) - existing
