"""Browser pages of tiering: the classification runs, one run with its transitions and changes, the
administrator's "reclassify now" button, and a customer's tier history on its page, with the form
that pins the tier."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm.common.chunks import run_stalled_for
from crm.common.paging import paginate
from crm.common.progress import Progress, error_reason, progress_fragment
from customers.models import ClassificationRun, Customer, Tier, TierChange
from customers.tiering.classification import NoPolicyInForce, classification_run_start
from customers.tiering.rules import (
    decide_customer_tier,
    explain_change,
    thresholds_from_column,
    thresholds_in_force,
)
from customers.tiering.services import can_pin, customer_pin_tier, customer_unpin_tier

TIER_LABELS = dict(Tier.choices)
HISTORY_LIMIT = 24


def _transitions(run) -> list[dict]:
    rows = []
    for key, count in sorted((run.transitions or {}).items(), key=lambda item: -item[1]):
        old, _sep, new = key.partition("->")
        rows.append(
            {
                "old": old,
                "old_label": TIER_LABELS.get(old, old),
                "new": new,
                "new_label": TIER_LABELS.get(new, new),
                "count": count,
            }
        )
    return rows


@login_required
@permission_required("customers.view_classificationrun", raise_exception=True)
def run_list(request):
    runs = ClassificationRun.objects.select_related("policy", "started_by")
    page = paginate(runs, request)
    return render(
        request,
        "customers/tier_runs.html",
        {"page": page, "can_start": request.user.has_perm("customers.add_classificationrun")},
    )


def classification_progress(run: ClassificationRun) -> Progress:
    """How far the run has got: customers examined of those active when it started."""
    return Progress(
        state=run.status,
        label=run.get_status_display(),
        url=reverse("customers:tier-run-progress", args=[run.pk]),
        done=run.examined,
        total=run.total,
        counted=(
            _("%(done)s of %(total)s customers classified.") % {"done": run.examined, "total": run.total}
            if run.total is not None
            else _("%(done)s customers classified so far.") % {"done": run.examined}
        ),
        result=_(
            "%(examined)s customers examined, %(changed)s tiers changed, "
            "%(pinned)s pinned customers left alone."
        )
        % {"examined": run.examined, "changed": run.changed, "pinned": run.pinned},
        error=error_reason(run.error),
        stalled_for=run_stalled_for(run),
    )


@login_required
@permission_required("customers.view_classificationrun", raise_exception=True)
def run_progress(request, pk):
    """The run page's progress fragment, polled while the run is queued or running."""
    return progress_fragment(request, classification_progress(get_object_or_404(ClassificationRun, pk=pk)))


@login_required
@permission_required("customers.view_classificationrun", raise_exception=True)
def run_detail(request, pk):
    run = get_object_or_404(ClassificationRun.objects.select_related("policy", "started_by"), pk=pk)
    changes = (
        TierChange.objects.visible_to(request.user)
        .filter(run=run)
        .select_related("customer", "policy", "by")
        .order_by("customer__account_no")
    )
    page = paginate(changes, request)
    return render(
        request,
        "customers/tier_run_detail.html",
        {
            "run": run,
            "progress": classification_progress(run),
            "transitions": _transitions(run),
            "page": page,
            "rows": [{"change": c, "why": explain_change(c)} for c in page.object_list],
        },
    )


@login_required
@permission_required("customers.add_classificationrun", raise_exception=True)
@require_POST
def run_start(request):
    try:
        run, created = classification_run_start(trigger=ClassificationRun.Trigger.MANUAL, by=request.user)
    except NoPolicyInForce as exc:
        messages.error(request, str(exc.detail))
        return redirect("customers:tier-runs")
    if created:
        messages.success(request, _("Reclassification queued: it runs in the background."))
    else:
        messages.info(request, _("A reclassification is already waiting to run; it will see today's data."))
    return redirect("customers:tier-run", pk=run.pk)


class PinForm(forms.Form):
    tier = forms.ChoiceField(label=gettext_lazy("Tier"), choices=Tier.choices)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)
    until = forms.DateField(label=gettext_lazy("Until (inclusive, optional)"), required=False)


@login_required
@require_POST
def pin_tier(request, pk):
    """Pin (or, with `unpin`, release) the tier of a customer in the user's scope."""
    if not can_pin(request.user):
        raise PermissionDenied
    customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)
    try:
        if "unpin" in request.POST:
            customer_unpin_tier(customer=customer, by=request.user)
            messages.success(
                request, _("The tier is no longer pinned; the next reclassification decides it.")
            )
        else:
            form = PinForm(request.POST)
            if not form.is_valid():
                raise ValidationError(form.errors)
            customer_pin_tier(by=request.user, customer=customer, **form.cleaned_data)
            messages.success(request, _("The tier is pinned."))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    return redirect(reverse("customers:detail", args=[customer.pk]) + "#tier-history")


# ---------------------------------------------------------------- the customer page's tier section
def tier_history(*, customer: Customer, user) -> dict:
    """The customer's tier, why it has it, and its tier history with the rule that decided each
    change, in plain words; for supervisors and administrators, the form to pin or release the tier
    (templates/customers/_tier_history.html). One query: the changes."""
    changes = list(customer.tier_changes.select_related("policy", "by", "run")[:HISTORY_LIMIT])
    return {
        "why": current_reason(customer),
        "changes": [{"change": c, "why": explain_change(c)} for c in changes],
        "can_pin": can_pin(user),
        "tiers": Tier.choices,
    }


def current_reason(customer: Customer) -> str:
    """Why the customer has its tier today, in plain words: the pin, or the rule that holds it
    there under the policy in force."""
    if customer.tier_pinned:
        text = _("Pinned: %(reason)s") % {"reason": customer.tier_pin_reason or "-"}
        if customer.tier_pinned_until:
            text += " " + _("(until %(date)s)") % {"date": customer.tier_pinned_until.isoformat()}
        return text
    # The customer page reads the thresholds with the customer (thresholds_in_force_column).
    if hasattr(customer, "thresholds_in_force"):
        thresholds = thresholds_from_column(customer.thresholds_in_force)
    else:
        thresholds = thresholds_in_force()
    decision = decide_customer_tier(customer, thresholds=thresholds, current_tier=customer.tier)
    if decision.tier == customer.tier:
        return decision.explanation
    return _("The next reclassification will move this customer: %(why)s") % {"why": decision.explanation}
