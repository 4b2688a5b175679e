"""Reading files, naming columns and parsing marketing-system values, without the database."""

import io
from decimal import Decimal

import pytest

from customers.imports import values
from customers.imports.columns import find_columns, map_header
from customers.imports.errors import ImportFileError
from customers.imports.readers import ExcelError, open_table
from tests.customers.import_files import xlsx_bytes


def rows_of(content: bytes, name: str = "f.csv") -> list:
    with open_table(io.BytesIO(content), name) as table:
        return list(table.rows())


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_csv_delimiter_is_detected_from_the_header(delimiter):
    content = f"户号{delimiter}户名\n1{delimiter}甲\n".encode()
    assert rows_of(content) == [(1, ("户号", "户名")), (2, ("1", "甲"))]


def test_csv_quoted_fields_keep_commas_and_line_breaks():
    content = '户号,用电地址\n1,"人民路1号,\n2栋"\n'.encode()
    assert rows_of(content)[1] == (2, ("1", "人民路1号,\n2栋"))


def test_xlsx_rows_keep_their_sheet_numbers_across_empty_rows():
    content = xlsx_bytes(["户号"], [["1"], [None], ["3"]])
    assert [number for number, _ in rows_of(content, "f.xlsx")] == [1, 2, 4]


def test_xlsx_error_cells_are_marked():
    content = xlsx_bytes(["户号", "电量"], [["1", "#N/A"]])
    assert rows_of(content, "f.xlsx")[1][1][1] == ExcelError("#N/A")


def test_csv_that_is_really_a_workbook_is_read_as_one():
    content = xlsx_bytes(["户号"], [["1"]])
    assert rows_of(content, "export.csv")[1] == (2, ("1",))


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("抄见电量（kWh）", "kwh"),
        ("电量(kWh)", "kwh"),
        ("*户号", "account_no"),
        ("Account No.", "account_no"),
        ("ＫＷＨ", "kwh"),
        ("账期", "period"),
        ("应收电费【元】", "amount_yuan"),
    ],
)
def test_header_names_are_matched_loosely(header, field):
    mapped = map_header(("户号", header) if field != "account_no" else (header,), "consumption")
    assert mapped.fields[field] == (1 if field != "account_no" else 0)


def test_preferred_alias_wins_when_a_file_has_two_columns_for_one_field():
    mapped = map_header(("户号", "抄见电量", "结算电量", "电费年月"), "consumption")
    assert mapped.fields["kwh"] == 2
    assert mapped.ignored == ["抄见电量"]


def test_header_is_found_below_title_rows():
    rows = iter(
        [(1, ("2026年电费明细", None)), (3, ("户号", "电费年月", "电量")), (4, ("1", "2026-01", "5"))]
    )
    columns, rest = find_columns(rows, "consumption")
    assert columns.header_row == 3
    assert list(rest) == [(4, ("1", "2026-01", "5"))]


def test_header_not_found_in_the_first_rows_names_the_missing_columns():
    rows = iter([(n, ("户号", "电费年月")) for n in range(1, 20)])
    with pytest.raises(ImportFileError, match="抄见电量|结算电量"):
        find_columns(rows, "consumption")


@pytest.mark.parametrize(
    ("text", "kv"),
    [
        ("10kV", "10.00"),
        ("0.4 kV", "0.40"),
        ("220V", "0.22"),
        ("380伏", "0.38"),
        ("35千伏", "35.00"),
        ("１１０ＫＶ", "110.00"),
        (10, "10.00"),
        ("交流10kV", "10.00"),
    ],
)
def test_voltage_is_read_in_kv(text, kv):
    assert values.voltage_kv(text) == Decimal(kv)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("一级", "level_1"),
        ("一级重要用户", "level_1"),
        ("二级重要客户", "level_2"),
        ("临时性重要用户", "temporary"),
        ("无", "none"),
        ("非重要用户", "none"),
        ("", "none"),
        ("level_2", "level_2"),
    ],
)
def test_importance_is_read(text, code):
    assert values.importance(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("居民生活", "residential"),
        ("居民生活用电", "residential"),
        ("一般工商业", "commercial"),
        ("大工业", "industrial"),
        ("农业生产", "agricultural"),
        ("公用事业", "public_service"),
        ("Industrial", "industrial"),
    ],
)
def test_category_is_read(text, code):
    assert values.category(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("正常", "active"),
        ("在用", "active"),
        ("暂停", "suspended"),
        ("销户", "closed"),
        ("", "active"),
        ("closed", "closed"),
    ],
)
def test_status_is_read(text, code):
    assert values.status(text) == code


def test_capacity_accepts_its_unit_and_rounds_to_a_tenth():
    assert values.capacity_kva("630kVA") == Decimal("630.0")
    assert values.capacity_kva("12.56") == Decimal("12.6")
