"""Browser pages of the customer base: the list with its filters, and a customer's page.

Both read through `Customer.objects.visible_to(user)`, so a customer outside the user's scope is not
listed and its page answers 404. Each page runs a fixed number of queries whatever the data size."""

import datetime as dt
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import models
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from crm.accounts.roles import ADMINISTRATOR, SUPERVISOR, roles_of
from crm.common.templatetags.crm_format import grouped_number
from customers.charts import consumption_chart
from customers.forms import CustomerFilterForm
from customers.models import Customer
from customers.tiering.rules import thresholds_in_force_column

PAGE_SIZE = 50
CHART_MONTHS = 24


def list_columns(customers):
    """What the customer table (templates/customers/_table.html) needs, joined in the same query."""
    return customers.select_related("station", "manager")


def paginate(queryset, request, *, per_page: int = PAGE_SIZE, count: int | None = None):
    """The requested page of `queryset` (a bad page number gives the nearest page), with `links`:
    the page numbers to offer, elided around the current one. A caller that has counted the rows
    already passes `count`, which spares the paginator its COUNT query."""
    paginator = Paginator(queryset, per_page)
    if count is not None:
        paginator.count = count  # a cached_property: set, it is not computed
    page = paginator.get_page(request.GET.get("page"))
    page.links = list(page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1))
    return page


@login_required
@require_safe
def customer_list(request):
    offer_manager = bool(roles_of(request.user) & {SUPERVISOR, ADMINISTRATOR})
    form = CustomerFilterForm(request.GET, user=request.user, offer_manager=offer_manager)
    form.is_valid()  # invalid filters are shown on their fields and ignored
    customers = list_columns(form.filter(Customer.objects.visible_to(request.user)))
    page = paginate(customers.order_by("account_no"), request)
    return render(request, "customers/list.html", {"form": form, "page": page})


@login_required
@require_safe
def customer_detail(request, pk):
    relations = [f.name for f in Customer._meta.concrete_fields if f.is_relation]
    customers = Customer.objects.visible_to(request.user).select_related(*relations)
    customer = get_object_or_404(customers.annotate(thresholds_in_force=thresholds_in_force_column()), pk=pk)
    records = list(customer.consumption.order_by("-period")[:CHART_MONTHS])
    return render(
        request,
        "customers/detail.html",
        {
            "customer": customer,
            "profile": profile_rows(customer),
            "contacts": list(customer.contacts.all()),
            "records": records,
            "chart": consumption_chart(records),
            # A newer month has landed than the annual figure was computed from: the reclassification
            # that import queued writes the figure (customers/consumption.py says why).
            "annual_pending": bool(records)
            and (customer.latest_period is None or records[0].period > customer.latest_period),
        },
    )


def profile_rows(customer: Customer) -> list[tuple[str, str, object]]:
    """(field name, label, display value) for every field of the model."""
    fields = [f for f in Customer._meta.concrete_fields if not f.primary_key]
    # The record's own timestamps come last, after what describes the customer.
    fields.sort(key=lambda f: f.name in ("created_at", "updated_at"))
    return [(f.name, _capfirst(f.verbose_name), _display(customer, f)) for f in fields]


def _display(customer: Customer, field: models.Field):
    value = getattr(customer, field.name)
    if value is None or value == "":
        return "—"
    if field.choices:
        return getattr(customer, f"get_{field.name}_display")()
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, Decimal):
        return grouped_number(value, None)
    if field.name == "latest_period" and isinstance(value, dt.date):
        return value.strftime("%Y-%m")
    return value  # dates, datetimes (localised by the template), related objects, text


def _capfirst(text) -> str:
    text = str(text)
    return text[:1].upper() + text[1:]
