"""What the importers share: a data row of the file, a rejected cell, and turning a row's cells into
values by field."""

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from customers.imports.columns import ColumnMap
from customers.imports.readers import FORMULA_WITHOUT_RESULT, MERGED, ExcelError, Table


@dataclass
class SourceRow:
    number: int  # as the user sees it: the header is row 1 (or wherever it stands)
    values: dict  # field -> cell value (None when empty)
    problems: dict[str, str] = field(default_factory=dict)  # field -> why its cell is unusable
    merged: set[str] = field(default_factory=set)  # fields whose empty cell lies under a merge


@dataclass(frozen=True)
class Rejection:
    row: int
    account_no: str
    field: str  # the column as the user's file names it
    message: str


def source_rows(table: Table, rows: Iterator[tuple[int, tuple]], columns: ColumnMap) -> Iterator[SourceRow]:
    """The data rows after the header; rows with no value in any column we read are skipped."""
    for number, values in rows:
        record: dict = {}
        problems: dict[str, str] = {}
        merged: set[str] = set()
        width = len(values)
        for name, column in columns.fields.items():
            value = values[column] if column < width else None
            if isinstance(value, ExcelError):
                problems[name] = _("The cell holds the Excel error %(code)s.") % {"code": value.code}
                value = None
            elif value is None:
                note = table.note(number, column)
                if note == FORMULA_WITHOUT_RESULT:
                    problems[name] = _(
                        "The cell holds a formula whose result was never saved: open the file in "
                        "Excel, save it, and upload it again (or paste the values)."
                    )
                elif note == MERGED:
                    merged.add(name)
            record[name] = value
        if problems or any(value is not None for value in record.values()):
            yield SourceRow(number=number, values=record, problems=problems, merged=merged)


def with_cell_notes(row: SourceRow, errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """A row's errors with what the cells themselves say: an unusable cell's reason replaces the
    errors about its field, and an empty cell under a merged range says so."""
    errors = dict(errors)
    for name, problem in row.problems.items():
        errors[name] = [problem]
    for name in row.merged:
        if name in errors and name not in row.problems:
            hint = _("The cell is part of merged cells: every row needs its own value.")
            errors[name] = [f"{message} {hint}" for message in errors[name]]
    return errors


def rejections_for(
    row_number: int, account_no: str, errors: dict[str, list[str]], columns: ColumnMap
) -> list[Rejection]:
    return [
        Rejection(
            row=row_number,
            account_no=(account_no or "")[:100],
            field=columns.label(name)[:50] if name != "non_field_errors" else "",
            message=str(message),
        )
        for name, messages in errors.items()
        for message in messages
    ]
