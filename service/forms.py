"""Forms of the one-stop service pages: a new request, the actions of a request's page, and the
filters of the manager's list. They only shape and check input; every rule lives in
service/services.py, whose ValidationError the views put back on these forms' fields."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.common.filters import PageFilterSet, text_search
from customers.models import Station
from service.filters import ServiceRequestFilter
from service.follow_ups import KIND_FOR_DEPARTMENT
from service.models import SUBTYPES, Kind, Source, Subtype

# A manager enters a request from these sources; 95598 tickets come over the API and a visit's
# follow-up brings its own source.
MANAGER_SOURCES = [Source.MANAGER, Source.COUNTER, Source.ONLINE, Source.COMMITTEE]


def _subtype_choices() -> list:
    """The subtypes grouped under their kind: the list offers each kind's own only."""
    groups = [
        (Kind(kind).label, [(value, Subtype(value).label) for value in values])
        for kind, values in SUBTYPES.items()
    ]
    return [("", pgettext_lazy("subtype", "(none)")), *groups]


class RequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of request"), choices=[("", "—"), *Kind.choices])
    subtype = forms.ChoiceField(label=_("Subtype"), choices=_subtype_choices, required=False)
    source = forms.ChoiceField(
        label=_("Source"),
        choices=[(s.value, s.label) for s in MANAGER_SOURCES],
        initial=Source.MANAGER,
        required=False,
    )
    description = forms.CharField(
        label=_("Description"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    account_no = forms.CharField(
        label=_("Customer's account number"),
        max_length=30,
        required=False,
        help_text=_("Leave empty for a new connection's applicant."),
    )
    applicant_name = forms.CharField(label=_("Applicant"), max_length=200, required=False)
    applicant_phone = forms.CharField(
        label=_("Applicant's phone"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    applicant_address = forms.CharField(label=_("Applicant's address"), max_length=300, required=False)
    capacity_kva = forms.DecimalField(
        label=_("Applied capacity (kVA)"),
        min_value=0,
        max_digits=10,
        decimal_places=1,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )
    voltage_kv = forms.DecimalField(
        label=_("Applied voltage (kV)"),
        min_value=0,
        max_digits=6,
        decimal_places=2,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )
    station = forms.ModelChoiceField(
        label=_("Supply station"), queryset=Station.objects.none(), required=False, empty_label="—"
    )

    def __init__(self, *args, customers, stations, customer=None, follow_up=None, **kwargs):
        """`customers` and `stations` are what the user may choose from (their scope); `customer` is
        the customer the page was opened for, `follow_up` the visit follow-up it comes from."""
        super().__init__(*args, **kwargs)
        self.label_suffix = ""
        self.customers = customers
        self.customer = self.page_customer = customer
        self.follow_up = follow_up
        self.fields["station"].queryset = stations
        if customer is not None:
            self.fields["account_no"].initial = customer.account_no
        if follow_up is not None:
            # what the department's follow-up asks for (service.follow_ups); "other": the manager says
            kind, subtype = KIND_FOR_DEPARTMENT.get(follow_up.department, ("", ""))
            self.fields["kind"].initial, self.fields["subtype"].initial = kind, subtype
            self.fields["description"].initial = follow_up.action

    def clean_account_no(self):
        account_no = self.cleaned_data["account_no"].strip()
        if not account_no:
            return ""
        customer = self.customers.filter(account_no=account_no).first()
        if customer is None:
            # the same answer for an unknown number and one outside the scope: nothing leaks
            raise forms.ValidationError(_("No customer of yours has this account number."))
        self.customer = customer
        return account_no

    def clean(self):
        data = super().clean()
        kind, subtype = data.get("kind"), data.get("subtype")
        if kind and subtype and subtype not in SUBTYPES.get(kind, []):
            self.add_error("subtype", _("This subtype is not one of the kind chosen."))
        if kind and not subtype and SUBTYPES.get(kind):
            self.add_error("subtype", _("Choose the subtype of this kind of request."))
        if not data.get("account_no") and "account_no" not in self.errors:
            # opened for a customer (?customer=, a follow-up), the page asks for no account number
            self.customer = self.page_customer
        if self.customer is None and "account_no" not in self.errors:
            if not data.get("applicant_name"):
                self.add_error(
                    "applicant_name", _("Give the customer's account number, or the applicant's name.")
                )
            if not data.get("station"):
                self.add_error("station", _("Choose the applicant's supply station."))
        return data

    def open_arguments(self) -> dict:
        """The keyword arguments of services.request_open, from the cleaned data."""
        from service.services import Applicant

        data = self.cleaned_data
        arguments = {
            "kind": data["kind"],
            "subtype": data.get("subtype") or "",
            "description": data["description"],
            "source": Source.VISIT if self.follow_up is not None else data.get("source") or Source.MANAGER,
            "follow_up": self.follow_up,
        }
        if self.customer is not None:
            arguments["customer"] = self.customer
        else:
            arguments["applicant"] = Applicant(
                name=data["applicant_name"],
                phone=data.get("applicant_phone") or "",
                address=data.get("applicant_address") or "",
                capacity_kva=data.get("capacity_kva"),
                voltage_kv=data.get("voltage_kv"),
            )
            arguments["station"] = data["station"]
        return arguments


# ---------------------------------------------------------------- the actions of a request's page
class ActionForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")  # the pages' labels carry no colon
        super().__init__(*args, **kwargs)


class AdvanceForm(ActionForm):
    stage = forms.CharField(max_length=30, widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class WaitForm(ActionForm):
    reason = forms.CharField(
        label=_("What the customer is to do"),
        max_length=300,
        error_messages={"required": _("Say what the request waits for.")},
    )


class CancelForm(ActionForm):
    reason = forms.CharField(
        label=_("Reason for cancelling"),
        max_length=300,
        error_messages={"required": _("Say why the request is cancelled.")},
    )


class CallbackForm(ActionForm):
    reached = forms.TypedChoiceField(
        label=_("Customer reached"),
        choices=[("1", _("Yes")), ("0", _("No"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
        error_messages={"required": _("Say whether the customer was reached.")},
    )
    # Nothing chosen in advance, as on the visit report: a preselected score is what a hurried
    # callback keeps.
    satisfaction = forms.TypedChoiceField(
        label=_("Satisfaction"),
        choices=[(n, str(n)) for n in range(1, 6)],
        coerce=int,
        empty_value=None,
        widget=forms.RadioSelect,
        required=False,
        help_text=_("1 very dissatisfied, 5 very satisfied."),
    )
    comment = forms.CharField(
        label=_("Comment"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self):
        data = super().clean()
        if data.get("reached") and data.get("satisfaction") is None:
            self.add_error("satisfaction", _("Choose the customer's satisfaction, from 1 to 5."))
        if data.get("reached") is False:
            data["satisfaction"] = None  # an unreached customer gave no score
        return data


ACTION_FORMS = {
    "advance": AdvanceForm,
    "wait": WaitForm,
    "resume": ActionForm,
    "close": ActionForm,
    "cancel": CancelForm,
    "callback": CallbackForm,
}


# ---------------------------------------------------------------- the manager's list
class RequestListFilter(PageFilterSet, ServiceRequestFilter):
    """The API's request filters on the manager's list, with its search box. Those who lead a team
    pick an owner among their team, or the requests nobody could take (待分配); the list's tabs
    (in progress, waiting, at warning, breached) are the page's own (views.TABS)."""

    UNOWNED = "none"

    q = text_search(
        ["number", "customer__name", "customer__account_no", "applicant_name", "external_no"],
        label=_("Search"),
        widget=forms.TextInput(attrs={"placeholder": _("Number, customer or applicant"), "type": "search"}),
    )
    owner = django_filters.ChoiceFilter(method="filter_owner", choices=[])
    # the tabs stand for status and SLA state; the rest are the API's, not the page's
    status = sla_state = customer = station = department = external_no = None

    labels = {
        "kind": (_("Kind of request"), _("All kinds")),
        "source": (_("Source"), _("All sources")),
        "owner": (_("Owner"), _("Everyone")),
    }

    class Meta(ServiceRequestFilter.Meta):
        fields = ["kind", "source", "owner"]

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        if owners is None:
            del self.filters["owner"]
        else:
            self.filters["owner"].extra["choices"] = [
                (self.UNOWNED, _("To be assigned")),
                *((str(pk), name) for pk, name in owners),
            ]

    def filter_owner(self, queryset, name, value):
        if value == self.UNOWNED:
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner_id=int(value))
