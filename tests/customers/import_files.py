"""Builders of import files for the tests: CSV in a chosen encoding, XLSX with formulas, errors and
merged cells (the fixture that keeps uploads out of the project's media folder is in conftest.py)."""

import csv
import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile

CUSTOMER_HEADER = [
    "户号",
    "户名",
    "用电类别",
    "供电电压",
    "合同容量",
    "重要用户等级",
    "供电所",
    "用电地址",
    "用户状态",
]
CONSUMPTION_HEADER = ["户号", "电费年月", "抄见电量(kWh)", "应收电费(元)", "最大需量"]


def customer_row(
    account_no, *, station, name="某某公司", category="一般工商业", voltage="0.4kV", capacity="50"
):
    """A customer row under CUSTOMER_HEADER."""
    return [account_no, name, category, voltage, capacity, "无", station, "城关镇人民路1号", "正常"]


def csv_bytes(header, rows, *, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(header, rows, *, merge: list[str] = (), title: str | None = None) -> bytes:
    """A workbook whose active sheet holds the header and rows (values starting with "=" are
    formulas: openpyxl saves them without a result, as a program that never computed them would)."""
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for cells in merge:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(content: bytes, name: str = "customers.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


IMPORTS_URL = "/api/v1/imports/"


def post_file(
    client, content: bytes, name="customers.csv", *, kind="customers", partial=False, language="zh-hans"
):
    """An upload to imports/ by `client` (an API client), answered in `language`."""
    data = {"file": upload(content, name), "kind": kind, "partial": partial}
    return client.post(IMPORTS_URL, data, format="multipart", HTTP_ACCEPT_LANGUAGE=language)


def refusal(response) -> str:
    """The message of a file refused as a whole (400, on `file`)."""
    assert response.status_code == 400, response.content
    return response.json()["file"][0]
