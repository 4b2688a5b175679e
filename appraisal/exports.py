"""The review table of a year as an XLSX workbook (crm.common.exports writes it)."""

from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from appraisal import page_data
from appraisal.models import AppraisalCycle, Grade, RaterKind
from appraisal.selectors import ReviewRow
from crm.common.exports import table_workbook


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
