"""Each reason a row of an import is rejected: named by row, account number and column, in words."""

import datetime as dt

import pytest
from django.utils import timezone

from customers.models import Customer
from tests.customers.import_files import (
    CONSUMPTION_HEADER,
    CUSTOMER_HEADER,
    csv_bytes,
    customer_row,
    post_file,
    upload,
    xlsx_bytes,
)
from tests.factories import CommunityFactory, TransformerDistrictFactory

pytestmark = pytest.mark.usefixtures("media_root")


def rejections(client, content, *, name="file.csv", kind="customers"):
    response = post_file(client, content, name, kind=kind, language="en")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "rejected"
    return [(r["row"], r["account_no"], r["field"], r["message"]) for r in response.json()["rejections"]]


def good(world, account_no="3800000001", **overrides):
    return customer_row(account_no, station=world.station_a.code, **overrides)


@pytest.mark.parametrize(
    ("change", "column", "words"),
    [
        ({"name": ""}, "户名", "required"),
        ({"category": "外星人"}, "用电类别", "Unknown category “外星人”"),
        ({"voltage": "abc"}, "供电电压", "A number is required"),
        ({"voltage": "0"}, "供电电压", "greater than zero"),
        ({"voltage": "5000kV"}, "供电电压", "implausibly large"),
        ({"capacity": "-10"}, "合同容量", "Must not be negative"),
        ({"capacity": "99999999"}, "合同容量", "implausibly large"),
        ({"name": "长" * 201}, "户名", "at most 200 characters"),
    ],
)
def test_customer_value_rejections(world, api, change, column, words):
    [(row, account_no, field, message)] = rejections(
        api(world.integration), csv_bytes(CUSTOMER_HEADER, [good(world, **change)])
    )
    assert (row, account_no, field) == (2, "3800000001", column)
    assert words in message


def test_unknown_station_is_rejected(world, api):
    rows = [customer_row("3800000002", station="无此供电所")]
    [(_, _, field, message)] = rejections(api(world.integration), csv_bytes(CUSTOMER_HEADER, rows))
    assert (field, message) == ("供电所", "No supply station with this code or name.")


def test_station_name_shared_by_two_stations_asks_for_the_code(world, api):
    from tests.factories import StationFactory

    StationFactory(name=world.station_a.name)
    rows = [customer_row("3800000003", station=world.station_a.name)]
    [(_, _, field, message)] = rejections(api(world.integration), csv_bytes(CUSTOMER_HEADER, rows))
    assert field == "供电所"
    assert "code" in message


def test_unknown_importance_and_status_are_rejected(world, api):
    row = good(world)
    row[5], row[8] = "最重要", "失踪"
    found = rejections(api(world.integration), csv_bytes(CUSTOMER_HEADER, [row]))
    assert [(field, message.split("“")[0]) for _, _, field, message in found] == [
        ("重要用户等级", "Unknown importance "),
        ("用户状态", "Unknown status "),
    ]


def test_community_of_another_station_is_rejected(world, api):
    # Given a community of station B, named by code, for a customer of station A
    other = CommunityFactory(station=world.station_b)
    header = [*CUSTOMER_HEADER, "社区"]
    content = csv_bytes(header, [[*good(world), other.code]])
    [(_, _, field, message)] = rejections(api(world.integration), content)
    assert (field, message) == ("社区", "This community belongs to another supply station.")


def test_community_and_transformer_district_together_are_rejected(world, api):
    community = CommunityFactory(station=world.station_a)
    district = TransformerDistrictFactory(station=world.station_a)
    header = [*CUSTOMER_HEADER, "社区", "台区"]
    content = csv_bytes(header, [[*good(world), community.name, district.name]])
    [(_, _, field, message)] = rejections(api(world.integration), content)
    assert field == "台区"
    assert "not both" in message


def test_territories_are_found_by_name_within_the_station(world, api):
    # Given a community named the same in two stations
    mine = CommunityFactory(station=world.station_a, name="幸福社区")
    CommunityFactory(station=world.station_b, name="幸福社区")
    header = [*CUSTOMER_HEADER, "社区"]
    content = csv_bytes(header, [[*good(world, "3800000004"), "幸福社区"]])
    response = api(world.integration).post(
        "/api/v1/imports/", {"file": upload(content), "kind": "customers"}, format="multipart"
    )
    # Then the row's station decides which one
    assert response.json()["created_count"] == 1, response.json()
    assert Customer.objects.get(account_no="3800000004").community == mine


def test_duplicate_account_row_names_the_first_row(world, api):
    rows = [good(world, "3800000005"), good(world, "3800000006"), good(world, "3800000005", name="又一次")]
    found = rejections(api(world.integration), csv_bytes(CUSTOMER_HEADER, rows))
    assert found == [(4, "3800000005", "户号", "Row 2 already gives this account number.")]


