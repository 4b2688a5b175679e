"""The review's filters and sort (GET, so that a filtered view can be bookmarked and paged): grade,
status, flagged (a rater deviates), station, a name search, and the order of the rows. Every filter
and order is on a column of the appraisal or its manager (grade, status and the flag are stored by
appraisal.results), so a page costs the same whatever the team's size."""

import django_filters
from django import forms
from django.db.models import Case, F, IntegerField, Value, When
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appraisal.models import AppraisalStatus, Grade
from appraisal.selectors import REVIEW_ORDER
from crm.common.filters import PageFilterSet, text_search
from customers.models import Station

# The workflow's order, so that "by status" reads draft -> finalized rather than alphabetically.
STATUS_RANK = Case(
    *(When(status=value, then=Value(rank)) for rank, value in enumerate(AppraisalStatus.values)),
    default=Value(len(AppraisalStatus.values)),
    output_field=IntegerField(),
)
SORTS = {
    "station": (_("Station, then employee number"), ()),
    "grade": (_("Grade, best first"), (F("score").desc(nulls_last=True),)),
    "-grade": (_("Grade, weakest first"), (F("score").asc(nulls_last=True),)),
    "status": (_("Status, in workflow order"), (STATUS_RANK,)),
    "flagged": (_("Flagged first"), (F("flagged").desc(),)),
}


def _stations() -> list[tuple[int, str]]:
    return list(Station.objects.order_by("code").values_list("pk", "name"))


class ReviewFilter(PageFilterSet, django_filters.FilterSet):
    """Filters of the supervisor's review, on `selectors.review_appraisals`. Every station is offered,
    as on the other list pages: stations are reference data, and asking which ones the team covers
    cost a scan of the team's appraisals."""

    q = text_search(
        ["manager__user__full_name", "manager__user__username", "manager__employee_no"],
        label=_("Search"),
        widget=forms.TextInput(attrs={"placeholder": _("Name or employee number"), "type": "search"}),
    )
    grade = django_filters.ChoiceFilter(choices=Grade.choices, label=_("Grade"), empty_label=_("All grades"))
    status = django_filters.ChoiceFilter(
        choices=AppraisalStatus.choices, label=_("Status"), empty_label=_("All statuses")
    )
    flagged = django_filters.ChoiceFilter(
        choices=[("yes", _("A rater deviates > 20")), ("no", _("No rater deviates"))],
        method="filter_flagged",
        label=_("Flagged"),
        empty_label=pgettext_lazy("flagged or not", "All"),
    )
    # Plain choices read with one ordinary query: a ModelChoiceFilter iterates its queryset through a
    # server-side cursor on PostgreSQL (DECLARE, FETCH, CLOSE: three round trips for three rows).
    station = django_filters.ChoiceFilter(
        field_name="manager__station",
        choices=_stations,
        label=_("Supply station"),
        empty_label=_("All stations"),
    )
    sort = django_filters.ChoiceFilter(
        choices=[(key, label) for key, (label, _order) in SORTS.items()],
        method="sort_by",
        label=_("Sort by"),
        empty_label=None,
    )

    def filter_flagged(self, queryset, name, value):
        return queryset.filter(flagged=value == "yes")

    def sort_by(self, queryset, name, value):
        return queryset.order_by(*SORTS[value][1], *REVIEW_ORDER)

    @property
    def narrows(self) -> bool:
        """Whether a filter or the search holds a valid value: the rows shown are then fewer than the
        team (the sort alone changes nothing but their order)."""
        data = getattr(self.form, "cleaned_data", {})
        return any(
            data.get(name) not in (None, "") for name in ("q", "grade", "status", "flagged", "station")
        )
