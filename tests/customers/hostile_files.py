"""Builders of hostile import files for the tests: workbooks whose sheet XML is written by hand (many
empty rows, a lying or missing <dimension>, a part packed far tighter than any export)."""

import io
import zipfile

from tests.customers.import_files import xlsx_bytes

SHEET_PATH = "xl/worksheets/sheet1.xml"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _cell(ref: str, value: str) -> str:
    text = value.replace("&", "&amp;").replace("<", "&lt;")
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def header_row(header, number: int = 1) -> bytes:
    """A sheet row of inline strings, columns A, B, ..."""
    cells = "".join(_cell(f"{chr(65 + index)}{number}", name) for index, name in enumerate(header))
    return f'<row r="{number}">{cells}</row>'.encode()


def sheet_xml(rows: bytes, *, dimension: str | None = None) -> bytes:
    """A worksheet part around `rows` (the XML of its <row> elements), with a <dimension> when given."""
    head = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN_NS}">'
    if dimension:
        head += f'<dimension ref="{dimension}"/>'
    return head.encode() + b"<sheetData>" + rows + b"</sheetData></worksheet>"


def workbook(sheet: bytes, *, extra: dict[str, bytes] | None = None) -> bytes:
    """A workbook (made by openpyxl) whose only sheet is replaced by `sheet`, packed as tight as zip
    goes; `extra` adds parts."""
    base = xlsx_bytes(["x"], [])
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(base)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for info in source.infolist():
            data = sheet if info.filename == SHEET_PATH else source.read(info.filename)
            target.writestr(info.filename, data)
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def empty_rows(first: int, count: int, *, numbered: bool = True) -> bytes:
    """`count` empty rows from row `first`: <row r="N"/> (which packs some 7:1, as an export
    does), or bare <row/> (which packs several hundred to one)."""
    if not numbered:
        return b"<row/>" * count
    return b"".join(b'<row r="%d"/>' % number for number in range(first, first + count))
