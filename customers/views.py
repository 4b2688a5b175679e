"""Browser pages of the customer base: the list with its filters, and a customer's page.

Both read through `Customer.objects.visible_to(user)`, so a customer outside the user's scope is not
listed and its page answers 404. Each page runs a fixed number of queries whatever the data size."""

import datetime as dt
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.db import models
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from crm.common import months, pages
from crm.common.audit import audit_trail
from crm.common.paging import paginate
from crm.common.replica import replica_reads_view
from crm.common.templatetags.crm_format import grouped_number
from customers.charts import consumption_chart
from customers.forms import CustomerListFilter
from customers.models import Customer
from customers.tiering.rules import thresholds_in_force_column
from customers.tiering.views import tier_history

CHART_MONTHS = 24
TRAIL_LIMIT = 30


def list_columns(customers):
    """What the customer table (templates/customers/_table.html) needs, joined in the same query."""
    return customers.select_related("station", "manager")


@login_required
@require_safe
@replica_reads_view
def customer_list(request):
    filterset = CustomerListFilter(
        request.GET, queryset=Customer.objects.visible_to(request.user), request=request
    )
    page = paginate(list_columns(filterset.qs).order_by("account_no"), request)
    return render(
        request, "customers/list.html", {"filterset": filterset, "form": filterset.form, "page": page}
    )


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
            "tier_history": tier_history(customer=customer, user=request.user),
            "audit_trail": audit_section(customer),
            # The visits and the assignment history, which the apps above customers hold.
            **pages.parts("customer_detail", request=request, customer=customer, records=records),
        },
    )


def audit_section(customer: Customer) -> dict:
    """The customer page's audit trail (templates/customers/_audit_trail.html)."""
    return {"entries": audit_trail(customer, limit=TRAIL_LIMIT), "limit": TRAIL_LIMIT}


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
        return months.label(value)
    return value  # dates, datetimes (localised by the template), related objects, text


def _capfirst(text) -> str:
    text = str(text)
    return text[:1].upper() + text[1:]
