"""Browser pages of tiering: the classification runs, one run with its transitions and changes, the
administrator's "reclassify now" button, and pinning a customer's tier from its page."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from customers.models import ClassificationRun, Customer, Tier, TierChange
from customers.tiering.classification import classification_run_start
from customers.tiering.rules import explain_change
from customers.tiering.services import can_pin, customer_pin_tier, customer_unpin_tier

PAGE_SIZE = 50
TIER_LABELS = dict(Tier.choices)


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
    page = Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/tier_runs.html",
        {"page": page, "can_start": request.user.has_perm("customers.add_classificationrun")},
    )


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
    page = Paginator(changes, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/tier_run_detail.html",
        {
            "run": run,
            "transitions": _transitions(run),
            "page": page,
            "rows": [{"change": c, "why": explain_change(c)} for c in page.object_list],
        },
    )


@login_required
@permission_required("customers.add_classificationrun", raise_exception=True)
@require_POST
def run_start(request):
    run, created = classification_run_start(trigger=ClassificationRun.Trigger.MANUAL, by=request.user)
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
