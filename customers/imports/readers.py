"""Reading an uploaded file into rows: CSV in UTF-8 (with or without BOM), GBK/GB18030 or UTF-16, and
XLSX workbooks (the active sheet). Rows come with their number as the user sees it in the file (the
first line or spreadsheet row is 1); rows with no value at all are left out.

A workbook cell can hold no usable value for reasons the user must be told about: a formula whose
result was never saved (openpyxl reads cached results only, never computes), an Excel error value
(#DIV/0!), or a cell hidden under a merged range. `Table.note(row, column)` says which.

Limits. A table refuses a file of more than IMPORT_MAX_ROWS rows (blank ones count): at once when a
sheet's <dimension> declares more, else when the count, kept while streaming, passes it. With
`read_rows`, a table reads no more than that many rows (and READ_CELLS_PER_ROW cells a row) and then
stops with `read_all` false: that is how the request decides quickly, handing longer files to the
worker. A CSV line longer than MAX_LINE_CHARS is refused before it is split into cells; a workbook
is guarded by `workbooks` (packing ratios, rows counted in its XML, rows of megabytes). No value
holding U+FFFD, the replacement character of a conversion that already failed, is ever returned.

Encoding of a CSV file, decided on the whole file, read in chunks and decoded strictly:
- a byte order mark names the encoding (UTF-8 or UTF-16), and the file must decode in it;
- otherwise UTF-8, when the whole file decodes as UTF-8;
- otherwise GB18030 (a superset of GBK and GB2312), when the whole file decodes as GB18030 and
  (a) no line before the first non-UTF-8 one holds UTF-8 text beyond ASCII, and no line of the
  file is valid UTF-8 with text beyond ASCII: else the file mixes encodings (one GBK row saved into
  a UTF-8 file, or the reverse) and is refused, naming both lines;
  (b) the text beyond ASCII is mostly everyday Chinese: at least as many of those characters lie in
  GB2312 (the 7,445 characters, 6,763 of them hanzi, that both bytes of A1-FE encode) as outside
  it. GB18030 decodes almost any byte string: Latin-1 "Müller" reads as "M黮ler", Shift-JIS
  Japanese as strings of rare characters, and those land outside GB2312 (an accented letter is
  followed by an ASCII byte, which as a second byte means the GBK extension area; Shift-JIS lead
  bytes 81-9F are below A1). Real exports are written in GB2312 characters with a rare one in a
  name (镕, 喆, 堃), far below half. A file that fails the rule is refused, quoting how its first
  non-UTF-8 line reads as GBK;
- otherwise the file is refused, naming the line that is not UTF-8 and the line that is not GBK.
Deciding costs one or two decoding passes over at most IMPORT_MAX_FILE_BYTES (checked before a
file is opened), one chunk in memory at a time."""

import codecs
import csv
import datetime as dt
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.utils.translation import gettext as _

from customers.imports.errors import ImportFileError
from customers.imports.workbooks import GuardedArchive, check_packing

CSV_EXTENSIONS = {".csv", ".txt", ".tsv"}
XLSX_EXTENSIONS = {".xlsx", ".xlsm"}
OLD_EXCEL_EXTENSIONS = {".xls", ".xlsb", ".et"}
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and any password-protected workbook
READ_CHUNK = 1 << 20
READ_CELLS_PER_ROW = 64  # with `read_rows`: cells read at most, a row on average (an export has 10-40)
MAX_LINE_CHARS = 1_000_000  # a CSV line of an export is at most some 15,000 characters
SNIFF_LINES = 100  # the delimiter is read from the first non-blank line among these
REPLACEMENT = "\ufffd"

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

    def __init__(self, *, read_rows: int | None = None) -> None:
        self.max_rows = settings.IMPORT_MAX_ROWS
        self.read_rows = read_rows
        # What the reader may let through: more than this and the file is too long (or, below
        # max_rows, longer than the caller wanted to read).
        self.row_limit = min(read_rows, self.max_rows) if read_rows is not None else self.max_rows
        self.rows_read = 0  # rows of the file read so far, blank ones included
        self.cells_read = 0
        self.values_seen = 0  # rows with a value among them
        self.read_all = True  # false once `read_rows` stopped the reading before the end

    def rows(self) -> Iterator[tuple[int, tuple]]:
        cells = None if self.read_rows is None else self.read_rows * READ_CELLS_PER_ROW
        for number, values in self._records():
            self.rows_read += 1
            self.cells_read += len(values)
            if self.rows_read > self.max_rows:
                raise too_many_rows(self.max_rows)
            if self.read_rows is not None and (self.rows_read > self.read_rows or self.cells_read > cells):
                self.read_all = False
                return
            if any(value is not None for value in values):
                self.values_seen += 1
                _refuse_replacements(number, values)
                yield number, values

    def _records(self) -> Iterator[tuple[int | None, tuple]]:
        """Every row of the file, blank ones too, as (number, values)."""
        raise NotImplementedError

    def _stopped_at_limit(self) -> None:
        """The reader stopped at `row_limit` with rows still to come."""
        if self.row_limit < self.max_rows:
            self.read_all = False
        else:
            raise too_many_rows(self.max_rows)

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


