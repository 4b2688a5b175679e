"""The customer list's filters (GET)."""

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from crm.common.scopes import scope_for
from customers.models import Category, Importance, Station, Status, Tier


def _with_all(label, choices):
    return [("", label), *choices]


class ManagerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.display_name


class CustomerFilterForm(forms.Form):
    """Every field is optional; an invalid value is reported on its field and ignored."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("Account number, name or address"), "type": "search"}),
    )
    tier = forms.ChoiceField(label=_("Tier"), required=False, choices=_with_all(_("All tiers"), Tier.choices))
    station = forms.ModelChoiceField(
        label=_("Supply station"),
        required=False,
        queryset=Station.objects.order_by("code"),
        empty_label=_("All stations"),
    )
    category = forms.ChoiceField(
        label=_("Category"), required=False, choices=_with_all(_("All categories"), Category.choices)
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=_with_all(_("All statuses"), Status.choices)
    )
    importance = forms.ChoiceField(
        label=_("Importance"), required=False, choices=_with_all(_("Any importance"), Importance.choices)
    )
    manager = ManagerChoiceField(
        label=_("Manager"),
        required=False,
        queryset=get_user_model().objects.none(),
        empty_label=_("All managers"),
    )

    EXACT_FILTERS = ("tier", "station", "category", "status", "importance", "manager")

    def __init__(self, *args, user, offer_manager: bool, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if offer_manager:
            self.fields["manager"].queryset = managers_in_scope(user)
        else:
            del self.fields["manager"]

    @property
    def is_filtered(self) -> bool:
        """Whether any filter beyond the search box holds a valid value (the page opens them)."""
        data = getattr(self, "cleaned_data", {})
        return any(data.get(name) for name in self.EXACT_FILTERS)

    def filter(self, customers: QuerySet) -> QuerySet:
        """`customers` narrowed by every valid filter; call after is_valid()."""
        data = getattr(self, "cleaned_data", {})
        for name in self.EXACT_FILTERS:
            if name in self.fields and data.get(name):
                customers = customers.filter(**{name: data[name]})
        text = (data.get("q") or "").strip()
        if text:
            customers = customers.filter(
                Q(account_no__icontains=text) | Q(name__icontains=text) | Q(address__icontains=text)
            )
        return customers


def managers_in_scope(user) -> QuerySet:
    """Users in the user's scope who hold a manager profile (the profile's key is the user id).
    Reached through the reverse relation's name so that customers does not import managers."""
    users = get_user_model().objects.filter(manager_profile__isnull=False)
    scope = scope_for(user)
    if not scope.sees_all:
        users = users.filter(pk__in=scope.user_ids)
    return users.order_by("full_name", "username")
