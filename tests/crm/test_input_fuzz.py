"""Malformed input found by an outside test: every JSON endpoint, anonymous ones included, answers a
body nested hundreds of levels deep with the API's 400 shape instead of a 500."""

import datetime as dt
import json
import random
import re
from decimal import Decimal, InvalidOperation

import pytest
from django.urls import reverse

from customers.models import ConsumptionRecord


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [930, 5_000, 100_000])
def test_deeply_nested_json_to_the_anonymous_token_endpoint_answers_400(db, api, depth):
    # given a body of `depth` nested arrays; when it is posted to auth/token/ without credentials
    response = api().post(
        reverse("api-token"), nested(depth), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    # then the API refuses it as malformed, in its error shape
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def post_nested_rows(world, api, depth: int):
    """consumption/bulk/ posted, by the integration account, rows nested `depth` arrays deep."""
    body = '{"rows": ' + nested(depth) + "}"
    return api(world.integration).post(
        reverse("consumption-bulk"), body, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )


def test_deeply_nested_json_to_an_authenticated_endpoint_answers_400(world, api):
    response = post_nested_rows(world, api, 930)
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_moderately_nested_json_is_still_parsed(world, api):
    # given a body nested 50 deep (far past anything api.md sends, but well inside the decoder)
    response = post_nested_rows(world, api, 50)
    # then it is parsed and refused for what it says, not for its shape
    assert response.status_code == 400
    assert "nested too deeply" not in str(response.json())


def test_the_refusal_reads_in_chinese_by_default(db, api):
    response = api().post(reverse("api-token"), nested(930), content_type="application/json")
    assert response.status_code == 400
    assert "嵌套层数过深" in response.json()["detail"]


# ---------------------------------------------------------------- numbers (outside test, Medium 8 and Low 10)
# Number formats sent as kWh and amount to consumption/bulk/: every row is either stored as exactly the
# number it spells (fullwidth digits read as ASCII, thousands separators dropped; nothing is rounded,
# see customers.consumption.parse_decimal) or refused with a message on its field; never a 500.
_SCRIPTS = {
    "ascii": "0123456789",
    "fullwidth": "０１２３４５６７８９",
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩",
    "devanagari": "०१२३४५६७८९",
}
_SPECIAL_NUMBERS = [
    "NaN",
    "nan",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "+inf",
    "-0",
    "+0",
    "-0.00",
    "+1",
    "1_000",
    " 1 ",
    "\u00a01\u00a0",
    "\u30001\u3000",
    "１２３",
    "１２３．４５",
    "١٢٣",
    "۱۲۳",
    "१२३",
    "1²",
    "①",
    "1e-20000",
    "1e-16000",
    "1E+30",
    "1e400",
    "9e999999999",
    "1." + "1" * 17_000,
    "1" * 17_000,
    "0." + "0" * 39 + "1",
    "0x1A",
    "1e",
    "e1",
    ".",
    "-",
    "+",
    "1.",
    ".5",
    "0.005",
    "12.345",
    "12.340",
    "1,000",
    "1,000.5",
    "1,00",
    "12,5",
    ",1",
    "1,,000",
    "1\x00",
    "1\n2",
    "1.2.3",
    "--1",
    "1e+2",
    "1E-2",
    "100e-2",
    "9999999999.99",
    "10000000000",
    "10000000000.01",
    "99999999.99",
    "100000000",
]
_FIELDS = {"kwh": Decimal("10000000000"), "amount_yuan": Decimal("9999999999.99")}
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def _random_number(rng: random.Random) -> str:
    """A number-like string: sign, digits of some script, fraction, exponent, separators, spaces."""
    digits = _SCRIPTS[rng.choice(["ascii"] * 5 + list(_SCRIPTS))]
    whole = "".join(rng.choice(digits) for _ in range(rng.choice([0, 1, 1, 2, 3, 5, 8, 11, 12, 20, 45])))
    text = rng.choice(["", "", "", "+", "-"]) + whole
    if rng.random() < 0.5:
        text += "." + "".join(rng.choice(digits) for _ in range(rng.choice([0, 1, 2, 2, 3, 6, 30])))
    if rng.random() < 0.25:
        text += (
            rng.choice("eE")
            + rng.choice(["", "+", "-"])
            + str(rng.choice([0, 1, 2, 3, 19, 20, 21, 400, 16000]))
        )
    if rng.random() < 0.1 and len(text) > 3:
        cut = rng.randrange(1, len(text))
        text = text[:cut] + rng.choice([",", "_", " ", "."]) + text[cut:]
    if rng.random() < 0.1:
        text = rng.choice([" ", "\t", "\u3000"]) + text + rng.choice([" ", ""])
    return text


def _sent_value(text: str) -> Decimal | None:
    """What `text` spells as a number, by rules written apart from the parser: fullwidth digits as
    ASCII, spaces around and thousands separators ignored; None when it spells no finite number."""
    folded = "".join(chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else c for c in text).strip()
    folded = folded.replace("\u3000", " ").strip()
    if not re.fullmatch(r"[+-]?[0-9,]*\.?[0-9]*(?:[eE][+-]?[0-9]+)?", folded, re.ASCII):
        return None
    try:
        number = Decimal(folded.replace(",", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _check_numbers(world, api, field: str, literals: list[str], *, bare: bool) -> list[str]:
    """Post one row per literal (each its own month) with ?partial=true; return the literals stored."""
    ConsumptionRecord.objects.all().delete()
    assert len(literals) <= 400  # months from 1990 on, all in the past
    periods = [dt.date(1990 + n // 12, n % 12 + 1, 1) for n in range(len(literals))]
    other = "kwh" if field == "amount_yuan" else "amount_yuan"
    rows = []
    for literal, period in zip(literals, periods, strict=True):
        value = literal if bare else json.dumps(literal)
        account = json.dumps(world.customer_a.account_no)
        rows.append(
            f'{{"account_no": {account}, "period": "{period:%Y-%m}", "{field}": {value}, "{other}": "1"}}'
        )
    response = api(world.integration).post(
        "/api/v1/consumption/bulk/?partial=true", "[" + ",".join(rows) + "]", content_type="application/json"
    )
    assert response.status_code == 200, response.content[:500]
    refused = {error["row"]: error["errors"] for error in response.json()["errors"]}
    stored = dict(ConsumptionRecord.objects.values_list("period", field))
    accepted = []
    for row, (literal, period) in enumerate(zip(literals, periods, strict=True), start=1):
        if row in refused:
            # refused on its field, in words, and nothing stored for it
            messages = refused[row].get(field)
            assert messages, (literal, refused[row])
            assert all(isinstance(m, str) and m for m in messages), (literal, refused[row])
            assert period not in stored, literal
            continue
        # a blank amount is no amount: 0 (kWh is required, so a blank one is refused)
        sent = Decimal(0) if field == "amount_yuan" and not literal.strip() else _sent_value(literal)
        # stored exactly as sent: a number, within the column's range and two decimals, unrounded
        assert sent is not None, literal
        assert stored[period] == sent, (literal, stored[period])
        assert Decimal(0) <= sent <= _FIELDS[field], literal
        assert sent == sent.quantize(Decimal("0.01")), literal
        accepted.append(literal)
    return accepted


@pytest.mark.parametrize("field", list(_FIELDS))
def test_number_formats_as_strings_are_stored_exactly_or_refused_on_their_field(world, api, field):
    # given the special forms and 250 seeded number-like strings
    rng = random.Random(f"numbers-{field}")
    literals = _SPECIAL_NUMBERS + [_random_number(rng) for _ in range(250)]
    # when each is sent as the field of its own row; then each is stored exactly or refused (see above)
    accepted = _check_numbers(world, api, field, literals, bare=False)
    # and the ordinary ones are among those stored, so the check is not met by refusing everything
    ordinary = [
        "+1",
        "-0",
        " 1 ",
        "１２３",
        "１２３．４５",
        "12.340",
        "1,000.5",
        "1e+2",
        "100e-2",
        "9999999999.99",
    ]
    assert set(ordinary) <= set(accepted)


@pytest.mark.parametrize("field", list(_FIELDS))
def test_number_formats_as_bare_json_numbers_are_stored_exactly_or_refused(world, api, field):
    # given the forms above that are JSON numbers, sent unquoted (the parser reads them as Decimal)
    rng = random.Random(f"bare-{field}")
    candidates = _SPECIAL_NUMBERS + [_random_number(rng) for _ in range(400)]
    literals = [c for c in dict.fromkeys(candidates) if _JSON_NUMBER.fullmatch(c)][:300]
    # when each is sent; then each is stored exactly or refused on its field
    accepted = _check_numbers(world, api, field, literals, bare=True)
    assert {"1e+2", "9999999999.99"} <= set(accepted)
    assert not {"1e-20000", "1e-16000", "1e400", "12.345", "0.005"} & set(accepted)