def too_many_rows(limit: int) -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(max)s rows; split it and upload the parts.") % {"max": f"{limit:,}"}
    )


def _refuse_replacements(number, values: tuple) -> None:
    for value in values:
        if isinstance(value, str) and REPLACEMENT in value:
            raise ImportFileError(
                _(
                    "Row %(row)s holds the replacement character “%(char)s”: the file was already "
                    "damaged by a conversion of its characters. Export it again from the source "
                    "system and upload that."
                )
                % {"row": number, "char": REPLACEMENT}
            )


def open_table(fileobj, name: str, *, read_rows: int | None = None) -> Table:
    """Open a binary, seekable file object as a table, or refuse it with one clear message. With
    `read_rows`, the table reads at most that many rows (see the module's docstring)."""
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
        return XlsxTable(fileobj, read_rows=read_rows)
    if extension in XLSX_EXTENSIONS:
        raise ImportFileError(_("The file is not a valid XLSX workbook."))
    return CsvTable(fileobj, read_rows=read_rows)


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


@dataclass
class _Pass:
    """What one decoding pass over a file found (line numbers are 1-based)."""

    lines: int = 0  # line breaks in the file
    bad_line: int | None = None  # the first line that does not decode
    bad_bytes: bytes = b""  # some bytes around the first that does not decode
    first_high: int | None = None  # the first line with a byte beyond ASCII
    utf8_line: int | None = None  # (GB18030) the first line that is UTF-8 beyond ASCII
    common: int = 0  # (GB18030) characters beyond ASCII that are in GB2312
    rare: int = 0  # (GB18030) and those that are not


# A line of valid UTF-8 text beyond ASCII, once decoded with errors="replace" (possessive: linear).
_UTF8_LINE = re.compile(r"^[\x00-\x09\x0b-\x7f]*+[^\x00-\x7f\ufffd][^\n\ufffd]*+$", re.MULTILINE)
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def detect_encoding(fileobj) -> tuple[str, int]:
    """The file's encoding, by the rule of the module's docstring, and its number of line breaks;
    refuses a file that is not text, mixes encodings or is in none of those read."""
    fileobj.seek(0)
    head = fileobj.read(3)
    if head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16", _utf16_lines(
            fileobj, "utf-16-le" if head[:2] == codecs.BOM_UTF16_LE else "utf-16-be"
        )
    utf8 = _decode_pass(fileobj, "utf-8")
    if utf8.bad_line is None:
        return "utf-8-sig", utf8.lines
    if head == codecs.BOM_UTF8:
        raise _not_as_marked("UTF-8", utf8.bad_line)
    if utf8.first_high is not None and utf8.first_high < utf8.bad_line:
        raise _mixed(utf8=utf8.first_high, other=utf8.bad_line)
    gbk = _decode_pass(fileobj, "gb18030")
    if gbk.utf8_line is not None:
        raise _mixed(utf8=gbk.utf8_line, other=utf8.bad_line)
    if gbk.bad_line is not None:
        if gbk.bad_line == utf8.bad_line:
            message = _(
                "The characters of the file cannot be read: line %(line)s is neither UTF-8 nor GBK. "
                "Save it as “CSV UTF-8” and upload it again."
            ) % {"line": gbk.bad_line}
        else:
            message = _(
                "The characters of the file cannot be read: line %(utf8)s is not UTF-8 and line "
                "%(gbk)s is not GBK. Save it as “CSV UTF-8” and upload it again."
            ) % {"utf8": utf8.bad_line, "gbk": gbk.bad_line}
        raise ImportFileError(message)
    if gbk.rare > gbk.common:
        sample = utf8.bad_bytes.decode("gb18030", "ignore").strip()
        raise ImportFileError(
            _(
                "The characters of the file cannot be read: it is not UTF-8, and read as GBK line "
                "%(line)s says “%(sample)s”, which is not Chinese (the file may be Latin-1 or "
                "Shift-JIS). Save it as “CSV UTF-8” and upload it again."
            )
            % {"line": utf8.bad_line, "sample": sample}
        )
    return "gb18030", gbk.lines


