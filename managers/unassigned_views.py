"""The supervisor's list of unassigned customers (no manager of their tier's role had room, or their
territory has no manager who can serve them), with a way to give each one a manager.

Unassigned customers have no manager, so no portfolio scope includes them: a supervisor sees the
active customers without a manager in the stations where the managers of their team work;
administrators and whoever sees all data see every station."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from managers.models import ROLE_FOR_TIER, Manager
from managers.selectors import unassigned_customers_for
from managers.services import assignment_move

PAGE_SIZE = 50


def candidates_for(user, *, station_id: int, tier: str) -> list[Manager]:
    """Active managers of the tier's role in the station, within the user's scope, least loaded first."""
    return list(
        Manager.objects.visible_to(user)
        .filter(station_id=station_id, role=ROLE_FOR_TIER[tier], active=True)
        .select_related("user")
        .with_portfolio_size()
        .order_by("-qualified", "portfolio_size", "employee_no")
    )


class AssignForm(forms.Form):
    customer = forms.IntegerField(widget=forms.HiddenInput)
    manager = forms.IntegerField(label=gettext_lazy("Manager"))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300, required=False)


@login_required
@permission_required("managers.add_assignment", raise_exception=True)
def unassigned(request):
    customers = unassigned_customers_for(request.user)
    if request.method == "POST":
        form = AssignForm(request.POST)
        if form.is_valid():
            customer = get_object_or_404(customers, pk=form.cleaned_data["customer"])
            manager = get_object_or_404(
                Manager.objects.visible_to(request.user).select_related("user"),
                pk=form.cleaned_data["manager"],
            )
            reason = form.cleaned_data["reason"].strip() or _(
                "Assigned by the supervisor from the unassigned list"
            )
            try:
                assignment_move(customer=customer, manager=manager, reason=reason, by=request.user)
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
            else:
                messages.success(
                    request,
                    _("%(customer)s is now served by %(manager)s.")
                    % {"customer": customer.name, "manager": manager.name},
                )
        else:
            messages.error(request, _("Choose a manager."))
        return redirect(request.get_full_path())

    page = Paginator(
        customers.select_related("station", "community", "transformer_district").order_by(
            "station__code", "tier", "account_no"
        ),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    pools: dict[tuple[int, str], list[Manager]] = {}
    rows = []
    for customer in page.object_list:
        key = (customer.station_id, customer.tier)
        if key not in pools:
            pools[key] = candidates_for(request.user, station_id=customer.station_id, tier=customer.tier)
        rows.append({"customer": customer, "candidates": pools[key]})
    return render(request, "managers/unassigned.html", {"page": page, "rows": rows})
