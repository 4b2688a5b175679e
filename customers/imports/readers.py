"""Reading an uploaded file into rows: CSV in UTF-8 (with or without BOM), GBK/GB18030 or UTF-16, and
XLSX workbooks (the active sheet). Rows come with their number as the user sees it in the file (the
first line or spreadsheet row is 1); rows with no value at all are left out.

A workbook cell can hold no usable value for reasons the user must be told about: a formula whose
result was never saved (openpyxl reads cached results only, never computes), an Excel error value
(#DIV/0!), or a cell hidden under a merged range. `Table.note(row, column)` says which."""

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

from django.utils.translation import gettext as _

from customers.imports.errors import ImportFileError

CSV_EXTENSIONS = {".csv", ".txt", ".tsv"}
XLSX_EXTENSIONS = {".xlsx", ".xlsm"}
OLD_EXCEL_EXTENSIONS = {".xls", ".xlsb", ".et"}
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and any password-protected workbook
READ_CHUNK = 1 << 20
MAX_UNPACK_RATIO = 30  # an XLSX unpacks to some 5-15 times its size; far more is a zip bomb

# Why an empty workbook cell is empty.
FORMULA_WITHOUT_RESULT = "formula"
MERGED = "merged"

_FORMULA_RE = re.compile(rb"<(?:\w+:)?f[\s>/]")
_MERGE_RE = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?ref=\"([A-Z]+[0-9]+:[A-Z]+[0-9]+)\"")


@dataclass(frozen=True)
class ExcelError:
    """A cell whose saved value is an Excel error such as #DIV/0! or #N/A."""

    code: str


class Table:
    """An opened file: `rows()` yields (row number, values); `note()` explains an empty cell."""

    # Rows in the file including the header, for progress before the end is known (None: unknown).
    estimated_rows: int | None = None

    def rows(self) -> Iterator[tuple[int, tuple]]:
        raise NotImplementedError

    def note(self, row: int, column: int) -> str | None:
        """FORMULA_WITHOUT_RESULT, MERGED or None for the empty cell at `row` (1-based) and `column`
        (0-based, as in the values tuple)."""
        return None

    def close(self) -> None:
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_table(fileobj, name: str) -> Table:
    """Open a binary, seekable file object as a table, or refuse it with one clear message."""
    extension = PurePath(name or "").suffix.lower()
    fileobj.seek(0)
    head = fileobj.read(8)
    fileobj.seek(0)
    if extension in OLD_EXCEL_EXTENSIONS or head.startswith(OLE_MAGIC):
        raise ImportFileError(
            _(
                "Old Excel files (.xls) and password-protected workbooks cannot be read: save the "
                "sheet as .xlsx or as CSV (UTF-8) and upload that."
            )
        )
    if extension not in CSV_EXTENSIONS | XLSX_EXTENSIONS | {""}:
        raise ImportFileError(
            _("Unknown file type “%(name)s”: upload a .csv or .xlsx file.") % {"name": name}
        )
    if not head:
        raise ImportFileError(_("The file is empty."))
    if head.startswith(ZIP_MAGIC):
        return XlsxTable(fileobj)
    if extension in XLSX_EXTENSIONS:
        raise ImportFileError(_("The file is not a valid XLSX workbook."))
    return CsvTable(fileobj)


# ---------------------------------------------------------------- CSV
class _Unclosable(io.RawIOBase):
    """Lets io.TextIOWrapper read any file-like object without closing it afterwards."""

    def __init__(self, fileobj) -> None:
        self._file = fileobj

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._file.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def detect_encoding(fileobj) -> tuple[str, int]:
    """The file's encoding: UTF-16 when it starts with its BOM, else UTF-8 (a BOM is dropped), else
    GB18030 (a superset of GBK and GB2312). The whole file is decoded, streaming, so a bad byte at
    the end is found before anything is written. Also returns the number of line breaks."""
    fileobj.seek(0)
    head = fileobj.read(2)
    if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8-sig", "gb18030"]
    for encoding in candidates:
        fileobj.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        lines = 0
        try:
            while chunk := fileobj.read(READ_CHUNK):
                if encoding != "utf-16" and b"\x00" in chunk:
                    raise ImportFileError(_("This is not a text (CSV) file. Upload a .csv or .xlsx file."))
                decoder.decode(chunk)
                lines += chunk.count(b"\n")
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding, lines
    raise ImportFileError(
        _(
            "The characters of the file cannot be read: it is neither UTF-8 nor GBK. Save it as "
            "“CSV UTF-8” and upload it again."
        )
    )


class CsvTable(Table):
    def __init__(self, fileobj) -> None:
        self._file = fileobj
        self.encoding, lines = detect_encoding(fileobj)
        self.estimated_rows = lines + 1
        self.delimiter = self._sniff_delimiter()

    def _text(self) -> io.TextIOWrapper:
        self._file.seek(0)
        return io.TextIOWrapper(
            io.BufferedReader(_Unclosable(self._file), buffer_size=READ_CHUNK),
            encoding=self.encoding,
            newline="",
        )

    def _sniff_delimiter(self) -> str:
        text = self._text()
        first = ""
        for line in text:
            if line.strip():
                first = line
                break
        counts = {delimiter: first.count(delimiter) for delimiter in (",", "\t", ";")}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] > counts[","] else ","

    def rows(self) -> Iterator[tuple[int, tuple]]:
        reader = csv.reader(self._text(), delimiter=self.delimiter)
        number = 0
        try:
            for number, record in enumerate(reader, start=1):  # noqa: B007 (read in the except)
                values = tuple((value.strip() or None) for value in record)
                if any(value is not None for value in values):
                    yield number, values
        except csv.Error as exc:
            raise ImportFileError(
                _("Row %(row)s of the file cannot be read as CSV: %(error)s")
                % {"row": number + 1, "error": exc}
            ) from exc


