"""The customer list's filters (GET): the API's CustomerFilter, shown on the page."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from crm.accounts.roles import leads_a_team
from crm.common.filters import PageFilterSet, text_search
from crm.common.scopes import scope_for
from customers.api import CUSTOMER_SEARCH_FIELDS, CustomerFilter
from customers.models import Station


def managers_in_scope(user) -> QuerySet:
    """Users in the user's scope who hold a manager profile (the profile's key is the user id).
    Reached through the reverse relation's name so that customers does not import managers."""
    users = get_user_model().objects.filter(manager_profile__isnull=False)
    scope = scope_for(user)
    if not scope.sees_all:
        users = users.filter(pk__in=scope.user_ids)
    return users.order_by("full_name", "username")


class CustomerListFilter(PageFilterSet, CustomerFilter):
    """The API's customer filters on the list page, with its search box. The page offers the
    stations, and to those who lead a team the managers in their scope, as lists to choose from: the
    API takes an id, and one it does not know matches nothing; here it is an error on the field.
    The API's other filters are not on the page."""

    q = text_search(
        CUSTOMER_SEARCH_FIELDS,
        label=_("Search"),
        widget=forms.TextInput(attrs={"placeholder": _("Account number, name or address"), "type": "search"}),
    )
    station = django_filters.ModelChoiceFilter(queryset=Station.objects.order_by("code"))
    manager = django_filters.ModelChoiceFilter(queryset=lambda request: managers_in_scope(request.user))
    unassigned = None

    labels = {
        "tier": (_("Tier"), _("All tiers")),
        "station": (_("Supply station"), _("All stations")),
        "category": (_("Category"), _("All categories")),
        "status": (_("Status"), _("All statuses")),
        "importance": (_("Importance"), _("Any importance")),
        "manager": (_("Manager"), _("All managers")),
    }

    class Meta(CustomerFilter.Meta):
        fields = ["tier", "station", "category", "status", "importance", "manager"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not leads_a_team(self.request.user):
            del self.filters["manager"]

    def present(self, fields: dict) -> None:
        if "manager" in fields:
            fields["manager"].label_from_instance = lambda user: user.display_name
