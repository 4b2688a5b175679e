"""The supervisor's list of unassigned customers (no manager of their tier's role had room, or their
territory has no manager who can serve them), with a way to give each one a manager.

Unassigned customers have no manager, so no portfolio scope includes them: a supervisor sees the
active customers without a manager in the stations where the managers of their team work;
administrators and whoever sees all data see every station."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.common.paging import paginate
from managers.models import ROLE_FOR_TIER, Manager
from managers.selectors import unassigned_customers_for
from managers.services import assignment_move


def candidates_by_place(user, *, places: set[tuple[int, str]]) -> dict[tuple[int, str], list[Manager]]:
    """For each (station id, tier) of `places`: the active managers of the tier's role in the station,
    within the user's scope, qualified and least loaded first. One query for all the places."""
    managers = (
        Manager.objects.visible_to(user)
        .filter(
            station_id__in={station for station, _tier in places},
            role__in={ROLE_FOR_TIER[tier] for _station, tier in places},
            active=True,
        )
        .select_related("user")
        .with_portfolio_size()
        .order_by("-qualified", "portfolio_size", "employee_no")
    )
    by_role: dict[tuple[int, str], list[Manager]] = {}
    for manager in managers:
        by_role.setdefault((manager.station_id, manager.role), []).append(manager)
    return {(station, tier): by_role.get((station, ROLE_FOR_TIER[tier]), []) for station, tier in places}


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

    page = paginate(
        customers.select_related("station", "community", "transformer_district").order_by(
            "station__code", "tier", "account_no"
        ),
        request,
    )
    pools = candidates_by_place(request.user, places={(c.station_id, c.tier) for c in page.object_list})
    rows = [{"customer": c, "candidates": pools[(c.station_id, c.tier)]} for c in page.object_list]
    return render(request, "managers/unassigned.html", {"page": page, "rows": rows})
