"""Forms of the appraisal pages: a cycle with its criteria (administrators, while draft), panel seats,
a rater's scores, and the reason of a reopening. Sums are checked here as well as in the services so
that an error shows on the fields at fault rather than once at the top of the page."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appraisal.models import RaterKind
from crm.accounts.roles import INTEGRATION_CLIENT

RATER_WEIGHT_FIELDS = {
    RaterKind.SUPERVISOR: "supervisor_weight",
    RaterKind.CUSTOMER_REPRESENTATIVE: "customer_representative_weight",
    RaterKind.COLLABORATOR: "collaborator_weight",
}


def _percent(label):
    return forms.IntegerField(
        label=label, min_value=0, max_value=100, widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )


class CycleForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    supervisor_weight = _percent(_("Supervisor (%)"))
    customer_representative_weight = _percent(_("Customer representatives (%)"))
    collaborator_weight = _percent(_("Collaborating staff (%)"))
    link_valid_days = forms.IntegerField(
        label=_("Representative links valid for (days)"), min_value=1, max_value=365
    )

    def __init__(self, *args, year_fixed: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if year_fixed:  # a cycle keeps its year; only its weights change while it is a draft
            self.fields["year"].disabled = True

    def clean(self):
        data = super().clean()
        weights = [data.get(name) for name in RATER_WEIGHT_FIELDS.values()]
        if None not in weights and sum(weights) != 100:
            message = _("The rater weights add up to %(sum)s, not 100.") % {"sum": sum(weights)}
            for name in RATER_WEIGHT_FIELDS.values():
                self.add_error(name, message)
        return data

    def rater_weights(self) -> dict[str, int]:
        return {kind.value: self.cleaned_data[name] for kind, name in RATER_WEIGHT_FIELDS.items()}


class CriterionForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=40, required=False)
    name = forms.CharField(label=_("Criterion"), max_length=200, required=False)
    weight = forms.IntegerField(
        label=_("Weight (%)"),
        min_value=0,
        max_value=100,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def clean(self):
        data = super().clean()
        filled = [data.get("code"), data.get("name"), data.get("weight") is not None]
        if any(filled) and not all(filled):  # a row is all blank (ignored) or complete
            for name, value in zip(("code", "name", "weight"), filled, strict=True):
                if not value:
                    self.add_error(name, _("Fill in the code, the name and the weight, or none of them."))
        return data


class BaseCriteriaFormSet(forms.BaseFormSet):
    def criteria(self) -> list[dict]:
        return [
            {
                "code": f.cleaned_data["code"],
                "name": f.cleaned_data["name"],
                "weight": f.cleaned_data["weight"],
            }
            for f in self.forms
            if f.cleaned_data.get("code")
        ]

    def clean(self):
        if any(self.errors):
            return
        rows = [f for f in self.forms if f.cleaned_data.get("code")]
        codes = [f.cleaned_data["code"] for f in rows]
        for f in rows:
            if codes.count(f.cleaned_data["code"]) > 1:
                f.add_error("code", _("Each criterion needs its own code."))
        if not rows:
            raise forms.ValidationError(_("A cycle needs at least one criterion."))
        total = sum(f.cleaned_data["weight"] for f in rows)
        if total != 100:
            message = _("The criteria weights add up to %(sum)s, not 100.") % {"sum": total}
            for f in rows:
                f.add_error("weight", message)


CriteriaFormSet = forms.formset_factory(
    CriterionForm, formset=BaseCriteriaFormSet, extra=1, max_num=12, validate_max=True
)


class CollaboratorForm(forms.Form):
    user = forms.ModelChoiceField(label=_("Colleague"), queryset=None)

    def __init__(self, *args, appraisal, seated_user_ids, **kwargs):
        super().__init__(*args, **kwargs)
        # Any active member of staff may collaborate except the appraised manager, those already
        # on the panel and integration clients (systems, not people).
        self.fields["user"].queryset = (
            get_user_model()
            .objects.filter(is_active=True)
            .exclude(pk__in=[appraisal.manager_id, *seated_user_ids])
            .exclude(groups__name=INTEGRATION_CLIENT)
            .order_by("full_name", "username")
        )
        self.fields["user"].label_from_instance = lambda user: user.display_name


class RepresentativeForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    organisation = forms.CharField(label=_("Organisation"), max_length=200, required=False)


class ScoresForm(forms.Form):
    """A score (0-100) and a comment per criterion, for one seat. A customer representative must score
    every criterion (their link is spent by the submission); staff may save some and come back."""

    def __init__(self, *args, criteria, scores=None, require_all: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        current = scores or {}
        for criterion in self.criteria:
            mine = current.get(criterion.pk)
            self.fields[f"score_{criterion.code}"] = forms.IntegerField(
                label=criterion.name,
                min_value=0,
                max_value=100,
                required=require_all,
                initial=mine.score if mine else None,
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": 100}),
            )
            self.fields[f"comment_{criterion.code}"] = forms.CharField(
                label=_("Comment"),
                max_length=2000,
                required=False,
                initial=mine.comment if mine else "",
                widget=forms.Textarea(attrs={"rows": 2}),
            )

    def clean(self):
        data = super().clean()
        for criterion in self.criteria:
            score = f"score_{criterion.code}"
            # a score left empty is None in the cleaned data; one refused (120) is absent and already
            # carries its own error, which is the one to show
            if data.get(f"comment_{criterion.code}") and score in data and data[score] is None:
                self.add_error(score, _("Give a score to go with the comment."))
        return data

    def rows(self):
        """(criterion, score field, comment field) in the criteria's order."""
        return [(c, self[f"score_{c.code}"], self[f"comment_{c.code}"]) for c in self.criteria]

    def scores(self) -> list[dict]:
        return [
            {
                "criterion": c.code,
                "score": self.cleaned_data[f"score_{c.code}"],
                "comment": self.cleaned_data.get(f"comment_{c.code}", ""),
            }
            for c in self.criteria
            if self.cleaned_data.get(f"score_{c.code}") is not None
        ]


class ReopenForm(forms.Form):
    # The history record keeps 100 characters of a change reason.
    reason = forms.CharField(label=_("Reason for reopening"), max_length=100)


def default_year() -> int:
    """A cycle appraises a finished year: in January the year just ended, later the current one."""
    today = timezone.localdate()
    return today.year - 1 if today.month == 1 else today.year
