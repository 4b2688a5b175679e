"""The supervisor's list of unassigned customers, each with why it has no manager (its territory's
manager cannot serve it or is full, every qualified manager of its role is full, or it waits for the
assignment run, which the page says when one is going on), with a way to give one customer, or many
ticked at once, a manager.

Unassigned customers have no manager, so no portfolio scope includes them: a supervisor sees the
active customers without a manager in the stations where the managers of their team work;
administrators and whoever sees all data see every station."""

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.common.models import JobRun, RunState
from crm.common.paging import paginate
from crm.common.progress import Progress, error_reason, progress_fragment
from customers.models import Tier
from managers.models import ROLE_FOR_TIER, Manager
from managers.selectors import unassigned_customers_for
from managers.services import RECONCILE_JOB, assignment_move, assignment_move_many

RUNNING_AT_MOST = dt.timedelta(hours=2)


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


class AssignManyForm(forms.Form):
    customers = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=True)
    manager = forms.IntegerField(label=gettext_lazy("Manager"))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any ids: which of them are on the user's list is the view's check, not a choice list's.
        self.fields["customers"].valid_value = lambda value: True


class AssignForm(forms.Form):
    customer = forms.IntegerField(widget=forms.HiddenInput)
    manager = forms.IntegerField(label=gettext_lazy("Manager"))
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300, required=False)


@login_required
@permission_required("managers.add_assignment", raise_exception=True)
def unassigned(request):
    customers = unassigned_customers_for(request.user)
    if request.method == "POST":
        if "customers" in request.POST:
            _assign_many(request, customers)
        else:
            _assign_one(request, customers)
        return redirect(request.get_full_path())

    page = paginate(
        customers.select_related("station", "community", "transformer_district").order_by(
            "station__code", "tier", "account_no"
        ),
        request,
    )
    pools = candidates_by_place(request.user, places={(c.station_id, c.tier) for c in page.object_list})
    running = reconcile_in_progress()
    reasons = unassigned_reasons(page.object_list, pools=pools, running=running is not None)
    rows = [
        {"customer": c, "candidates": pools[(c.station_id, c.tier)], "reason": reasons[c.pk]}
        for c in page.object_list
    ]
    everyone = {m.pk: m for candidates in pools.values() for m in candidates}
    context = {
        "page": page,
        "rows": rows,
        "running": running,
        "progress": reconcile_progress(running) if running else None,
        "bulk_candidates": list(everyone.values()),
    }
    return render(request, "managers/unassigned.html", context)


@login_required
@permission_required("managers.add_assignment", raise_exception=True)
def reconcile_run_progress(request, pk):
    """The unassigned page's progress fragment for the assignment run it showed running, polled
    until that run ends (then it says what the run did)."""
    return progress_fragment(request, reconcile_progress(get_object_or_404(JobRun, job=RECONCILE_JOB, pk=pk)))


def reconcile_progress(run: JobRun) -> Progress:
    """How far an assignment run has got: candidates examined of those counted as it started
    (managers.tasks saves them after each chunk), with who was placed so far. A JobRun is recorded
    as it starts, so it is never queued."""
    counts = run.counts or {}
    state = RunState.FAILED if run.error else RunState.DONE if run.finished_at else RunState.RUNNING
    assigned, followed = counts.get("assigned", 0), counts.get("followed_territory", 0)
    so_far = _("So far %(assigned)s assigned and %(followed)s given to their territory's manager.") % {
        "assigned": assigned,
        "followed": followed,
    }
    counted = _("Assigning account managers…")
    if counts.get("total") is not None:
        counted += " " + _("%(done)s of %(total)s customers examined.") % {
            "done": counts.get("examined", 0),
            "total": counts["total"],
        }
    return Progress(
        state=state,
        label=RunState(state).label,
        url=reverse("managers:reconcile-progress", args=[run.pk]),
        done=counts.get("examined", 0),
        total=counts.get("total"),
        counted=f"{counted} {so_far}",
        result=_(
            "The assignment run is done: %(assigned)s assigned, %(followed)s given to their territory's "
            "manager, %(unassigned)s left for the supervisor."
        )
        % {"assigned": assigned, "followed": followed, "unassigned": counts.get("unassigned", 0)},
        error=error_reason(run.error),
    )


