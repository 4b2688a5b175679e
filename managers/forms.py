"""The team page's filters (GET)."""

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import Station
from managers.models import Role


class TeamFilterForm(forms.Form):
    """Every field is optional; an invalid value is reported on its field and ignored."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("Name or employee number"), "type": "search"}),
    )
    station = forms.ModelChoiceField(
        label=_("Supply station"),
        required=False,
        queryset=Station.objects.order_by("code"),
        empty_label=_("All stations"),
    )
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("All roles")), *Role.choices])
    active = forms.TypedChoiceField(
        label=pgettext_lazy("manager", "Active"),
        required=False,
        choices=[
            ("", _("Active and inactive")),
            ("1", pgettext_lazy("manager", "Active")),
            ("0", pgettext_lazy("manager", "Inactive")),
        ],
        coerce=lambda value: value == "1",
        empty_value=None,
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    @property
    def is_filtered(self) -> bool:
        """Whether any filter beyond the search box holds a valid value (the page opens them)."""
        data = getattr(self, "cleaned_data", {})
        return bool(data.get("station") or data.get("role") or data.get("active") is not None)

    def filter(self, managers: QuerySet) -> QuerySet:
        """`managers` narrowed by every valid filter; call after is_valid()."""
        data = getattr(self, "cleaned_data", {})
        if data.get("station"):
            managers = managers.filter(station=data["station"])
        if data.get("role"):
            managers = managers.filter(role=data["role"])
        if data.get("active") is not None:
            managers = managers.filter(active=data["active"])
        text = (data.get("q") or "").strip()
        if text:
            managers = managers.filter(
                Q(employee_no__icontains=text)
                | Q(user__full_name__icontains=text)
                | Q(user__username__icontains=text)
            )
        return managers