def test_missing_account_number_is_rejected(world, api):
    found = rejections(api(world.integration), csv_bytes(CUSTOMER_HEADER, [good(world, "")]))
    assert [(row, field) for row, _, field, _ in found] == [(2, "户号")]


# ---------------------------------------------------------------- consumption
def _future_period() -> str:
    today = timezone.localdate()
    return f"{today.year + 1}-01"


@pytest.mark.parametrize(
    ("cells", "column", "words"),
    [
        ({"kwh": "-5"}, "抄见电量(kWh)", "Must not be negative"),
        ({"kwh": "99999999999"}, "抄见电量(kWh)", "implausibly large"),
        ({"kwh": "很多"}, "抄见电量(kWh)", "A number is required"),
        ({"kwh": ""}, "抄见电量(kWh)", "required"),
        ({"period": "2026-13"}, "电费年月", "YYYY-MM"),
        ({"period": "future"}, "电费年月", "in the future"),
        ({"amount": "-1"}, "应收电费(元)", "Must not be negative"),
    ],
)
def test_consumption_value_rejections(world, api, cells, column, words):
    period = cells.get("period", "2026-01")
    period = _future_period() if period == "future" else period
    row = [world.customer_a.account_no, period, cells.get("kwh", "100"), cells.get("amount", ""), ""]
    content = csv_bytes(CONSUMPTION_HEADER, [row])
    [(number, account_no, field, message)] = rejections(api(world.integration), content, kind="consumption")
    assert (number, account_no, field) == (2, world.customer_a.account_no, column)
    assert words in message


def test_consumption_for_an_unknown_account_is_rejected(world, api):
    content = csv_bytes(CONSUMPTION_HEADER, [["9999999999", "2026-01", "100", "", ""]])
    [(_, _, field, message)] = rejections(api(world.integration), content, kind="consumption")
    assert (field, message) == ("户号", "No customer with this account number.")


def test_duplicate_account_and_period_names_the_first_row(world, api):
    account = world.customer_a.account_no
    rows = [[account, "2026-01", "100", "", ""], [account, "202601", "120", "", ""]]
    found = rejections(api(world.integration), csv_bytes(CONSUMPTION_HEADER, rows), kind="consumption")
    assert found == [(3, account, "电费年月", "Row 2 already gives this account and period.")]


# ---------------------------------------------------------------- workbook cells
def test_formula_without_a_saved_result_is_a_rejected_cell(world, api):
    row = [world.customer_a.account_no, "2026-01", "=B1*2", None, None]
    found = rejections(
        api(world.integration), xlsx_bytes(CONSUMPTION_HEADER, [row]), name="f.xlsx", kind="consumption"
    )
    assert [(n, field) for n, _, field, _ in found] == [(2, "抄见电量(kWh)")]
    assert "formula" in found[0][3]


def test_excel_error_value_is_a_rejected_cell(world, api):
    row = [world.customer_a.account_no, "2026-01", "#DIV/0!", None, None]
    found = rejections(
        api(world.integration), xlsx_bytes(CONSUMPTION_HEADER, [row]), name="e.xlsx", kind="consumption"
    )
    assert [(field, message) for _, _, field, message in found] == [
        ("抄见电量(kWh)", "The cell holds the Excel error #DIV/0!.")
    ]


def test_merged_cells_give_their_value_to_the_first_row_only(world, api):
    # Given two customer rows whose category cells are merged (C2:C3)
    rows = [good(world, "3800000007"), good(world, "3800000008")]
    content = xlsx_bytes(CUSTOMER_HEADER, rows, merge=["C2:C3"])
    found = rejections(api(world.integration), content, name="m.xlsx")
    # Then row 3 inherits nothing: it lacks a category, and the reason says why
    assert [(n, a, field) for n, a, field, _ in found] == [(3, "3800000008", "用电类别")]
    assert "merged" in found[0][3]
    assert not Customer.objects.filter(account_no="3800000007").exists()


def test_future_period_check_uses_the_local_month(world, api):
    # A period of this month is accepted (it is not in the future).
    this_month = timezone.localdate().replace(day=1)
    row = [world.customer_a.account_no, f"{this_month:%Y-%m}", "100", "", ""]
    response = api(world.integration).post(
        "/api/v1/imports/",
        {"file": upload(csv_bytes(CONSUMPTION_HEADER, [row])), "kind": "consumption"},
        format="multipart",
    )
    assert response.json()["created_count"] == 1
    assert world.customer_a.consumption.get().period == dt.date(this_month.year, this_month.month, 1)
