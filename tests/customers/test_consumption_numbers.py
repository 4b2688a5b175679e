"""Numbers in consumption rows (consumption/bulk/ and the file import share one parser,
customers.consumption.parse_decimal): digits and exponent bounded before any arithmetic, never
rounded to another value at the column's two decimals, and fullwidth digits read as ASCII (a Chinese
billing export writes them) while digits of other scripts are refused. Outside test, Medium 8 and
Low 10."""

import datetime as dt
import json
from decimal import Decimal

import pytest

from customers.models import ConsumptionRecord
from tests.customers.import_files import CONSUMPTION_HEADER, csv_bytes, upload
from tests.factories import ConsumptionFactory

URL = "/api/v1/consumption/bulk/"
TOO_MANY_DIGITS = "The number has too many digits."
NOT_A_NUMBER = "A number is required."


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def _post(world, api, **values):
    row = {"account_no": world.customer_a.account_no, "period": "2026-01", "kwh": "100", **values}
    return api(world.integration).post(URL, [row], format="json")


def _post_raw(world, api, kwh_literal: str):
    """A body whose kWh is a bare JSON number, written exactly as `kwh_literal`."""
    account = json.dumps(world.customer_a.account_no)
    body = f'[{{"account_no": {account}, "period": "2026-01", "kwh": {kwh_literal}}}]'
    return api(world.integration).post(URL, body, content_type="application/json")


def _errors(response) -> dict:
    assert response.status_code == 400, response.json()
    (row,) = response.json()["errors"]
    return row["errors"]


def _stored_kwh(world) -> Decimal:
    return ConsumptionRecord.objects.get(customer=world.customer_a, period=dt.date(2026, 1, 1)).kwh


# ---------------------------------------------------------------- bounds before arithmetic
@pytest.mark.parametrize("kwh", ["1e-20000", "1e-16000", "1e-21", "1" * 41, "0." + "0" * 39])
def test_a_number_beyond_the_digit_or_exponent_bounds_is_refused(world, api, kwh):
    # given a kWh of an absurd exponent or length; when posted; then the row is refused, no 500
    assert _errors(_post(world, api, kwh=kwh)) == {"kwh": [TOO_MANY_DIGITS]}


def test_an_amount_with_seventeen_thousand_decimals_is_refused(world, api):
    assert _errors(_post(world, api, amount_yuan="1." + "1" * 17_000)) == {"amount_yuan": [TOO_MANY_DIGITS]}


def test_an_absurd_exponent_upwards_is_implausibly_large(world, api):
    assert _errors(_post(world, api, kwh="1E+30")) == {"kwh": ["The value is implausibly large."]}


def test_a_vanishing_reading_does_not_overwrite_a_real_one(world, api):
    # given January on record at 500 kWh
    ConsumptionFactory(customer=world.customer_a, period=dt.date(2026, 1, 1), kwh=Decimal("500"))
    # when 1e-16000 kWh is sent for it (it used to land as 0.00)
    response = _post(world, api, kwh="1e-16000")
    # then it is refused and the reading stays
    assert response.status_code == 400
    assert _stored_kwh(world) == Decimal("500")


# ---------------------------------------------------------------- the column's two decimals
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kwh", "12.345", "Consumption (kWh) may have at most 2 decimal places."),
        ("kwh", "0.001", "Consumption (kWh) may have at most 2 decimal places."),
        ("amount_yuan", "672.285", "Billed amount (yuan) may have at most 2 decimal places."),
        ("max_demand_kw", "15.005", "Maximum demand (kW) may have at most 2 decimal places."),
    ],
)
def test_a_value_the_column_would_round_is_refused_with_the_fields_name(world, api, field, value, message):
    # given a value with a third significant decimal; when posted; then it is refused, not rounded
    assert _errors(_post(world, api, **{field: value})) == {field: [message]}


def test_the_refusal_of_a_third_decimal_reads_in_chinese(world, api, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    assert _errors(_post(world, api, kwh="12.345")) == {"kwh": ["用电量（kWh）最多保留2位小数。"]}


@pytest.mark.parametrize(
    ("kwh", "stored"),
    [
        ("12.3400", Decimal("12.34")),  # zeros past the second decimal change nothing
        ("1.2e3", Decimal("1200")),
        ("1200e-2", Decimal("12")),
        ("+1", Decimal("1")),
        (" 1 ", Decimal("1")),
        ("-0", Decimal("0")),
        ("1,200.50", Decimal("1200.5")),  # a thousands separator
        ("9999999999.99", Decimal("9999999999.99")),
    ],
)
def test_a_number_the_column_holds_is_stored_exactly(world, api, kwh, stored):
    response = _post(world, api, kwh=kwh)
    assert response.status_code == 200, response.json()
    assert _stored_kwh(world) == stored


@pytest.mark.parametrize(
    "kwh", ["1_000", "NaN", "Infinity", "-inf", "0x10", "12,5", "1,2345", "1.2.3", "1e", "."]
)
def test_what_only_a_programming_language_calls_a_number_is_refused(world, api, kwh):
    # given a form Python's Decimal would read (1_000, NaN) or a comma that is no thousands separator
    assert _errors(_post(world, api, kwh=kwh)) == {"kwh": [NOT_A_NUMBER]}


# ---------------------------------------------------------------- bare JSON numbers
@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("1e-20000", TOO_MANY_DIGITS),  # a float would be 0.0
        ("1e-16000", TOO_MANY_DIGITS),
        ("1e400", "The value is implausibly large."),  # a float would be inf
        ("12.345678901234567890", "Consumption (kWh) may have at most 2 decimal places."),
    ],
)
def test_a_bare_json_number_is_read_as_written_not_as_a_float(world, api, literal, message):
    ConsumptionFactory(customer=world.customer_a, period=dt.date(2026, 1, 1), kwh=Decimal("500"))
    assert _errors(_post_raw(world, api, literal)) == {"kwh": [message]}
    assert _stored_kwh(world) == Decimal("500")


