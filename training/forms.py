"""Forms of the training pages: the compliance report's filters, a session's results in one go, and the
course form of the admin (with the roles that must pass the course)."""

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.common.filters import PageFilterSet
from managers.models import Manager, Role
from training.api import ComplianceFilter
from training.models import Course
from training.selectors import compliance_filter_choices


def _stations(request):
    return compliance_filter_choices(user=request.user)[0]


def _leads(request):
    return compliance_filter_choices(user=request.user)[1]


class _Checkbox(django_filters.Filter):
    field_class = forms.BooleanField


class ComplianceReportFilter(PageFilterSet, ComplianceFilter):
    """The API's compliance query on the report page and its XLSX. The page offers the stations and
    the team leads in the user's view as lists to choose from (the API takes ids), and a box to keep
    only the managers with gaps (`gaps_only`: it narrows the report's rows, not the managers)."""

    station = django_filters.ModelChoiceFilter(queryset=_stations)
    team = django_filters.ModelChoiceFilter(queryset=_leads, method="in_team")
    gaps = _Checkbox(label=_("Only managers with gaps"), method="of_the_report")

    labels = {
        "year": (_("Year"),),
        "station": (_("Supply station"), _("All stations")),
        "team": (_("Team of"), _("Everyone I see")),
    }

    def present(self, fields: dict) -> None:
        fields["team"].label_from_instance = lambda user: user.display_name
        fields["year"].widget.attrs.update({"inputmode": "numeric", "placeholder": timezone.localdate().year})

    @property
    def gaps_only(self) -> bool:
        self.form.is_valid()
        return bool(self.form.cleaned_data.get("gaps"))


class SessionCourseForm(forms.Form):
    """Step one of recording a session: which course (and, for a large scope, which station)."""

    course = forms.ModelChoiceField(label=_("Course"), queryset=Course.objects.order_by("category", "code"))
    station = forms.ModelChoiceField(
        label=_("Supply station"), required=False, queryset=None, empty_label=_("All stations")
    )

    def __init__(self, *args, stations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = stations


class SessionResultsForm(forms.Form):
    """Step two: the session's date, place and trainer, and for each manager on the roster an
    "attended" box and a score. Only the roster's managers are read from the POST."""

    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    place = forms.CharField(label=_("Place"), max_length=200)
    trainer = forms.CharField(label=_("Trainer"), max_length=100)

    def __init__(self, *args, course: Course, roster: list[Manager], allow_empty: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.course = course
        self.roster = roster
        self.allow_empty = allow_empty  # editing a session may untick everyone
        for manager in roster:
            name = {"name": manager.name}
            self.fields[f"attended_{manager.pk}"] = forms.BooleanField(
                label=_("Attended"),
                required=False,
                widget=forms.CheckboxInput(attrs={"aria-label": _("%(name)s attended") % name}),
            )
            self.fields[f"score_{manager.pk}"] = forms.IntegerField(
                label=_("Score"),
                required=False,
                min_value=0,
                max_value=100,
                widget=forms.NumberInput(
                    attrs={
                        "inputmode": "numeric",
                        "min": 0,
                        "max": 100,
                        "step": 1,
                        "aria-label": _("Score of %(name)s") % name,
                    }
                ),
            )

    def rows(self):
        """(manager, attended bound field, score bound field) per roster manager, for the template."""
        return [
            (manager, self[f"attended_{manager.pk}"], self[f"score_{manager.pk}"]) for manager in self.roster
        ]

    def clean_date(self):
        date = self.cleaned_data["date"]
        if date > timezone.localdate():
            raise forms.ValidationError(_("Results can only be recorded for a session that has taken place."))
        return date

    def clean(self):
        cleaned = super().clean()
        for manager in self.roster:
            attended = cleaned.get(f"attended_{manager.pk}")
            score_field = f"score_{manager.pk}"
            score = cleaned.get(score_field)
            if score_field in self.errors:
                continue
            if attended and score is None:
                self.add_error(score_field, _("Enter the score of %(name)s.") % {"name": manager.name})
            elif not attended and score is not None:
                self.add_error(
                    score_field,
                    _("%(name)s has a score but is not ticked as attended.") % {"name": manager.name},
                )
        if not self.errors and not self.allow_empty and not self.scores():
            raise forms.ValidationError(_("Tick at least one manager who attended."))
        return cleaned

    def scores(self) -> dict[int, int]:
        """Manager id -> score of everyone ticked as attended (after is_valid())."""
        data = self.cleaned_data
        return {
            m.pk: data[f"score_{m.pk}"]
            for m in self.roster
            if data.get(f"attended_{m.pk}") and data.get(f"score_{m.pk}") is not None
        }


class CourseAdminForm(forms.ModelForm):
    required_for_roles = forms.MultipleChoiceField(
        label=_("Required for roles"),
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Managers of these roles must pass the course to be qualified."),
    )

    class Meta:
        model = Course
        fields = ["code", "title", "category", "delivery", "hours", "pass_mark"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["required_for_roles"].initial = self.instance.required_for_roles
