"""Guards on an XLSX workbook, a zip archive of XML parts, before and while openpyxl reads it.

`check_packing` refuses, before anything is unpacked, a workbook of more than MAX_PARTS parts (read
from the zip's end record) or one that unpacks to far more than any export: more than
IMPORT_MAX_FILE_BYTES x MAX_UNPACK_RATIO in all, or more than MAX_PACKING_RATIO times its size, as
a whole or part by part. A real export packs some 5-15 to one; a sheet of millions of empty rows
packs several hundred to one. The sizes are those the zip's directory declares: zipfile never
unpacks a part beyond its declared size (and a part that lies fails its checksum), so they bound
what can be read.

`GuardedArchive` is the zip as openpyxl reads it. Every part it opens streams through a
`_SheetView`, which works on the bytes as they pass (bytes.find and count, holding none of them):
- a part in UTF-16 or with a DTD is refused (Excel writes neither; they would hide tags from the
  counting, or let entities expand into rows); a part whose root is not a worksheet passes as is;
- it counts the sheet's rows and, after `row_limit` of them, ends the sheet's XML cleanly, so
  openpyxl reads no further (`cut` names the parts it ended);
- it gives a sheet without <dimension> an empty one, because openpyxl, opening a workbook, reads
  every such sheet to its end looking for one (`undimensioned` names those parts), and ends a
  read at the <dimension>, so that opening parses no row;
- it refuses a row of more than MAX_ROW_BYTES of XML before openpyxl builds it in memory, a sheet
  whose XML before its rows is larger than any real one, and rows spelled with a tag prefix other
  than their <sheetData>'s (no real workbook writes one; they would escape the counting)."""

import re
import zipfile

from django.conf import settings
from django.utils.translation import gettext as _

from customers.imports.errors import ImportFileError

MAX_UNPACK_RATIO = 30  # x IMPORT_MAX_FILE_BYTES: the most a workbook may unpack to in all
MAX_PACKING_RATIO = 100  # unpacked : packed, for the workbook and for each of its parts
PACKING_FLOOR = 1 << 20  # a part (or a workbook) unpacking to less is too small to be a bomb
MAX_ROW_BYTES = 2 << 20  # a row of an export is a few KB; Excel's longest cells make some 100 KB
MAX_HEAD_BYTES = 4 << 20  # XML of a sheet before its rows: views, column widths (16,384 at most)
MAX_PARTS = 1000  # a workbook of 255 sheets has some 520 parts
READ_BYTES = 256 << 10
_HOLD_BYTES = 256  # a tag name cut by a read is kept for the next one when its "<" is this close
_MAX_PREFIX = 32

_ROOT_RE = re.compile(rb"<([^\s<>/!?]+)[\s/>]")
_HEAD_RE = re.compile(rb"<(?:([^\s<>/!?:]+):)?(dimension|sheetData)[\s/>]")
_ANY_ROW_RE = re.compile(rb"<(?:([^\s<>/!?:]+):)?row[\s/>]")
_ROOT, _HEAD, _ROWS, _TAIL, _DONE = range(5)


def check_packing(fileobj) -> None:
    """Refuse a workbook that unpacks to far more than an export would, reading only its directory."""
    size = fileobj.seek(0, 2)
    try:
        # The count of parts, from the zip's end record, before zipfile reads the directory of
        # every part (in Python, a million of them would hold the request for seconds).
        # (zipfile's own reader of the end record: private, but there since Python 2)
        end = zipfile._EndRecData(fileobj)
        if end is not None and end[zipfile._ECD_ENTRIES_TOTAL] > MAX_PARTS:
            raise ImportFileError(
                _("The workbook has %(parts)s parts; no export has that many, so it is refused.")
                % {"parts": f"{end[zipfile._ECD_ENTRIES_TOTAL]:,}"}
            )
        fileobj.seek(0)
        with zipfile.ZipFile(fileobj) as archive:
            parts = archive.infolist()
    except ImportFileError:
        raise
    except Exception as exc:  # zipfile raises BadZipFile, OSError, ValueError, EOFError ... alike
        raise ImportFileError(_("The file is not a valid XLSX workbook.")) from exc
    finally:
        fileobj.seek(0)
    unpacked = sum(part.file_size for part in parts)
    if unpacked > settings.IMPORT_MAX_FILE_BYTES * MAX_UNPACK_RATIO:
        raise ImportFileError(_("The workbook unpacks to far more data than an export holds; it is refused."))
    if unpacked > PACKING_FLOOR and unpacked > size * MAX_PACKING_RATIO:
        raise ImportFileError(
            _(
                "The workbook unpacks to %(ratio)s times its size; no export is packed that "
                "tightly, so it is refused."
            )
            % {"ratio": f"{unpacked // max(size, 1):,}"}
        )
    for part in parts:
        if part.file_size > PACKING_FLOOR and part.file_size > part.compress_size * MAX_PACKING_RATIO:
            raise ImportFileError(
                _(
                    "The part “%(part)s” of the workbook unpacks to %(ratio)s times its packed "
                    "size; no export is packed that tightly, so it is refused."
                )
                % {"part": part.filename[:100], "ratio": f"{part.file_size // max(part.compress_size, 1):,}"}
            )