def _chosen_manager(request, form) -> Manager:
    """The manager the form names, among those the user may see (404 otherwise)."""
    return get_object_or_404(
        Manager.objects.visible_to(request.user).select_related("user"), pk=form.cleaned_data["manager"]
    )


def _reason(form) -> str:
    return form.cleaned_data["reason"].strip() or _("Assigned by the supervisor from the unassigned list")


def _move(request, move, *, done: str) -> None:
    """Run the move; the rules' refusals become the page's error messages, success its message."""
    try:
        move()
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, done)


def _assign_one(request, customers) -> None:
    form = AssignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a manager."))
        return
    customer = get_object_or_404(customers, pk=form.cleaned_data["customer"])
    manager = _chosen_manager(request, form)
    _move(
        request,
        lambda: assignment_move(customer=customer, manager=manager, reason=_reason(form), by=request.user),
        done=_("%(customer)s is now served by %(manager)s.")
        % {"customer": customer.name, "manager": manager.name},
    )


def _assign_many(request, customers) -> None:
    form = AssignManyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose customers and a manager."))
        return
    ids = set(form.cleaned_data["customers"])
    chosen = list(customers.filter(pk__in=ids).order_by("pk"))
    if len(chosen) != len(ids):
        messages.error(
            request, _("Some of the chosen customers are no longer on this list. Nobody was assigned.")
        )
        return
    manager = _chosen_manager(request, form)
    _move(
        request,
        lambda: assignment_move_many(
            customers=chosen, manager=manager, reason=_reason(form), by=request.user
        ),
        done=_("%(n)s customers are now served by %(manager)s.")
        % {"n": len(chosen), "manager": manager.name},
    )


def reconcile_in_progress() -> JobRun | None:
    """The assignment run placing customers now, if any: started, not finished, and recent (a run
    whose worker died never finishes; after RUNNING_AT_MOST the page stops saying it runs)."""
    return (
        JobRun.objects.filter(
            job=RECONCILE_JOB, finished_at__isnull=True, started_at__gte=timezone.now() - RUNNING_AT_MOST
        )
        .order_by("-started_at")
        .first()
    )


def unassigned_reasons(customers, *, pools, running: bool) -> dict[int, str]:
    """Why each customer of the page has no manager, by the rules of assignments_reconcile: its
    territory's manager cannot serve it or is full, or no qualified manager of its tier's role in the
    station has room; otherwise it waits for the next run (or the one in progress). One query for
    the territories' managers of the whole page."""
    territory = {c.pk: _territory_manager_id(c) for c in customers}
    followed = {
        m.pk: m
        for m in Manager.objects.filter(pk__in={i for i in territory.values() if i}).with_portfolio_size()
    }
    waiting = (
        _("Being assigned by the run in progress.") if running else _("Waiting for the next assignment run.")
    )
    reasons = {}
    for c in customers:
        if territory[c.pk]:
            m = followed.get(territory[c.pk])
            if m is None or not m.active or m.role != ROLE_FOR_TIER[c.tier]:
                reasons[c.pk] = _(
                    "The manager of its territory cannot serve it (inactive or of another role)."
                )
            elif m.portfolio_size >= m.max_customers:
                reasons[c.pk] = _("The manager of its territory is full (%(n)s/%(max)s).") % {
                    "n": m.portfolio_size,
                    "max": m.max_customers,
                }
            else:
                reasons[c.pk] = waiting
            continue
        qualified = [m for m in pools[(c.station_id, c.tier)] if m.qualified]
        if not qualified:
            reasons[c.pk] = _("No qualified manager of this role in the station.")
        elif all(m.portfolio_size >= m.max_customers for m in qualified):
            reasons[c.pk] = _("All qualified managers are full.")
        else:
            reasons[c.pk] = waiting
    return reasons


def _territory_manager_id(customer) -> int | None:
    if customer.tier == Tier.COMMUNITY and customer.community_id:
        return customer.community.manager_id
    if customer.tier == Tier.TRANSFORMER_DISTRICT and customer.transformer_district_id:
        return customer.transformer_district.manager_id
    return None
