"""`{% visit_history customer %}`: the customer's visits on the customer page (two queries)."""

from django import template
from django.db.models import Prefetch

from visits.models import FollowUp, VisitReport, VisitTask

register = template.Library()


@register.inclusion_tag("visits/_history.html", takes_context=True)
def visit_history(context, customer, limit: int = 12):
    user = context["request"].user
    tasks = list(
        VisitTask.objects.visible_to(user)
        .filter(customer=customer)
        .select_related("report", "manager")
        .order_by("-due_date", "-id")[:limit]
    )
    reports = [t.report for t in tasks if hasattr(t, "report")]
    if reports:
        follow = VisitReport.objects.filter(pk__in=[r.pk for r in reports]).prefetch_related(
            Prefetch("follow_ups", queryset=FollowUp.objects.order_by("id"))
        )
        by_pk = {r.pk: r for r in follow}
        for task in tasks:
            if hasattr(task, "report"):
                task.report_full = by_pk[task.report.pk]
    return {
        "tasks": tasks,
        "customer": customer,
        "request": context["request"],
        "perms": context.get("perms"),
    }
