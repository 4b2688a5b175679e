"""The grade distribution of a cycle (the team's, on the review): the counts, asked with the review's
other counts in one query, and the chart, drawn by crm.common.charts (server-side SVG, no JavaScript,
no CDN)."""

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from appraisal.models import AppraisalStatus, Grade
from crm.common.charts import Bar, bar_chart

NOT_GRADED = "none"


@dataclass(frozen=True)
class GradeCount:
    grade: str  # a Grade value, or NOT_GRADED
    label: str
    count: int


def review_counts(shown=None) -> dict:
    """Aggregates over the team, asked in one query: the team, those under review, each grade and
    the ungraded, and the rows `shown` (a filtered queryset of the team; the whole team if None)."""
    counts = {
        "team": Count("pk"),
        "in_review": Count("pk", filter=Q(status=AppraisalStatus.REVIEW)),
        "shown": Count("pk", filter=Q(pk__in=shown.values("pk"))) if shown is not None else Count("pk"),
        f"grade_{NOT_GRADED}": Count("pk", filter=Q(grade="")),
    }
    counts.update({f"grade_{value}": Count("pk", filter=Q(grade=value)) for value in Grade.values})
    return counts


def grade_counts(counts: dict) -> list[GradeCount]:
    """The grades from best to weakest, then those without a grade yet, from `review_counts`."""
    rows = [GradeCount(value, str(label), counts[f"grade_{value}"]) for value, label in Grade.choices]
    return [
        *rows,
        GradeCount(NOT_GRADED, pgettext("appraisal grade", "Not graded"), counts[f"grade_{NOT_GRADED}"]),
    ]


def grade_chart(rows: list[GradeCount]) -> SafeString:
    """One bar per grade, best to weakest, then the ungraded; nothing when there is no appraisal."""
    total = sum(row.count for row in rows)
    if not total:
        return SafeString("")
    bars = [
        Bar(
            row.label,
            row.count,
            _("%(grade)s: %(count)d (%(share)d%%)")
            % {"grade": row.label, "count": row.count, "share": round(100 * row.count / total)},
        )
        for row in rows
    ]
    title = _("Grade distribution: %(total)d appraisals") % {"total": total}
    return bar_chart(bars, title=title, unit=pgettext("chart unit", "appraisals"), max_labels=len(bars))