def _decode_pass(fileobj, encoding: str) -> _Pass:
    """Decode the whole file strictly in `encoding`, a chunk of whole lines at a time (neither UTF-8
    nor GB18030 has a line feed byte inside a character)."""
    found = _Pass()
    decoder = codecs.getincrementaldecoder(encoding)()
    chinese = encoding == "gb18030"
    fileobj.seek(0)
    line = 1
    carry = b""
    while True:
        data = fileobj.read(READ_CHUNK)
        block, carry = carry + data, b""
        if data:
            cut = block.rfind(b"\n") + 1
            if cut == 0 and len(block) < 4 * READ_CHUNK:
                carry = block  # no line ends here yet: read on (a longer line is split)
                continue
            if cut:
                block, carry = block[:cut], block[cut:]
        if b"\x00" in block:
            raise ImportFileError(_("This is not a text (CSV) file. Upload a .csv or .xlsx file."))
        high = None if block.isascii() else _HIGH_BYTE.search(block)
        if chinese and high is not None and found.utf8_line is None:
            as_utf8 = block.decode("utf-8", "replace")
            if match := _UTF8_LINE.search(as_utf8):
                found.utf8_line = line + as_utf8.count("\n", 0, match.start())
        try:
            text = decoder.decode(block, final=not data)
        except UnicodeDecodeError as exc:
            _bad(found, block, exc.start, line)
            return found
        if high is not None and found.first_high is None:
            found.first_high = line + block.count(b"\n", 0, high.start())
        if chinese and high is not None:
            ascii_chars = len(text.encode("ascii", "ignore"))
            in_gb2312 = (len(text.encode("gb2312", "ignore")) - ascii_chars) // 2
            found.common += in_gb2312
            found.rare += len(text) - ascii_chars - in_gb2312
        breaks = block.count(b"\n")
        line += breaks
        found.lines += breaks
        if not data:
            return found


def _bad(found: _Pass, block: bytes, at: int, line: int) -> None:
    at = min(at, len(block))
    found.bad_line = line + block.count(b"\n", 0, at)
    if found.first_high is None and (high := _HIGH_BYTE.search(block, 0, at)):
        found.first_high = line + block.count(b"\n", 0, high.start())
    start = max(block.rfind(b"\n", 0, at) + 1, at - 12)
    end = block.find(b"\n", at)
    found.bad_bytes = block[start : min(at + 24, end if end != -1 else len(block))]


def _utf16_lines(fileobj, codec: str) -> int:
    """Decode a file that starts with the UTF-16 mark strictly; its number of line breaks."""
    decoder = codecs.getincrementaldecoder("utf-16")()
    fileobj.seek(0)
    lines = 0
    while True:
        data = fileobj.read(READ_CHUNK)
        pending = decoder.getstate()[0]
        try:
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            lines += (pending + data)[: exc.start].decode(codec, "ignore").count("\n")
            raise _not_as_marked("UTF-16", lines + 1) from None
        if "\x00" in text:
            raise ImportFileError(_("This is not a text (CSV) file. Upload a .csv or .xlsx file."))
        lines += text.count("\n")
        if not data:
            return lines


def _not_as_marked(encoding: str, line: int) -> ImportFileError:
    return ImportFileError(
        _(
            "The characters of the file cannot be read: it starts with the %(encoding)s mark (BOM), "
            "but line %(line)s is not %(encoding)s. Save it as “CSV UTF-8” and upload it again."
        )
        % {"encoding": encoding, "line": line}
    )


def _mixed(*, utf8: int, other: int) -> ImportFileError:
    return ImportFileError(
        _(
            "The file mixes encodings: line %(utf8)s is UTF-8 but line %(other)s is not. Save the "
            "whole file as “CSV UTF-8” and upload it again."
        )
        % {"utf8": utf8, "other": other}
    )