@pytest.mark.parametrize(
    ("literal", "stored"), [("1200.5", Decimal("1200.5")), ("1.2e3", Decimal("1200")), ("7", 7)]
)
def test_a_bare_json_number_the_column_holds_is_stored_exactly(world, api, literal, stored):
    response = _post_raw(world, api, literal)
    assert response.status_code == 200, response.json()
    assert _stored_kwh(world) == stored


def test_a_bare_json_integer_of_thousands_of_digits_is_refused_on_its_field(world, api):
    # given a kWh of 5,000 digits, unquoted (past Python's limit on converting digits to an int)
    assert _errors(_post_raw(world, api, "9" * 5000)) == {"kwh": [TOO_MANY_DIGITS]}


# ---------------------------------------------------------------- digits of other widths and scripts
def test_fullwidth_digits_are_read_as_ascii_in_a_consumption_row(world, api):
    # given a row as a Chinese input method types it
    response = _post(world, api, period="２０２６-０１", kwh="１２３", amount_yuan="４５．６")
    # then it is stored as the ASCII numbers it shows
    assert response.status_code == 200, response.json()
    record = ConsumptionRecord.objects.get(customer=world.customer_a)
    assert (record.period, record.kwh, record.amount_yuan) == (dt.date(2026, 1, 1), 123, Decimal("45.6"))


@pytest.mark.parametrize("kwh", ["١٢٣", "۱۲۳", "१२३", "1²", "①"])
def test_digits_of_other_scripts_and_superscripts_are_refused(world, api, kwh):
    assert _errors(_post(world, api, kwh=kwh)) == {"kwh": [NOT_A_NUMBER]}


def test_a_period_in_arabic_indic_digits_is_refused(world, api):
    assert _errors(_post(world, api, period="٢٠٢٦-٠١")) == {"period": ["Period must look like YYYY-MM."]}


# ---------------------------------------------------------------- the file import: the same parser
@pytest.mark.usefixtures("media_root")
def test_the_file_import_applies_the_same_number_rules(world, api):
    # given a file with a vanishing reading, a third decimal, fullwidth digits and 17,000 decimals
    account = world.customer_a.account_no
    rows = [
        [account, "2026-01", "1e-16000", "", ""],
        [account, "2026-02", "12.345", "", ""],
        [account, "２０２６-０３", "１２３", "４５．６", ""],
        [account, "2026-04", "100", "1." + "1" * 17_000, ""],
    ]
    # when it is imported with partial=true
    response = api(world.integration).post(
        "/api/v1/imports/",
        {"file": upload(csv_bytes(CONSUMPTION_HEADER, rows)), "kind": "consumption", "partial": True},
        format="multipart",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    # then the fullwidth row is stored as ASCII numbers and the others are refused on their column
    assert response.status_code == 201, response.json()
    found = [(r["row"], r["field"], r["message"]) for r in response.json()["rejections"]]
    assert found == [
        (2, "抄见电量(kWh)", TOO_MANY_DIGITS),
        (3, "抄见电量(kWh)", "Consumption (kWh) may have at most 2 decimal places."),
        (5, "应收电费(元)", TOO_MANY_DIGITS),
    ]
    record = ConsumptionRecord.objects.get(customer=world.customer_a)
    assert (record.period, record.kwh, record.amount_yuan) == (dt.date(2026, 3, 1), 123, Decimal("45.6"))


def test_a_spreadsheet_number_cell_is_read_as_the_spreadsheet_shows_it():
    # given the floats a spreadsheet's number cells hand over (a formula's 0.1 + 0.2, a typed 1234.56)
    from customers.consumption import parse_decimal

    # when they are read as a two-decimal column; then as shown, to 15 significant digits
    assert parse_decimal(0.1 + 0.2, required=True, places=2, label="kWh") == Decimal("0.30")
    assert parse_decimal(1234.56, required=True, places=2, label="kWh") == Decimal("1234.56")
    # and a float that really has a third decimal is still refused
    with pytest.raises(ValueError, match="2"):
        parse_decimal(12.345, required=True, places=2, label="kWh")