class GuardedArchive(zipfile.ZipFile):
    """The workbook's zip, whose XML parts openpyxl reads through a `_SheetView`."""

    def __init__(self, file, *, row_limit: int) -> None:
        super().__init__(file)
        self.row_limit = row_limit
        self.cut: set[str] = set()
        self.undimensioned: set[str] = set()

    def open(self, name, mode="r", pwd=None, **kwargs):
        part = super().open(name, mode, pwd, **kwargs)
        if mode != "r":
            return part
        # Every part openpyxl reads, whatever its name: a sheet is known by its root element.
        filename = name.filename if isinstance(name, zipfile.ZipInfo) else name
        return _SheetView(part, name=filename, archive=self)


class _SheetView:
    """A part of the archive as openpyxl reads it; parts other than worksheets pass unchanged."""

    def __init__(self, raw, *, name: str, archive: GuardedArchive) -> None:
        self._raw = raw
        self._name = name
        self._archive = archive
        self._out = bytearray()
        # Reads stop once at the end of the <dimension> tag: openpyxl, opening the workbook, parses
        # each sheet only up to it, and would otherwise parse the rest of what one read returned.
        self._boundary: int | None = None
        self._held = b""
        self._eof = False
        self._state = _ROOT
        self._root = b""  # the root element's name as written, to close it after a cut
        self._prefix = b""  # "x:" when the rows are <x:row>
        self._head_bytes = 0
        self._dimension = False
        self._dimension_end: int | None = None  # where the <dimension> tag ends in the piece given
        self.rows = 0
        self._row_bytes = -1  # bytes of the current row so far; -1 before the first row

    # -------------------------------------------------------- file protocol
    def read(self, size: int = -1) -> bytes:
        whole = size is None or size < 0
        while not self._eof and (whole or (self._boundary is None and len(self._out) < size)):
            self._fill()
        end = len(self._out) if whole else min(size, len(self._out))
        if self._boundary is not None:
            end = len(self._out) if whole else min(end, self._boundary)
            self._boundary = None if whole or end >= self._boundary else self._boundary - end
        data = bytes(self._out[:end])
        del self._out[:end]
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -------------------------------------------------------- filtering
    def _fill(self) -> None:
        chunk = self._raw.read(READ_BYTES)
        data = self._held + chunk
        self._held = b""
        if chunk:
            # Each piece ends before a "<" near its end, so that no tag is cut in two.
            lt = data.rfind(b"<")
            if lt != -1 and len(data) - lt < _HOLD_BYTES:
                data, self._held = data[:lt], data[lt:]
        else:
            self._eof = True
        before = len(self._out)
        self._out += self._piece(data)
        if self._dimension_end is not None:
            self._boundary, self._dimension_end = before + self._dimension_end, None

    def _piece(self, data: bytes) -> bytes:
        """The piece as openpyxl gets it: unchanged, or with a <dimension> put before the rows, or
        ended (and the sheet closed) before the first row beyond the limit."""
        at = 0
        insert = cut = None
        while at < len(data) and cut is None:
            if self._state == _ROOT:
                at = self._find_root(data, at)
            elif self._state == _HEAD:
                at, insert = self._find_rows(data, at)
            elif self._state == _ROWS:
                at, cut = self._count_rows(data, at)
            else:
                break
        if cut is not None:
            data = data[:cut]
        if insert is not None:
            data = data[: insert[0]] + insert[1] + data[insert[0] :]
            self._dimension_end = insert[0] + len(insert[1])
        if cut is not None:
            data += b"</" + self._prefix + b"sheetData></" + self._root + b">"
        return data

    def _find_root(self, data: bytes, at: int) -> int:
        match = _ROOT_RE.search(data, at)
        before = data[at : match.start() if match else len(data)]
        # Excel writes its parts in UTF-8 and without a DTD: a part in UTF-16 would hide its tags
        # from the counting, and entities declared in a DTD could expand to rows.
        if b"\x00" in before or b"<!DOCTYPE" in before or b"<!ENTITY" in before:
            raise ImportFileError(_("The workbook is damaged and cannot be read."))
        if match is None:
            self._grow_head(len(data) - at)
            return len(data)
        self._root = match.group(1)
        self._state = _HEAD if self._root.rsplit(b":", 1)[-1] == b"worksheet" else _TAIL
        return match.end()

    def _find_rows(self, data: bytes, at: int) -> tuple[int, tuple[int, bytes] | None]:
        for match in _HEAD_RE.finditer(data, at):
            if match.group(2) == b"dimension":
                self._dimension = True
                close = data.find(b">", match.end() - 1)
                self._dimension_end = close + 1 if close != -1 else None
                continue
            prefix = match.group(1) or b""
            if len(prefix) > _MAX_PREFIX:
                raise ImportFileError(_("The workbook is damaged and cannot be read."))
            self._prefix = prefix + b":" if prefix else b""
            self._state = _ROWS
            if self._dimension:
                return match.end(), None
            self._archive.undimensioned.add(self._name)
            return match.end(), (match.start(), b"<" + self._prefix + b'dimension ref="A1"/>')
        self._grow_head(len(data) - at)
        return len(data), None

    def _grow_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES:
            raise ImportFileError(_("The workbook is damaged and cannot be read."))

    def _count_rows(self, data: bytes, at: int) -> tuple[int, int | None]:
        """Count the rows starting in data[at:] up to the end of <sheetData>; returns where to go
        on and, past the limit, where to end the sheet."""
        row_tag = b"<" + self._prefix + b"row"
        end = data.find(b"</" + self._prefix + b"sheetData", at)
        stop = len(data) if end == -1 else end
        count = data.count(row_tag, at, stop)
        self._refuse_other_prefixes(data, at, stop, count)
        if count:
            first = data.find(row_tag, at, stop)
            self._grow_row(first - at)  # the row under way ends where the next one starts
            room = self._archive.row_limit - self.rows
            if count > room:
                position = first
                for _skip in range(room):
                    position = data.find(row_tag, position + 1, stop)
                self.rows += room
                self._archive.cut.add(self._name)
                self._state = _DONE
                self._eof = True
                return len(data), position
            self.rows += count
            self._row_bytes = 0
            at = data.rfind(row_tag, at, stop)
        self._grow_row(stop - at)
        if end != -1:
            self._state = _TAIL
            self._row_bytes = -1
        return stop, None

    def _refuse_other_prefixes(self, data: bytes, at: int, stop: int, count: int) -> None:
        """A row spelled with a prefix other than its <sheetData>'s would not be counted; no real
        workbook writes one, so one is refused. Looked for only when cheap counts hint at it."""
        prefixed = data.count(b":row", at, stop)
        if self._prefix:
            ours = count + data.count(b"</" + self._prefix + b"row", at, stop)
            suspect = prefixed > ours or data.count(b"<row", at, stop)
        else:
            suspect = prefixed
        if not suspect:
            return
        for match in _ANY_ROW_RE.finditer(data, at, stop):
            if (match.group(1) or b"") + (b":" if match.group(1) else b"") != self._prefix:
                raise ImportFileError(_("The workbook is damaged and cannot be read."))

    def _grow_row(self, size: int) -> None:
        if self._row_bytes < 0:
            return
        self._row_bytes += size
        if self._row_bytes > MAX_ROW_BYTES:
            raise ImportFileError(
                _(
                    "Row %(row)s of the sheet holds more than %(size)s MB of data; no export has "
                    "such rows, so the file is refused."
                )
                % {"row": self.rows, "size": MAX_ROW_BYTES >> 20}
            )
