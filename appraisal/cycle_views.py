"""Browser pages of the appraisal cycles: administrators create a cycle (its criteria and rater
weights), change it while it is a draft, and open it, which creates the year's appraisals. The rest
of the appraisal's pages are in appraisal/views.py, whose helpers these share."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from appraisal import page_data, services
from appraisal.forms import (
    RATER_WEIGHT_FIELDS,
    CriteriaFormSet,
    CycleForm,
    default_year,
)
from appraisal.models import Appraisal, AppraisalCycle, AppraisalStatus, CycleStatus, RaterKind
from appraisal.scoring import DEFAULT_CRITERIA, DEFAULT_RATER_WEIGHTS
from appraisal.selectors import criteria_of
from appraisal.views import _errors_into, _is_admin, _message_of
from crm.accounts.roles import leads_a_team
from crm.common.errors import Conflict


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def cycles(request):
    """The cycles. Administrators create one here (the defaults prefilled); everyone sees the panels
    they sit on and, once finalized, their own appraisals."""
    is_admin = _is_admin(request.user)
    visible = Appraisal.objects.visible_to(request.user)
    rows = list(
        AppraisalCycle.objects.visible_to(request.user)
        .annotate(
            visible_count=Count("appraisals", filter=Q(appraisals__in=visible.values("pk"))),
            finalized_count=Count(
                "appraisals",
                filter=Q(appraisals__in=visible.values("pk"), appraisals__status=AppraisalStatus.FINALIZED),
            ),
        )
        .order_by("-year")
    )
    form = formset = None
    status = 200
    if is_admin:
        taken = {cycle.year for cycle in rows}
        year = default_year()
        while year in taken:
            year += 1
        form, formset = _cycle_forms(request, initial_year=year)
        if request.method == "POST":
            cycle = _save_cycle(request, form, formset, cycle=None)
            if cycle is not None:
                messages.success(request, _("Cycle %(year)s created as a draft.") % {"year": cycle.year})
                return redirect("appraisal:cycle", pk=cycle.pk)
            status = 400
    elif request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "appraisal/cycles.html",
        {
            "cycles": rows,
            "form": form,
            "formset": formset,
            "is_admin": is_admin,
            "leads_a_team": leads_a_team(request.user),
            "seats": page_data.seats_of(request.user),
            "own": page_data.own_finalized(request.user),
        },
        status=status,
    )


def _cycle_forms(request, *, initial_year=None, cycle=None):
    if cycle is None:
        initial = {"year": initial_year, "link_valid_days": 30}
        initial.update({RATER_WEIGHT_FIELDS[k]: w for k, w in DEFAULT_RATER_WEIGHTS.items()})
        # Criterion names are data: in the product's first language, as the services' defaults.
        with translation.override(settings.LANGUAGE_CODE):
            criteria = [
                {"code": code, "name": str(name), "weight": weight} for code, name, weight in DEFAULT_CRITERIA
            ]
    else:
        initial = {"year": cycle.year, "link_valid_days": cycle.link_valid_days}
        initial.update({RATER_WEIGHT_FIELDS[k]: w for k, w in cycle.rater_weights.items()})
        criteria = [{"code": c.code, "name": c.name, "weight": c.weight} for c in criteria_of(cycle)]
    data = request.POST if request.method == "POST" else None
    form = CycleForm(data, initial=initial, year_fixed=cycle is not None)
    formset = CriteriaFormSet(data, initial=criteria, prefix="criteria")
    return form, formset


def _save_cycle(request, form, formset, *, cycle):
    if not (form.is_valid() and formset.is_valid()):
        messages.error(request, _("Nothing was saved. Correct the marked entries and send again."))
        return None
    arguments = {
        "criteria": formset.criteria(),
        "rater_weights": form.rater_weights(),
        "link_valid_days": form.cleaned_data["link_valid_days"],
        "by": request.user,
    }
    try:
        if cycle is None:
            return services.cycle_create(year=form.cleaned_data["year"], **arguments)
        return services.cycle_update(cycle=cycle, **arguments)
    except ValidationError as exc:
        _errors_into(form, exc)
    except Conflict as exc:
        form.add_error(None, _message_of(exc))
    messages.error(request, _("Nothing was saved. Correct the marked entries and send again."))
    return None


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def cycle_page(request, pk: int):
    """A cycle: its criteria and weights, editable by administrators while it is a draft."""
    cycle = get_object_or_404(AppraisalCycle.objects.visible_to(request.user), pk=pk)
    editable = _is_admin(request.user) and cycle.status == CycleStatus.DRAFT
    form = formset = None
    status = 200
    if editable:
        form, formset = _cycle_forms(request, cycle=cycle)
        if request.method == "POST":
            if _save_cycle(request, form, formset, cycle=cycle) is not None:
                messages.success(request, _("Criteria and weights saved."))
                return redirect("appraisal:cycle", pk=cycle.pk)
            status = 400
    elif request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "appraisal/cycle.html",
        {
            "cycle": cycle,
            "criteria": criteria_of(cycle),
            "weights": [(label, cycle.rater_weights[value]) for value, label in RaterKind.choices],
            "form": form,
            "formset": formset,
            "editable": editable,
            "can_open": editable,
            "leads_a_team": leads_a_team(request.user),
        },
        status=status,
    )


@login_required
@require_POST
def cycle_open(request, pk: int):
    cycle = get_object_or_404(AppraisalCycle.objects.visible_to(request.user), pk=pk)
    if not _is_admin(request.user):
        raise PermissionDenied
    try:
        created = services.cycle_open(cycle=cycle, by=request.user)
    except (Conflict, ValidationError) as exc:
        messages.error(request, _message_of(exc) if isinstance(exc, Conflict) else " ".join(exc.messages))
        return redirect("appraisal:cycle", pk=cycle.pk)
    messages.success(
        request,
        _("Cycle %(year)s opened: %(count)d appraisals created; evidence is being computed.")
        % {"year": cycle.year, "count": created},
    )
    return redirect("appraisal:review", year=cycle.year)
