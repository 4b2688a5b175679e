"""Browser pages of the manager organization: a supervisor's team with portfolio sizes by tier, and
one manager's profile with their portfolio.

Both read through `Manager.objects.visible_to(user)`: an account manager sees only themself, a
supervisor the managers below them, and a manager outside the user's scope answers 404."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from crm.accounts.roles import leads_a_team
from crm.common import pages
from crm.common.paging import paginate
from customers.models import Customer, Tier
from customers.views import list_columns
from managers.forms import TeamFilter
from managers.models import Manager
from managers.selectors import portfolio_tier_annotations, tier_counts


@login_required
@require_safe
def team(request):
    filterset = TeamFilter(request.GET, queryset=Manager.objects.visible_to(request.user), request=request)
    managers = (
        filterset.qs.select_related("user", "station")
        .annotate(**portfolio_tier_annotations())
        .order_by("station__code", "role", "employee_no")
    )
    page = paginate(managers, request)
    page.object_list = list(page.object_list)
    for manager in page.object_list:
        manager.tier_cells = [(tier.label, getattr(manager, f"tier_{tier.value}")) for tier in Tier]
    return render(
        request,
        "managers/team.html",
        {"filterset": filterset, "form": filterset.form, "page": page, "tiers": list(Tier)},
    )


@login_required
@require_safe
def manager_detail(request, pk):
    manager = get_object_or_404(
        Manager.objects.visible_to(request.user).select_related("user__supervisor", "station"), pk=pk
    )
    portfolio = Customer.objects.visible_to(request.user).managed_by(manager.pk)
    tiers, active_total = tier_counts(portfolio.active())
    page = paginate(list_columns(portfolio).order_by("account_no"), request)
    return render(
        request,
        "managers/detail.html",
        {
            "manager": manager,
            "tiers": tiers,
            "active_total": active_total,
            "page": page,
            "can_filter_by_manager": leads_a_team(request.user),
            # the manager's forecast scores, which forecasts (above managers) holds
            **pages.parts("manager_detail", request=request, manager=manager),
        },
    )
