"""One way to write a table as an XLSX workbook, for every export of the product (training
compliance, the appraisal review): openpyxl in write-only mode, so memory stays flat however many
rows; a bold header row, then the rows as plain values.

Every text is written as a text cell, whatever it begins with: openpyxl would otherwise store a
string beginning with `=` as a formula (a manager named `=HYPERLINK(...)` would be a live link in
the director's workbook) and one like `#N/A` as an error value. A typed text cell shows exactly what
the user typed, where the OWASP apostrophe prefix would change the text; Excel evaluates none of it."""

from collections.abc import Iterable
from io import BytesIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font


def _cell(sheet, value, *, font=None):
    """`value` as a cell; a string is forced to be text (data type "s"), never a formula."""
    if not isinstance(value, str) and font is None:
        return value
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell


def table_workbook(*, title: str, headers: list[str], rows: Iterable[list]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])  # Excel's limit on a sheet name
    bold = Font(bold=True)
    sheet.append([_cell(sheet, str(text), font=bold) for text in headers])
    for row in rows:
        sheet.append([_cell(sheet, value) for value in row])
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