class CsvTable(Table):
    def __init__(self, fileobj, *, read_rows: int | None = None) -> None:
        super().__init__(read_rows=read_rows)
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

    def _lines(self) -> Iterator[str]:
        """The file's lines; one longer than any export's is refused before it is split into cells."""
        text = self._text()
        for number in itertools.count(1):
            line = text.readline(MAX_LINE_CHARS + 1)
            if not line:
                return
            if len(line) > MAX_LINE_CHARS:
                raise ImportFileError(
                    _(
                        "Line %(line)s of the file is longer than %(max)s characters; no export has "
                        "such lines, so the file is refused."
                    )
                    % {"line": number, "max": f"{MAX_LINE_CHARS:,}"}
                )
            yield line

    def _sniff_delimiter(self) -> str:
        lines = itertools.islice(self._lines(), SNIFF_LINES)
        first = next((line for line in lines if line.strip()), "")
        counts = {delimiter: first.count(delimiter) for delimiter in (",", "\t", ";")}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] > counts[","] else ","

    def _records(self) -> Iterator[tuple[int | None, tuple]]:
        reader = csv.reader(self._lines(), delimiter=self.delimiter)
        number = 0
        try:
            for number, record in enumerate(reader, start=1):  # noqa: B007 (read in the except)
                yield number, tuple((value.strip() or None) for value in record)
        except csv.Error as exc:
            raise ImportFileError(
                _("Row %(row)s of the file cannot be read as CSV: %(error)s")
                % {"row": number + 1, "error": exc}
            ) from exc


# ---------------------------------------------------------------- XLSX
class XlsxTable(Table):
    def __init__(self, fileobj, *, read_rows: int | None = None) -> None:
        from openpyxl.reader.excel import ExcelReader

        super().__init__(read_rows=read_rows)
        check_packing(fileobj)
        try:
            # openpyxl.load_workbook, reading through the guarded archive instead of its own
            reader = ExcelReader(fileobj, read_only=True, data_only=True)
            reader.archive.close()
            reader.archive = self._archive = GuardedArchive(fileobj, row_limit=self.row_limit)
            reader.valid_files = reader.archive.namelist()
            reader.read()
        except ImportFileError:
            raise
        except Exception as exc:  # zip, XML and openpyxl errors all mean the same to the user
            raise ImportFileError(_("The file is not a valid XLSX workbook.")) from exc
        self._book = reader.wb
        sheet = self._book.active
        if sheet is None or not hasattr(sheet, "iter_rows"):  # the active sheet may be a chart
            sheets = self._book.worksheets
            if not sheets:
                raise ImportFileError(_("The workbook has no worksheet."))
            sheet = sheets[0]
        self._sheet = sheet
        self._path = getattr(sheet, "_worksheet_path", None)
        declared = None if self._path in self._archive.undimensioned else sheet.max_row
        if declared is not None and declared > self.max_rows:
            self._book.close()
            raise ImportFileError(
                _(
                    "The sheet declares %(rows)s rows; files of up to %(max)s rows can be imported. "
                    "Split it and upload the parts."
                )
                % {"rows": f"{declared:,}", "max": f"{self.max_rows:,}"}
            )
        self.estimated_rows = declared
        if read_rows is None:
            self._count_rows()
        # Some programs write a wrong <dimension>; read every row that is there instead.
        sheet.reset_dimensions()
        self._scanned = False
        self._uncached: set[tuple[int, int]] = set()
        self._merged: dict[int, list[tuple[int, int, int]]] = {}  # column -> (first column, rows)

    def _count_rows(self) -> None:
        """Before the whole sheet is read: count its rows in its XML first, at the speed of bytes,
        so that a sheet of too many is refused at once, not after openpyxl walked a million."""
        if self._path is None:
            return
        try:
            with self._archive.open(self._path) as source:
                while source.read(READ_CHUNK):
                    pass
        except ImportFileError:
            self._book.close()
            raise
        except Exception as exc:
            self._book.close()
            raise ImportFileError(_("The workbook is damaged and cannot be read.")) from exc
        if self._path in self._archive.cut:
            self._book.close()
            raise too_many_rows(self.max_rows)

    def _records(self) -> Iterator[tuple[int | None, tuple]]:
        number = 0
        try:
            for cells in self._sheet.iter_rows():
                row = None
                values = []
                for cell in cells:
                    value = cell.value
                    if getattr(cell, "data_type", None) == "e" and value is not None:
                        value = ExcelError(str(value))
                    elif isinstance(value, str):
                        value = value.strip() or None
                    if row is None and hasattr(cell, "row"):
                        row = cell.row  # empty padding cells have no row; real ones do
                    values.append(value)
                number = row or number
                yield row, tuple(values)
        except ImportFileError:
            raise
        except Exception as exc:  # a damaged sheet: openpyxl raises XML, key and value errors alike
            raise ImportFileError(
                _("The workbook is damaged and cannot be read past row %(row)s.") % {"row": number}
            ) from exc
        if self._path in self._archive.cut:
            self._stopped_at_limit()

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
        except ImportFileError:
            raise
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