# ---------------------------------------------------------------- XLSX
class XlsxTable(Table):
    def __init__(self, fileobj) -> None:
        import openpyxl

        _refuse_zip_bomb(fileobj)
        try:
            self._book = openpyxl.load_workbook(fileobj, read_only=True, data_only=True)
        except Exception as exc:  # zip, XML and openpyxl errors all mean the same to the user
            raise ImportFileError(_("The file is not a valid XLSX workbook.")) from exc
        sheet = self._book.active
        if sheet is None or not hasattr(sheet, "iter_rows"):  # the active sheet may be a chart
            sheets = self._book.worksheets
            if not sheets:
                raise ImportFileError(_("The workbook has no worksheet."))
            sheet = sheets[0]
        self._sheet = sheet
        self.estimated_rows = sheet.max_row
        # Some programs write a wrong <dimension>; read every row that is there instead.
        sheet.reset_dimensions()
        self._scanned = False
        self._uncached: set[tuple[int, int]] = set()
        self._merged: dict[int, list[tuple[int, int, int]]] = {}  # column -> (first column, rows)

    def rows(self) -> Iterator[tuple[int, tuple]]:
        number = 0
        try:
            for number, values in self._rows():  # noqa: B007 (read in the except)
                yield number, values
        except Exception as exc:  # a damaged sheet: openpyxl raises XML, key and value errors alike
            raise ImportFileError(
                _("The workbook is damaged and cannot be read past row %(row)s.") % {"row": number}
            ) from exc

    def _rows(self) -> Iterator[tuple[int, tuple]]:
        for cells in self._sheet.iter_rows():
            number = None
            values = []
            for cell in cells:
                value = cell.value
                if getattr(cell, "data_type", None) == "e" and value is not None:
                    value = ExcelError(str(value))
                elif isinstance(value, str):
                    value = value.strip() or None
                if number is None and hasattr(cell, "row"):
                    number = cell.row  # empty padding cells have no row; real ones do
                values.append(value)
            if number is not None:
                yield number, tuple(values)

    def note(self, row: int, column: int) -> str | None:
        if not self._scanned:
            self._scan()
        col = column + 1
        if (row, col) in self._uncached:
            return FORMULA_WITHOUT_RESULT
        for min_col, min_row, max_row in self._merged.get(col, ()):
            if min_row <= row <= max_row and (row, col) != (min_row, min_col):
                return MERGED
        return None

    def _scan(self) -> None:
        """One pass over the sheet's XML for merged ranges and whether it holds formulas; a second,
        only if it does, for formula cells that carry no saved result."""
        self._scanned = True
        try:
            self._scan_sheet()
        except Exception as exc:
            raise ImportFileError(_("The workbook is damaged and cannot be read.")) from exc

    def _scan_sheet(self) -> None:
        from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries
        from openpyxl.xml.constants import SHEET_MAIN_NS
        from openpyxl.xml.functions import iterparse

        path = getattr(self._sheet, "_worksheet_path", None)
        archive = getattr(self._book, "_archive", None)
        if path is None or archive is None:
            return
        has_formulas = False
        ranges: set[bytes] = set()
        tail = b""
        with archive.open(path) as source:
            while chunk := source.read(READ_CHUNK):
                data = tail + chunk
                has_formulas = has_formulas or bool(_FORMULA_RE.search(data))
                ranges.update(match.group(1) for match in _MERGE_RE.finditer(data))
                tail = data[-512:]
        for ref in ranges:
            min_col, min_row, max_col, max_row = range_boundaries(ref.decode())
            for col in range(min_col, max_col + 1):
                self._merged.setdefault(col, []).append((min_col, min_row, max_row))
        if not has_formulas:
            return
        cell_tag, formula_tag, value_tag = (f"{{{SHEET_MAIN_NS}}}{tag}" for tag in ("c", "f", "v"))
        row_tag = f"{{{SHEET_MAIN_NS}}}row"
        with archive.open(path) as source:
            for _event, element in iterparse(source):
                if element.tag == cell_tag:
                    ref = element.get("r")
                    if ref and element.find(formula_tag) is not None:
                        # No saved result: no <v>, or an empty one that is not a string result
                        # (Excel saves ="" as t="str" with an empty <v>; openpyxl writes <v/>).
                        value = element.find(value_tag)
                        if value is None or (not value.text and element.get("t") != "str"):
                            self._uncached.add(coordinate_to_tuple(ref))
                elif element.tag == row_tag:
                    element.clear()

    def close(self) -> None:
        self._book.close()


def _refuse_zip_bomb(fileobj) -> None:
    """A workbook is a zip archive; one that unpacks to far more than any real export is refused
    before anything is unpacked."""
    import zipfile

    from django.conf import settings

    try:
        with zipfile.ZipFile(fileobj) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(_("The file is not a valid XLSX workbook.")) from exc
    finally:
        fileobj.seek(0)
    if unpacked > settings.IMPORT_MAX_FILE_BYTES * MAX_UNPACK_RATIO:
        raise ImportFileError(_("The workbook unpacks to far more data than an export holds; it is refused."))


def as_text(value) -> str:
    """A cell value as the text the user typed: 3100000001.0 from a number cell is "3100000001"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, ExcelError):
        return value.code
    return str(value).strip()
