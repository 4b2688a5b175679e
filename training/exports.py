"""The compliance table as an XLSX workbook (openpyxl, write-only: memory stays flat)."""

from io import BytesIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from training.models import Category
from training.selectors import ComplianceRow


def compliance_headers() -> list[str]:
    return [
        _("Employee number"),
        _("Manager"),
        _("Supply station"),
        _("Role"),
        _("Required courses"),
        _("Passed"),
        _("Qualified"),
        *[_("Hours: %(category)s") % {"category": label} for _value, label in Category.choices],
        _("Hours in total"),
        _("Missing courses"),
    ]


def compliance_workbook(rows: list[ComplianceRow], *, year: int) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Training %(year)s") % {"year": year})
    bold = Font(bold=True)
    header = []
    for title in compliance_headers():
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        manager = row.manager
        sheet.append(
            [
                manager.employee_no,
                manager.name,
                manager.station.name,
                manager.get_role_display(),
                len(row.required),
                len(row.passed),
                _("Yes") if row.qualified else _("No"),
                *[float(row.hours[value]) for value in Category.values],
                float(row.hours_total),
                "; ".join(course.title for course in row.missing),
            ]
        )
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
