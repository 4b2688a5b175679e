"""The team page's filters (GET): the API's ManagerFilter, shown on the page."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.common.filters import PageFilterSet, text_search
from customers.models import Station
from managers.api import MANAGER_SEARCH_FIELDS, ManagerFilter


class TeamFilter(PageFilterSet, ManagerFilter):
    """The API's manager filters on the team page, with its search box. The page offers the stations
    as a list to choose from: the API takes an id, and one it does not know matches nothing; here it
    is an error on the field. The API's other filters are not on the page."""

    q = text_search(
        MANAGER_SEARCH_FIELDS,
        label=_("Search"),
        widget=forms.TextInput(attrs={"placeholder": _("Name or employee number"), "type": "search"}),
    )
    station = django_filters.ModelChoiceFilter(queryset=Station.objects.order_by("code"))
    supervisor = None

    labels = {
        "station": (_("Supply station"), _("All stations")),
        "role": (_("Role"), _("All roles")),
        "active": (pgettext_lazy("manager", "Active"),),
    }

    class Meta(ManagerFilter.Meta):
        fields = ["station", "role", "active"]

    def present(self, fields: dict) -> None:
        # The API's yes/no filter, in the page's words (it reads 1/0 and true/false alike).
        fields["active"].widget.choices = [
            ("", _("Active and inactive")),
            ("true", pgettext_lazy("manager", "Active")),
            ("false", pgettext_lazy("manager", "Inactive")),
        ]
