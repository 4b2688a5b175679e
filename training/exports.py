"""The compliance table as an XLSX workbook (crm.common.exports writes it)."""

from django.utils.translation import gettext as _

from crm.common.exports import table_workbook
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
    def cells(row: ComplianceRow) -> list:
        manager = row.manager
        return [
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

    return table_workbook(
        title=_("Training %(year)s") % {"year": year},
        headers=compliance_headers(),
        rows=(cells(row) for row in rows),
    )
