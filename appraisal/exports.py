"""The review table of a year as an XLSX workbook.

`table_workbook` is the write-only pattern of training/exports.py (bold header row, rows appended,
memory flat) made generic: a title, headers and rows of plain values. training cannot import it
(appraisal sits above training), so moving both onto one helper in crm.common is left to a later
change."""

from collections.abc import Iterable
from decimal import Decimal
from io import BytesIO

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from appraisal import page_data
from appraisal.models import AppraisalCycle, Grade, RaterKind
from appraisal.selectors import ReviewRow


def table_workbook(*, title: str, headers: list[str], rows: Iterable[list]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])  # Excel's limit on a sheet name
    bold = Font(bold=True)
    header = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _number(value):
    """Decimals as numbers a spreadsheet can sum; None as an empty cell."""
    if value is None or value == "":
        return None
    try:
        return float(Decimal(str(value)))
    except ArithmeticError:
        return str(value)


def review_headers(metrics) -> list[str]:
    return [
        _("Employee number"),
        _("Manager"),
        _("Supply station"),
        _("Status"),
        *[f"{label} ({unit})" if unit else label for _key, label, unit in metrics],
        _("Evidence computed at"),
        *[str(label) for _value, label in RaterKind.choices],
        _("Kinds without a score (weight shared out)"),
        _("Final score"),
        _("Grade"),
        _("Reward suggestion"),
        _("Raters not scored"),
        _("Raters deviating more than 20 points"),
    ]


def review_workbook(rows: list[ReviewRow], *, cycle: AppraisalCycle) -> bytes:
    metrics = page_data.metric_columns()
    kinds = [value for value, _label in RaterKind.choices]

    def cells(row: ReviewRow) -> list:
        manager = row.manager
        computed = row.evidence_computed_at
        return [
            manager.employee_no,
            manager.user.display_name,
            manager.station.name,
            row.appraisal.get_status_display(),
            *[_number(row.evidence.get(key)) for key, _label, _unit in metrics],
            timezone.localtime(computed).strftime("%Y-%m-%d %H:%M") if computed else "",
            *[_number(row.kind_scores.get(kind)) for kind in kinds],
            ", ".join(str(RaterKind(kind).label) for kind in row.missing_kinds),
            _number(row.score),
            str(Grade(row.grade).label) if row.grade else "",
            row.reward,
            ", ".join(r.name for r in row.not_scored),
            ", ".join(r.name for r in row.deviating),
        ]

    return table_workbook(
        title=_("Appraisal %(year)s") % {"year": cycle.year},
        headers=review_headers(metrics),
        rows=(cells(row) for row in rows),
    )
