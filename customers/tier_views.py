"""Browser pages of tiering: the classification runs, one run with its transitions and changes, and
the administrator's "reclassify now" button."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from customers.classification import classification_run_start
from customers.models import ClassificationRun, Tier, TierChange
from customers.tiering import explain_change

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
