"""The forms of the notice and committee pages."""

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Station
from notices.models import Feeder, NoticeKind, branches_of


class NoticeForm(forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=NoticeKind.choices)
    starts_at = forms.DateTimeField(
        label=_("starts at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    ends_at = forms.DateTimeField(
        label=_("ends at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    reason = forms.CharField(label=_("reason"), max_length=300)
    feeders = forms.ModelMultipleChoiceField(
        label=_("feeders"), queryset=Feeder.objects.none(), required=False
    )
    stations = forms.ModelMultipleChoiceField(
        label=_("stations"), queryset=Station.objects.none(), required=False
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        branches = branches_of(user)
        feeders, stations = Feeder.objects.select_related("station"), Station.objects.all()
        if branches is not None:
            feeders = feeders.filter(station__branch_id__in=branches)
            stations = stations.filter(branch_id__in=branches)
        self.fields["feeders"].queryset = feeders
        self.fields["stations"].queryset = stations


class PublishForm(forms.Form):
    reclassify_as_temporary = forms.BooleanField(
        label=_("Reclassify as temporary maintenance"), required=False
    )
    reason = forms.CharField(label=_("reason for reclassification"), max_length=300, required=False)


class AcknowledgeForm(forms.Form):
    acknowledged_by = forms.CharField(label=_("acknowledged by"), max_length=100)


class MinutesForm(forms.Form):
    attendees = forms.CharField(
        label=_("attendees"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    minutes = forms.CharField(label=_("minutes"), widget=forms.Textarea(attrs={"rows": 6}), required=False)


class NeedForm(forms.Form):
    customer = forms.TypedChoiceField(label=_("customer"), coerce=int)
    kind = forms.ChoiceField(label=_("kind"))
    description = forms.CharField(label=_("description"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, customers, **kwargs):
        from service.models import SUBTYPES, Kind, Subtype

        super().__init__(*args, **kwargs)
        self.fields["customer"].choices = [(c.pk, c.name) for c in customers]
        # a kind that takes a subtype (capacity change: increase or decrease) is offered once per
        # subtype, "kind:subtype", so the request opens complete
        self.fields["kind"].choices = [
            choice
            for k, label in Kind.choices
            if k in ("consultation", "suggestion", "capacity_change", "fault_repair")
            for choice in (
                [(f"{k}:{sub}", f"{label} · {Subtype(sub).label}") for sub in SUBTYPES[k]]
                if k in SUBTYPES
                else [(k, label)]
            )
        ]

    def clean(self):
        data = super().clean()
        kind, _sep, subtype = data.get("kind", "").partition(":")
        data["kind"], data["subtype"] = kind, subtype
        return data
