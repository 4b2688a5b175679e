"""Forms of the visit pages: the quick report (with follow-ups as a small formset) and the month picker."""

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.common import months
from visits.models import Channel, Department, FollowUpStatus, Trend


class ReportForm(forms.Form):
    visited_on = forms.DateField(
        label=_("Visited on"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.ON_SITE)
    people_met = forms.CharField(label=_("People met"), max_length=300, required=False)
    business_trend = forms.ChoiceField(label=_("Business trend"), choices=Trend.choices, initial=Trend.STABLE)
    needs = forms.CharField(
        label=_("Needs and problems"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    # Nothing is chosen in advance: a preselected score is what a hurried report keeps, and the
    # appraisal averages these scores.
    satisfaction = forms.TypedChoiceField(
        label=_("Satisfaction"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        widget=forms.RadioSelect,
        help_text=_("1 very dissatisfied, 5 very satisfied."),
        error_messages={"required": _("Choose the customer's satisfaction, from 1 to 5.")},
    )
    forecast_kwh_12m = forms.DecimalField(
        label=_("Forecast of the next 12 months (kWh)"),
        min_value=0,
        max_digits=16,
        decimal_places=2,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["visited_on"].initial = timezone.localdate()


class FollowUpForm(forms.Form):
    department = forms.ChoiceField(
        label=_("Department"), choices=[("", "—"), *Department.choices], required=False
    )
    action = forms.CharField(label=_("Action"), max_length=300, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=FollowUpStatus.choices, initial=FollowUpStatus.OPEN)

    def clean(self):
        data = super().clean()
        if data.get("action") and not data.get("department"):
            self.add_error("department", _("Choose the department that owns this action."))
        if data.get("department") and not data.get("action"):
            self.add_error("action", _("Say what is to be done."))
        return data


# As many follow-ups as the visit brought: a few empty rows, more added in the page (or by the "add"
# button posting back without JavaScript), a row removed by its DELETE box.
FollowUpFormSet = forms.formset_factory(FollowUpForm, extra=3, can_delete=True)


def follow_up_rows(formset) -> list[dict]:
    """What a posted formset holds, row by row, as initial values to draw it again unbound (the
    "add" button re-renders the form without judging it)."""
    return [{name: form[name].value() for name in form.fields} for form in formset.forms]


def parse_month(value: str | None, *, default: dt.date) -> dt.date:
    """`YYYY-MM` to the first day of that month; anything else, or a year outside 2000-2100 (the
    calendar offers nothing there), gives `default`."""
    try:
        month = months.parse(value or "", strict=True)
    except ValueError:
        return default
    return month if 2000 <= month.year <= 2100 else default
